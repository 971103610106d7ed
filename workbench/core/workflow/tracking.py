"""Opt-in tracking: an export logged as an MLflow run (`--mlflow [URI]`, the window's "Log exports to MLflow").

Params are the recipe's fields (dotted names), metrics the test split's with their 95% interval (`test_accuracy`,
`test_accuracy_ci_low`, `test_accuracy_ci_high`, ...), artifacts the export folder (model card and figures
included) and the figures again at the top; the export is also logged as a pyfunc model from code
(resources/mlflow_pyfunc.py: nothing pickled) with a signature: a table's feature columns by name, else its
input shape. MLflow is an optional
dependency (the `tracking` extra); without it the option says how to install it. The default store is a SQLite
file in the platform's data folder, its artifacts beside it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.core import folders
from workbench.core.errors import WorkbenchError
from workbench.core.export.model_card import test_metrics

EXPERIMENT = "conversion-workbench"
INSTALL = "pip install 'conversion-workbench[tracking]' (or: pip install mlflow-skinny sqlalchemy alembic)"
MAX_PARAM = 500  # characters of a param's value MLflow keeps everywhere


class TrackingError(WorkbenchError):
    """MLflow is not installed, or the tracking store cannot be used."""


def store_folder() -> Path:
    return folders.data_dir() / "mlflow"


def default_uri() -> str:
    """A SQLite store in the platform's data folder (MLflow's file store is in maintenance mode)."""
    return "sqlite:///" + (store_folder() / "mlflow.db").as_posix()


def require_mlflow() -> None:
    """Raise TrackingError (naming the install line) unless MLflow and what its store needs are importable."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise TrackingError("runs cannot be logged to MLflow: MLflow is not installed.",
                            f"Install it with: {INSTALL}; or convert without tracking.") from None


def params_of(recipe: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The recipe's fields as dotted names with text values (nested sections flattened)."""
    out: dict[str, str] = {}
    for key, value in recipe.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(params_of(value, name + "."))
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            out[name] = text[:MAX_PARAM]
    return out


def metrics_of(meta: dict[str, Any]) -> dict[str, float]:
    """Each test metric of the export, with its interval's ends."""
    out: dict[str, float] = {}
    for metric in test_metrics(meta):
        name = f"test_{metric['key']}"
        out[name] = metric["value"]
        if metric["ci"]:
            out[name + "_ci_low"], out[name + "_ci_high"] = metric["ci"]
    return out


def log_export(folder: str | Path, uri: str | None = None, run_name: str = "") -> dict[str, str]:
    """Log the export in `folder` as one MLflow run; returns {run_id, uri, experiment, model_uri}."""
    require_mlflow()
    with _mlflow_quiet():
        return _log_export(Path(folder), uri, run_name)


def _log_export(folder: Path, uri: str | None, run_name: str) -> dict[str, str]:
    import mlflow

    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    uri = uri or default_uri()
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    client = mlflow.MlflowClient(uri)
    try:
        found = client.get_experiment_by_name(EXPERIMENT)
        experiment = found.experiment_id if found is not None else client.create_experiment(
            EXPERIMENT, artifact_location=_artifacts_beside(uri))
    except Exception as exc:  # noqa: BLE001 - a store MLflow cannot open is the user's to fix, said in words
        raise TrackingError(f"the MLflow store {uri} cannot be used ({type(exc).__name__}: {str(exc)[:300]}).",
                            f"Give another --mlflow URI, or check that MLflow's store dependencies are installed "
                            f"({INSTALL}).") from None
    mlflow.set_tracking_uri(uri)
    name = run_name or folder.name
    with mlflow.start_run(experiment_id=experiment, run_name=name) as run:
        mlflow.log_params(params_of(meta.get("recipe") or {}))
        mlflow.log_metrics(metrics_of(meta))
        mlflow.set_tags({"workbench.task": str(meta.get("task")), "workbench.export": str(folder),
                         "workbench.source_sha256": str((meta.get("source") or {}).get("sha256")),
                         "workbench.data_sha256": str((meta.get("data") or {}).get("sha256"))})
        mlflow.log_artifacts(str(folder), "export")
        for figure in ("reliability.png", "confusion.png"):
            if (folder / figure).is_file():
                mlflow.log_artifact(str(folder / figure))
        model_uri = _log_model(mlflow, folder, meta)
    return {"run_id": run.info.run_id, "uri": uri, "experiment": EXPERIMENT, "model_uri": model_uri}


# MLflow's advice to whoever writes a pyfunc model (type hints, an input example) is not the analyst's to act on.
ADVICE = r"(?s).*(Add type hints to the `predict` method|An input example was not provided)"


@contextmanager
def _mlflow_quiet() -> Iterator[None]:
    """MLflow's INFO lines, its advice warnings and its artifact download bar off while logging: the CLI's stderr
    (and --quiet) keep to what the workbench says; MLflow's own warnings of real trouble still show."""
    logger = logging.getLogger("mlflow")
    level, bar = logger.level, os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    logger.setLevel(logging.WARNING)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        with warnings.catch_warnings():
            # log_model wraps itself in its own "once" filter for UserWarning, ahead of any filter set here, so the
            # advice is dropped where warnings are shown (catch_warnings restores showwarning on leaving).
            shown = warnings.showwarning

            def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
                if not (issubclass(category, UserWarning) and re.match(ADVICE, str(message))):
                    shown(message, category, *args, **kwargs)

            warnings.showwarning = show
            yield
    finally:
        logger.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def _artifacts_beside(uri: str) -> str | None:
    """A SQLite store's artifacts in a folder beside its file (MLflow's default is ./mlruns under the current
    folder); other stores keep their own default."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri[len("sqlite:///"):]).parent / "artifacts").as_uri()


def _log_model(mlflow: Any, folder: Path, meta: dict[str, Any]) -> str:
    """The export as a pyfunc model from code, with a signature when the input shape is fixed."""
    signature = _signature(meta)
    code = Path(__file__).resolve().parent.parent.parent / "resources" / "mlflow_pyfunc.py"
    info = mlflow.pyfunc.log_model(name="model", python_model=str(code), artifacts={"export": str(folder)},
                                   signature=signature)
    return str(info.model_uri)


def _signature(meta: dict[str, Any]) -> Any:
    """A table's export takes named columns: MLflow's column-based signature, one `double` column per feature, so
    MLflow matches a DataFrame's columns by name (reordered, a missing one refused by name, extra ones ignored)
    and accepts float32 and float64 (double is the widest float it casts to safely); a model of several inputs
    takes its inputs' columns so, a text category column as `string`. Other inputs (images, a sequence) keep a
    float32 tensor signature of their shape; none when the shape is not fixed."""
    import numpy as np
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    given = list(meta.get("input_shape") or [])
    shape = [int(s) for s in given if isinstance(s, int)]
    if not shape or len(shape) != len(given):
        return None
    outputs = infer_signature(np.zeros((1, *shape), dtype=np.float32),
                              np.zeros((1, len(meta.get("classes") or [])), dtype=np.float32))
    names = [str(n) for n in meta.get("feature_names") or []]
    if meta.get("inputs"):  # several inputs: their columns by name, a text category column as strings
        books = meta.get("categories") or {}
        kinds = {c: "string" if any(isinstance(v, str) for v in books.get(c, {}).get("values", [])) else "double"
                 for spec in meta["inputs"] for c in spec["columns"]}
        return ModelSignature(Schema([ColSpec(kind, name) for name, kind in kinds.items()]), outputs.outputs)
    if names and shape == [len(names)] and len(set(names)) == len(names):
        return ModelSignature(Schema([ColSpec("double", name) for name in names]), outputs.outputs)
    return outputs
