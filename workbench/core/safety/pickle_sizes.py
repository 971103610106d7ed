"""What the calls a pickle makes would allocate, read from their arguments before anything is called.

Torch's weights-only unpickler allows `bytearray`, the tensor rebuild functions and a few more; the
arguments it passes them are numbers in the file, so 35 bytes can ask for `bytearray(3 GiB)` and a
kilobyte for a `(100000, 100000)` tensor with no storage (meta) or a sparse one that any model built
from its shape would have to hold densely. The pickle scan hands each call here; what it would
allocate is recorded as a `Declared` entry (element count and element type, sized by `bounds`).
Values are symbolic: a number or a tuple of numbers the file spells out, else `ANY` (unknown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ANY: Any = object()


@dataclass(frozen=True)
class Global:
    name: str


@dataclass(frozen=True)
class StorageRef:
    """A torch storage a pickle refers to by persistent id: its key, element type name and element count."""

    key: object
    kind: str
    numel: int
    location: str


@dataclass(frozen=True)
class Sized:
    """A value whose length is known (bytes built by `_codecs.encode`)."""

    length: int


@dataclass(frozen=True)
class Declared:
    """One allocation a call asks for: `what` (for messages), `numel` elements of `dtype` ("bytes": one byte).

    `storage` is set for a view over a storage in the file (its bytes are bounded by the storage); `device`
    is the device named, "meta" for tensors with shapes and no values.
    """

    what: str
    numel: int
    dtype: str
    storage: StorageRef | None = None
    device: str = ""


_TENSOR_REBUILDS = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_qtensor"}
_RECONSTRUCT = {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"}


def numel(shape: Any) -> int | None:
    """Elements of a shape spelled out in the file (an int or a tuple of ints); None when it is not."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        return shape
    if isinstance(shape, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        if any(d < 0 for d in shape):
            return -1
        return math.prod(shape)
    return None


def _name(value: Any) -> str:
    return value.name if isinstance(value, Global) else ""


def call(func: Any, args: Any, found: list[Declared]) -> Any:
    """The symbolic result of `func(*args)`; what it would allocate is appended to `found`."""
    name = _name(func)
    if not name or not isinstance(args, tuple):
        return ANY
    short = name.rpartition(".")[2]
    if name in ("builtins.bytearray", "builtins.bytes") and args:
        size = args[0]
        n = size if isinstance(size, int) else size.length if isinstance(size, Sized) else \
            len(size) if isinstance(size, (str, bytes, tuple)) else None
        if n is not None:
            found.append(Declared(f"{short}({n})", n, "bytes"))
            return Sized(max(n, 0))
        return ANY
    if name == "_codecs.encode" and args and isinstance(args[0], str):
        return Sized(len(args[0]) * 4)  # at most four bytes a character, whatever the encoding
    if name == "torch.Size" and args:
        return args[0]
    if name == "torch._tensor._rebuild_from_type_v2" and len(args) >= 3:
        return call(args[0], args[2], found)  # (func, new type, func's args, state): func runs on its args
    if name in ("torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state") and args:
        return args[0]
    if name in _RECONSTRUCT and len(args) >= 2:
        _record(found, "a numpy array", args[1], "bytes")  # the dtype's itemsize is not known here: 1 at least
        return ANY
    if not name.startswith("torch._utils._rebuild_"):
        return ANY
    if short in _TENSOR_REBUILDS and len(args) >= 3:
        storage = args[0] if isinstance(args[0], StorageRef) else None
        dtype = _name(args[6]) if short == "_rebuild_tensor_v3" and len(args) > 6 else \
            (storage.kind if storage else "")
        if short == "_rebuild_qtensor":
            storage = None  # torch allocates the declared size first, then points it at the storage
        _record(found, "a tensor", args[2], dtype, storage, storage.location if storage else "")
    elif short == "_rebuild_meta_tensor_no_storage" and len(args) >= 2:
        _record(found, "a meta tensor", args[1], _name(args[0]), device="meta")
    elif short == "_rebuild_wrapper_subclass" and len(args) >= 7:
        device = args[6] if isinstance(args[6], str) else ""
        _record(found, "a tensor subclass", args[2], _name(args[1]), device=device)
    elif short == "_rebuild_sparse_tensor" and len(args) >= 2 and isinstance(args[1], tuple):
        data = args[1]
        shape = data[2] if len(data) in (3, 4) and numel(data[2]) is not None else data[-1]
        _record(found, "a sparse tensor (as dense)", shape, "")
    return ANY


def _record(found: list[Declared], what: str, shape: Any, dtype: str, storage: StorageRef | None = None,
            device: str = "") -> None:
    n = numel(shape)
    if n is not None:
        found.append(Declared(what if not isinstance(shape, tuple) else f"{what} of shape {_shape(shape)}", n, dtype,
                              storage, device))
    elif device == "meta":
        found.append(Declared(what, 0, dtype, storage, device))


def _shape(shape: tuple[int, ...]) -> str:
    text = "(" + ", ".join(map(str, shape[:8])) + (", ..." if len(shape) > 8 else "," if len(shape) == 1 else "") + ")"
    return text if len(text) < 120 else text[:117] + "...)"
