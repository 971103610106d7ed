"""The trust prompt's reading of pickles (hand-made hostile ones included) and the trust store's robustness."""

from __future__ import annotations

import copyreg
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import pytest
import torch

from workbench.core.errors import TrustStoreError
from workbench.core.safety import trust

SAFE_LINE = "only imports torch and numpy types"


def _u(text: str) -> bytes:  # SHORT_BINUNICODE
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _proto4_global(module: str, name: str, arg: str = "touch PWNED") -> bytes:
    # PROTO 4, module, name, STACK_GLOBAL, (arg,) REDUCE, STOP
    return b"\x80\x04" + _u(module) + _u(name) + b"\x93" + _u(arg) + b"\x85R."


def _proto2_global(module: str, name: str, arg: str = "touch PWNED") -> bytes:
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X" + struct.pack("<I", len(arg)) + arg.encode() \
        + b"\x85R."


def _write(tmp_path, data: bytes, name="x.pt"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _verdict(tmp_path, data: bytes):
    names = trust.pickle_globals(_write(tmp_path, data))
    return names, trust.dangerous_globals(names), trust.describe(names)


def test_plain_weights_read_as_harmless(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(2, 3), "b": torch.ones(3, dtype=torch.float64)}, path)
    names = trust.pickle_globals(path)
    assert "torch._utils._rebuild_tensor_v2" in names
    assert trust.describe(names) == "It only imports torch and numpy types."


def test_torch_layers_pickled_whole_are_harmless_but_own_classes_are_unknown(tmp_path, tiny_model):
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()), path)
    assert trust.describe(trust.pickle_globals(path)) == "It only imports torch and numpy types."
    torch.save(tiny_model, path)
    names = trust.pickle_globals(path)
    assert "tiny_models.TinyRegressor" in trust.unfamiliar_globals(names)
    assert SAFE_LINE not in trust.describe(names) and not trust.dangerous_globals(names)


def test_protocol_4_dotted_path_under_torch_reaching_os_system(tmp_path):
    names, danger, text = _verdict(tmp_path, _proto4_global("torch", "serialization.os.system"))
    assert names == ["torch:serialization.os.system"]
    assert danger and "system" in danger[0] and "DANGER" in text and SAFE_LINE not in text


def test_every_pickle_of_a_legacy_file_is_read(tmp_path):
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    names, danger, text = _verdict(tmp_path, magic + pickle.dumps(1001, protocol=2)
                                   + _proto2_global("posix", "system"))
    assert "posix.system" in names and danger and SAFE_LINE not in text


def test_zip_pickles_are_found_whatever_their_case_and_duplicates(tmp_path):
    source = tmp_path / "a.pt"
    torch.save({"w": torch.zeros(2)}, source)
    out = tmp_path / "b.pt"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename.endswith("data.pkl"):
                zout.writestr(info.filename, zin.read(info))
                zout.writestr(info.filename.replace("data.pkl", "DATA.PKL"), _proto2_global("os", "system"))
            else:
                zout.writestr(info.filename, zin.read(info))
    names = trust.pickle_globals(out)
    assert "os.system" in names and trust.dangerous_globals(names)


def test_python2_names_are_renamed_as_the_unpickler_renames_them(tmp_path):
    names, danger, _ = _verdict(tmp_path, _proto2_global("commands", "getoutput"))
    assert names == ["subprocess.getoutput"] and danger
    names, danger, _ = _verdict(tmp_path, _proto2_global("__builtin__", "eval"))
    assert names == ["builtins.eval"] and danger


@pytest.mark.parametrize("module, name", [
    ("torch.hub", "load"), ("torch.serialization", "load"), ("numpy", "load"), ("numpy.ctypeslib", "load_library"),
    ("timeit", "timeit"), ("pdb", "run"), ("torch._C", "_jit_pass_lint"), ("antigravity", "geohash"),
    ("torch.storage", "_load_from_bytes"),
])
def test_anything_not_proven_harmless_is_never_called_safe(tmp_path, module, name):
    names, _danger, text = _verdict(tmp_path, _proto4_global(module, name))
    assert SAFE_LINE not in text, names


@pytest.mark.parametrize("module, name", [
    ("torch.storage", "_load_from_bytes"), ("torch.fx.graph_module", "reduce_graph_module"), ("torch.jit", "load"),
    ("torch.utils.cpp_extension", "load_inline"), ("numpy", "ctypeslib.ctypes.CDLL"),
    ("builtins", "object.__subclasses__"),
    ("torch", "Tensor.__reduce_ex__"), ("torch.serialization", "pickle.loads"),
])
def test_torch_and_numpy_helpers_that_run_code_are_named_dangerous(tmp_path, module, name):
    names, danger, text = _verdict(tmp_path, _proto4_global(module, name))
    assert danger and SAFE_LINE not in text, names


def test_getattr_chain_is_dangerous(tmp_path):
    # builtins.getattr(torch module, 'load') style: the first global is already DANGER
    data = b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x86R."
    names, danger, _ = _verdict(tmp_path, data)
    assert [d.split(" ")[0] for d in danger] == ["builtins.getattr", "builtins.__import__"]


def test_stack_global_reads_the_real_stack_through_the_memo(tmp_path):
    # "torch" "Tensor" pushed and memoised, then popped; "posix" "system" fetched from the memo for STACK_GLOBAL
    data = (b"\x80\x04" + _u("posix") + b"\x94" + _u("system") + b"\x94" + b"00" + _u("torch") + _u("Tensor")
            + b"00" + b"h\x00h\x01\x93)R.")
    names, danger, _ = _verdict(tmp_path, data)
    assert names == ["posix.system"] and danger


def test_reduce_and_build_on_allowed_classes_cannot_hide_a_callable(tmp_path):
    # OrderedDict() then BUILD whose state holds posix.system: the callable is still a global, still DANGER
    data = (b"\x80\x02ccollections\nOrderedDict\n)R}X\x07\x00\x00\x00forwardcposix\nsystem\nsb.")
    names, danger, _ = _verdict(tmp_path, data)
    assert "collections.OrderedDict" in names and danger == ["posix.system"]


def test_copyreg_reconstructor_with_a_dangerous_class(tmp_path):
    data = b"\x80\x02ccopyreg\n_reconstructor\ncsubprocess\nPopen\ncbuiltins\nobject\nN\x87R."
    names, danger, _ = _verdict(tmp_path, data)
    assert "subprocess.Popen" in danger


def test_inst_opcode(tmp_path):
    names, danger, _ = _verdict(tmp_path, b"(S'touch PWNED'\nios\nsystem\n.")
    assert names == ["os.system"] and danger


def test_ext_opcodes_resolve_through_the_copyreg_registry(tmp_path):
    data = b"\x80\x02\x83\x39\x05X\x01\x00\x00\x00x\x85R."  # EXT2 code 0x0539
    names, _danger, text = _verdict(tmp_path, data)
    assert names[0].startswith("<copyreg extension") and SAFE_LINE not in text
    copyreg.add_extension("posix", "system", 0x0539)
    try:
        names, danger, _ = _verdict(tmp_path, data)
    finally:
        copyreg.remove_extension("posix", "system", 0x0539)
    assert names == ["posix.system"] and danger


def test_unreadable_pickles_are_unknown_not_safe(tmp_path):
    for data in (b"\x80\x02\x93.", b"\x80\x02X\xff\xff\xff\x7f", b"\x80\x02(((((("):
        names, _danger, text = _verdict(tmp_path, data)
        assert any(n.startswith("<") for n in names) and SAFE_LINE not in text


# ----- the store -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", ['{"sha256": 5}', "[[1]]", "{", '{"sha256": [1, null, "zz"]}', "\xff\xfe"])
def test_a_malformed_store_reads_as_empty_and_is_reported_once(content):
    store = trust.config_dir() / "trusted.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(content.encode("latin-1"))
    trust.take_problems()
    trust._reported.clear()
    assert not trust.is_trusted("a" * 64) and not trust.is_trusted("a" * 64)
    problems = trust.take_problems()
    assert len(problems) == 1 and str(store) in problems[0]
    trust.trust("b" * 64)
    assert trust.is_trusted("b" * 64)
    assert store.with_name("trusted.json.bad").read_bytes() == content.encode("latin-1")  # kept, not lost


def test_config_folder_that_is_a_file_is_a_typed_error(tmp_path, monkeypatch):
    blocker = tmp_path / "cfg"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(blocker))
    with pytest.raises(TrustStoreError) as err:
        trust.trust("c" * 64)
    assert str(blocker) in str(err.value) and "WORKBENCH_CONFIG_DIR" in str(err.value)
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write a read-only folder")
def test_read_only_config_folder_is_a_typed_error(tmp_path, monkeypatch):
    folder = tmp_path / "cfg"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(folder))
    try:
        with pytest.raises(TrustStoreError):
            trust.trust("d" * 64)
    finally:
        folder.chmod(0o700)


def test_concurrent_trusts_keep_every_entry(tmp_path):
    script = ("import sys\nfrom workbench.core.safety import trust\n"
              "for i in range(15):\n    trust.trust(f'{int(sys.argv[1]):02d}{i:02d}'.ljust(64, 'e'))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)], env=os.environ.copy())
             for n in range(6)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    assert len(trust.trusted_hashes()) == 6 * 15


def test_old_store_format_still_reads():
    store = trust.config_dir() / "trusted.json"
    store.write_text(json.dumps({"sha256": ["f" * 64]}))
    assert trust.is_trusted("f" * 64)


def test_sha256_of_matches_hashlib(tmp_path):
    import hashlib

    path = _write(tmp_path, os.urandom(3000))
    assert trust.sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# ----- what a model source's trust covers: the source and every sibling it reaches, hashed together ----------

def _source_tree(root, block="class Block:\n    pass\n"):
    (root / "core").mkdir(parents=True, exist_ok=True)
    (root / "core" / "__init__.py").write_text("")
    (root / "core" / "block.py").write_text(block)
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "models.py").write_text("import torch\nfrom core.block import Block\n"
                                            "class Net(torch.nn.Module):\n    part = Block\n")
    return root / "app" / "models.py"


def test_a_closure_is_hashed_with_the_paths_of_its_files(tmp_path):
    import hashlib

    from workbench.core.safety.source_closure import closure_of

    lone = tmp_path / "lone.py"
    lone.write_text("import torch\nclass Net(torch.nn.Module):\n    pass\n")
    assert closure_of(f"{lone}:Net").sha256 == hashlib.sha256(lone.read_bytes()).hexdigest()  # as it always was
    models = _source_tree(tmp_path / "a")
    closure = closure_of(f"{models}:Net")
    assert [closure.rel(f) for f in closure.files[1:]] == ["../core/__init__.py", "../core/block.py"]
    assert closure.sha256 != hashlib.sha256(models.read_bytes()).hexdigest()
    other = closure_of(f"{_source_tree(tmp_path / 'b')}:Net")
    assert other.sha256 == closure.sha256  # the same files in the same places: the same code
    (tmp_path / "b" / "core" / "block.py").write_text("class Block:\n    x = 1\n")
    assert closure_of(f"{models.parent.parent.parent / 'b' / 'app' / 'models.py'}:Net").sha256 != closure.sha256


def test_a_recipe_trusted_once_asks_again_when_a_sibling_changes(tmp_path):
    from workbench.core import recipe as rc
    from workbench.core.errors import UntrustedFileError

    models = _source_tree(tmp_path)
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"model_source": f"{models}:Net"}))
    with pytest.raises(UntrustedFileError) as caught:
        rc.load(path)
    assert caught.value.files == [str(models), str(tmp_path / "core" / "__init__.py"),
                                  str(tmp_path / "core" / "block.py")]
    rc.load(path, trusted=True)
    assert rc.load(path).model_source == f"{models}:Net"
    (tmp_path / "core" / "block.py").write_text("import os\nclass Block:\n    os.system('touch PWNED')\n")
    with pytest.raises(UntrustedFileError):
        rc.load(path)  # the recipe is the same; the code it names is not


def test_a_saved_recipe_or_session_reopens_until_its_code_changes(tmp_path):
    from workbench.core import recipe as rc
    from workbench.core.errors import UntrustedFileError
    from workbench.core.workflow.session_files import load_session, save_session

    models = _source_tree(tmp_path)
    recipe = rc.Recipe(model_source=f"{models}:Net")
    recipe.save(tmp_path / "mine.json")
    save_session(tmp_path / "mine.session", [], recipe.to_dict())
    assert rc.load(tmp_path / "mine.json").model_source == recipe.model_source  # asks nothing
    assert load_session(tmp_path / "mine.session")["recipe"].model_source == recipe.model_source
    (tmp_path / "core" / "block.py").write_text("class Block:\n    changed = True\n")
    with pytest.raises(UntrustedFileError):
        rc.load(tmp_path / "mine.json")
    with pytest.raises(UntrustedFileError):
        load_session(tmp_path / "mine.session")


def test_a_traced_programs_type_tags_are_not_called_dangerous(tmp_path):
    """A traced TorchScript module's pickles name torch.jit._pickle.restore_type_tag, which returns its argument:
    not a DANGER line (the program itself still needs trust, as every TorchScript program does). A name next to
    it that is not one of those identity builders still is."""
    model = torch.jit.trace(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()), torch.zeros(1, 3))
    path = tmp_path / "traced.pt"
    torch.jit.save(model, path)
    names = trust.pickle_globals(path)
    assert not trust.dangerous_globals(names), trust.dangerous_globals(names)
    flagged = trust.dangerous_globals(["torch.jit._pickle.restore_type_tag", "torch.jit.load"])
    assert len(flagged) == 1 and flagged[0].startswith("torch.jit.load")
