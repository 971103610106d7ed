"""Build a model class the user names as ``path/to/models.py:ClassName`` (or ``notebook.ipynb:ClassName``).

Only the class and what it needs from its file run (see source_extract): an app's UI code, a training
loop or a download at the file's top level never does. What may run is read first, the file and every sibling
module it reaches (``from core.model import ...``, found from the file's folder and its parents; see
source_closure), and only those bytes run, of which only what is used runs (see sibling_import). A
LightningModule builds as a plain ``nn.Module`` when Lightning is not installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import linecache
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from torch import nn

from workbench.core import notes as N
from workbench.core.errors import ModelSourceError
from workbench.core.open import ctor_args
from workbench.core.open.sibling_import import forget_siblings, sibling_imports
from workbench.core.safety.source_closure import SOURCE_MARK, SourceClosure, closure_of, provided_elsewhere
from workbench.core.safety.source_extract import extract, imported_modules, package_for

LIGHTNING_MODULES = ("lightning", "lightning.pytorch", "pytorch_lightning")


def split_spec(spec: str, shown: object = None) -> tuple[Path, str]:
    file_part, sep, class_name = spec.rpartition(":")
    if not sep or not file_part or not class_name:
        raise ModelSourceError(f"the model source '{spec}' is not of the form path/to/models.py:ClassName.",
                               "Name the Python file (or notebook) and the class, separated by a colon.", shown)
    return Path(file_part).expanduser(), class_name


def extracted_code(spec: str, code: bytes | None = None) -> str:
    """What would run for `spec`: the class and its dependencies, read from `code` (the file's bytes)."""
    path, class_name = split_spec(spec)
    if code is None:
        if not path.is_file():
            raise ModelSourceError("the model source file does not exist.", "Check the path before the colon.",
                                   path)
        code = path.read_bytes()
    return extract(code, class_name, str(path), path)


class _AttributeDict(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class LightningModuleStub(nn.Module):
    """Stands in for Lightning's base class when Lightning is absent: what matters here is `forward`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def save_hyperparameters(self, *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)  # the caller's (inspect.currentframe().f_back, never None)
        values = {k: v for k, v in frame.f_locals.items() if k not in ("self", "__class__", "args", "kwargs")
                  and not k.startswith("_")}
        if args and all(isinstance(a, str) for a in args):
            values = {k: v for k, v in values.items() if k in args}
        elif args and isinstance(args[0], dict):
            values = dict(args[0])
        self.hparams = _AttributeDict(values)

    def log(self, *args: Any, **kwargs: Any) -> None:
        return None

    def log_dict(self, *args: Any, **kwargs: Any) -> None:
        return None


def _lightning_missing(code: str) -> list[str]:
    roots = {m.split(".")[0] for m in imported_modules(code)}
    wanted = [m for m in LIGHTNING_MODULES if m.split(".")[0] in roots]
    return [m for m in wanted if importlib.util.find_spec(m.split(".")[0]) is None]


@contextlib.contextmanager
def _lightning_stub(code: str) -> Iterator[bool]:
    """Stub modules for a missing Lightning, present in sys.modules only while the class is defined."""
    missing = _lightning_missing(code)
    saved: dict[str, types.ModuleType | None] = {}
    for name in missing:
        stub = types.ModuleType(name)
        stub.LightningModule = LightningModuleStub  # type: ignore[attr-defined]
        saved[name] = sys.modules.get(name)
        sys.modules[name] = stub
    if "lightning.pytorch" in missing and "lightning" in missing:
        sys.modules["lightning"].pytorch = sys.modules["lightning.pytorch"]  # type: ignore[attr-defined]
    try:
        yield bool(missing)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def _sibling_exists(closure: SourceClosure, module: str) -> bool:
    root = module.split(".")[0]
    return any((Path(f) / root).is_dir() or (Path(f) / f"{root}.py").is_file() for f in closure.folders)


def _missing_module_error(exc: ModuleNotFoundError, closure: SourceClosure, class_name: str) -> ModelSourceError:
    name = exc.name or str(exc)
    path = closure.source
    if _sibling_exists(closure, name):
        return ModelSourceError(f"{class_name} imports '{name}', which is beside the model source but could not be "
                                f"imported from there ({exc}).",
                                "Check that the folder holding that package is the model source's folder or one "
                                "of its parents.", path)
    return ModelSourceError(f"{class_name} needs the Python package '{name.split('.')[0]}', which is not installed "
                            "here (the rest of the file, which was not run, may need others).",
                            f"Install it (pip install {package_for(name)}) and open the model again.", path)


def import_source(spec: str, closure: SourceClosure | None = None) -> tuple[types.ModuleType, str]:
    """Define the class of `spec` (and what it needs) in a fresh module; return (module, class name).

    `closure`, when given, is the file and its siblings as already read (and hashed) by the caller: the code
    comes from those bytes, so a file changed after it was trusted cannot slip in between the check and the run.
    """
    path, class_name = split_spec(spec)
    if closure is None:
        closure = closure_of(spec)
    run = closure.run if closure.class_name == class_name else None
    source = run if run is not None else extracted_code(spec, closure.code)  # (which says what is wrong)
    forget_siblings()
    package = closure.package
    module_name = path.stem if path.suffix == ".py" else path.stem.replace("-", "_").replace(" ", "_")
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    vars(module)[SOURCE_MARK] = True
    if package:
        module.__package__ = package
    # Registered under its own name so a pickle that refers to `models.MyNet` finds it; never in place of a
    # module Python or an installed package provides (a source named json.py must not become `json`).
    registered = (module_name.isidentifier() and module_name not in closure.modules
                  and provided_elsewhere(module_name, closure.folders) is None)
    if registered:
        sys.modules[module_name] = module
    # What ran is what source lookups see (TorchScript compiles a class from its source; a notebook is JSON).
    linecache.cache[str(path)] = (len(source), None, source.splitlines(True), str(path))
    try:
        with sibling_imports(closure), _lightning_stub(source) as stubbed:
            exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the class the user vouched for
    except ModelSourceError:
        _unregister(module, registered)
        raise
    except ModuleNotFoundError as exc:
        _unregister(module, registered)
        raise _missing_module_error(exc, closure, class_name) from None
    except Exception as exc:  # noqa: BLE001 - any error in the user's class is reported, not raised raw
        _unregister(module, registered)
        raise ModelSourceError(f"defining {class_name} from the model source failed: {type(exc).__name__}: {exc}."
                               + "".join(f" {note}" for note in closure.notes),  # a sibling passed over may be why
                               "Fix the error in that class (only the class and what it refers to are run).",
                               path) from None
    module._workbench_lightning_stub = stubbed  # type: ignore[attr-defined]
    if not hasattr(module, class_name):
        raise ModelSourceError(f"the model source has no class '{class_name}'.",
                               f"Classes it defines: {', '.join(_classes(module)) or 'none'}.", path)
    return module, class_name


def _unregister(module: types.ModuleType, registered: bool) -> None:
    if registered and sys.modules.get(module.__name__) is module:
        del sys.modules[module.__name__]


def _classes(module: types.ModuleType) -> list[str]:
    return [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, nn.Module)
            and v.__module__ == module.__name__]


def build(spec: str, args: dict[str, Any] | None = None, fallback_args: Mapping[str, Any] | None = None,
          closure: SourceClosure | None = None, state: Mapping[str, Any] | None = None,
          notes: list[N.Note] | None = None) -> nn.Module:
    """Construct the named class with `args`, the arguments `fallback_args` (the checkpoint's record) holds for
    the rest, and integers the weights in `state` determine (see ctor_args); what was read is told in `notes`."""
    if closure is None:
        closure = closure_of(spec)
    module, class_name = import_source(spec, closure)
    cls = getattr(module, class_name)

    def make(kwargs: dict[str, Any]) -> nn.Module:
        with sibling_imports(closure):
            made: nn.Module = cls(**kwargs)
        return made

    filled = ctor_args.fill(cls, make, args, fallback_args or {}, state)
    kwargs = filled.kwargs
    path = closure.source
    try:
        model = make(kwargs)
    except ModelSourceError:
        raise
    except ModuleNotFoundError as exc:
        raise _missing_module_error(exc, closure, class_name) from None
    except Exception as exc:  # noqa: BLE001
        missing = f" Nothing in the checkpoint determines {', '.join(filled.missing)}." if filled.missing else ""
        if filled.unfitted:
            missing = f" No value of {', '.join(filled.unfitted)} fits the weights' shapes with the other arguments."
        raise ModelSourceError(f"building {class_name}({ctor_args.describe(kwargs)}) "
                               f"failed: {type(exc).__name__}: {exc}.{missing}",
                               "Give the constructor arguments with --model-args '{\"name\": value}' (the Model "
                               "tab's Model arguments field).", path) from None
    if not isinstance(model, nn.Module):
        raise ModelSourceError(f"{class_name} is not a torch.nn.Module.", "Name the model's class.", path)
    if notes is not None:
        if filled.from_checkpoint:
            notes.append(N.info(f"Constructor arguments read from the checkpoint: "
                                f"{ctor_args.describe(filled.from_checkpoint)}.", "args_from_checkpoint",
                                "model_args"))
        if filled.inferred:
            notes.append(N.info(f"Constructor arguments inferred from the weights' shapes: "
                                f"{ctor_args.describe(filled.inferred)}.", "args_inferred", "model_args"))
    return model
