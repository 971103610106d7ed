import pytest
import torch
from torch import nn

from workbench.core.errors import ModelError, RecipeError
from workbench.core.open.layer_tree import inspect_model
from workbench.core.recipe import HeadRecipe
from workbench.core.train.heads import convert


def test_layer_tree_and_head_with_activation(tiny_model):
    found = inspect_model(tiny_model, (4,))
    rows = {layer.name: layer for layer in found.layers}
    assert found.head == "head" and found.tail == ["act"]
    assert rows["body.0"].output_shape == (2, 8) and rows["body.0"].params == 40
    assert rows["head"].role == "head" and rows["act"].role == "head activation"
    assert rows["(model)"].params == sum(p.numel() for p in tiny_model.parameters())
    assert all(layer.trainable for layer in found.layers if layer.params)


def test_probe_failure_names_the_shape(tiny_model):
    with pytest.raises(ModelError, match=r"\(2, 7\)"):
        inspect_model(tiny_model, (7,))


def test_non_linear_head_is_refused():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.BatchNorm1d(4))
    with pytest.raises(ModelError, match="not a Linear"):
        inspect_model(model, (4,))


def test_functional_activation_after_head_is_refused():
    class Sneaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            return torch.nn.functional.softplus(self.fc(x))

    with pytest.raises(ModelError, match="not a module") as caught:
        inspect_model(Sneaky(), (4,))
    assert "Sneaky.forward (test_layer_tree_and_heads.py)" in str(caught.value)  # which code to change


@pytest.mark.parametrize("task, classes, out", [("binary", 2, 1), ("multiclass", 5, 5)])
def test_convert_replaces_head_and_drops_activation(tiny_model, task, classes, out):
    found = inspect_model(tiny_model, (4,))
    model, name = convert(tiny_model, found, task, classes, HeadRecipe(task=task, dropout=0.2, hidden=6))
    head = model.get_submodule(name)
    assert [type(m) for m in head] == [nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert head[-1].out_features == out and isinstance(model.act, nn.Identity)
    assert isinstance(tiny_model.head, nn.Linear), "the source model is untouched"
    model.eval()
    logits = model(torch.randn(3, 4))
    assert logits.shape == (3, out)


def test_freeze_choices(tiny_model):
    found = inspect_model(tiny_model, (4,))
    body, name = convert(tiny_model, found, "binary", 2, HeadRecipe(freeze="body"))
    assert {n for n, p in body.named_parameters() if p.requires_grad} == {"head.0.weight", "head.0.bias"}
    upto, _ = convert(tiny_model, found, "binary", 2, HeadRecipe(freeze="upto:body.0"))
    assert not upto.body[0].weight.requires_grad and upto.head[0].weight.requires_grad
    with pytest.raises(RecipeError, match="nope"):
        convert(tiny_model, found, "binary", 2, HeadRecipe(freeze="upto:nope"))


def test_warm_start_copies_the_regression_head(tiny_model):
    found = inspect_model(tiny_model, (4,))
    model, name = convert(tiny_model, found, "binary", 2, HeadRecipe(warm_start="on"), warm=(2.0, -1.0))
    x = torch.randn(6, 4)
    model.eval()
    regression = tiny_model.head(tiny_model.body(x))
    assert torch.allclose(model(x), 2.0 * regression - 1.0, atol=1e-6)
