"""Reports carry no active content: whatever a run's names and files hold is shown as text.

Markup goes through every field a report shows (metrics, the recipe, class names, column names, layer names,
the run's name, the checkpoint's, the data's and the run folder's file names), in the run report and in
`compare --report` over metadata.json files rewritten by hand. The page is parsed: no script element, no event
attribute, no tag the templates do not write, figures only as data: images, and every planted string is
there as text.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tomllib
import torch
from torch import nn

from workbench import cli
from workbench.core.evaluate.report import run_report
from workbench.core.recipe import Recipe
from workbench.core.workflow.journey import convert_checkpoint

EVIL = ["<script>alert(1)</script>", '"onload=x', "<img src=x onerror=alert(1)>"]
NAME = '<svg onload=alert(1)> "onload=x'  # a file or folder name: anything but a slash
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b", "small", "br", "table", "tr",
        "th", "td", "div", "img", "pre", "details", "summary"}
TEMPLATES = Path(__file__).resolve().parents[3] / "workbench" / "resources" / "templates"


class _Page(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _assert_inert(page: str, shown: list[str]) -> None:
    parsed = _Page(page)
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and tags <= TAGS, tags - TAGS
    for tag, attrs in parsed.tags:
        assert not [name for name, _ in attrs if name.lower().startswith("on")], (tag, attrs)
        if tag == "img":
            assert dict(attrs)["src"].startswith("data:image/svg+xml;base64,"), attrs
    text = "".join(parsed.text)
    for planted in shown:
        assert planted in text, f"{planted!r} is not shown as text"


def _poisoned(value, k=[0]):  # noqa: B006 - one counter across a document, so every string gets some EVIL
    """Every string in a JSON document (keys stay, so the document keeps its shape) replaced by markup."""
    if isinstance(value, dict):
        return {key: _poisoned(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_poisoned(v) for v in value]
    if isinstance(value, str):
        k[0] += 1
        return EVIL[k[0] % len(EVIL)]
    return value


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run whose data file, checkpoint, columns, label column and classes are all named with markup."""
    folder = tmp_path_factory.mktemp("reports") / NAME
    folder.mkdir()
    data = folder / f"{NAME}.csv"
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(150, 4, generator=generator)
    with open(data, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([EVIL[0], EVIL[1], "f2", "f3", EVIL[2]])
        for i, row in enumerate(X.tolist()):
            writer.writerow([*row, EVIL[i % 3]])
    ckpt = folder / f"{NAME}.pt"
    torch.save(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).state_dict(), ckpt)
    recipe = Recipe().replace(**{"data.path": str(data), "data.label": EVIL[2], "data.label_mode": "column",
                                 "head.task": "multiclass", "train.epochs": 2, "train.lr": 0.01,
                                 "calibration": "temperature"})
    (folder / "exports").mkdir()
    run, result = convert_checkpoint(ckpt, recipe, folder / "exports" / NAME)
    return run, result.folder


def test_the_run_report_shows_every_name_as_text(hostile_run, tmp_path):
    run, _ = hostile_run
    metrics = _poisoned(run.metrics)
    metrics["test"]["calibration_check"] = {"notes": EVIL}
    metrics["calibration_check"] = {"notes": EVIL}
    layers = [dataclasses.replace(layer, name=EVIL[0], type=EVIL[1], role=EVIL[2]) for layer in run.inspection.layers]
    run = dataclasses.replace(run, metrics=metrics, inspection=dataclasses.replace(run.inspection, layers=layers))
    page = run_report(run, tmp_path / "report.html", name=EVIL[0]).read_text(encoding="utf-8")
    _assert_inert(page, [*EVIL, NAME, f"Run: {EVIL[0]}"])
    assert page.startswith("<!doctype html>")


def test_compare_report_shows_every_field_of_hand_written_metadata_as_text(hostile_run, tmp_path, capsys):
    _, exported = hostile_run
    runs = []
    for name in (NAME, "'onmouseover=y"):
        folder = tmp_path / name
        shutil.copytree(exported, folder)
        meta = json.loads((folder / "metadata.json").read_text())
        meta["metrics"], meta["recipe"] = _poisoned(meta["metrics"]), _poisoned(meta["recipe"])
        meta["metrics"]["kind"] = EVIL[0]  # the field the issue found unescaped
        (folder / "metadata.json").write_text(json.dumps(meta))
        runs.append(str(folder))
    report = tmp_path / "comparison.html"
    assert cli.main(["compare", *runs, "--report", str(report)]) == 0, capsys.readouterr().err
    _assert_inert(report.read_text(encoding="utf-8"), [*EVIL, NAME, "'onmouseover=y"])


def test_templates_never_turn_escaping_off_and_ship_with_the_package():
    names = sorted(p.name for p in TEMPLATES.glob("*.html.j2"))
    assert {"base.html.j2", "run_report.html.j2", "comparison.html.j2"} <= set(names)
    for name in names:
        text = (TEMPLATES / name).read_text()
        for switch in ("|safe", "| safe", "autoescape false", "Markup"):
            assert switch not in text, (name, switch)
    pyproject = tomllib.loads((TEMPLATES.parents[2] / "pyproject.toml").read_text())
    assert "resources/templates/*" in pyproject["tool"]["setuptools"]["package-data"]["workbench"]
    assert any(d.startswith("jinja2") for d in pyproject["project"]["dependencies"])


def test_names_read_as_mathtext_or_templates_and_malformed_values_are_shown_as_written(hostile_run, tmp_path, capsys):
    _, exported = hostile_run
    names = ["$\\undefinedmacro{$", "_hidden", "{{ 7*7 }}{% raw %}"]
    runs = []
    for name in names:
        folder = tmp_path / name
        shutil.copytree(exported, folder)
        meta = json.loads((folder / "metadata.json").read_text())
        meta["metrics"]["kind"] = {"nested": ["<b onclick=x>"]}
        (folder / "metadata.json").write_text(json.dumps(meta))
        runs.append(str(folder))
    report = tmp_path / "comparison.html"
    assert cli.main(["compare", *runs, "--report", str(report)]) == 0, capsys.readouterr().err
    _assert_inert(report.read_text(encoding="utf-8"), [*names, "<b onclick=x>"])


@pytest.mark.parametrize("ci", ["[0, 1]", {"low": 0}, [0.1, "x"], [0.1]])
def test_a_malformed_interval_in_a_hand_written_metrics_file_is_a_message(hostile_run, tmp_path, capsys, ci):
    _, exported = hostile_run
    folder = tmp_path / "run"
    shutil.copytree(exported, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["metrics"]["test"]["ci"]["accuracy"] = ci
    (folder / "metadata.json").write_text(json.dumps(meta))
    code = cli.main(["compare", str(folder), "--report", str(tmp_path / "c.html")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "internal error" not in err, err
    assert "interval" in err and not (tmp_path / "c.html").exists()
