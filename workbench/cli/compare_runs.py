"""`workbench compare`: exported runs side by side on their test split (the same table as the window's Compare)."""

from __future__ import annotations

from workbench.core import json_text


def cmd_compare(args) -> int:
    from workbench.core.evaluate.compare import format_table, inputs_of_runs, load_run_dir
    from workbench.core.workflow.run_commands import compare
    from workbench.core.workflow.runs import RunEntry
    from workbench.core.workflow.session import SessionModel

    if len(args.runs) < 2:
        from workbench.core.errors import WorkbenchError

        raise WorkbenchError("a comparison needs two or more export folders; one was given.",
                             "Name another export beside it (a baseline of the same data: workbench convert "
                             "--baseline), or read this one run with workbench evaluate.", args.runs[0])
    runs = [load_run_dir(folder) for folder in args.runs]
    if args.report:
        from workbench.core.safety.output_paths import check_output_file

        check_output_file(args.report, inputs_of_runs(args.runs), args.overwrite)
    session = SessionModel()  # the exports as the session's comparison-only runs, compared by its command
    session.take_entries([RunEntry(f"export-{i}", {**run, "id": f"export-{i}"}, None, i, named=True,
                                   comparison_only="an export folder") for i, run in enumerate(runs, 1)])
    result = compare(session)
    if args.report:
        from workbench.core.evaluate.report import comparison_report

        comparison_report(runs, args.report)
    print(json_text.dumps(result, indent=2) if args.json else format_table(result))
    return 0
