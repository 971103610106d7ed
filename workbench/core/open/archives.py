"""TorchScript and torch.export programs: code archives, opened only after the user trusts the file.

A program is switched to eval mode (a program saved while training keeps its dropout active otherwise)
and then made editable where possible (see program_rebuild): rebuilt as an ordinary module, or cut before
its last Linear. Only when neither is proven does the whole program stay a frozen feature extractor whose
outputs feed the new head. A torch.export program saved for a fixed batch runs in chunks of that batch.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import cast

import torch
from torch import nn

from workbench.core import notes as N
from workbench.core.errors import CheckpointError, ModelError
from workbench.core.open.program_modules import FixedBatch

DROPOUT_OPS = ("aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default",
               "aten.feature_alpha_dropout.default")
_OP_PATTERNS = (re.compile(r"Unknown builtin op: ([\w:.]+)"), re.compile(r"No such operator ([\w:.]+)"),
                re.compile(r"Could not run '([\w:.]+)'"), re.compile(r"operator ([\w]+::[\w.]+)"),
                re.compile(r"'_OpNamespace' '(\w+)' object has no attribute '(\w+)'"))


def to_eval(program: nn.Module, fmt: str) -> bool:
    """Switch a program to inference behaviour; True when it was saved in training mode."""
    if fmt == "torchscript":
        was = any(m.training for m in program.modules())
        program.eval()
        return was
    changed = False
    graph = cast(torch.fx.GraphModule, program).graph  # not TorchScript: the module torch.export rebuilt
    for node in list(graph.nodes):
        if node.op != "call_function":
            continue
        target = str(node.target)
        if target in DROPOUT_OPS and (len(node.args) < 3 or node.args[2] is not False):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
            changed = True
        elif target in ("aten.batch_norm.default", "aten.instance_norm.default",
                        "aten._native_batch_norm_legit_functional.default") and node.args[5] is True:
            node.args = (*node.args[:5], False, *node.args[6:])
            changed = True
    if changed:
        graph.lint()
        cast(torch.fx.GraphModule, program).recompile()
    return changed


def missing_op(message: str) -> str | None:
    for pattern in _OP_PATTERNS:
        found = pattern.search(message)
        name = "::".join(found.groups()) if found else ""
        if "::" in name and not name.startswith(("aten::", "prim::")):
            return name
    return None


def load_code_archive(path: Path, fmt: str, shown: Path | None = None
                      ) -> tuple[nn.Module, list[N.Note], tuple[int, ...] | None]:
    """Return (the program as an editable module or a frozen extractor, notes, per-sample input shape if known).

    `path` is the private copy to read; `shown` the user's file, named in messages.
    """
    from workbench.core.open.program_rebuild import adapt

    shown = shown or path
    shape, batch, exported = None, None, None
    try:
        if fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # its deprecation notice is not about this file
                program = torch.jit.load(str(path), map_location="cpu")
        else:
            exported = torch.export.load(str(path))
            shape, batch = _export_input_shape(exported)
            program = exported.module()
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001
        op = missing_op(str(exc))
        if op:
            raise CheckpointError(f"the program calls the custom operator {op}, which is not registered here.",
                                  "Install or load the library that defines it (torch.ops.load_library) before "
                                  "opening the file, or save the model without it.", shown) from None
        raise CheckpointError(f"the program could not be loaded ({type(exc).__name__}: {str(exc)[:200]}).",
                              "Save it again with the same PyTorch version.", shown) from None
    kind = "TorchScript" if fmt == "torchscript" else "torch.export"
    notes: list[N.Note] = []
    if to_eval(program, fmt):
        # a warning, so the command line shows it too: what the program computes differs from how it was saved
        notes.append(N.warning(f"The {kind} program was saved in training mode; it was switched to eval mode "
                               "(dropout off, batch norm on its running statistics).", "program_to_eval"))
    from workbench.core.open.multi_input import several_program_inputs

    several = several_program_inputs(program, exported if fmt == "export" else None, kind, notes)
    if several is not None:
        return several
    if batch is not None:
        notes.append(N.info(f"The program was exported for a fixed batch of {batch}; it runs in chunks of {batch} "
                            "samples (the last one padded).", "fixed_batch"))
        program = FixedBatch(program, batch)
    model, more, found_shape = adapt(program, kind, fmt, shape, batch, shown)
    return model, notes + more, shape or found_shape


def _export_input_shape(exported: torch.export.ExportedProgram) -> tuple[tuple[int, ...] | None, int | None]:
    """(per-sample input shape, the fixed batch size or None when the batch is dynamic)."""
    inputs = set(exported.graph_signature.user_inputs)
    for node in exported.graph.nodes:
        if node.op == "placeholder" and node.name in inputs:
            value = node.meta.get("val")
            if value is None or not hasattr(value, "shape") or not len(value.shape):
                return None, None
            batch = value.shape[0]
            try:
                shape = tuple(int(d) for d in value.shape[1:])
            except (TypeError, ValueError):
                shape = None
            return shape, (int(batch) if isinstance(batch, int) else None)
    return None, None
