"""The model card's figures, PNG files beside README.md: the reliability diagram (before and after calibration)
and the test confusion matrix, drawn with matplotlib's Agg backend (no display, no Qt) from the export's metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.evaluate.reliability_drawing import draw_reliability, reliability_curves, verbatim

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

RELIABILITY = "reliability.png"
CONFUSION = "confusion.png"
MAX_CLASSES_DRAWN = 30  # past this a confusion matrix is unreadable as a picture; metrics.json keeps it whole


def write_figures(folder: Path, metrics: dict[str, Any], classes: list[str]) -> list[str]:
    """Write the figures the metrics allow into `folder`; returns their file names."""
    test = metrics.get("test") or {}
    written = []
    curves = reliability_curves(metrics, after="as exported")
    if curves:
        _reliability(folder / RELIABILITY, curves)
        written.append(RELIABILITY)
    matrix = test.get("confusion_matrix")
    if isinstance(matrix, list) and matrix and len(matrix) <= MAX_CLASSES_DRAWN:
        _confusion(folder / CONFUSION, matrix, classes)
        written.append(CONFUSION)
    return written


def _figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=120)  # not pyplot: no global state, safe on a worker thread
    return fig, fig.add_subplot()




def _reliability(path: Path, curves: dict[str, dict[str, Any]]) -> None:
    fig, ax = _figure((4.4, 3.6))
    draw_reliability(ax, curves, perfect="perfectly calibrated")
    ax.set_title("Reliability on the test split", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.savefig(path, format="png", bbox_inches="tight", metadata={"Software": None})


def _confusion(path: Path, matrix: list[list[int]], classes: list[str]) -> None:
    k = len(matrix)
    side = min(2.5 + 0.45 * k, 12.0)
    fig, ax = _figure((side, side * 0.85))
    ax.imshow(matrix, cmap="Blues")
    names = [verbatim(c) for c in (classes if len(classes) == k else range(k))]
    ax.set_xticks(range(k), names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center", fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if value > top * 0.6 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix, test split (counts)", fontsize=9)
    fig.savefig(path, format="png", bbox_inches="tight", metadata={"Software": None})
