"""Import a model class the user names as ``path/to/models.py:ClassName`` and build it."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

from torch import nn

from .errors import ModelSourceError


def import_source(spec: str, code: bytes | None = None):
    """Import the file of `spec` and return (module, class name).

    `code`, when given, is the file's content as already read (and hashed) by the caller: it is what
    runs, so a file changed after it was trusted cannot slip in between the check and the import.
    """
    file_part, sep, class_name = spec.rpartition(":")
    if not sep or not file_part or not class_name:
        raise ModelSourceError(f"the model source '{spec}' is not of the form path/to/models.py:ClassName.",
                               "Name the Python file and the class, separated by a colon.")
    path = Path(file_part).expanduser()
    if not path.is_file():
        raise ModelSourceError("the model source file does not exist.", "Check the path before the colon.", path)
    module_name = path.stem
    try:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        # Registered under its own name so a pickle that refers to `models.MyNet` finds it.
        sys.modules[module_name] = module
        if code is None:
            loader_spec.loader.exec_module(module)
        else:
            exec(compile(code, str(path), "exec"), module.__dict__)  # noqa: S102 - the bytes the user trusted
    except Exception as exc:  # noqa: BLE001 - any error in the user's file is reported, not raised raw
        sys.modules.pop(module_name, None)
        raise ModelSourceError(f"importing the model source failed: {type(exc).__name__}: {exc}.",
                               "Fix the error in that file.", path) from None
    if not hasattr(module, class_name):
        raise ModelSourceError(f"the model source has no class '{class_name}'.",
                               f"Classes it defines: {', '.join(_classes(module)) or 'none'}.", path)
    return module, class_name


def _classes(module) -> list[str]:
    return [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, nn.Module)
            and v.__module__ == module.__name__]


def build(spec: str, args: dict | None = None, fallback_args: dict | None = None,
          code: bytes | None = None) -> nn.Module:
    """Construct the named class with `args` (or, if none, the matching keys of `fallback_args`)."""
    module, class_name = import_source(spec, code)
    cls = getattr(module, class_name)
    kwargs = dict(args or {})
    if not kwargs and fallback_args:
        accepted = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in fallback_args.items() if k in accepted}
    try:
        model = cls(**kwargs)
    except Exception as exc:  # noqa: BLE001
        raise ModelSourceError(f"building {class_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
                               f"failed: {type(exc).__name__}: {exc}.",
                               "Give the constructor arguments with --model-args '{\"name\": value}'.",
                               spec.rpartition(":")[0]) from None
    if not isinstance(model, nn.Module):
        raise ModelSourceError(f"{class_name} is not a torch.nn.Module.", "Name the model's class.",
                               spec.rpartition(":")[0])
    return model
