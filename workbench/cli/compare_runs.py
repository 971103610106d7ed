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
    _refuse_repeats(args.runs)
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


def _refuse_repeats(folders: list[str]) -> None:
    """The same export named twice is one run compared with itself (every difference zero, nothing best)."""
    from pathlib import Path

    from workbench.core.errors import WorkbenchError

    seen: dict[Path, str] = {}
    for folder in folders:
        key = Path(folder).expanduser().resolve()
        if key in seen:
            also = "" if seen[key] == folder else f" (also as {seen[key]})"
            raise WorkbenchError(f"this export folder is named twice{also}: a run compared with itself shows no "
                                 "difference.", "Name each export folder once, and at least two of them.", folder)
        seen[key] = folder
