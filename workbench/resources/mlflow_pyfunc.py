"""An export of Conversion Workbench as an MLflow pyfunc model, logged as "models from code": MLflow copies this file
beside the export and runs it to load the model, so nothing is unpickled. It needs torch, numpy and mlflow, not the
workbench. predict() takes rows of the export's inputs (float32; a table's columns in metadata.json's
feature_names order) and returns the calibrated class probabilities, columns in metadata.json's "classes" order."""

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
        x = torch.as_tensor(np.asarray(model_input, dtype=np.float32))
        shape = self.meta.get("input_shape") or []
        if shape:
            x = x.reshape(len(x), *shape)
        with torch.no_grad():
            return self.program(x).numpy()


mlflow.models.set_model(ExportedClassifier())
