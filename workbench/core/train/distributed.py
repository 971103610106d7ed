"""Training past one process: torchrun's environment, the process group, and each rank's share of a batch.

`torchrun --nproc-per-node N -m workbench convert ...` starts N copies of the command with RANK, WORLD_SIZE and
LOCAL_RANK set; `from_env` joins them into one process group (NCCL with one GPU per process, gloo on the cpu).
Every rank holds the same shuffled order of the train split (one seed) and takes its own contiguous part of each
batch; its mean loss is scaled by its share, so DistributedDataParallel's averaged gradients are those of the
whole batch, and N processes take the steps one process would (the recipe's batch size is the global batch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from workbench.core.errors import RecipeError


@dataclass
class Distributed:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def broadcast(self, values: list[float]) -> list[float]:
        """Rank 0's values on every rank (decisions such as early stopping then agree by construction)."""
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.broadcast(tensor, 0)
        return tensor.tolist()

    def all_sum(self, values: list[float]) -> list[float]:
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def rows(self, n: int) -> tuple[int, int]:
        """This rank's contiguous part [first, end) of n rows, for work split once rather than per batch."""
        size = -(-n // self.world_size)
        return min(n, self.rank * size), min(n, (self.rank + 1) * size)

    def gather_rows(self, part: torch.Tensor, n: int) -> torch.Tensor:
        """Every rank's `part` (its `rows(n)`), joined in rank order into the n rows on every rank."""
        import torch.distributed as dist

        size = -(-n // self.world_size)
        padded = torch.zeros((size, *part.shape[1:]), dtype=part.dtype, device=self.device)
        padded[:len(part)] = part.to(self.device)
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat(parts)[:n]

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        """Wait for every rank (rank 0 exports while the others wait), then leave the group."""
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


def launched() -> bool:
    """Whether this process is one of several that torchrun started."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def secondary() -> bool:
    """Whether this process is a rank other than 0 (it then writes and prints nothing)."""
    return launched() and int(os.environ.get("RANK", "0")) != 0


def from_env(device_choice: str) -> Distributed | None:
    """Join the process group torchrun described in the environment; None when run as one process."""
    if not launched():
        return None
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_choice == "cuda" or (device_choice == "auto" and torch.cuda.is_available())
    if cuda:
        if not torch.cuda.is_available():
            raise RecipeError("device is 'cuda' but no CUDA GPU is available here.", "Choose auto or cpu.")
        if local >= torch.cuda.device_count():
            raise RecipeError(f"torchrun started more processes on this machine than it has GPUs "
                              f"({torch.cuda.device_count()}).",
                              "Give --nproc-per-node at most the number of GPUs, or train on the cpu (--device cpu).")
        device, backend = torch.device("cuda", local), "nccl"
        torch.cuda.set_device(device)
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world)
    return Distributed(rank, world, local, device, backend)


def share(start: int, stop: int, rank: int, world: int) -> tuple[int, int, float]:
    """(first, end, loss scale): the rows of the batch [start, stop) this rank takes, and the factor on its mean
    loss that makes the ranks' averaged gradients the whole batch's. A rank left without rows (a last batch smaller
    than the number of ranks) takes one row with scale 0, so that every rank still joins the gradient exchange."""
    rows = stop - start
    base, extra = divmod(rows, world)
    first = start + rank * base + min(rank, extra)
    count = base + (rank < extra)
    if not count:
        return start, start + 1, 0.0
    return first, first + count, count * world / rows
