"""An export of Conversion Workbench as an MLflow pyfunc model, logged as "models from code": MLflow copies this file
beside the export and runs it to load the model, so nothing is unpickled. It needs torch, numpy and mlflow, not the
workbench. predict() takes rows of the export's inputs and returns the calibrated class probabilities, columns in
metadata.json's "classes" order. A table's rows as a DataFrame are matched by column name (metadata.json's
feature_names: any order, a missing one refused by name), as an array by position; any float or int is cast to
the program's float32. A model of several inputs (metadata.json "inputs") gets one tensor per input, cut from the
DataFrame's columns by name: its category columns coded with the export's own codes ("categories"; a category
the export never saw is read as its "unseen" code, as `workbench evaluate` reads it), its value columns float32."""

import json
from pathlib import Path

import mlflow
import numpy as np
import torch


class ExportedClassifier(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        folder = Path(context.artifacts["export"])
        self.meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        program = folder / self.meta["program"]
        self.program = (torch.export.load(str(program)).module() if program.suffix == ".pt2"
                        else torch.jit.load(str(program)))

    def predict(self, context, model_input, params=None):
        if self.meta.get("inputs"):
            with torch.no_grad():
                return self.program(*self._inputs(model_input)).numpy()
        # contiguous: a DataFrame's columns taken in another order come back as a view with negative strides,
        # which torch cannot wrap
        x = torch.from_numpy(np.ascontiguousarray(self._by_name(model_input), dtype=np.float32))
        shape = self.meta.get("input_shape") or []
        if shape:
            x = x.reshape(len(x), *shape)
        with torch.no_grad():
            return self.program(x).numpy()

    def _by_name(self, model_input):
        """A DataFrame's feature columns in the export's order, found by name; anything else as it is (an array's
        columns are the features in that order). Names are never matched by position: a table in another column
        order would give other probabilities without a word."""
        names = self.meta.get("feature_names") or []
        columns = getattr(model_input, "columns", None)
        if not names or columns is None or not all(isinstance(c, str) for c in columns):
            return model_input
        missing = [n for n in names if n not in set(columns)]
        if missing:
            raise ValueError(f"the rows have no column(s) {', '.join(missing[:10])}, which the model takes; give "
                             f"the export's feature columns by name (metadata.json feature_names: {', '.join(names)}).")
        return model_input[names]

    def _inputs(self, model_input):
        """One tensor per input of the model, in the program's order, from a DataFrame's columns by name."""
        columns = set(getattr(model_input, "columns", []))
        wanted = [c for spec in self.meta["inputs"] for c in spec["columns"]]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ValueError(f"the rows have no column(s) {', '.join(missing[:10])}, which the model takes; give "
                             f"a DataFrame with the export's input columns by name ({', '.join(wanted)}).")
        books = self.meta.get("categories") or {}
        out = []
        for spec in self.meta["inputs"]:
            if spec["dtype"] == "int64":
                block = np.stack([_codes(model_input[c].tolist(), books[c]) for c in spec["columns"]], 1)
                x = torch.from_numpy(block.astype(np.int64))
            else:
                x = torch.from_numpy(np.ascontiguousarray(model_input[spec["columns"]], dtype=np.float32))
            out.append(x.reshape(len(x), *[int(s) for s in spec["shape"][1:]]))
        return out


def _key(value):
    """A category's key as the export wrote it: numbers by value (3, 3.0 alike), the rest as text."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return repr(float(value))
    return str(value).strip()


def _codes(cells, book):
    """A category column's cells as the export's codes; an empty cell or a category it never saw as its unseen
    code (an embedding row the layout gives, else the most frequent category's)."""
    lookup = {_key(v): c for v, c in zip(book["values"], book["codes"])}
    rows = book.get("rows") or 0
    out = []
    for cell in cells:
        code = None if cell is None or (isinstance(cell, float) and np.isnan(cell)) else lookup.get(_key(cell))
        if code is None and book.get("layout") == "as given" and isinstance(cell, (int, float)) \
                and float(cell).is_integer() and 0 <= cell < rows:
            code = int(cell)  # a code the embedding has, though the training table did not hold it
        out.append(book["unseen"] if code is None else code)
    return np.asarray(out)


mlflow.models.set_model(ExportedClassifier())
