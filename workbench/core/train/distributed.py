"""Training past one process: torchrun's environment, the process group, and each rank's share of a batch.

`torchrun --nproc-per-node N -m workbench convert ...` starts N copies of the command with RANK, WORLD_SIZE and
LOCAL_RANK set; `from_env` joins them into one process group (NCCL with one GPU per process, gloo on the cpu).
Every rank holds the same shuffled order of the train split (one seed) and takes its own contiguous part of each
batch; its mean loss is scaled by its share, so DistributedDataParallel's averaged gradients are those of the
whole batch, and N processes take the steps one process would (the recipe's batch size is the global batch).

The environment is read once by `launch()`: a variable that is missing, not a whole number or out of range is a
`LaunchError` naming it. Joining waits at most WORKBENCH_JOIN_TIMEOUT seconds for the other processes (default
300), then says which ones did not come; the collectives after that keep torch's own (long) timeout, since
rank 0 alone runs the range test and the export while the others wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch

from workbench.core.errors import RecipeError, WorkbenchError

JOIN_TIMEOUT_VARIABLE = "WORKBENCH_JOIN_TIMEOUT"
JOIN_TIMEOUT_S = 300.0
RUN_AFTER_JOIN = timedelta(minutes=30)  # torch's default for a process group's store and collectives
TORCHRUN = "torchrun --nproc-per-node N -m workbench convert ..."


class LaunchError(WorkbenchError):
    """torchrun's environment is incomplete or inconsistent, or the processes could not join one group."""


@dataclass(frozen=True)
class Launch:
    """What torchrun's environment says about this process."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def where(self) -> str:
        return f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"


def _whole(name: str, lowest: int) -> int | None:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        value = lowest - 1
    if value < lowest:
        raise LaunchError(f"the environment variable {name} is '{text[:40]}', not a whole number of at least "
                          f"{lowest}.", f"torchrun sets it; start several processes with `{TORCHRUN}`, or unset "
                          f"{name} to run in one process.")
    return value


def launch() -> Launch | None:
    """This process's place among those torchrun started; None when it runs alone. Raises `LaunchError`."""
    world, rank, local = _whole("WORLD_SIZE", 1), _whole("RANK", 0), _whole("LOCAL_RANK", 0)
    if (world or 1) == 1 and not rank:  # nothing set, or what one process would say of itself
        return None
    if world is None or rank is None:
        given, missing = ("RANK", "WORLD_SIZE") if world is None else ("WORLD_SIZE", "RANK")
        raise LaunchError(f"the environment sets {given} but not {missing}, so this process cannot tell whether "
                          "it is one of several.", f"Start several processes with `{TORCHRUN}` (it sets both), or "
                          f"unset {given} to run in one process.")
    if rank >= world:
        raise LaunchError(f"the environment says this is process RANK={rank} of WORLD_SIZE={world}; ranks run from "
                          f"0 to {world - 1}.", f"Start the processes with `{TORCHRUN}`, which numbers them.")
    if world == 1:
        return None
    missing_vars = [v for v in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
    if missing_vars:
        raise LaunchError(f"the environment says this is process {rank} of {world} but does not set "
                          f"{' or '.join(missing_vars)}, where the processes meet.",
                          f"Start them with `{TORCHRUN}` (it sets both), or set MASTER_ADDR and MASTER_PORT.")
    port = os.environ["MASTER_PORT"].strip()
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise LaunchError(f"the environment variable MASTER_PORT is '{os.environ['MASTER_PORT'][:40]}', not a port "
                          "number (0 to 65535).", f"Start the processes with `{TORCHRUN}`, which picks one.")
    return Launch(rank, world, local or 0)


def join_timeout() -> float:
    """Seconds to wait for the other processes to join (WORKBENCH_JOIN_TIMEOUT, default 300)."""
    text = os.environ.get(JOIN_TIMEOUT_VARIABLE)
    if not text:
        return JOIN_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:
        raise LaunchError(f"{JOIN_TIMEOUT_VARIABLE} is '{text[:40]}', not a number of seconds.",
                          f"Set it to the seconds to wait for the other processes, e.g. {JOIN_TIMEOUT_VARIABLE}=600.")
    return value


def join_note(baseline: bool = False) -> str | None:
    """What rank 0 tells the user before it waits for the others; None for one process or another rank."""
    found = launch()
    if found is None or found.rank != 0:
        return None
    others = found.world_size - 1
    if baseline:
        return (f"process 0 of {found.world_size}: --baseline trains nothing, so this process alone computes and "
                f"writes it (the other {others} do nothing)")
    return (f"process 0 of {found.world_size}: waiting up to {join_timeout():g} s for the other {others} "
            f"process{'es' if others > 1 else ''} to join at {found.where} ({JOIN_TIMEOUT_VARIABLE} sets how long)")


def idle_rank_note(baseline: bool) -> str | None:
    """Why this process does nothing: a baseline trains nothing, so rank 0 alone computes and writes it."""
    found = launch()
    if not baseline or found is None or found.rank == 0:
        return None
    return (f"process {found.rank} of {found.world_size}: --baseline trains nothing, so process 0 alone computes "
            "and writes it; this process does nothing")


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
    return launch() is not None


def secondary() -> bool:
    """Whether this process is a rank other than 0 (it then writes and prints nothing)."""
    found = launch()
    return found is not None and found.rank != 0


def _join(found: Launch, backend: str) -> None:
    """Meet the other processes (at most `join_timeout()` seconds), then form the group with torch's own timeout."""
    import torch.distributed as dist

    wait = join_timeout()
    try:
        store, _rank, _world = next(dist.rendezvous("env://", found.rank, found.world_size,
                                                    timeout=timedelta(seconds=wait)))
    except dist.DistNetworkError as exc:  # process 0 cannot listen there, or another cannot connect in time
        if found.rank == 0:
            raise LaunchError(f"process 0 of {found.world_size} cannot listen at {found.where}, where the processes "
                              f"meet ({_first_line(exc)}).", "Choose a free MASTER_PORT (torchrun --master-port), or "
                              "let torchrun pick one (--standalone).") from None
        raise _join_error(found, wait, exc) from None
    except (RuntimeError, ValueError) as exc:  # DistStoreError (the others did not all come) is a RuntimeError
        raise _join_error(found, wait, exc) from None
    store.set_timeout(RUN_AFTER_JOIN)
    dist.init_process_group(backend, store=store, rank=found.rank, world_size=found.world_size)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc).strip() else type(exc).__name__


def _join_error(found: Launch, wait: float, exc: Exception) -> LaunchError:
    detail = _first_line(exc)
    fix = (f"Start all {found.world_size} processes with `{TORCHRUN}` (on several machines, the same command on "
           f"each, pointing at one address), or wait longer ({JOIN_TIMEOUT_VARIABLE}=600).")
    if found.rank == 0:
        return LaunchError(f"process 0 of {found.world_size} waited {wait:g} s at {found.where} for the other "
                           f"processes to join, and not all came ({detail}).", fix)
    return LaunchError(f"process {found.rank} of {found.world_size} could not reach process 0 at {found.where} "
                       f"within {wait:g} s ({detail}).",
                       "Check MASTER_ADDR and MASTER_PORT (process 0's address), that process 0 runs, and that the "
                       "port is open. " + fix)


def from_env(device_choice: str) -> Distributed | None:
    """Join the process group torchrun described in the environment; None when run as one process."""
    found = launch()
    if found is None:
        return None
    import torch.distributed as dist

    rank, world, local = found.rank, found.world_size, found.local_rank
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
        _join(found, backend)
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
