"""What an export's metadata says of a run's data and inputs: the data file with its hash and rows per split, and the
inputs of a model taking several tensors (their columns, dtypes and category codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.data.samples import Table


def several_inputs_export(table: Table, shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """What an export of a model taking several tensors says of them: each input's columns, dtype and shape (a
    sequence's (N, steps, features), its columns step by step), in the order the program takes them, and each
    category column's codes (applied by `workbench evaluate`)."""
    if not table.inputs:
        return {}
    shapes = shapes or {}
    inputs: list[dict[str, Any]] = [{"name": name, "columns": columns, "dtype": "int64" if codes else "float32",
                                     "shape": ["N", *shapes.get(name, (len(columns),))]}
                                    for name, columns, codes in table.inputs]
    described = "; ".join(f"{i['name']}: {i['dtype']} ({', '.join(map(str, i['shape']))}) from "
                          f"{', '.join(i['columns'])}" for i in inputs)
    return {"inputs": inputs, "categories": table.categories or {},
            "input": f"the model's own inputs, in order: {described}. Category columns as integer codes (see "
                     "'categories': values -> codes, and the code an unseen category is read as); any "
                     "standardisation is inside the program"}


def data_description(run: Any) -> dict[str, Any]:
    """The data a run was made from: file name, path, sha256 (an image folder's over its files), rows per split and
    the data's warnings."""
    path = run.recipe.data.path
    return {"file": Path(path).name if path and not path.startswith("sklearn:") else path, "path": path,
            "sha256": _fingerprint(path),
            "rows": {split: int(len(rows)) for split, rows in run.data.splits.items()},
            "warnings": [str(w) for w in run.data.warnings]}


def _fingerprint(path: str) -> str | None:
    from workbench.core.safety.snapshot import fingerprint

    try:
        return fingerprint(path) if path else None
    except OSError:  # moved or unreadable since it was read: the card says the hash is unknown
        return None
