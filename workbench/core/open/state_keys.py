"""Where checkpoints keep their weights: the dict keys and the name prefixes that wrappers add (Lightning's
`model.`, DataParallel's `module.`, torch.compile's `_orig_mod.`). Shared by the loader and the readers it uses."""

from __future__ import annotations

from typing import Any

STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "model_state", "weights")
PREFIXES = ("model.", "net.", "module.", "network.", "_orig_mod.", "backbone.")


def strip_prefix(state: dict[str, Any]) -> dict[str, Any]:
    while state:
        hit = next((p for p in PREFIXES if all(k.startswith(p) for k in state)), None)
        if hit is None:
            return state
        state = {k[len(hit):]: v for k, v in state.items()}
    return state
