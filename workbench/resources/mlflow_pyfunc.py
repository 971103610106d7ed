"""An export of Conversion Workbench as an MLflow pyfunc model, logged as "models from code": MLflow copies this file
beside the export and runs it to load the model, so nothing is unpickled. It needs torch, numpy and mlflow, not the
workbench. predict() takes rows of the export's inputs and returns the calibrated class probabilities, columns in
metadata.json's "classes" order. A table's rows as a DataFrame are matched by column name (metadata.json's
feature_names: any order, a missing one refused by name), as an array by position; any float or int is cast to
the program's float32."""

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


mlflow.models.set_model(ExportedClassifier())
