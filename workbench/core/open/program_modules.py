"""Wrappers around a loaded TorchScript or torch.export program: run a fixed-batch program on any batch, and
keep a program whole as a frozen feature extractor. Used by the loader (archives) and by the rebuild."""

from __future__ import annotations

import torch
from torch import nn


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
