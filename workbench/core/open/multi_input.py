"""Models whose forward takes several tensors (`forward(x_cat, x_cont)`, `forward(x, static)`): their inputs named
from the forward's signature, what the first layers say about each input's width (embeddings per categorical
column, the continuous width from the first BatchNorm/Linear), and `PackedInputs`, which lets the rest of the
workbench treat such a model as one taking a single row: the row's columns are cut into the model's inputs in
order, and an input feeding embeddings is passed as int64 codes.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from workbench.core.errors import ModelError

_CATEGORICAL_NAME = re.compile(r"cat|categ|emb|code|idx|index|token|ids?$", re.IGNORECASE)
_STATIC_NAME = re.compile(r"static|attr|const|meta|aux|extra|cont|tab", re.IGNORECASE)


def input_names(model: nn.Module) -> list[str]:
    """The tensors forward requires, by name (parameters with defaults, *args and **kwargs left out)."""
    if isinstance(model, torch.jit.ScriptModule):
        try:
            schema = model.forward.schema  # type: ignore[attr-defined]
        except (AttributeError, RuntimeError):
            return []
        return [a.name for a in schema.arguments[1:] if not a.has_default_value()]
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]


@dataclass
class ModelInputs:
    """What the model's signature and first layers say about its inputs."""

    names: list[str]
    embeddings: dict[str, list[int]] = field(default_factory=dict)  # input -> rows of each column's embedding
    widths: dict[str, int] = field(default_factory=dict)  # input -> columns, where the first layers say
    embedding_names: list[str] = field(default_factory=list)  # the embeddings' layer names, column by column
    steps: dict[str, int] = field(default_factory=dict)  # sequence input -> features per step (its RNN's input_size)
    time_major: bool = False  # the sequence's recurrent layer takes (T, N, F) (batch_first=False)

    def codes(self, name: str) -> bool:
        """Whether the input feeds embeddings (its columns are integer category codes)."""
        return name in self.embeddings

    def shape(self, name: str, columns: int) -> tuple[int, ...]:
        """One sample of the input as the model takes it, from its columns: (steps, features) for a sequence."""
        per_step = self.steps.get(name)
        return (columns // per_step, per_step) if per_step else (columns,)

    def takes(self, name: str, columns: int | None = None) -> str:
        """What one input takes, in words (with its columns, a sequence's steps x features)."""
        per_step = self.steps.get(name)
        if per_step:
            if columns and columns % per_step == 0:
                return f"sequences of {columns // per_step} steps x {per_step} features"
            return f"sequences of {per_step} feature(s) per step"
        rows = self.embeddings.get(name)
        if rows and all(rows):
            return f"{len(rows)} category code(s) for embeddings of {', '.join(map(str, rows))} rows"
        if name in self.embeddings:
            return f"{self.widths[name]} category code(s)" if name in self.widths else "category codes"
        if name in self.widths:
            return f"{self.widths[name]} value(s)"
        return "width from the columns given"

    def describe(self) -> str:
        return "; ".join(f"{name}: {self.takes(name)}" for name in self.names)

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "embeddings": self.embeddings, "widths": self.widths,
                "embedding_layers": self.embedding_names, "steps": self.steps}


def model_inputs(model: nn.Module) -> ModelInputs | None:
    """The inputs of a model taking several tensors, else None."""
    names = input_names(model)
    if len(names) < 2:
        return None
    found = ModelInputs(names)
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Embedding)]
    embeds = [m for _, m in named]
    found.embedding_names = [n for n, _ in named]
    if embeds:
        fed = next((n for n in names if _CATEGORICAL_NAME.search(n)), names[0])
        found.embeddings[fed] = [int(e.num_embeddings) for e in embeds]
        found.widths[fed] = len(embeds)
        rest = [n for n in names if n != fed]
        width = _continuous_width(model, sum(int(e.embedding_dim) for e in embeds))
        if len(rest) == 1 and width:
            found.widths[rest[0]] = width
    elif len(names) == 2:
        _sequence_input(model, found)
    return found


def _sequence_input(model: nn.Module, found: ModelInputs) -> None:
    """A recurrent layer beside a static input (`forward(x, static)`): the input not named static is a sequence of
    the layer's input_size features per step; the static width is what the first Linear after the layer takes
    beyond its hidden state (the last hidden state concatenated with the static values), when it takes more."""
    modules = list(model.modules())
    rnn = next((m for m in modules if isinstance(m, nn.RNNBase)), None)
    if rnn is None:
        return
    sequence = next((n for n in found.names if not _STATIC_NAME.search(n)), found.names[0])
    static = next(n for n in found.names if n != sequence)
    found.steps[sequence] = int(rnn.input_size)
    found.time_major = not rnn.batch_first
    after = next((m for m in modules[modules.index(rnn):] if isinstance(m, nn.Linear)), None)
    hidden = int(rnn.hidden_size) * (2 if rnn.bidirectional else 1)
    if after is not None and int(after.in_features) > hidden:
        found.widths[static] = int(after.in_features) - hidden


def _continuous_width(model: nn.Module, embedded: int) -> int | None:
    """The continuous input's width: the first BatchNorm1d before any Linear (fastai's bn_cont), else the first
    Linear's inputs less the embeddings' outputs concatenated before it."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            return int(module.num_features)
        if isinstance(module, nn.Linear):
            rest = int(module.in_features) - embedded
            return rest if rest > 0 else None
    return None


class PackedInputs(nn.Module):
    """(N, W) rows -> model(x_1, ..., x_k): the columns cut into the model's inputs in order, the inputs that feed
    embeddings as int64 codes. It shares the model's own module, parameter and buffer tables, so layer names,
    the state_dict and `set_submodule` are the model's own (a head replaced here is replaced in the model)."""

    inner: nn.Module  # not a child: its tables are this module's own

    def __init__(self, model: nn.Module, found: ModelInputs) -> None:
        super().__init__()
        object.__setattr__(self, "inner", model)
        self._modules = model._modules
        self._parameters = model._parameters
        self._buffers = model._buffers
        self.found = found
        self.widths: list[int] | None = None
        if all(n in found.widths for n in found.names):
            self.widths = [found.widths[n] for n in found.names]

    @property
    def names(self) -> list[str]:
        return self.found.names

    def set_widths(self, widths: list[int]) -> None:
        """The columns per input, from the data's mapping (checked against the model's own where it says)."""
        self.widths = [int(w) for w in widths]

    def train(self, mode: bool = True) -> PackedInputs:
        super().train(mode)
        self.inner.training = mode
        return self

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.widths is None:
            raise ModelError(f"the model takes {len(self.names)} inputs ({', '.join(self.names)}) and which columns "
                             "feed each one is not known yet.", INPUTS_FIX)
        parts = list(torch.split(x, self.widths, dim=1))
        return [self._as_taken(n, p) for n, p in zip(self.names, parts)]

    def _as_taken(self, name: str, part: torch.Tensor) -> torch.Tensor:
        """One input's columns as the model takes them: codes as int64, a sequence as (N, T, F) (step by step)."""
        if self.found.codes(name):
            return part.round().long()
        per_step = self.found.steps.get(name)
        if not per_step:
            return part
        if part.shape[1] % per_step:
            raise ModelError(f"the model's input {name} takes sequences of {per_step} features per step, but "
                             f"{part.shape[1]} columns are given, not a whole number of steps.", INPUTS_FIX)
        steps = part.reshape(part.shape[0], -1, per_step)
        return steps.transpose(0, 1) if self.found.time_major else steps

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Each input's sample shape as the model takes it (a sequence's (T, F)), once the widths are known."""
        return {n: self.found.shape(n, w) for n, w in zip(self.names, self.widths or [])}

    def forward(self, x: torch.Tensor) -> Any:
        return self.inner(*self.split(x))


class PackedProgram(PackedInputs):
    """A TorchScript or torch.export program of several inputs, fed from one row; the program is a child (it is
    kept whole, as a frozen extractor, see program_modules.FrozenProgram)."""

    def __init__(self, program: nn.Module, found: ModelInputs) -> None:
        nn.Module.__init__(self)
        self.program = program
        object.__setattr__(self, "inner", program)
        self.found = found
        self.widths = [found.widths[n] for n in found.names] if all(n in found.widths for n in found.names) \
            else None

    def train(self, mode: bool = True) -> PackedProgram:
        self.training = mode  # the program's own mode is fixed when it is opened
        return self


def program_inputs(program: nn.Module, exported: Any = None) -> ModelInputs | None:
    """A program's inputs when it takes several: a torch.export program's from its input specs (integer inputs
    are category codes; the widths from the example shapes), a TorchScript one's from its forward's schema (codes
    for names that say so; widths from the columns given). The embeddings' rows are read from the program's
    weights (`program_embeddings`) when one input takes the codes, so a column with more categories than its
    embedding has rows is refused by name rather than failing inside the program."""
    if exported is None:
        names = input_names(program)
        if len(names) < 2:
            return None
        rows = program_embeddings(program)
        coded = [n for n in names if _CATEGORICAL_NAME.search(n)]
        found = ModelInputs(names, {n: [] for n in coded})
        if len(coded) == 1 and rows:
            found.embeddings[coded[0]], found.widths[coded[0]] = rows, len(rows)
        return found
    users = set(exported.graph_signature.user_inputs)
    nodes = [n for n in exported.graph.nodes if n.op == "placeholder" and n.name in users]
    if len(nodes) < 2:
        return None
    found = ModelInputs([n.name for n in nodes])
    for node in nodes:
        value = node.meta.get("val")
        shape: Any = getattr(value, "shape", ())
        if len(shape) == 2 and isinstance(shape[1], int):
            found.widths[node.name] = int(shape[1])
        if value is not None and not value.dtype.is_floating_point:
            found.embeddings[node.name] = [0] * found.widths.get(node.name, 0)
    coded, rows = list(found.embeddings), program_embeddings(program, exported)
    if len(coded) == 1 and rows and len(rows) == found.widths.get(coded[0]):
        found.embeddings[coded[0]] = rows
    return found


def program_embeddings(program: nn.Module, exported: Any = None) -> list[int]:
    """The rows of each embedding a program looks up, in the order it runs them (a torch.export program's
    aten.embedding calls, a TorchScript program's Embedding modules); [] when there are none."""
    if exported is not None:
        embedding = torch.ops.aten.embedding.default
        calls = [n for n in exported.graph.nodes if n.op == "call_function" and n.target is embedding]
        shapes: list[Any] = [getattr(n.args[0].meta.get("val"), "shape", ()) for n in calls]
        return [int(shape[0]) for shape in shapes if len(shape) == 2]
    return [int(m.weight.shape[0]) for _, m in program.named_modules()
            if getattr(m, "original_name", "") == "Embedding" and hasattr(m, "weight")]


def packed_of(model: nn.Module | None) -> PackedInputs | None:
    """The packing module of a model of several inputs (the model itself, or inside a frozen program)."""
    if model is None:
        return None
    return next((m for m in model.modules() if isinstance(m, PackedInputs)), None)


INPUTS_FIX = ("Map the table's columns to the model's inputs (--inputs 'name=col1,col2;other=col3'; in the window, "
              "the Data tab's Model inputs box).")


def wrap(model: nn.Module) -> tuple[nn.Module, ModelInputs | None]:
    """The model packed when its forward takes several tensors; else the model itself."""
    if isinstance(model, PackedInputs):
        return model, model.found
    found = model_inputs(model)
    if found is None or isinstance(model, torch.jit.ScriptModule):
        return model, found
    return PackedInputs(model, found), found


class SeparateInputs(nn.Module):
    """The exported program's face: the model's own inputs (codes as int64), concatenated into the row the
    converted classifier takes."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        flat = [x.reshape(x.shape[0], -1).to(torch.float32) for x in inputs]  # a sequence (N, T, F) step by step
        out: torch.Tensor = self.module(torch.cat(flat, dim=1))
        return out


def several_inputs(module: nn.Module, shape: tuple[int, ...] | None, notes: list[Any]
                   ) -> tuple[nn.Module, tuple[int, ...] | None]:
    """The loader's step for a forward taking several tensors: the model packed, the row width when the first
    layers say every input's width, and a note naming the inputs."""
    from workbench.core import notes as N

    packed, found = wrap(module)
    if found is None:
        return module, shape
    if not isinstance(packed, PackedInputs):
        notes.append(N.warning(f"The program takes {len(found.names)} inputs ({', '.join(found.names)}); only "
                               "models built from their Python class can be fed several inputs here.",
                               "several_inputs_program"))
        return module, shape
    if found.steps:  # the sequence's length comes from its columns, not from the data's shape
        notes[:] = [n for n in notes if getattr(n, "code", None) != "sequence_length"]
    notes.append(N.info(f"The model takes {len(found.names)} inputs: {found.describe()}. Each table row is cut into "
                        "them in order (columns mapped in data.inputs, or proposed from the column kinds); category "
                        "columns become integer codes" + ("; a sequence's columns are read step by step (step 1's "
                        "features, then step 2's)" if found.steps else "") + ".", "several_inputs", "data.inputs"))
    return packed, (sum(packed.widths),) if packed.widths else None  # the first Linear says nothing of the row


def described_inputs(model: nn.Module) -> list[dict[str, Any]]:
    """Each input of a packed model as inspect shows it: name, columns, whether they are category codes and the
    rows of their embeddings; [] for a model of one input."""
    packed = packed_of(model)
    if packed is None:
        return []
    model = packed
    widths: list[int | None] = [model.found.widths.get(n) for n in model.names]
    if model.widths is not None:
        widths = list(model.widths)
    return [{"name": n, "width": w, "codes": model.found.codes(n), "embeddings": model.found.embeddings.get(n, []),
             **({"features_per_step": model.found.steps[n]} if n in model.found.steps else {})}
            for n, w in zip(model.names, widths)]


def unknown_widths(model: nn.Module) -> ModelError | None:
    """The error for a model of several inputs whose widths only the data's mapping can give."""
    packed = packed_of(model)
    if packed is None or packed.widths is not None:
        return None
    model = packed
    return ModelError(f"the model takes {len(model.names)} inputs ({model.found.describe()}), and its first layers "
                      "do not say how many columns feed each.",
                      "Give data and map its columns to the inputs (convert --data ... --inputs "
                      f"'{'=...;'.join(model.names)}=...'; in the window, the Data tab's Model inputs box).")


def several_program_inputs(program: nn.Module, exported: Any, kind: str, notes: list[Any]
                           ) -> tuple[nn.Module, list[Any], tuple[int, ...] | None] | None:
    """The loader's step for a program of several inputs: kept whole (a frozen extractor) behind the packing;
    None for a program of one input."""
    from workbench.core import notes as N
    from workbench.core.open.program_modules import FrozenProgram

    found = program_inputs(program, exported)
    if found is None:
        return None
    packed = PackedProgram(program, found)
    notes.append(N.info(f"The {kind} program takes {len(found.names)} inputs: {found.describe()}. It is kept whole "
                        "and its output feeds the new head; each table row is cut into its inputs in order (columns "
                        "mapped in data.inputs).", "several_inputs", "data.inputs"))
    return FrozenProgram(packed, kind), notes, (sum(packed.widths),) if packed.widths else None
