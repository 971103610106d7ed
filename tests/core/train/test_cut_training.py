"""A ResNet cut after layer3 trains its head on pooled features; pruning makes a really smaller export."""

import numpy as np
import torch
from PIL import Image

from tests.core.train.cut_models import overfitted_deep
from workbench.core.export.export_read import probabilities, read_metadata
from workbench.core.recipe import Recipe
from workbench.core.train.prune import parameters, prune_units
from workbench.core.workflow import pipeline
from workbench.core.workflow.journey import convert_checkpoint


def test_a_resnet_cut_after_layer3_trains_on_pooled_features(tmp_path):
    import torchvision

    ckpt = tmp_path / "resnet.pt"
    torch.save(torchvision.models.resnet18(weights=None, num_classes=1).state_dict(), ckpt)
    rng = np.random.default_rng(0)
    for cls, base in (("cat", 40), ("dog", 200)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    recipe = Recipe().replace(**{
        "data.path": str(tmp_path / "imgs"), "input_shape": (3, 32, 32), "head.freeze": "body", "train.epochs": 3,
        "train.lr": 0.01, "train.batch_size": 8, "calibration": "none", "data.splits": (0.5, 0.17, 0.0, 0.33),
        "model.cut_at": "layer3"})
    run, export = convert_checkpoint(ckpt, recipe, tmp_path / "out")
    assert run.training.body_features == "memory"  # the frozen cut body ran once; the head trained on its output
    assert [n for n, _ in run.model.named_children()][-3:] == ["layer3", "pool_at_cut", "head"]
    assert run.model.head[-1].in_features == 256  # layer3's channels, pooled
    assert run.inspection.simplified["adapter"] == "global average pooling"
    assert run.metrics["model"]["dropped"] == ["layer4", "avgpool", "fc"]
    whole = sum(p.numel() for p in torchvision.models.resnet18(num_classes=1).parameters())
    assert run.metrics["model"]["parameters"] < whole / 4  # layer4 holds most of ResNet-18's weights
    meta = read_metadata(export.folder)
    X = run.data.table.X[run.data.splits["test"]]
    np.testing.assert_allclose(probabilities(export.folder, meta, X), run.probabilities("test"), atol=1e-5)


def test_pruning_removes_units_and_keeps_the_masked_function():
    import copy

    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.BatchNorm1d(10), torch.nn.ReLU(),
                                torch.nn.Linear(10, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).eval()
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    # The reference: torch's masks alone, each layer's units silenced where they feed the next one.
    masked = copy.deepcopy(model)
    for first, nxt in ((0, 3), (3, 5)):
        prune.ln_structured(masked[first], "weight", amount=0.5, n=2, dim=0)
        prune.remove(masked[first], "weight")
        with torch.no_grad():
            masked[nxt].weight[:, masked[first].weight.norm(dim=1) == 0] = 0
    before = parameters(model)
    done = prune_units(model, 0.5)
    assert done == {"0": [10, 5], "3": [8, 4]}
    assert model[0].out_features == 5 and model[1].num_features == 5 and model[3].in_features == 5
    assert model[5].in_features == 4 and before == 187 and parameters(model) == (6 * 5 + 5) + 2 * 5 + (5 * 4 + 4) + 5
    x = torch.randn(16, 6)
    with torch.no_grad():
        torch.testing.assert_close(model(x), masked(x), rtol=1e-5, atol=1e-6)


class _BodyAndHead(torch.nn.Module):
    """A user's class: the hidden layers in an nn.Sequential, the regression head outside it."""

    def __init__(self, skip: bool = False):
        super().__init__()
        self.skip = skip
        self.body = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 8),
                                        torch.nn.ReLU())
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = self.body(x)
        return self.head(h * 2 if self.skip else h)  # skip: arithmetic between the body and the head


def test_the_last_hidden_layer_before_a_head_outside_the_chain_is_pruned_and_keeps_the_masked_function():
    """`head(self.body(x))`: body.2 feeds the regression head, which sits outside the nn.Sequential; it is pruned
    like the flat chain's last hidden layer (the head loses the matching columns), but only where forward hands
    the body's output to the head unchanged."""
    import copy

    from workbench.core.train.cut import probe_input

    torch.manual_seed(0)
    model = _BodyAndHead().eval()
    masked = copy.deepcopy(model)
    done = prune_units(model, 0.5, "head", probe_input(model, (6,)))
    assert done == {"body.0": [10, 5], "body.2": [8, 4]}
    assert model.body[2].out_features == 4 and model.head.in_features == 4
    from torch.nn.utils import prune

    for first, nxt in ((masked.body[0], masked.body[2]), (masked.body[2], masked.head)):
        prune.ln_structured(first, "weight", amount=0.5, n=2, dim=0)
        prune.remove(first, "weight")
        with torch.no_grad():
            nxt.weight[:, first.weight.norm(dim=1) == 0] = 0
    x = torch.randn(16, 6)
    with torch.no_grad():
        torch.testing.assert_close(model(x), masked(x), rtol=1e-5, atol=1e-6)
    other = _BodyAndHead(skip=True).eval()
    assert prune_units(other, 0.5, "head", probe_input(other, (6,))) == {"body.0": [10, 5]}
    again = _BodyAndHead().eval()  # a saved run pruned before this: rebuilt with its own layers
    assert prune_units(again, 0.5, "head", probe_input(again, (6,)), only=["body.0"]) == {"body.0": [10, 5]}


def test_a_pruned_run_records_its_parameters_and_exports_fewer(tmp_path):
    ckpt, source, data = overfitted_deep(tmp_path)
    recipe = Recipe().replace(**{
        "data.path": str(data), "data.label_mode": "threshold", "data.threshold": 0.0, "train.epochs": 5,
        "train.lr": 0.01, "seed": 1, "model_source": source, "calibration": "none", "model.cut_at": "act4",
        "model.prune": 0.5})
    run, export = convert_checkpoint(ckpt, recipe, tmp_path / "out", trusted=True)
    m = run.metrics["model"]
    assert m["prune"] == 0.5 and m["pruned_units"] == {"layer1": [10, 5], "layer2": [10, 5], "layer3": [16, 8],
                                                       "layer4": [16, 8]}
    assert m["parameters"] == parameters(run.model) < m["parameters_before_prune"] < m["parameters_regression_model"]
    from workbench.cli.output import _summary

    assert f"model: cut at act4, pruned 50%, {m['parameters']:,d} parameters (of the regression model's " in \
        _summary(run.metrics)
    meta = read_metadata(export.folder)
    assert meta["recipe"]["model"] == {"cut_at": "act4", "prune": 0.5}
    card = (export.folder / "README.md").read_text(encoding="utf-8")  # the model card says it in words
    assert "Simplified before conversion: the head is attached after layer “act4”" in card
    assert "50% of the hidden units were pruned by magnitude" in card and "layer1 10 → 5" in card
    assert f"It has {m['parameters']:,d} parameters, the regression model {m['parameters_regression_model']:,d}." \
        in card
    X = run.data.table.X[run.data.splits["test"]]
    with torch.no_grad():
        expected = pipeline.calibrated_module(run).eval()(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(probabilities(export.folder, meta, X), expected, atol=1e-6)
    # Compare shows runs cut at different layers (and pruned or not) side by side, with their parameters.
    from workbench.core.evaluate.compare import format_table, load_run_dir, table

    other, _ = convert_checkpoint(ckpt, recipe.replace(**{"model.cut_at": "layer2", "model.prune": 0.0}),
                                  tmp_path / "other", trusted=True)
    found = table([load_run_dir(tmp_path / "out"), load_run_dir(tmp_path / "other")])
    assert [r["model"] for r in found["rows"]] == [
        {"cut_at": "act4", "prune": 0.5, "parameters": m["parameters"]},
        {"cut_at": "layer2", "prune": 0.0, "parameters": other.metrics["model"]["parameters"]}]
    text = format_table(found)
    assert f"cut at act4, pruned 50%, {m['parameters']:,d} parameters" in text and "cut at layer2, " in text
