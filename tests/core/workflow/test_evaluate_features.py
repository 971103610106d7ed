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
