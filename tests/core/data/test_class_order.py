"""Classes come out in their natural order when their names have one: numbers, bins, ordered words."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.data.class_order import natural_order
from workbench.core.data.data import make_labels
from workbench.core.data.samples import Table


@pytest.mark.parametrize("names, expected", [
    (["high", "low", "medium"], ["low", "medium", "high"]),
    (["Severe", "mild", "Moderate", "none"], ["none", "mild", "Moderate", "Severe"]),
    (["(10, 20]", "[0, 10]", "(20, 35.5]"], ["[0, 10]", "(10, 20]", "(20, 35.5]"]),
    (["10-20", "0-10", "20-30"], ["0-10", "10-20", "20-30"]),
    (["65+", "<18", "18-64"], ["<18", "18-64", "65+"]),
    (["2 - fair", "1 - poor", "10 - best"], ["1 - poor", "2 - fair", "10 - best"]),
    (["10", "2", "1.5"], ["1.5", "2", "10"]),
])
def test_natural_orders(names, expected):
    order, _how = natural_order(names)
    assert [names[i] for i in order] == expected


@pytest.mark.parametrize("names", [["cat", "dog", "bird"], ["high", "low", "banana"], ["a"]])
def test_names_without_an_order_have_none(names):
    assert natural_order(names) is None


def test_a_class_column_of_words_comes_out_in_order_and_is_ordered():
    target = np.array(["high", "low", "medium", "low", "high", "medium"], dtype=object)
    table = Table(X=np.zeros((6, 1), np.float32), target=target, source="t.csv", feature_names=["f"])
    _y, classes, info = make_labels(table, "column", "multiclass")
    assert classes == ["low", "medium", "high"] and "ordered words" in info["ordered_by"]
    _y, classes, info = make_labels(table, "column", "ordinal")  # an ordinal head accepts the order
    assert classes == ["low", "medium", "high"]


def test_a_class_order_given_keeps_every_split_and_a_version_8_recipe_keeps_its_own():
    from workbench.core import recipe as rc
    from workbench.core.workflow.prepared import label_and_split

    rng = np.random.default_rng(0)
    target = rng.choice(np.array(["cat", "dog", "bird"], dtype=object), 300)
    table = Table(X=rng.normal(size=(300, 2)).astype(np.float32), target=target, source="t.csv",
                  feature_names=["a", "b"])
    recipe = rc.Recipe().replace(**{"head.task": "multiclass", "data.label_mode": "column", "seed": 3})

    def rows(r):
        d = label_and_split(table, r)
        return {name: sorted(d.splits[name].tolist()) for name in d.splits}, d.classes

    plain, classes = rows(recipe)
    given, reordered = rows(recipe.replace(**{"data.classes": ("dog", "cat", "bird")}))
    assert classes == ["bird", "cat", "dog"] and reordered == ["dog", "cat", "bird"]
    assert given == plain  # the same rows in every split: runs before and after the reorder are paired
    old = rc.from_dict({"version": 8, "seed": 3, "head": {"task": "multiclass"},
                        "data": {"label_mode": "column", "classes": ["dog", "cat", "bird"]}})
    assert old.data.split_order == "classes" and rows(old)[0] != plain  # as version 8 split it
    assert rc.from_dict({"version": 8}).data.split_order == "classes" and rc.Recipe().data.split_order == "labels"
