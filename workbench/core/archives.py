"""TorchScript and torch.export programs: code archives whose layers cannot be swapped in place.

They open only after the user trusts the file. The route that works is to keep the whole program as a
frozen feature extractor and put the new classifier head on its (regression) output.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError, ModelError


class FrozenProgram(nn.Module):
    """A loaded program used as a fixed function of its input; its outputs feed the new head."""

    def __init__(self, program: nn.Module, kind: str):
        super().__init__()
        self.program = program
        self.kind = kind
        for param in self.program.parameters():
            param.requires_grad_(False)

    def train(self, mode: bool = True) -> "FrozenProgram":
        # The program is fixed as saved; torch.export modules even refuse train()/eval().
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.program(x)
        return out.reshape(out.shape[0], -1)


def load_code_archive(path: Path, fmt: str, shown: Path | None = None
                      ) -> tuple[nn.Module, list[str], tuple[int, ...] | None]:
    """Return (the program wrapped as a frozen extractor, notes, per-sample input shape if recorded).

    `path` is the private copy to read; `shown` the user's file, named in messages.
    """
    shown = shown or path
    shape = None
    try:
        if fmt == "torchscript":
            program = torch.jit.load(str(path), map_location="cpu")
        else:
            exported = torch.export.load(str(path))
            shape = _export_input_shape(exported, shown)
            program = exported.module()
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"the program could not be loaded ({type(exc).__name__}: {str(exc)[:200]}).",
                              "Save it again with the same PyTorch version.", shown) from None
    kind = "TorchScript" if fmt == "torchscript" else "torch.export"
    notes = [f"A {kind} program's layers cannot be replaced in place. It is kept whole as a frozen feature "
             "extractor, and the new classifier head reads its regression output."]
    return FrozenProgram(program, kind), notes, shape


def _export_input_shape(exported, path: Path) -> tuple[int, ...] | None:
    inputs = set(exported.graph_signature.user_inputs)
    for node in exported.graph.nodes:
        if node.op == "placeholder" and node.name in inputs:
            value = node.meta.get("val")
            if value is None or not hasattr(value, "shape"):
                return None
            batch = value.shape[0]
            if isinstance(batch, int):
                raise ModelError(f"the program was exported for a fixed batch of {batch} sample(s), so it cannot "
                                 "be trained or evaluated on other batch sizes.",
                                 "Export it again with a dynamic batch dimension: torch.export.export(model, (x,), "
                                 "dynamic_shapes=({0: torch.export.Dim('batch')},)).", path)
            return tuple(int(d) for d in value.shape[1:])
    return None
