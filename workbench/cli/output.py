"""What the command line prints: progress lines on stderr, the metrics summary, and the notes worth showing."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable

from workbench.cli.decisions import decision_lines


class _Progress:
    """Training and the slow steps on stderr: progress bars with an ETA (tqdm) when stderr is a terminal, plain lines
    otherwise (a line when a step starts, one every PLAIN_EVERY seconds while it runs, one when it ends, and one per
    epoch), so a log or a CI job shows what is happening too."""

    PLAIN_EVERY = 10.0

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bars: dict = {}  # step key (or "epoch") -> its tqdm bar
        self.said: dict[str, float] = {}  # plain lines: when each step last said how far it is

    def _bar(self, key, total, desc, unit):
        from tqdm import tqdm

        if key not in self.bars:
            self.bars[key] = tqdm(total=total, desc=desc, unit=unit or "it", file=self.stream, leave=False,
                                  dynamic_ncols=True, mininterval=0.2)
        return self.bars[key]

    def _close(self, key) -> None:
        bar = self.bars.pop(key, None)
        if bar is not None:
            bar.close()

    def _line(self, text: str) -> None:
        if self.tty and self.bars:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)  # above the bars, which are redrawn below it
        else:
            print(text, file=self.stream, flush=True)

    def on_progress(self, info):
        from workbench.core.progress import describe

        key = info["step"]
        if self.tty:
            bar = self._bar(key, info["total"], info["title"], info["unit"])
            bar.n = info["done"]
            if info.get("detail"):
                bar.set_postfix_str(info["detail"], refresh=False)
            bar.refresh()
            if info["finished"]:
                self._close(key)
                self._line(describe(info))
            return
        last = self.said.get(key)
        if info["finished"]:
            self.said.pop(key, None)
            self._line(describe(info))
        elif last is None or info["seconds"] - last >= self.PLAIN_EVERY:
            self.said[key] = info["seconds"]
            self._line(describe(info))

    def on_train_begin(self, info):
        ranks = info.get("processes", 1)
        where = f"{info['device']} in {ranks} processes" if ranks > 1 else info["device"]
        self._line(f"training on {where}: {info['n_train']} samples, {info['epochs']} epochs at most")
        self.epochs = info["epochs"]

    def on_batch_end(self, info):
        if self.tty:
            bar = self._bar("epoch", info["steps"], f"epoch {info['epoch']}/{getattr(self, 'epochs', '?')}", "batch")
            bar.n = info["step"]
            bar.set_postfix_str(f"loss {info['loss']:.4f}", refresh=False)
            bar.refresh()

    def on_epoch_end(self, info):
        self._close("epoch")
        # under a second left says nothing worth a word ("at most 0 s left" on every line of a quick run)
        left = f"  at most {info['eta']:.0f} s left" if (info.get("eta") or 0) >= 1 else ""
        val = ("no validation rows: the best epoch is the lowest train loss" if math.isnan(info["val_accuracy"])
               else f"val loss {info['val_loss']:.4f}  val acc {info['val_accuracy']:.3f}")
        self._line(f"epoch {info['epoch']:3d}/{info['epochs']}  train loss {info['train_loss']:.4f}  {val}{left}")

    def on_train_end(self, info):
        self._close("epoch")
        why = "stopped early" if info["stopped_early"] else "cancelled" if info["cancelled"] else "done"
        self._line(f"{why}; best epoch {info['best_epoch']} restored ({info['seconds']:.1f} s)")


def _with_ci(t: dict, key: str) -> str:
    ci = t.get("ci", {}).get(key)
    return f"{t[key]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{t[key]:.3f}"


def _summary(metrics: dict) -> str:
    """The metrics a person reads first, each with its 95% interval, and what the defaults chose."""
    from workbench.core.evaluate.uncertainty import INTERVALS
    from workbench.core.evaluate.verdicts import change_text

    t = metrics["test"]
    auc_name = "ROC AUC" if t.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "macro one-vs-rest AUC"
    lines = [f"classes: {', '.join(metrics['classes'])}",
             f"test ({t['n']} rows; {INTERVALS}, in brackets)",
             f"  test accuracy {_with_ci(t, 'accuracy')}   macro F1 {_with_ci(t, 'macro_f1')}"
             + (f"   {auc_name} {_with_ci(t, 'roc_auc')}" if "roc_auc" in t else ""),
             f"  ECE ({t.get('ece_bins', 15)} bins) {_with_ci(t, 'ece')}   Brier {_with_ci(t, 'brier')}"]
    if "mae_classes" in t:  # ordered classes (see ordinal_metrics)
        lines.append(f"  class-distance error {_with_ci(t, 'mae_classes')}   weighted kappa {_with_ci(t, 'qwk')}   "
                     f"within one class {_with_ci(t, 'within_one')}")
    if "ece_debiased" in t:
        debiased = t["ece_debiased"]
        shown = f"{debiased:.3f}" if debiased >= 0 else f"about 0 ({debiased:.3f})"
        lines.append(f"  ECE debiased {shown}; a perfectly calibrated model shows up to "
                     f"{t['ece_if_calibrated']['high']:.3f} on these rows (the interval covers test sampling only)")
    lines += _calibration_lines(metrics, change_text)
    m = metrics.get("model") or {}
    if m.get("cut_at") or m.get("prune"):  # the simplified model (recipe section model)
        from workbench.core.evaluate.compare import model_text

        lines.append(f"model: {model_text({'model': m})}"
                     + (f" (of the regression model's {m['parameters_regression_model']:,d})"
                        if m.get("parameters_regression_model") else ""))
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
    return "\n".join(lines + _baseline_lines(metrics) + _repeats_lines(metrics) + decision_lines(metrics))


def _calibration_lines(metrics: dict, change_text) -> list[str]:
    """The calibration's before/after change on the test split, and why auto chose it."""
    t, auto = metrics["test"], metrics.get("calibration_auto")
    lines = []
    if "ece_before" in t and metrics.get("calibration") != "none":  # none changes nothing
        lines += [f"calibration ({metrics['calibration']}) on the test split:",
                  f"  ECE {change_text(t, 'ece')}", f"  Brier {change_text(t, 'brier')}"]
    if auto:
        lines.append(f"calibration auto chose {auto['pick']}: {auto['reason']}")
    return lines


def _baseline_lines(metrics: dict) -> list[str]:
    """What the validation split says of training against the no-training baseline, when it did not win."""
    found = metrics.get("baseline_check") or {}
    note = found.get("note") if found.get("applies") else None
    if not note:
        return []
    offer = " To export the baseline instead, run again with --baseline." if note["kind"] == "warning" else ""
    return [f"{'note' if note['kind'] == 'info' else note['kind']}: {note['text']}{offer}"]


def _repeats_lines(metrics: dict) -> list[str]:
    """The test metrics' mean and spread over the repeated training seeds."""
    found = metrics.get("repeats")
    if not found:
        return []
    lines = [f"over {found['k']} training seeds ({found['seeds'][0]}-{found['seeds'][-1]}, one split): mean, sd, "
             "[min, max]"]
    for key in (k for k in ("accuracy", "macro_f1", "ece", "brier", "roc_auc") if k in found["mean"]):
        lines.append(f"  {key} {found['mean'][key]:.3f} sd {found['sd'][key]:.3f} "
                     f"[{found['min'][key]:.3f}, {found['max'][key]:.3f}]")
    return lines


def print_notes(notes: Iterable[object], only_shown: bool = True) -> None:
    """Notes on stderr; with `only_shown`, those the command line shows (warnings and which code ran, by the
    notes' kind: core.notes)."""
    from workbench.core.notes import shown_on_command_line

    for note in notes:
        if not only_shown or shown_on_command_line(note):
            print(f"note: {note}", file=sys.stderr)
