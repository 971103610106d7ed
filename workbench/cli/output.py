"""What the command line prints: progress lines on stderr, the metrics summary, and the notes worth showing."""

from __future__ import annotations

import sys
from collections.abc import Iterable


class _Progress:
    """Prints one line per epoch to stderr."""

    def on_train_begin(self, info):
        ranks = info.get("processes", 1)
        where = f"{info['device']} in {ranks} processes" if ranks > 1 else info["device"]
        print(f"training on {where}: {info['n_train']} samples, {info['epochs']} epochs at most", file=sys.stderr)

    def on_batch_end(self, info):
        pass

    def on_epoch_end(self, info):
        print(f"epoch {info['epoch']:3d}/{info['epochs']}  train loss {info['train_loss']:.4f}  "
              f"val loss {info['val_loss']:.4f}  val acc {info['val_accuracy']:.3f}", file=sys.stderr)

    def on_train_end(self, info):
        why = "stopped early" if info["stopped_early"] else "cancelled" if info["cancelled"] else "done"
        print(f"{why}; best epoch {info['best_epoch']} restored ({info['seconds']:.1f} s)", file=sys.stderr)


def _with_ci(t: dict, key: str) -> str:
    ci = t.get("ci", {}).get(key)
    return f"{t[key]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{t[key]:.3f}"


def _summary(metrics: dict) -> str:
    """The metrics a person reads first, each with its bootstrap 95% interval, and what the defaults chose."""
    from workbench.core.evaluate.verdicts import change_text

    t = metrics["test"]
    auc_name = "ROC AUC" if t.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "macro one-vs-rest AUC"
    lines = [f"classes: {', '.join(metrics['classes'])}",
             f"test ({t['n']} rows; 95% bootstrap intervals in brackets)",
             f"  test accuracy {_with_ci(t, 'accuracy')}   macro F1 {_with_ci(t, 'macro_f1')}"
             + (f"   {auc_name} {_with_ci(t, 'roc_auc')}" if "roc_auc" in t else ""),
             f"  ECE ({t.get('ece_bins', 15)} bins) {_with_ci(t, 'ece')}   Brier {_with_ci(t, 'brier')}"]
    if "ece_before" in t:
        lines += [f"calibration ({metrics['calibration']}) on the test split:",
                  f"  ECE {change_text(t, 'ece')}", f"  Brier {change_text(t, 'brier')}"]
    if "brier_definition" in t:
        lines.append(f"  ({t['brier_definition']})")
    training = metrics.get("training", {})
    finder = training.get("lr_finder")
    if finder:
        lines.append(f"learning rate {training['lr']:.3g} picked by the range test "
                     f"({len(finder['lrs'])} steps from {finder['lrs'][0]:.0e} to {finder['lrs'][-1]:.0e})"
                     + (f": {finder['note']}" if finder.get("note") else "")
                     + (f", one-cycle's peak at {finder['pick'] / finder['valley']:.1f}x the valley "
                        f"{finder['valley']:.3g}" if finder.get("valley") else ""))
    if training.get("epochs"):
        lines.append(f"trained {training['epochs_run']} of at most {training['epochs']} epochs; best epoch "
                     f"{training['best_epoch']} restored")
    lines += [f"note: {note}" for note in training.get("notes", [])]
    for note in metrics.get("calibration_check", {}).get("notes", []):
        lines.append(f"note: {note}")
    lines += [f"warning: {w}" for w in metrics.get("warnings", [])]
    return "\n".join(lines)


def print_notes(notes: Iterable[object], only_shown: bool = True) -> None:
    """Notes on stderr; with `only_shown`, those the command line shows (warnings and which code ran, by the
    notes' kind: core.notes)."""
    from workbench.core.notes import shown_on_command_line

    for note in notes:
        if not only_shown or shown_on_command_line(note):
            print(f"note: {note}", file=sys.stderr)
