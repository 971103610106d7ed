"""`workbench evaluate`: re-score an export on new labelled data with torch alone (the EvaluateExport command)."""

from __future__ import annotations

import json
import sys


def cmd_evaluate(args) -> int:
    from workbench.core.workflow.evaluate_data import EvaluateExport, finite
    from workbench.core.workflow.session import SessionModel

    features = tuple(f.strip() for f in args.features.split(",") if f.strip()) if args.features else ()
    found = EvaluateExport(SessionModel(), args.export_dir, args.data, args.label, features, args.sheet,
                           args.trust).run()
    for note in found.notes:
        print(note, file=sys.stderr)
    result = found.metrics
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{found.n} samples: accuracy {result['accuracy']:.3f}  macro F1 {result['macro_f1']:.3f}  "
              f"ECE {result['ece']:.3f}  Brier {result['brier']:.3f}")
    return 0 if finite(found) else 1
