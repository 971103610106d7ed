"""Sizes a checkpoint's pickles declare are refused before anything is allocated; the scan is linear and its
refusals short; a program's pickles get one reading, whether `inspect` or `evaluate` asks.

Bounded cases load in a fresh process and compare its peak RSS with what the file declares: the refusal
must come first (growth far below the declared size), with a one-paragraph message naming the file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import torch

from workbench import cli
from workbench.core import errors as E
from workbench.core.safety.pickle_scan import Scan, scan_stream

ROOT = Path(__file__).parents[3]
GIB = 1 << 30


def peak(call: str, *, imports: str = "from workbench.core.open.load import load_checkpoint") -> tuple[int, str]:
    """Run `call` in a fresh process; (peak RSS growth in MiB during it, the WorkbenchError text or 'OK')."""
    script = textwrap.dedent(f'''
        import resource
        import torch
        {imports}
        from workbench.core.errors import WorkbenchError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            {call}
            message = "OK"
        except WorkbenchError as exc:
            message = str(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        print(message)
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy(), cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    growth, message = done.stdout.split("\n", 1)
    return int(growth), message.strip()


def _one_paragraph(message: str, path: Path) -> None:
    assert str(path) in message and "\n" not in message and len(message) < 600, message
    assert "Traceback" not in message


# ----- allow-listed calls with hostile arguments --------------------------------------------------------------

def test_a_35_byte_bytearray_of_3_gib_is_refused_before_it_is_allocated(tmp_path):
    path = tmp_path / "tiny.pt"
    path.write_bytes(b"\x80\x02c__builtin__\nbytearray\n\x8a\x05" + (3 * GIB).to_bytes(5, "little") + b"\x85R.")
    assert path.stat().st_size == 35
    growth, message = peak(f"load_checkpoint({str(path)!r})")
    _one_paragraph(message, path)
    assert "bytearray" in message and "3.00 GiB" in message and growth < 300, (growth, message)


def test_a_state_dict_of_meta_tensors_is_refused_before_any_layer_is_built(tmp_path):
    path = tmp_path / "meta.pt"
    torch.save({"0.weight": torch.empty(30000, 30000, device="meta"), "0.bias": torch.empty(30000, device="meta")},
               path)
    assert path.stat().st_size < 2048
    growth, message = peak(f"load_checkpoint({str(path)!r})")
    _one_paragraph(message, path)
    assert "meta device" in message and growth < 300, (growth, message)


def test_a_memo_slot_far_past_the_pickle_is_refused_even_when_trusted(tmp_path):
    # an unpickler in C reserves every memo slot up to the highest it is asked for: this asks for 2**28
    path = tmp_path / "memo.pt"
    path.write_bytes(b"\x80\x02]r\xff\xff\xff\x0f0ccollections\ndeque\n)R.")
    growth, message = peak(f"load_checkpoint({str(path)!r}, trusted=True)")
    _one_paragraph(message, path)
    assert "memo slot 268,435,455" in message and growth < 300, (growth, message)


def test_a_sparse_tensor_whose_dense_shape_is_huge_is_refused(tmp_path):
    sparse = torch.sparse_coo_tensor(torch.zeros(2, 1, dtype=torch.long), torch.ones(1), (200000, 200000),
                                     check_invariants=False)
    path = tmp_path / "sparse.pt"
    torch.save({"0.weight": sparse}, path)
    growth, message = peak(f"load_checkpoint({str(path)!r})")
    _one_paragraph(message, path)
    assert "sparse" in message and "(200000, 200000)" in message and growth < 300, (growth, message)


@pytest.mark.parametrize("size", [b"J\xff\xff\xff\xff", b"\x8a\x09" + b"\xff" * 8 + b"\x7f",
                                  b"\x8a\x08" + b"\xff" * 8])
def test_negative_or_overflowing_declared_sizes_are_typed_errors(tmp_path, capsys, size):
    path = tmp_path / "odd.pt"
    path.write_bytes(b"\x80\x02c__builtin__\nbytearray\n" + size + b"\x85R.")
    assert cli.main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and str(path) in err, err
    assert "negative size" in err or "asks for bytearray" in err, err


def test_a_storage_view_claiming_far_more_than_its_storage_is_refused_from_the_declaration(tmp_path):
    path = tmp_path / "strided.pt"
    torch.save({"0.weight": torch.zeros(1).expand(16384, 16384)}, path)
    from workbench.core.safety import trust
    from workbench.core.safety.bounds import check_declared

    with pytest.raises(E.CheckpointError, match="zero or overlapping strides"):
        check_declared(trust.scan_file(path), path.stat().st_size, path)  # before torch.load is called at all


def test_real_checkpoints_declare_nothing_refused(tmp_path, tiny_model):
    from workbench.core.open.load import load_checkpoint

    for obj in (tiny_model.state_dict(), tiny_model, {"model": tiny_model.state_dict(), "step": 3,
                                                      "x": bytearray(b"abc"), "b": b"\x00" * 300}):
        path = tmp_path / "ok.pt"
        torch.save(obj, path)
        load_checkpoint(path, trusted=True)


# ----- the scan: linear, and its refusal short ----------------------------------------------------------------

def _many_globals(n: int, tail: bytes = b"") -> bytes:
    return b"\x80\x02" + b"".join(b"cmod%d\nname%d\n0" % (i, i) for i in range(n)) + tail + b"N."


def _scan_seconds(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        scan_stream(io.BytesIO(data), Scan())
        best = min(best, time.perf_counter() - start)
    return best


def test_the_scan_is_linear_in_the_number_of_globals():
    small, large = _scan_seconds(_many_globals(10_000)), _scan_seconds(_many_globals(40_000))
    assert large / small < 8, (small, large)  # 4x the globals: about 4x the time (quadratic was 16x)


def test_a_refusal_naming_a_hundred_thousand_globals_stays_one_short_paragraph(tmp_path, capsys):
    path = tmp_path / "many.pt"
    path.write_bytes(_many_globals(120_000, b"cposix\nsystem\nX\x05\x00\x00\x00touch\x85R0"))
    assert path.stat().st_size > 2 << 20
    start = time.perf_counter()
    assert cli.main(["inspect", str(path)]) == 2
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert len(err) < 1500 and err.count("\n") == 1, len(err)
    assert "DANGER" in err and "posix.system" in err and "119,992 more" in err, err
    assert elapsed < 30, elapsed  # quadratic, this took minutes


# ----- one reading of a program's pickles ---------------------------------------------------------------------

def _convert(tmp_path, tutorial_ckpt, models_py, table_csv) -> Path:
    out = tmp_path / "export"
    assert cli.main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                     str(table_csv), "--threshold", "median", "--epochs", "1", "--calibration", "none", "--quiet",
                     "--out", str(out)]) == 0
    return out


def _plant(program: Path, marker: Path) -> None:
    """Replace the program's sample-inputs archive with one whose pickle calls posix.system."""
    with zipfile.ZipFile(program) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()}
    name = next(n for n in entries if n.endswith("sample_inputs/model.pt"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("model/data.pkl", b"\x80\x02cposix\nsystem\nX" + len(f"touch {marker}").to_bytes(4, "little")
                    + f"touch {marker}".encode() + b"\x85R.")
        zf.writestr("model/version", b"3\n")
    entries[name] = inner.getvalue()
    with zipfile.ZipFile(program, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)


def test_inspect_and_evaluate_give_a_program_the_same_danger_verdict(tmp_path, tutorial_ckpt, models_py, table_csv,
                                                                     capsys, monkeypatch):
    folder = _convert(tmp_path, tutorial_ckpt, models_py, table_csv)
    marker = tmp_path / "PWNED"
    _plant(folder / "model.pt2", marker)
    caught: list[BaseException] = []
    original = cli._report
    monkeypatch.setattr(cli, "_report", lambda exc: (caught.append(exc), original(exc))[1])
    capsys.readouterr()
    assert cli.main(["inspect", str(folder / "model.pt2")]) == 2
    inspect_err = capsys.readouterr().err
    assert cli.main(["evaluate", str(folder), "--data", str(table_csv)]) == 2
    evaluate_err = capsys.readouterr().err
    for err in (inspect_err, evaluate_err):
        assert "DANGER" in err and "posix.system" in err and "only imports torch" not in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert [type(e) for e in caught] == [E.UntrustedFileError, E.UntrustedFileError]
    assert caught[0].dangerous == caught[1].dangerous == ["posix.system"]
    assert not marker.exists()


def test_a_program_whose_nested_archive_is_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    from workbench.core.safety.pickle_read import read_program

    program = tmp_path / "bomb.pt2"
    inner = io.BytesIO()
    info = zipfile.ZipInfo("model/data.pkl")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(inner, "w") as zf, zf.open(info, "w", force_zip64=True) as member:
        block = bytes(1 << 24)
        for _ in range(16):  # 256 MiB of zeros, a quarter of a megabyte packed
            member.write(block)
    with zipfile.ZipFile(program, "w") as zf:
        zf.writestr("bomb/archive_format", "pt2")
        zf.writestr("bomb/data/sample_inputs/model.pt", inner.getvalue())
    assert program.stat().st_size < 4 << 20
    with pytest.raises(E.CheckpointError, match="zip bomb"):
        read_program(program, program)


def test_aotinductor_code_in_a_program_is_never_called_harmless(tmp_path):
    from workbench.core.safety.pickle_read import read_program, verdict

    program = tmp_path / "aoti.pt2"
    with zipfile.ZipFile(program, "w") as zf:
        zf.writestr("m/archive_format", "pt2")
        zf.writestr("m/data/aotinductor/model/model.so", b"\x7fELF")
    names = read_program(program, program).names
    assert "only imports torch" not in verdict(names) and any("native code" in n for n in names)


@pytest.mark.parametrize("member,payload", [
    ("data/constants/opaque_obj_0", b"cposix\nsystem\n(S'touch PWNED'\ntR."),  # pickle.loads, protocol 0
    ("data/constants/custom_obj_0", b"\x80\x02cos\nsystem\nX\x0b\x00\x00\x00touch PWNED\x85R."),
    ("data/weights/model.pt", b"\x80\x02csubprocess\nPopen\nX\x0b\x00\x00\x00touch PWNED\x85R."),  # legacy weights
])
def test_every_payload_a_pt2_unpickles_is_read(tmp_path, capsys, member, payload):
    program = torch.export.export(torch.nn.Linear(2, 1), (torch.randn(3, 2),))
    clean = tmp_path / "clean.pt2"
    torch.export.save(program, str(clean))
    with zipfile.ZipFile(clean) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    root = entries[0][0].filename.split("/")[0]
    path = tmp_path / "model.pt2"
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
        zf.writestr(f"{root}/{member}", payload)
    assert cli.main(["inspect", str(clean)]) == 2  # untrusted, but its verdict is clean
    assert "only imports torch and numpy types" in capsys.readouterr().err
    assert cli.main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "DANGER" in err and "only imports torch" not in err and err.count("\n") == 1, err
    assert not list(tmp_path.rglob("PWNED"))
