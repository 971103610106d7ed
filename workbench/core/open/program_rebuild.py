"""Make a TorchScript or torch.export program an editable model, proven by comparing outputs on probe inputs.

In order: rebuild an ordinary module when the program's weights match a supported structure (a chain of
Linear layers with an elementwise activation, optionally one after the last; a torchvision architecture);
else cut the program's graph before its last Linear, so the body yields the penultimate features and an
ordinary Linear carries the old regression head. Each candidate counts only if it reproduces the program's
outputs on random probe batches. When neither is proven, the program stays whole as a frozen extractor.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, cast

import torch
from torch import nn

from workbench.core import notes as N
from workbench.core.errors import CheckpointError
from workbench.core.open.architectures import ACTIVATIONS, mlp_from_state_dict, torchvision_from_state_dict
from workbench.core.open.program_modules import FixedBatch, FrozenProgram, ScriptBody, copy_script

IMAGE_SIDES = (8, 28, 32, 64, 96, 224)
SEQUENCE_LENGTHS = (16, 32, 64)
TAILS = (None, nn.Softplus, nn.Sigmoid, nn.ReLU, nn.Tanh)
PROBE_BATCH = 8
LINEAR_OPS = ("aten.linear.default",)


def _candidate_shapes(state: dict[str, Any]) -> list[tuple[int, ...]]:
    first = next((v for k, v in state.items() if k.endswith("weight") and v.ndim >= 2), None)
    if first is None:
        return []
    if first.ndim == 2:
        return [(first.shape[1],)]
    if first.ndim == 4:
        return [(first.shape[1], s, s) for s in IMAGE_SIDES]
    if first.ndim == 3:
        return [(first.shape[1], n) for n in SEQUENCE_LENGTHS]
    return []


def _probes(shape: tuple[int, ...]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn((PROBE_BATCH, *shape), generator=gen), 3 * torch.randn((3, *shape), generator=gen)]


def _run(module: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    try:
        with torch.no_grad():
            out = module(x)
    except Exception:  # noqa: BLE001 - a candidate or a guessed shape that does not fit simply does not count
        return None
    return out.reshape(out.shape[0], -1) if isinstance(out, torch.Tensor) else None


def _close(a: torch.Tensor | None, b: torch.Tensor) -> bool:
    if a is None or a.shape != b.shape or not torch.isfinite(b).all():
        return False
    scale = max(1.0, float(b.abs().max()))
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * scale))


def _matches(candidate: nn.Module, probes: list[torch.Tensor], refs: list[torch.Tensor]) -> bool:
    candidate.eval()
    return all(_close(_run(candidate, x), ref) for x, ref in zip(probes, refs))


def adapt(program: nn.Module, kind: str, fmt: str, shape: tuple[int, ...] | None, batch: int | None,
          shown: object) -> tuple[nn.Module, list[N.Note], tuple[int, ...] | None]:
    """(model, notes, per-sample input shape found by probing)."""
    state = {k: v for k, v in program.state_dict().items() if isinstance(v, torch.Tensor)}
    found = None
    for candidate_shape in ([tuple(shape)] if shape else _candidate_shapes(state)):
        probes = _probes(candidate_shape)
        refs = [_run(program, x) for x in probes]
        if all(r is not None for r in refs):
            found = candidate_shape
            break
    if found is None:
        frozen = FrozenProgram(program, kind)
        return frozen, [fallback_note(kind, "its input shape could not be found by probing, so nothing could be "
                                      "compared")], None
    for build, how in _rebuilds(state, shown):
        if _matches(build, probes, cast("list[torch.Tensor]", refs)):  # every probe ran: `found` is set
            build.eval()
            note = (f"The {kind} program was rebuilt as an ordinary, editable module ({how}): it gives the same "
                    f"outputs as the program on {sum(len(x) for x in probes)} probe inputs. The new head starts "
                    "from a logistic fit of the regression output (a warm start).")
            return build, [N.info(note, "program_rebuilt")], found
    if fmt == "torchscript":
        cut, layer = _cut_script(program, probes, cast("list[torch.Tensor]", refs), batch)  # every probe ran
        if cut is not None:
            note = (f"The {kind} program was cut at its last Linear ({layer}): in the body that layer passes its "
                    "input through, so the body gives the penultimate features, and an ordinary Linear holds the old "
                    f"regression head (same outputs as the program on {sum(len(x) for x in probes)} probe inputs). "
                    "The new head starts from a logistic fit of the regression output (a warm start).")
            return cut, [N.info(note, "program_cut")], found
    cut, why = _cut(program, fmt, probes, cast("list[torch.Tensor]", refs), batch)
    if cut is not None:
        note = (f"The {kind} program's graph was cut before its last Linear: the body gives the penultimate "
                f"features and an ordinary Linear holds the old regression head (same outputs as the program on "
                f"{sum(len(x) for x in probes)} probe inputs), so the head is replaced as in any model. The new "
                "head starts from a logistic fit of the regression output (a warm start).")
        return cut, [N.info(note, "program_cut")], found
    return FrozenProgram(program, kind), [fallback_note(kind, why)], found


def fallback_note(kind: str, why: str) -> N.Note:
    return N.warning(f"Warning: the {kind} program's body cannot be adapted ({why}). It is kept whole and frozen, and "
                     "the new head reads its regression output(s), starting from a logistic fit of that output (a warm "
                     "start, as the no-training baseline), so training cannot improve on what the output already "
                     "tells.",
                     "program_kept_whole")


def _rebuilds(state: dict[str, Any], shown: object) -> Iterator[tuple[nn.Module, str]]:
    from workbench.core.open.state_keys import strip_prefix as _strip_prefix

    stripped = _strip_prefix(dict(state))
    try:
        vision = torchvision_from_state_dict(stripped, shown)
    except CheckpointError:
        vision = None
    if vision is not None:
        yield vision, f"torchvision {vision._workbench_arch}"
    if mlp_from_state_dict(stripped, "relu") is None:
        return
    for name in ACTIVATIONS:
        for tail in TAILS:
            body = mlp_from_state_dict(stripped, name)
            assert body is not None  # the same keys fitted with relu above; the activation does not change that
            layers = list(body) + ([tail()] if tail else [])
            n_linear = sum(isinstance(m, nn.Linear) for m in layers)
            if n_linear == 1 and name != "relu":
                break  # one Linear: the activation between layers does not matter
            what = f"{n_linear} Linear layers" + (f" with {name} between them" if n_linear > 1 else "")
            yield nn.Sequential(*layers), what + (f", then {tail.__name__}" if tail else "")


def _graph_module(program: nn.Module, fmt: str, probe: torch.Tensor) -> torch.fx.GraphModule:
    inner = program.program if isinstance(program, FixedBatch) else program
    if fmt != "torchscript":
        return cast(torch.fx.GraphModule, inner)  # what torch.export.load(...).module() gave
    return torchscript_graph(inner, probe)


class NoConverter(Exception):
    """This torch has no (or another) private TorchScript-to-torch.export converter."""


def torchscript_graph(script: nn.Module, probe: torch.Tensor) -> torch.fx.GraphModule:
    """A TorchScript module as a torch.fx GraphModule, through torch's *private* converter (torch.export refuses
    ScriptModules and names this converter instead; there is no public route). Raises NoConverter when this
    torch lacks it, so the caller keeps its fallback."""
    try:
        from torch._export.converter import TS2EPConverter
    except ImportError:
        raise NoConverter("this torch has no TorchScript converter") from None
    quiet = logging.getLogger("torch._export")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its notes on specialised dimensions are about the probe, not the user's file
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                converter = TS2EPConverter(cast(torch.jit.ScriptModule, script), (probe,))
            except TypeError:  # another signature: a private API that changed
                raise NoConverter("this torch's TorchScript converter takes other arguments") from None
            return converter.convert().module()
    finally:
        quiet.setLevel(level)


def _submodule(module: nn.Module, name: str) -> Any:  # a ScriptModule's submodule: its attributes are untyped
    for part in name.split("."):  # ScriptModules refuse get_submodule
        module = getattr(module, part)
    return module


def _cut_script(program: nn.Module, probes: list[torch.Tensor], refs: list[torch.Tensor],
                batch: int | None) -> tuple[nn.Module | None, str]:
    """Cut a TorchScript program at a Linear submodule with public APIs only: in a copy, that layer's weights
    become the identity, so the copy returns the layer's input (the penultimate features) wherever the layer
    sits in the forward; an ordinary Linear takes the old weights. Proven only when the layer's output is the
    program's output (no operation after it), on the probes."""
    inner = program.program if isinstance(program, FixedBatch) else program
    if not isinstance(inner, torch.jit.ScriptModule):
        return None, "it is not TorchScript"
    linears = [name for name, m in inner.named_modules()
               if name and isinstance(m, torch.jit.ScriptModule) and getattr(m, "original_name", "") == "Linear"]
    if not linears:
        return None, "it has no Linear layer to cut at"
    for name in reversed(linears[-2:]):  # the last one defined is usually the head; its neighbour, when not
        layer = _submodule(inner, name)
        weight, bias = layer.weight.detach(), getattr(layer, "bias", None)
        if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
            continue
        script = copy_script(inner)
        passing = _submodule(script, name)
        passing.weight = nn.Parameter(torch.eye(weight.shape[1]), requires_grad=False)
        if isinstance(bias, torch.Tensor):
            passing.bias = nn.Parameter(torch.zeros(weight.shape[1]), requires_grad=False)
        head = nn.Linear(weight.shape[1], weight.shape[0], bias=isinstance(bias, torch.Tensor))
        with torch.no_grad():
            head.weight.copy_(weight)
            if isinstance(bias, torch.Tensor):
                head.bias.copy_(bias.detach())
        body = ScriptBody(script)
        wrapped = FixedBatch(body, batch) if batch else body
        if not _close_shape(wrapped, probes):
            continue
        candidate = nn.Sequential(OrderedDict(body=wrapped, head=head))
        if _matches(candidate, probes, refs):
            return candidate, name
    return None, "no Linear layer's output is the program's output"


def _fetch(gm: nn.Module, node: Any) -> torch.Tensor | None:
    if node is None:
        return None
    if node.op != "get_attr":
        return None
    obj: object = gm
    for part in str(node.target).split("."):
        obj = getattr(obj, part)
    return obj if isinstance(obj, torch.Tensor) else None


def _cut(program: nn.Module, fmt: str, probes: list[torch.Tensor], refs: list[torch.Tensor],
         batch: int | None) -> tuple[nn.Module | None, str]:
    try:
        first = probes[0][:batch] if batch else probes[0]
        gm = _graph_module(program, fmt, first)
    except NoConverter as exc:
        return None, f"its graph cannot be read: {exc}, and no Linear layer's output is the program's output"
    except Exception as exc:  # noqa: BLE001 - a program the converter cannot read keeps the fallback
        return None, f"its graph could not be read ({type(exc).__name__})"
    nodes = list(gm.graph.nodes)
    linears = [n for n in nodes if n.op == "call_function" and str(n.target) in LINEAR_OPS]
    if not linears:
        return None, "it has no Linear layer to cut before"
    last = linears[-1]
    weight = _fetch(gm, last.args[1])
    bias = _fetch(gm, last.args[2]) if len(last.args) > 2 else None
    if weight is None or weight.ndim != 2:
        return None, "its last Linear does not take its weights from the program's parameters"
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in nodes:
        if node is last or node.op == "output":
            break
        if node.op == "call_module" and "guards" in str(node.target):
            continue
        env[node] = graph.node_copy(node, lambda n: env[n])
    feature = last.args[0]
    if feature not in env:
        return None, "its last Linear reads something the graph does not compute before it"
    graph.output(env[feature])
    graph.eliminate_dead_code()
    body = torch.fx.GraphModule(gm, graph)
    head = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        head.weight.copy_(weight)
        if bias is not None:
            head.bias.copy_(bias)
    wrapped: list[nn.Module] = [body] if fmt != "torchscript" or batch is None else [FixedBatch(body, batch)]
    if _run(body, probes[1]) is None or not _close_shape(body, probes):
        wrapped.append(FixedBatch(body, len(first)))  # a graph traced at one batch size: run it in chunks of that
    for candidate_body in wrapped:
        for tail in TAILS:
            parts: OrderedDict[str, nn.Module] = OrderedDict(body=candidate_body, head=head)
            if tail:
                parts["act"] = tail()
            candidate = nn.Sequential(parts)
            if _matches(candidate, probes, refs):
                return candidate, ""
    return None, "cutting its graph before the last Linear did not reproduce its outputs"


def _close_shape(body: nn.Module, probes: list[torch.Tensor]) -> bool:
    outs = [_run(body, x) for x in probes]
    return all(o is not None and o.ndim == 2 and o.shape[0] == len(x) for o, x in zip(outs, probes))
