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


# ----- what runs is what was read: never the standard library's name, never compiled code ---------------------

NET_USING = '''
    from torch import nn
    {imports}
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(2, 1)
            self.used = {use}
'''


def _net(folder, imports, use):
    return _write(folder / "models.py", NET_USING.format(imports=imports, use=use))


@pytest.mark.parametrize("on_path", [False, True])
def test_a_sibling_named_like_a_standard_module_is_never_served(tmp_path, monkeypatch, on_path):
    for name in ("colorsys", "json"):
        _write(tmp_path / f"{name}.py", "def rgb_to_hsv(*a):\n    return 0\ndef dumps(*a):\n    return 0\n")
        monkeypatch.delitem(sys.modules, name, raising=False)  # imported afresh, while the source is defined
    if on_path:  # `python -m workbench` run from the downloaded folder puts it first on sys.path
        monkeypatch.syspath_prepend(str(tmp_path))
    app = _net(tmp_path, "import colorsys\n    import json", "(colorsys.rgb_to_hsv(1, 0, 0), json.dumps(1))")
    model = build(f"{app}:Net")
    assert model.used == ((0.0, 1.0, 1), "1")  # the real modules
    assert "lib/python" in sys.modules["colorsys"].__file__
    _no_marker(tmp_path)


def test_the_loader_says_when_a_file_beside_the_source_was_passed_over(tmp_path, monkeypatch):
    from workbench.core.open.load import load_checkpoint

    _write(tmp_path / "colorsys.py", "X = 1\n")
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    app = _net(tmp_path, "import colorsys", "colorsys.rgb_to_hsv(1, 0, 0)")
    weights = tmp_path / "w.pt"
    torch.save(build(f"{app}:Net").state_dict(), weights)
    notes = " ".join(load_checkpoint(weights, f"{app}:Net").notes)
    assert "'colorsys'" in notes and "colorsys.py" in notes and "installed one is used" in notes
    # and when the class then fails for want of the file's names, the error says why
    other = _net(tmp_path / "other", "from colorsys import only_in_the_sibling", "only_in_the_sibling")
    _write(tmp_path / "other" / "colorsys.py", "only_in_the_sibling = 1\n")
    with pytest.raises(E.ModelSourceError, match="installed one is used"):
        build(f"{other}:Net")
    _no_marker(tmp_path)


def _compiled_sibling(folder, where):
    import os
    import py_compile

    source = _write(folder / "blocks.py", "from torch import nn\nclass Block(nn.Linear):\n    pass\n")
    target = folder / "blocks.pyc" if where == "beside" else None
    compiled = py_compile.compile(str(source), cfile=str(target) if target else None, doraise=True)
    os.remove(source)
    return compiled


@pytest.mark.parametrize("where", ["beside", "__pycache__"])
def test_a_compiled_only_sibling_is_refused_by_name(tmp_path, where):
    compiled = _compiled_sibling(tmp_path, where)
    app = _net(tmp_path, "from blocks import Block", "Block(2, 2)")
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert compiled in str(caught.value) and "compiled" in caught.value.problem
    _no_marker(tmp_path)


def test_a_compiled_extension_beside_the_source_is_refused_by_name(tmp_path):
    import importlib.machinery

    ext = tmp_path / f"blocks{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    ext.write_bytes(b"\x7fELF not really")
    app = _net(tmp_path, "import blocks", "blocks")
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert str(ext) in str(caught.value)


def test_stale_bytecode_beside_a_sibling_never_runs(tmp_path):
    """A __pycache__ entry whose header matches the source (mtime and size) is what a plain import runs."""
    import os
    import py_compile

    evil = "import pathlib\npathlib.Path(__file__).with_name('RAN').write_text('x')\nclass Block: pass  \n"
    good = "from torch import nn\nclass Block(nn.Linear):\n    pass\n"
    good = good + " " * (len(evil) - len(good) - 1) + "\n"
    assert len(good) == len(evil)
    blocks = tmp_path / "blocks.py"
    blocks.write_text(evil)
    os.utime(blocks, (1_000_000_000, 1_000_000_000))
    py_compile.compile(str(blocks), doraise=True)
    blocks.write_text(good)
    os.utime(blocks, (1_000_000_000, 1_000_000_000))
    app = _net(tmp_path, "from blocks import Block", "Block(2, 2)")
    assert isinstance(build(f"{app}:Net").used, torch.nn.Linear)
    assert not (tmp_path / "RAN").exists()


def test_an_import_built_at_run_time_is_refused_by_name(tmp_path):
    _write(tmp_path / "blocks.py", "X = 1\n")
    app = _net(tmp_path, "import importlib", "importlib.import_module('bl' + 'ocks')")
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert "'blocks'" in caught.value.problem and str(tmp_path / "blocks.py") in str(caught.value)
    _no_marker(tmp_path)


def test_a_sibling_swapped_after_it_was_read_does_not_run(tmp_path):
    """What runs is the bytes that were read (and hashed), never the file read again later."""
    from workbench.core.safety.source_closure import closure_of

    _write(tmp_path / "blocks.py", "from torch import nn\nclass Block(nn.Linear):\n    pass\n")
    app = _net(tmp_path, "from blocks import Block", "Block(2, 2)")
    closure = closure_of(f"{app}:Net")
    (tmp_path / "blocks.py").write_text(MARK + "from torch import nn\nclass Block(nn.Linear):\n"
                                        "    def __init__(self, *a):\n        open('RAN', 'w')\n")
    assert isinstance(build(f"{app}:Net", closure=closure).used, torch.nn.Linear)
    _no_marker(tmp_path)


def test_a_name_first_used_in_forward_imports_from_the_closure_too(tmp_path):
    _write(tmp_path / "core" / "__init__.py", "")
    _write(tmp_path / "core" / "helpers.py", "def twice(v):\n    return 2 * v\n")
    _write(tmp_path / "core" / "extras.py", "def double(v):\n    from .helpers import twice\n    return twice(v)\n")
    app = _write(tmp_path / "models.py", '''
        from torch import nn
        import core.extras as extras
        class Net(nn.Module):
            def forward(self, x):
                return extras.double(x)
    ''')
    model = build(f"{app}:Net")
    (tmp_path / "core" / "helpers.py").write_text(MARK + "def twice(v):\n    return 3 * v\n")  # after it was read
    assert torch.equal(model(torch.ones(2)), torch.full((2,), 2.0))
    _no_marker(tmp_path)


# ----- more attacks on the sibling finder and the closure -----------------------------------------------------

def test_a_source_named_like_a_standard_module_does_not_replace_it(tmp_path):
    import json

    source = _write(tmp_path / "json.py", "from torch import nn\nclass Net(nn.Linear):\n    pass\n")
    model = build(f"{source}:Net", {"in_features": 2, "out_features": 1})
    assert type(model).__name__ == "Net" and sys.modules["json"] is json  # never the user's json.py
    assert json.dumps([1]) == "[1]"
    _no_marker(tmp_path)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_sibling_that_is_not_a_plain_file_is_never_read(tmp_path, kind):
    import os

    if kind == "fifo":
        os.mkfifo(tmp_path / "blocks.py")  # reading it would block forever
    else:
        (tmp_path / "blocks.py").symlink_to("/dev/zero")  # reading it would never end
    app = _net(tmp_path, "from blocks import Block", "Block(2, 2)")
    with pytest.raises(E.ModelSourceError):
        build(f"{app}:Net")


def test_a_huge_sibling_is_refused_before_it_is_read(tmp_path):
    with open(tmp_path / "blocks.py", "wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB of NUL bytes, none of it on disk
    app = _net(tmp_path, "from blocks import Block", "Block(2, 2)")
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{app}:Net")
    assert "MiB of Python" in caught.value.problem


def test_too_many_siblings_are_refused_and_cycles_end(tmp_path):
    from workbench.core.safety.source_closure import MAX_FILES, closure_of

    _write(tmp_path / "a.py", "import b\nX = 1\n")
    _write(tmp_path / "b.py", "import a\nY = 2\n")  # a cycle: read once each
    app = _net(tmp_path, "import a", "a.X")
    assert build(f"{app}:Net").used == 1
    assert sorted(f.name for f in closure_of(f"{app}:Net").sibling_files) == ["a.py", "b.py"]
    for i in range(MAX_FILES + 1):  # a chain: each imports the next
        (tmp_path / f"m{i}.py").write_text(f"import m{i + 1}\n")
    with pytest.raises(E.ModelSourceError, match=f"more than {MAX_FILES} modules"):
        closure_of(f"{_net(tmp_path, 'import m0', 'm0')}:Net")


def test_two_siblings_trading_contents_are_other_code(tmp_path):
    from workbench.core.safety.source_closure import closure_of

    _write(tmp_path / "a.py", "X = 1\n")
    _write(tmp_path / "b.py", "X = 2\n")
    app = _net(tmp_path, "import a\n    import b", "a.X + b.X")
    before = closure_of(f"{app}:Net").sha256
    (tmp_path / "a.py").write_text(MARK + "X = 2\n")
    (tmp_path / "b.py").write_text(MARK + "X = 1\n")
    swapped = closure_of(f"{app}:Net").sha256
    (tmp_path / "a.py").write_text(MARK + "X = 1\n")
    (tmp_path / "b.py").write_text(MARK + "X = 2\n")
    assert before != swapped and closure_of(f"{app}:Net").sha256 == before


def test_a_trusted_pickle_naming_a_sibling_the_source_never_imported_does_not_run_it(tmp_path, monkeypatch):
    import importlib.util

    from workbench.core.open.load import load_checkpoint

    _write(tmp_path / "core" / "__init__.py", "")
    _write(tmp_path / "core" / "model.py", "from torch import nn\nclass Net(nn.Linear):\n    pass\n")
    other = tmp_path / "core" / "other.py"
    other.write_text("from torch import nn\nclass Other(nn.Linear):\n    pass\n")
    spec = importlib.util.spec_from_file_location("core.other", other)  # as the script that saved it did
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "core.other", module)
    spec.loader.exec_module(module)
    app = _write(tmp_path / "models.py", "from core.model import Net\n")
    model = build(f"{app}:Net", {"in_features": 2, "out_features": 1})
    model.extra = module.Other(2, 1)  # pickled as core.other.Other
    torch.save(model, tmp_path / "whole.pt")
    monkeypatch.delitem(sys.modules, "core.other")
    _write(other, "from torch import nn\nclass Other(nn.Linear):\n    pass\n")  # someone else's, now
    with pytest.raises(E.ModelSourceError) as caught:
        load_checkpoint(tmp_path / "whole.pt", f"{app}:Net", trusted=True)
    assert "core.other" in caught.value.problem
    _no_marker(tmp_path)


def test_a_scripted_sibling_compiles_from_what_ran_not_from_the_disk(tmp_path):
    block = "from torch import nn\nclass Block(nn.Module):\n    def forward(self, x):\n        return x + 1\n"
    _write(tmp_path / "blocks.py", block)
    app = _net(tmp_path, "from blocks import Block", "Block()")
    model = build(f"{app}:Net")
    _write(tmp_path / "blocks.py", block.replace("x + 1", "x * 0 + 100"))  # same lines, other code
    scripted = torch.jit.script(model.used)  # TorchScript reads a method's source: the bytes that ran
    assert torch.equal(scripted(torch.zeros(2)), torch.ones(2))
    _no_marker(tmp_path)


def test_a_long_list_of_siblings_is_named_in_full_and_the_message_stays_short(tmp_path):
    from workbench.core.open.load import load_checkpoint

    for i in range(30):
        _write(tmp_path / f"part{i}.py", f"X{i} = {i}\n")
    app = _net(tmp_path, "\n    ".join(f"import part{i}" for i in range(30)),
               "[" + ", ".join(f"part{i}.X{i}" for i in range(30)) + "]")
    (tmp_path / "config.json").write_text('{"model_source": "models.py:Net"}')
    from safetensors.torch import save_file

    save_file({"head.weight": torch.zeros(1, 2), "head.bias": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(E.UntrustedFileError) as caught:
        load_checkpoint(tmp_path / "model.safetensors")
    assert caught.value.files == [str(app)] + [str(tmp_path / f"part{i}.py") for i in range(30)]
    assert "and 11 more" in caught.value.problem and len(str(caught.value)) < 1500
    _no_marker(tmp_path)


def test_an_earlier_source_does_not_stand_in_for_a_later_sources_package(tmp_path):
    first = _net(tmp_path / "one", "", "1")  # one/models.py, registered as `models`
    assert build(f"{first}:Net").used == 1
    pkg = tmp_path / "two" / "models"
    _write(pkg / "__init__.py", "")
    _write(pkg / "parts.py", "from torch import nn\nclass Stem(nn.Linear):\n    pass\n")
    net = _write(pkg / "net.py", "from .parts import Stem\nclass Net(Stem):\n    pass\n")
    assert build(f"{net}:Net", {"in_features": 2, "out_features": 1}).in_features == 2  # `models` is two/models/
    _no_marker(tmp_path)


def test_an_optional_compiled_sibling_is_passed_over_without_running(tmp_path):
    import importlib.machinery

    (tmp_path / f"fast_ops{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"\x7fELF not really")
    app = _net(tmp_path, "try:\n        import fast_ops\n    except ImportError:\n        fast_ops = None",
               "fast_ops")
    assert build(f"{app}:Net").used is None  # the pure-Python path, as without the extension
    _no_marker(tmp_path)
