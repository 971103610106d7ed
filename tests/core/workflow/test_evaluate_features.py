"""`evaluate --features`: the export's features named in another order are fed in the export's order (the program
reads them by position), and other names are fed by position with a note saying which stands for which."""

from workbench.core.workflow.evaluate_data import _features_for


def test_the_exports_features_in_another_order_are_put_back_in_its_order():
    exported = ("age", "sex", "bmi")
    notes: list = []
    assert _features_for(("bmi", "age", "sex"), exported, notes) == exported
    assert notes and "another order" in notes[0].text
    notes.clear()
    assert _features_for((), exported, notes) == exported and not notes
    assert _features_for(exported, exported, notes) == exported and not notes
    assert _features_for(("a", "sex", "b"), exported, notes) == ("a", "sex", "b")  # renamed: by position, said
    assert "a for age" in notes[0].text and "b for bmi" in notes[0].text


def test_a_workbook_is_read_at_the_sheet_the_export_was_trained_on(tmp_path):
    import pandas as pd

    from workbench.core.workflow.evaluate_data import _sheet_for

    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:  # a notes sheet first, as people keep them
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="notes", index=False)
        pd.DataFrame({"x": [1.0, 2.0], "target": [0, 1]}).to_excel(writer, sheet_name="data", index=False)
    notes: list = []
    assert _sheet_for(str(book), "", "data", notes) == "data" and "trained on" in notes[0].text
    assert _sheet_for(str(book), "notes", "data", []) == "notes"  # the one given wins
    assert _sheet_for(str(book), "", "elsewhere", []) == ""  # not in this workbook: the first, as before
    assert _sheet_for(str(tmp_path / "t.csv"), "", "data", []) == ""
