"""Wrappers around a loaded TorchScript or torch.export program: run a fixed-batch program on any batch, keep a
program whole as a frozen feature extractor, train a TorchScript body. Used by the loader (archives) and by the
rebuild."""

from __future__ import annotations

import io

import torch
from torch import nn


def copy_script(script: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """An independent copy, through TorchScript's own save and load."""
    buffer = io.BytesIO()
    torch.jit.save(script, buffer)
    buffer.seek(0)
    copied: torch.jit.ScriptModule = torch.jit.load(buffer, map_location="cpu")
    return copied


class ScriptBody(nn.Module):
    """A TorchScript module that trains as a body: `copy.deepcopy` of a ScriptModule gives parameters that are no
    longer leaves (an optimizer refuses them), so a copy is made through save and load instead."""

    def __init__(self, script: torch.jit.ScriptModule):
        super().__init__()
        self.script = script

    def __deepcopy__(self, memo: dict[int, object]) -> ScriptBody:
        copied = ScriptBody(copy_script(self.script))
        wanted = {name: p.requires_grad for name, p in self.script.named_parameters()}
        for name, p in copied.script.named_parameters():
            p.requires_grad_(wanted.get(name, True))
        copied.train(self.training)
        memo[id(self)] = copied
        return copied

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_inference_mode_enabled():
            # Run under inference mode, a loaded ScriptModule's later runs under autograd fail ("Inference tensors
            # cannot be saved for backward", seen with torch 2.14); no_grad gives the same numbers without that.
            with torch.inference_mode(False), torch.no_grad():
                out: torch.Tensor = self.script(x.clone())
                return out
        result: torch.Tensor = self.script(x)
        return result


class FixedBatch(nn.Module):
    """Runs a program saved for a fixed batch on any batch: in chunks of that size, the last one padded."""

    def __init__(self, program: nn.Module, batch: int):
        super().__init__()
        self.program = program
        self.batch = batch

    def train(self, mode: bool = True) -> FixedBatch:
        self.training = mode  # the program's own mode is fixed when it is opened
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for start in range(0, x.shape[0], self.batch):
            chunk = x[start:start + self.batch]
            n = chunk.shape[0]
            if n < self.batch:
                pad = chunk[-1:].expand(self.batch - n, *chunk.shape[1:])
                chunk = torch.cat([chunk, pad])
            outs.append(self.program(chunk)[:n])
        return torch.cat(outs)


class FrozenProgram(nn.Module):
    """A loaded program used as a fixed function of its input; its outputs feed the new head."""

    def __init__(self, program: nn.Module, kind: str):
        super().__init__()
        self.program = program
        self.kind = kind
        for param in self.program.parameters():
            param.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenProgram:
        # The program is fixed as opened (in eval mode); torch.export modules even refuse train()/eval().
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.program(x)
        return out.reshape(out.shape[0], -1)
