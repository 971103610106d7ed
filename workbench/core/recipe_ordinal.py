"""The recipe's checks for an ordinal head: what it cannot be combined with (kept beside recipe.py, which holds
every other combination, so that file stays small)."""

from __future__ import annotations


def ordinal_problems(task: str, loss: str, label_mode: str, calibration: str,
                     kind: str = "auto") -> list[tuple[str, str]]:
    """What an ordinal head cannot be combined with. Whether a class column has an order is only known with the
    data (data.make_labels refuses one without)."""
    if task != "ordinal":
        return []
    out = []
    if loss != "auto":
        out.append(("train.loss", "an ordinal head trains with its own loss (CORAL's, CORN's, the multinomial's or "
                                  "the histogram's); choose auto"))
    if label_mode == "threshold":
        out.append(("data.label_mode", "a threshold makes two classes, whose order a binary head already keeps; "
                                       "choose quantile bins or a class column for an ordinal head"))
    if kind == "histogram" and label_mode == "column":
        out.append(("head.ordinal", "the histogram head learns finer bins inside quantile bins of a number, and "
                                    "classes taken as the label column gives them have none; cut a numeric label "
                                    "into quantile bins, or choose another ordinal head"))
    if calibration == "matrix":
        out.append(("calibration", "matrix scaling would mix the classes' order; an ordinal head calibrates with "
                                   "temperature, platt (scale and shift of the score) or isotonic (per threshold)"))
    return out
