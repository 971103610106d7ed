"""The recipe's model section: where the head is attached (a cut of the body) and how much of each hidden layer is
pruned away (see train.cut and train.prune). Its own module so that recipe.py stays one screenful per section."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.fields import describe


@dataclass(frozen=True)
class ModelRecipe:
    """How much of the regression model's body the classifier keeps. The defaults keep the whole body, as recipes
    written before this section meant."""

    cut_at: str = field(default="", metadata=describe(
        "Attach the head at", "a layer's name (e.g. layer3, or 4 in a Sequential): the layers after it are dropped "
        "from the model and the export, and the new head reads that layer's output (a feature map through global "
        "average pooling, a sequence at its last step); empty: after the whole body", group="Head"))
    prune: float = field(default=0.0, metadata=describe(
        "Prune hidden units", "the fraction of each hidden Linear layer's units removed by magnitude (L2 norm of "
        "their weights) before training; the export really has fewer parameters; 0: none", low=0, high=1,
        high_open=True, group="Head", decimals=3, step=0.05))


def cut_problems(model: ModelRecipe, warm_start: str) -> list[tuple[str, str]]:
    """A cut body has no regression head to start the new head from."""
    if model.cut_at and warm_start == "on":
        return [("head.warm_start", "starts the head from the regression head, which a cut at a layer drops; "
                                    "choose auto or off")]
    return []
