"""Files that need unpickling: the safe `weights_only` load, the refusal that lists what a file would import, the
weights of a pickled module read without building its classes, and the full load of a file the user trusted
(classes saved from `__main__` mapped onto the model source they name)."""

from __future__ import annotations

import argparse
import pickle
import types
from pathlib import Path
from typing import Any

import torch

from workbench.core import notes as N
from workbench.core.errors import CheckpointError, ModelSourceError, UntrustedFileError
from workbench.core.open import model_source
from workbench.core.open.named_source import Source
from workbench.core.open.state_keys import STATE_KEYS
from workbench.core.safety import trust
from workbench.core.safety.pickle_read import verdict


def untrusted_error(path: Path, what: str, names: list[str]) -> UntrustedFileError:
    store = " ".join(trust.take_problems())  # why a file trusted before may be asked about again
    return UntrustedFileError(
        f"this is {what}, which runs code when it is opened, so it was not opened. {verdict(names)}"
        + (f" ({store})" if store else ""),
        "If you know where it comes from, trust this file (command line: add --trust; "
        "in the window: answer the trust prompt). Trust applies to this exact file only.",
        path, names, trust.dangerous_globals(names))


def safe_torch_load(path: Path, fmt: str, shown: Path) -> Any:
    try:
        # argparse's Namespace holds a training script's arguments beside the weights ({"model", "args"}): plain
        # data whose unpickling runs no code of the file, so it is read like a dict.
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=(fmt == "torch-zip"))
    except pickle.UnpicklingError:
        return NEEDS_TRUST
    except Exception as exc:  # noqa: BLE001 - malformed bytes (IndexError, struct.error, ...): never raised raw
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"the checkpoint is truncated or corrupt ({first}).",
                              "Copy the file again from its source.", shown) from None


NEEDS_TRUST = object()


INERT_KEY = "__workbench_inert__"


def inert_weights(path: Path, shown: Path, names: list[str], notes: list[N.Note], ran: str = "") -> dict[str, Any]:
    """The weights of a pickled module whose classes are not importable, read without building any class.

    `ran`: the missing class a trusted full unpickling stopped at (that unpickling ran up to there); "" when
    nothing of the file was unpickled with its code."""
    from workbench.core.open.pickle_weights import read_weights

    state, classes_saved, extras = read_weights(path, shown)
    if not state:
        classes = trust.unfamiliar_globals(names)
        raise ModelSourceError(
            f"the file pickles classes that are not importable here ({', '.join(classes[:6]) or 'unknown'}) and "
            "holds no module whose weights could be read out.",
            "Name the file and class that define it as the model source (--model-source FILE:Class; in the "
            "window, the Model source field).", shown)
    danger = trust.dangerous_globals(names)
    saved = f"The file pickles {', '.join(classes_saved[:6])}, code that exists only where it was saved."
    if ran:
        notes.append(N.safety(f"{saved} You trusted the file, so it was unpickled in full until it needed {ran}, "
                              "which cannot be imported here (what the pickle calls before that point ran); its "
                              "weights were then read out as a state_dict without building any class.",
                              "weights_after_partial_unpickling"))
    else:
        notes.append(N.safety(f"{saved} None of it was run: its weights were read out as a state_dict."
                              + (f" It also names {', '.join(danger)}, which was not run either." if danger else ""),
                              "weights_without_code"))
    return {**{k: v for k, v in extras.items() if k not in STATE_KEYS}, "state_dict": state, INERT_KEY: True}


def _mapped_pickle_module(module: types.ModuleType) -> types.ModuleType:
    """A pickle module whose classes that cannot be imported (`__main__.Net`) come from the user's model source."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, mod_name: str, name: str) -> Any:
            if mod_name == "__main__" and hasattr(module, name):
                return getattr(module, name)
            try:
                return super().find_class(mod_name, name)
            except (ImportError, AttributeError):
                if "." not in name and hasattr(module, name):
                    return getattr(module, name)
                raise

    mapped = types.ModuleType("pickle")
    mapped.Unpickler = Unpickler  # type: ignore[attr-defined]
    mapped.load = lambda fh, **kw: Unpickler(fh, **kw).load()  # type: ignore[attr-defined]
    return mapped


def trusted_torch_load(path: Path, source: Source | None, names: list[str], shown: Path,
                        notes: list[N.Note]) -> Any:
    kwargs: dict[str, Any] = {}
    if source is not None:
        module, _ = model_source.import_source(source.spec, source.closure)
        kwargs["pickle_module"] = _mapped_pickle_module(module)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False, **kwargs)
        notes.append(N.safety("Opened with full unpickling because you trusted this file.", "full_unpickling"))
        return obj
    except ModelSourceError:
        raise  # a sibling submodule the source did not import: it was not read, so it is not run
    except (ModuleNotFoundError, AttributeError) as exc:
        missing = getattr(exc, "name", None) or str(exc)
        classes = trust.unfamiliar_globals(names)
        if source is None:  # no class to build it with: its weights still open, as a state_dict would
            return inert_weights(path, shown, names, notes, ran=str(missing))
        raise ModelSourceError(
            f"the pickled model needs code that neither this installation nor the model source {source.file} "
            f"provides ({missing}); it refers to {', '.join(classes) or 'unknown classes'}.",
            "Name the file and class that define it as the model source (--model-source FILE:Class; in the "
            "window, the Model source field).", shown) from None
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"the checkpoint could not be unpickled ({type(exc).__name__}: {exc}).",
                              "Check that it was saved with torch.save.", shown) from None
