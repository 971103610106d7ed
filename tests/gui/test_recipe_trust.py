"""A model source named by a recipe opened in the window runs only under the trust asked for that recipe: the
checkpoint opened after it passes the recipe as `source_named_by`, so a changed source asks again."""

from __future__ import annotations

import json


def test_a_recipe_named_source_is_asked_again_when_it_changed(window, files, qtbot, dialogs, tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"model_source": f"{files['models']}:TinyRegressor",
                                  "data": {"path": str(files["csv"])}}))
    dialogs.trust_answer = True
    window.open_recipe(str(recipe))
    assert len(dialogs.trust_asked) == 1  # the recipe names code
    assert window.model_panel.source.text().endswith(":TinyRegressor")
    with open(files["models"], "a") as fh:  # the named code changes after it was trusted
        fh.write("\nCHANGED = 1\n")
    dialogs.trust_answer = False
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: len(dialogs.trust_asked) == 2, timeout=30000)
    assert window.session.model.loaded is None  # not run without the recipe's trust
    dialogs.trust_answer = True
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    assert len(dialogs.trust_asked) == 3
