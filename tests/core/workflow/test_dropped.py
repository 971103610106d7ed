"""A file handed to the workbench is told by its content: checkpoints, tables, image folders, sessions, recipes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workbench.core.errors import DataError
from workbench.core.workflow.dropped import kind_of


def test_each_kind_is_told_by_content_not_suffix(tmp_path, tiny_model, table_csv):
    pd = pytest.importorskip("pandas")
    ckpt = tmp_path / "weights.csv"  # a checkpoint with a misleading suffix is still a checkpoint
    torch.save(tiny_model.state_dict(), ckpt)
    assert kind_of(ckpt) == "model"
    assert kind_of(table_csv) == "data"
    semicolon = tmp_path / "analyst.pt"  # and a table named like a checkpoint is still a table
    semicolon.write_text("a;b;label\n1,5;2;3\n")
    assert kind_of(semicolon) == "data"
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    assert kind_of(tmp_path / "t.parquet") == "data" and kind_of(tmp_path / "t.xlsx") == "data"
    np.savez(tmp_path / "arrays.npz", X=np.zeros((2, 3)), y=np.zeros(2))
    assert kind_of(tmp_path / "arrays.npz") == "data"
    (tmp_path / "pets" / "cat").mkdir(parents=True)
    assert kind_of(tmp_path / "pets") == "data"
    session = tmp_path / "s.json"
    session.write_text(json.dumps({"version": 3, "recipe": None, "runs": []}, indent=1))
    assert kind_of(session) == "session"
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"data": {"label": "y"}, "seed": 1}))
    assert kind_of(recipe) == "recipe"
    toml = tmp_path / "r.toml"
    toml.write_text("[data]\nlabel = 'y'\n")
    assert kind_of(toml) == "recipe"


def test_what_is_none_of_them_is_named(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        kind_of(empty)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x01\x00\x02\x00" * 10)
    with pytest.raises(DataError, match="neither a checkpoint"):
        kind_of(binary)
