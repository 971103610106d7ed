"""Opening a second model in the same window: nothing of the first reaches it (its model source, arguments and
input shape, its table's label in run names, its curves on the Train tab), and the first model's runs stay in the
session, pickable, saying which model made them."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import open_model_and_data

torchvision = pytest.importorskip("torchvision")


@pytest.fixture
def resnet_and_images(tmp_path):
    """A torchvision-shaped checkpoint (resnet18's state_dict, weights=None) and an image folder of two classes."""
    import torch
    from PIL import Image

    ckpt = tmp_path / "resnet18.pt"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None, num_classes=1).state_dict(), ckpt)
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for cls, base in (("cat", 40), ("dog", 200)):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 20, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    return ckpt, root


def test_a_second_model_takes_nothing_of_the_first(window, files, qtbot, dialogs, resnet_and_images):
    m = window.session.model
    open_model_and_data(qtbot, window, files)  # A: the user's MLP, built from its model source, on a table
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not m.busy, timeout=30000)
    run_a = m.run
    assert "target" in m.entry_of(run_a).name and len(window.train_panel.curves.epochs) == 2

    ckpt, photos = resnet_and_images
    with qtbot.waitSignal(window.session.model_changed, timeout=60000):
        window.open_checkpoint(str(ckpt))
    assert not dialogs.errors, dialogs.errors  # A's model source would have failed with "Missing key(s)"
    assert m.loaded.path == ckpt and m.recipe.model_source == "" and not m.recipe.model_args
    assert (window.model_panel.source.text(), window.model_panel.args.text()) == ("", "")
    assert m.run is None and window.train_panel.curves.epochs == []
    picker = window.runs_bar.combo  # A's run is listed, none picked: the picker says so rather than show blank
    assert picker.currentIndex() == -1 and picker.placeholderText().startswith("No run picked")
    assert window.train_panel.progress.format() == "Not started"
    assert "after 2 epochs" not in window.train_panel.status.text()

    window.load_data(str(photos))
    qtbot.waitUntil(lambda: m.data is not None and m.inspection is not None and not m.jobs, timeout=60000)
    assert not dialogs.errors, dialogs.errors  # never probed with the old table's width
    assert m.data.input_shape[0] == 3 and m.data.classes == ["cat", "dog"]
    assert m.inspection.head == "fc"
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.form.baseline_button.click()
    qtbot.waitUntil(lambda: not m.busy, timeout=30000)
    run_b = m.run
    assert run_b is not run_a and "target" not in m.entry_of(run_b).name  # named for B's data, not A's label
    assert not dialogs.errors

    # A's run is still there and can be picked: it carries its own model, and says it is not the open one.
    texts = [picker.itemText(i) for i in range(picker.count())]
    assert len(texts) == 2 and "made with tiny.pt" in texts[0]
    picker.setCurrentIndex(0)
    head = window.model_panel.head_label.text()  # the title names the open model: the tree's run says whose it is
    assert "The picked run was made with tiny.pt, not the open model" in head
    assert m.run is run_a and window.evaluate_panel.scroll.isVisibleTo(window.evaluate_panel)
    assert [e["epoch"] for e in window.train_panel.curves.epochs] == [1, 2]
