"""Data parallelism: one process per device, launched by `torchrun` (NCCL on GPUs, gloo on CPU), or one plain process.

The global batch of a step is the recipe's `batch_size`, whatever the number of processes: each of the W processes
runs A = batch_size / (W * per_device_batch) micro-batches per step and accumulates their gradients, so one process
with A = 4 and four processes with A = 1 take the same optimisation steps (docs/protocol.md, "Batch and devices").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place in the run: rank r of `size` processes, on `device`."""

    rank: int
    size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(use_cuda: bool = True) -> World:
    """Join the process group that torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK), or a world
    of one. Each process takes the GPU of its local rank when CUDA is available and `use_cuda` (False for a CPU
    preset, whose tables must be the same bytes on a machine that has a GPU)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"LOCAL_RANK={local_rank} but only {torch.cuda.device_count()} GPUs are visible; "
                               "launch at most one process per GPU (torchrun --nproc_per_node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(rank, size, local_rank, device)


def close_world(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def accumulation_steps(batch_size: int, world_size: int, per_device_batch: int | None) -> tuple[int, int]:
    """(per-device micro-batch, micro-batches per step) that make up `batch_size` clips per step on `world_size`
    processes. The global batch must split exactly: the paper's numbers depend on it."""
    per_device = per_device_batch or batch_size // world_size
    if per_device < 1 or batch_size % (world_size * per_device):
        raise ValueError(
            f"batch_size {batch_size} does not split into {world_size} processes x micro-batches of {per_device} "
            f"clips; choose per_device_batch (and the number of processes) so that their product divides it"
        )
    return per_device, batch_size // (world_size * per_device)


def micro_batches(batch: list[int], world_size: int, rank: int, accumulation: int) -> list[list[int]]:
    """This rank's micro-batches of one global batch: micro-batch a of rank r is slice (a * W + r) of the batch cut
    into W * A equal parts, so the same clips meet in the same micro-batch whatever W and A are."""
    parts = world_size * accumulation
    size = len(batch) // parts
    return [batch[(a * world_size + rank) * size : (a * world_size + rank + 1) * size] for a in range(accumulation)]


def micro_batch_seed(seed: int, epoch: int, step: int, index: int) -> int:
    """Seed of torch's RNG (dropout) for micro-batch `index` (= a * W + r) of a step: a function of the position
    only, so results do not depend on how micro-batches are spread over processes, nor on a resume."""
    return ((seed * 1_000_003 + epoch) * 1_000_033 + step) * 1_009 + index


def sum_across(world: World, values: list[float]) -> list[float]:
    """Element-wise sum of `values` over all processes (identity in a world of one)."""
    if not world.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=world.device)
    dist.all_reduce(t)
    return t.tolist()


def any_across(world: World, flag: bool) -> bool:
    """True on every process if `flag` is true on any (all processes must call it at the same point)."""
    if not world.distributed:
        return flag
    t = torch.tensor([int(flag)], device=world.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
