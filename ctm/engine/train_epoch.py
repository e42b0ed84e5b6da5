"""One epoch of `ctm train` (`train_one_epoch`, as in torchvision's reference scripts): the epoch's batches in a
seeded order, each step's micro-batches with gradient accumulation, and the running loss and accuracy sums.

The batch order, the augmentation and the dropout masks depend only on (seed, epoch, step, position), so that an
epoch resumed at a step goes on as if it had never stopped (on CPU, bit for bit).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ctm.data.video_clips import VideoClips
from ctm.engine.distributed import World, any_across, micro_batch_seed, micro_batches
from ctm.engine.finetune import train_mode
from ctm.engine.forward import to_device
from ctm.engine.resume import EpochStats, SigtermFlag
from ctm.engine.run import Run
from ctm.progress import progress_bar


@dataclass
class Training:
    """What a run trains with, built once per `ctm train` (ctm.engine.train): the network and its optimiser, on
    this process's device."""

    run: Run
    world: World
    dataset: VideoClips  # the training videos: (T, 3, S, S) clips, float or uint8 (from a store), and labels
    model: torch.nn.Module  # the network
    net: torch.nn.Module  # the network, or its DistributedDataParallel wrapper
    forward: Callable[[torch.Tensor], torch.Tensor]  # (B, T, 3, S, S) clips on the device -> (B, K) logits
    frozen: list[torch.nn.Module]  # BatchNorms kept in eval mode (partial BN)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    autocast: torch.autocast  # bf16 on CUDA with the recipe's amp, else disabled
    epochs: int  # the recipe's, or a rehearsal's cap
    max_steps: int | None  # a rehearsal's steps per epoch, None: all
    per_device: int  # clips per micro-batch
    accumulation: int  # micro-batches per step on each process
    compile_mode: str  # torch.compile's mode where the recipe compiles


class DeviceSums:
    """Loss and correct-prediction sums kept on the device, so a GPU step does not wait for `.item()`; `fold` reads
    them back (one host sync) into EpochStats. Folded after every micro-batch on CPU, the arithmetic is that of adding
    each micro-batch's `loss * n` to the stats directly."""

    def __init__(self, device: torch.device):
        self.sums = torch.zeros(2, dtype=torch.float64, device=device)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """`loss`: the (scalar) mean of a micro-batch, `logits`: (B, K), `labels`: (B,)."""
        correct = (logits.argmax(1) == labels).sum()
        self.sums += torch.stack([loss.detach().double() * labels.numel(), correct.double()])

    def fold(self, stats: EpochStats) -> None:
        loss_sum, correct = self.sums.tolist()
        self.sums.zero_()
        stats.loss_sum += loss_sum
        stats.correct += int(correct)


def epoch_batches(num_videos: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's global batches of video indices: a permutation seeded by (seed, epoch); an incomplete last batch
    is dropped (unless the whole set is smaller than one batch)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(num_videos, generator=generator).tolist()
    usable = num_videos - num_videos % batch_size if num_videos >= batch_size else num_videos
    return [order[i : i + batch_size] for i in range(0, usable, batch_size)]


def warmup_factor(warmup_epochs: float, epoch: int, step: int, steps_per_epoch: int) -> float:
    """The lr multiplier of optimiser step `step` of `epoch` (both 0-based) under a linear warmup over the first
    `warmup_epochs` epochs (fractions allowed): (steps done + 1) / warmup steps, then 1."""
    warmup_steps = warmup_epochs * steps_per_epoch
    done = epoch * steps_per_epoch + step + 1
    return 1.0 if done >= warmup_steps else done / warmup_steps


@contextlib.contextmanager
def scaled_lr(optimizer: torch.optim.Optimizer, factor: float):
    """Every parameter group's lr times `factor` inside the block, the scheduler's lr again after it (the epoch's
    MultiStepLR reads and writes the groups' lr, so the warmup never reaches its arithmetic)."""
    if factor == 1.0:
        yield
        return
    scheduled = [group["lr"] for group in optimizer.param_groups]
    for group, lr in zip(optimizer.param_groups, scheduled, strict=True):
        group["lr"] = lr * factor
    try:
        yield
    finally:
        for group, lr in zip(optimizer.param_groups, scheduled, strict=True):
            group["lr"] = lr


def train_one_epoch(training: Training, epoch: int, first_step: int, stats: EpochStats, sigterm: SigtermFlag,
                    progress: bool) -> int | None:
    """Train `epoch` (0-based) from its step `first_step` on, adding this process's sums to `stats` (those of the
    steps before `first_step` when resumed; `stats.elapsed` is the epoch's time at the end).

    Returns None once the epoch is done, or the number of its steps done when SIGTERM arrived (on any process) before
    its last step: the run's state to save."""
    run, world, recipe = training.run, training.world, training.run.recipe
    device = world.device
    cuda = device.type == "cuda"
    optimizer, accumulation = training.optimizer, training.accumulation
    training.dataset.set_epoch(epoch)
    train_mode(training.model, training.frozen)
    batches = epoch_batches(len(training.dataset), recipe.batch_size, recipe.seed, epoch)[:training.max_steps]
    mine = [mb for b in batches[first_step:] for mb in micro_batches(b, world.size, world.rank, accumulation)]
    loader = torch.utils.data.DataLoader(
        training.dataset, batch_sampler=mine, num_workers=recipe.num_workers, pin_memory=cuda,
        persistent_workers=False, generator=torch.Generator().manual_seed(recipe.seed + epoch),
    )
    clips_iter = iter(loader)
    sums = DeviceSums(device)
    start = tick = time.perf_counter() - stats.elapsed
    bar = progress_bar(range(first_step, len(batches)), desc=f"{run.experiment} epoch {epoch + 1}/{training.epochs}",
                       disable=not progress, unit="step", initial=first_step, total=len(batches))
    for step in bar:
        optimizer.zero_grad(set_to_none=True)
        for a in range(accumulation):
            clips, labels = next(clips_iter)
            clips, labels = to_device(clips, device), labels.to(device, non_blocking=True)
            stats.data_time += time.perf_counter() - tick
            torch.manual_seed(micro_batch_seed(recipe.seed, epoch, step, a * world.size + world.rank))
            sync = a == accumulation - 1 or not world.distributed
            with (contextlib.nullcontext() if sync else training.net.no_sync()), training.autocast:
                logits = training.forward(clips).float()
            loss = F.cross_entropy(logits, labels)
            (loss / accumulation).backward()
            stats.seen += labels.numel()
            sums.add(loss, logits, labels)
            if not cuda:
                sums.fold(stats)
            tick = time.perf_counter()
        with scaled_lr(optimizer, warmup_factor(recipe.warmup_epochs, epoch, step, len(batches))):
            optimizer.step()
        if not cuda or step % 20 == 0 or step + 1 == len(batches):
            sums.fold(stats)
            bar.set_postfix(loss=f"{stats.loss_sum / stats.seen:.3f}", top1=f"{100 * stats.correct / stats.seen:.1f}")
        if any_across(world, sigterm.raised) and step + 1 < len(batches):
            sums.fold(stats)
            stats.elapsed = time.perf_counter() - start
            return step + 1
    stats.elapsed = time.perf_counter() - start
    return None
