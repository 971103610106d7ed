"""The run report's Decisions section: the policy, the conformal sets with their coverage, the refer band and the
deployment prior as core states them (`summary_lines`), the policy's test decisions and per-class coverage, and
its figures; a run's page without decision keys (an older metrics.json) has no section."""

from html.parser import HTMLParser

from workbench.core.decide.decisions import summary_lines
from workbench.core.evaluate.report import decisions_view, run_report
from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import prepare_data, train_run


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []

    def handle_data(self, data):
        self.text.append(data)


def test_the_report_has_a_decisions_section(tutorial_ckpt, table_csv, models_py, tmp_path):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 2,
                                 "data.splits": (0.5, 0.1, 0.25, 0.15), "decide.policy": "cost",
                                 "decide.costs": (0, 1, 4, 0), "decide.risk_epsilon": 0.3, "decide.prior": (0.4,)})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    run = train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    page = run_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(page)
    text = "".join(parsed.text)
    assert "Decisions" in text and "Decisions of the policy (cost) on the test split" in text
    for line in summary_lines(run):
        assert line in text
    assert any(line.startswith("Refer band for error <= 0.3") for line in summary_lines(run))
    assert any(line.startswith("Deployment prior") for line in summary_lines(run))
    assert "Conformal coverage per class" in text
    assert page.count("data:image/svg+xml;base64,") >= 3  # the set sizes and the band's curve beside the others

    older = {k: v for k, v in run.metrics.items()}
    older["test"] = {k: v for k, v in run.metrics["test"].items()
                     if k not in ("decision_policy", "conformal", "abstention")}
    assert decisions_view(older) is None
