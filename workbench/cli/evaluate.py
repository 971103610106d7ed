"""`workbench evaluate`: re-score an export on new labelled data with torch alone (the EvaluateExport command),
with its decisions (policy, conformal coverage, refer band); with --unlabelled, the class prevalence and score
shift of rows without labels."""

from __future__ import annotations

import sys

from workbench.cli.decisions import decision_report_lines, shift_lines
from workbench.cli.options import _usage
from workbench.cli.output import _Progress
from workbench.core import json_text


def cmd_evaluate(args) -> int:
    from workbench.core.workflow.evaluate_data import EvaluateExport, finite, unlabelled_report
    from workbench.core.workflow.session import SessionModel

    if args.data is None and args.unlabelled is None:
        _usage("give labelled data with --data, unlabelled rows with --unlabelled, or both")
    shift = (unlabelled_report(args.export_dir, args.unlabelled, args.sheet, args.trust, args.missing)
             if args.unlabelled else None)
    if shift is not None and args.data is None:
        print(json_text.dumps(shift, indent=2) if args.json else "\n".join(shift_lines(shift)))
        return 0
    features = tuple(f.strip() for f in args.features.split(",") if f.strip()) if args.features else ()
    found = EvaluateExport(SessionModel(), args.export_dir, args.data, args.label, features, args.sheet,
                           args.trust, args.missing).run(
        () if args.json else (_Progress(),))  # decoding an image folder
    for note in found.notes:
        print(note, file=sys.stderr)
    result = found.metrics
    if shift is not None:
        result["unlabelled"] = shift
    if args.json:
        print(json_text.dumps(result, indent=2))
    else:
        print(f"{found.n} samples: accuracy {result['accuracy']:.3f}  macro F1 {result['macro_f1']:.3f}  "
              f"ECE {result['ece']:.3f}  Brier {result['brier']:.3f}"
              + (f"  class-distance error {result['mae_classes']:.3f}" if "mae_classes" in result else ""))
        print("\n".join(decision_report_lines(result["decisions"])))
        if shift is not None:
            print("\n".join(shift_lines(shift)))
    return 0 if finite(found) else 1
