"""The reliability diagram drawn on a matplotlib Axes, shared by the HTML report and the export's model card, the
curves a run's diagram shows (for these and the window), and matplotlib text that shows names verbatim."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def reliability_curves(metrics: dict[str, Any], after: str = "after calibration") -> dict[str, dict[str, Any]]:
    """The curves of a run's test reliability diagram by legend name: before and `after` calibration, or the one
    curve of a run left uncalibrated (its "before" is the same curve, drawn twice under two names otherwise)."""
    test = metrics.get("test") or {}
    curves = {name: test[key] for name, key in (("before calibration", "reliability_before"), (after, "reliability"))
              if isinstance(test.get(key), dict)}
    if metrics.get("calibration") == "none" and "reliability" in test:
        return {"no calibration": test["reliability"]}
    return curves


def verbatim(value: object) -> str:
    """Text matplotlib shows verbatim: `$` would start mathtext, a leading `_` hides a legend entry."""
    text = str(value).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def draw_reliability(ax: Axes, curves: dict[str, dict[str, Any]], perfect: str = "perfect") -> None:
    """Each curve's accuracy against confidence over its non-empty bins, with its ECE in the legend, on the unit
    square beside the diagonal."""
    ax.plot([0, 1], [0, 1], ":", color="grey", label=perfect)
    for name, rel in curves.items():
        used = [i for i, c in enumerate(rel.get("count") or []) if c]
        ax.plot([rel["confidence"][i] for i in used], [rel["accuracy"][i] for i in used], "-o", ms=3,
                label=verbatim(f"{name} (ECE {float(rel.get('ece', float('nan'))):.3f})"))
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
