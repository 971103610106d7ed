"""Recipe version 7: data.standardize and data.normalize read the model's evidence under auto, and
train.time_budget; a version-6 recipe keeps its meaning."""

from __future__ import annotations

import pytest

from workbench.core import recipe as rc
from workbench.core.errors import RecipeError


def test_new_recipes_default_to_auto_scales_and_a_time_budget():
    r = rc.Recipe()
    assert (r.data.standardize, r.data.normalize, r.train.time_budget) == ("auto", "auto", "auto")
    assert rc.from_dict(r.to_dict()) == r and r.to_dict()["version"] == rc.RECIPE_VERSION >= 7


@pytest.mark.parametrize("data", [{}, {"normalize": "auto"}, {"standardize": False}])
def test_a_version_6_recipe_keeps_its_meaning(data):
    old = rc.from_dict({"version": 6, "data": data, "train": {"epochs": 5}})
    assert old.data.standardize is False
    assert old.data.normalize == "architecture"  # what auto meant then: ImageNet's for torchvision, else none
    assert old.train.time_budget == 0 and old.train.epochs == 5


def test_version_6_choices_other_than_auto_are_kept():
    old = rc.from_dict({"version": 6, "data": {"standardize": True, "normalize": "imagenet"}})
    assert old.data.standardize is True and old.data.normalize == "imagenet"


def test_standardize_takes_true_false_or_auto_and_nothing_else():
    assert rc.from_dict({"data": {"standardize": "on"}}).data.standardize is True
    assert rc.from_dict({"data": {"standardize": "false"}}).data.standardize is False
    assert rc.Recipe().replace(**{"data.standardize": "auto"}).data.standardize == "auto"
    with pytest.raises(RecipeError, match="data.standardize"):
        rc.Recipe().replace(**{"data.standardize": "maybe"})
    with pytest.raises(RecipeError, match="train.time_budget"):
        rc.Recipe().replace(**{"train.time_budget": -1.0})


def test_the_command_line_keeps_its_standardize_switch():
    from workbench.cli.parser import build_parser

    on = build_parser().parse_args(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--standardize",
                                        "--time-budget", "90"])
    off = build_parser().parse_args(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--no-standardize"])
    assert getattr(on, "data.standardize") is True and getattr(off, "data.standardize") is False
    assert getattr(on, "train.time_budget") == 90.0
