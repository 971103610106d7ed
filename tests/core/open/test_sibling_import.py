"""Sibling modules of a model source run only what the class uses: their top level never runs.

Every file here writes a marker file at its top level; the class must build while no marker appears.
"""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from workbench.core import errors as E
from workbench.core.open.model_source import build

MARK = 'import pathlib\npathlib.Path(__file__).with_name("RAN").write_text("top level ran")\n'


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MARK + textwrap.dedent(text))
    return path


def _no_marker(folder):
    assert not [str(p) for p in folder.rglob("RAN")], "code at a module's top level ran"


APP = '''
    from torch import nn
    from core.model import Block
    import core.extras as extras
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = Block(4)
            self.head = nn.Linear(WIDTH_OF_BLOCK, 1)
        def forward(self, x):
            return extras.double(self.head(self.body(x)))
    WIDTH_OF_BLOCK = 7
    model = Net()
    model.fit()
'''


def _project(root, width=7):
    _write(root / "core" / "__init__.py", "from .model import Block\nprint('package init ran')\n")
    _write(root / "core" / "model.py", f'''
        import torch
        from torch import nn
        from .layers import act
        WIDTH = {width}
        class Block(nn.Sequential):
            def __init__(self, n_in):
                super().__init__(nn.Linear(n_in, WIDTH), act())
        trained = torch.load("weights_that_do_not_exist.pt")
    ''')
    _write(root / "core" / "layers.py", '''
        from torch import nn
        def act():
            return nn.Tanh()
        raise SystemExit("the layers module's top level ran")
    ''')
    _write(root / "core" / "extras.py", '''
        import urllib.request
        FACTOR = 2
        def double(v):
            return v * FACTOR
        urllib.request.urlretrieve("http://example.invalid/x", "x")
    ''')
    return _write(root / "app" / "main.py", APP.replace("WIDTH_OF_BLOCK = 7", f"WIDTH_OF_BLOCK = {width}"))


def test_a_sibling_package_runs_only_what_the_class_uses(tmp_path):
    app = _project(tmp_path)
    model = build(f"{app}:Net")
    assert model.body[0].out_features == 7 and isinstance(model.body[1], torch.nn.Tanh)
    x = torch.randn(3, 4)
    assert torch.allclose(model(x), 2 * model.head(model.body(x)))
    assert type(model.body).__module__ == "core.model"  # a pickle can still name it
    _no_marker(tmp_path)


def test_a_scripted_model_compiles_from_the_sibling_files_source(tmp_path):
    app = _project(tmp_path)
    model = build(f"{app}:Net")
    scripted = torch.jit.script(model.body)
    x = torch.randn(2, 4)
    assert torch.allclose(scripted(x), model.body(x))
    _no_marker(tmp_path)


def test_each_model_source_gets_its_own_siblings(tmp_path):
    first = _project(tmp_path / "one", width=5)
    second = _project(tmp_path / "two", width=9)
    assert build(f"{first}:Net").body[0].out_features == 5
    assert build(f"{second}:Net").body[0].out_features == 9  # not the cached `core` of the first project
    _no_marker(tmp_path)


def test_a_relative_import_from_the_sources_own_package_and_star_imports(tmp_path):
    pkg = tmp_path / "proj" / "models"
    _write(pkg / "__init__.py", "raise SystemExit('package init ran')\n")
    _write(pkg / "parts.py", '''
        from torch import nn
        __all__ = ["Stem"]
        class Stem(nn.Linear):
            pass
        class Unlisted:
            pass
        print("parts ran")
    ''')
    _write(pkg / "common.py", '''
        from torch import nn
        def head(n):
            return nn.Linear(n, 1)
        _private = 1
        open("common_ran", "w").write("ran")
    ''')
    net = _write(pkg / "net.py", '''
        from torch import nn
        from .parts import *
        from .common import *
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = Stem(3, 6)
                self.head = head(6)
            def forward(self, x):
                return self.head(self.stem(x))
    ''')
    model = build(f"{net}:Net")
    assert model.stem.in_features == 3 and model.head.in_features == 6
    assert "Unlisted" not in vars(sys.modules["models.parts"])  # __all__ leaves it out: it was never defined
    _no_marker(tmp_path)
    assert not list(tmp_path.rglob("common_ran"))


def test_a_package_a_sibling_needs_is_named(tmp_path):
    _write(tmp_path / "lib" / "blocks.py", '''
        import not_installed_anywhere_here as nx
        from torch import nn
        class Block(nn.Linear):
            def extra(self):
                return nx.thing()
    ''')
    app = _write(tmp_path / "app.py", '''
        from torch import nn
        from lib.blocks import Block
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = Block(2, 1)
    ''')
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert "not_installed_anywhere_here" in caught.value.problem
    assert "pip install not-installed-anywhere-here" in caught.value.fix
    _no_marker(tmp_path)


def test_a_name_the_sibling_does_not_define_is_reported(tmp_path):
    _write(tmp_path / "lib.py", "from torch import nn\nclass Other(nn.Linear):\n    pass\n")
    app = _write(tmp_path / "app.py", '''
        from torch import nn
        from lib import Missing
        class Net(nn.Linear):
            def __init__(self):
                super().__init__(2, 1)
                self.extra = Missing()
    ''')
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert "Missing" in caught.value.problem
    _no_marker(tmp_path)
