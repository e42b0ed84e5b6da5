"""`ctm train`: SGD with momentum and a step schedule on 1..N processes, a per-epoch JSON-lines log, resumable runs.

One command for every layout: `ctm train ...` on one device, `torchrun --nproc_per_node=N -m ctm.cli train ...` on N
(ctm.engine.distributed: the global batch stays the recipe's, with gradient accumulation where the devices are fewer).
Every epoch ends with an atomic `resume.pt` in the run folder (model, optimiser, schedule, position); SIGTERM (a SLURM
preemption, a kill from the workflow) writes one at the current step and the run exits with EXIT_PREEMPTED. Started
again with the same params, the run resumes there and ends with the same weights as an uninterrupted run (on CPU, bit
for bit: the batch order, the augmentation and the dropout masks depend only on (seed, epoch, step, position)).
On CUDA the recipe adds bf16 autocast, channels_last and optionally torch.compile.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ctm import cpu_kernels, paths
from ctm.config import Limits, Recipe
from ctm.data.clips import VideoClips
from ctm.data.store import Store, open_store
from ctm.engine.build import build_run_model, check_coverage, load_split, model_forward, to_device, why_missing
from ctm.engine.checkpoints import finished_run, load_checkpoint, set_aside
from ctm.engine.distributed import (
    World,
    accumulation_steps,
    any_across,
    barrier,
    close_world,
    init_world,
    micro_batch_seed,
    micro_batches,
    sum_across,
)
from ctm.engine.finetune import init_from_checkpoint, partial_bn, train_mode
from ctm.engine.run import Run
from ctm.errors import MissingInputError
from ctm.fileio import save_torch
from ctm.progress import progress_bar

RESUME_KEYS = ("params", "model", "optimizer", "scheduler", "epoch", "batch", "stats")
EXIT_PREEMPTED = 75  # EX_TEMPFAIL: run the same command again to resume (Snakemake `retries`, SLURM requeue)


class Preempted(RuntimeError):
    """SIGTERM arrived; the run's state is saved in resume.pt."""


@dataclass
class EpochStats:
    """This process's running sums over the epoch (summed over processes for the log)."""

    seen: int = 0
    correct: int = 0
    loss_sum: float = 0.0
    data_time: float = 0.0
    elapsed: float = 0.0


class _DeviceSums:
    """Loss and correct-prediction sums kept on the device, so a GPU step does not wait for `.item()`; `fold` reads
    them back (one host sync) into EpochStats. Folded after every micro-batch on CPU, the arithmetic is that of adding
    each micro-batch's `loss * n` to the stats directly."""

    def __init__(self, device: torch.device):
        self.sums = torch.zeros(2, dtype=torch.float64, device=device)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
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


def capped_schedule(recipe: Recipe, limits: Limits | None) -> tuple[int, list[int]]:
    """(epochs, lr milestones) of a run: the recipe's, or under a rehearsal's epoch cap E below the recipe's epochs,
    E epochs with each milestone m moved to round(m * E / epochs) (at least 1), so that the lr still decays within the
    run as the recipe's does (MultiStepLR applies a milestone given twice twice)."""
    cap = limits.epochs if limits is not None else None
    if cap is None or cap >= recipe.epochs:
        return recipe.epochs, list(recipe.lr_milestones)
    return cap, [max(1, round(m * cap / recipe.epochs)) for m in recipe.lr_milestones]


class _SigtermFlag:
    """Within the block, SIGTERM sets `.raised` instead of killing the process."""

    def __enter__(self) -> _SigtermFlag:
        self.raised = False
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.raised = True

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGTERM, self.previous)


def train(run: Run, root: str | Path, progress: bool = True, store: str | Path | None = None,
          force: bool = False) -> dict:
    """Train the run on the dataset under `root`; write checkpoint.pt and log.jsonl in its folder. Returns the
    summary.

    `store`: the dataset's decoded store (`ctm decode`), read instead of the raw videos under `root`.
    A fine-tuning experiment (`init` in params.yaml) starts from `run.parent_checkpoint`.
    Resumes from the folder's resume.pt when it was written with the same params (one of other params is set aside);
    a run already finished with the same params is not trained again unless `force`; raises Preempted on SIGTERM.
    """
    world = init_world(use_cuda=run.device != "cpu")
    try:
        return _train(run, Path(root), world, progress and world.is_main,
                      open_store(store) if store is not None else None, force)
    finally:
        close_world(world)


def _train(run: Run, root: Path, world: World, progress: bool, store: Store | None, force: bool) -> dict:
    exp, recipe, params, out_dir, experiment = run.spec, run.recipe, run.params, run.folder, run.experiment
    if exp.init is not None and run.parent_checkpoint is None:
        raise MissingInputError(f"experiment {experiment} fine-tunes {exp.init}: pass its checkpoint.pt "
                                "(ctm train --init-checkpoint)")
    out_dir.mkdir(parents=True, exist_ok=True)
    done = None if force else finished_run(out_dir, params) if world.is_main else None
    if any_across(world, done is not None):
        print(f"ctm train: {run.checkpoint} is finished with these params: nothing to do "
              "(--force trains again)", file=sys.stderr)
        return done or {}
    if force and world.is_main:
        for path in (run.checkpoint, paths.train_log_in(out_dir)):
            if path.exists():
                set_aside(path, "is trained again (--force)")
    device, cuda = world.device, world.device.type == "cuda"
    per_device, accumulation = accumulation_steps(recipe.batch_size, world.size, recipe.per_device_batch)
    torch.manual_seed(recipe.seed)
    if not cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)

    split, classes = load_split(exp.dataset, root, "train", store, exp.split)
    check_coverage(run, "train", split, why_missing(run, root, store))
    # from a store, clips stay uint8 until the device (model_forward normalises them there)
    dataset = VideoClips(root, split.videos, run.input, "train", seed=recipe.seed, cache=recipe.cache_videos,
                         store=store, uint8=store is not None)
    model = build_run_model(run, len(classes), pretrained=exp.init is None)  # applies torch's CPU pins
    kernels = None if cuda else "pinned" if cpu_kernels.is_pinned(cpu_kernels.state()) else "unpinned"
    fresh = init_from_checkpoint(model, run.parent_checkpoint) if exp.init is not None else []
    frozen = partial_bn(model, fresh) if recipe.freeze_bn else []
    model.to(device)
    if cuda and recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=recipe.lr,
                                momentum=recipe.momentum, weight_decay=recipe.weight_decay, fused=cuda or None)
    epochs, milestones = capped_schedule(recipe, run.limits)
    max_steps = run.limits.steps_per_epoch if run.limits is not None else None
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, recipe.lr_gamma)
    net = model
    if world.distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    # CUDA graphs replay one recorded step: not with several forwards per backward or DDP's gradient hooks
    mode = recipe.compile_mode
    if mode == "reduce-overhead" and (world.distributed or accumulation > 1):
        mode = "default"
    forward = model_forward(net, cuda and recipe.compile, mode)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and recipe.amp)

    log_path, resume_path = paths.train_log_in(out_dir), paths.resume_state_in(out_dir)
    start_epoch, start_step, stats, lines = 0, 0, EpochStats(), []
    saved = load_checkpoint(resume_path, "resume state", RESUME_KEYS, device) if resume_path.exists() else None
    resumable = saved is not None and saved["params"] == params and saved.get("world_size", 1) == world.size
    if resumable:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        start_epoch, start_step = saved["epoch"], saved["batch"]
        stats = EpochStats(**saved["stats"][world.rank])
        # the finished epochs' records travel in resume.pt: Snakemake deletes a failed job's log.jsonl before a retry
        lines = saved.get("log", [])[:start_epoch]
    barrier(world)  # every process has read resume.pt before the main one rewrites anything
    if saved is not None and not resumable and world.is_main:
        set_aside(resume_path, f"was written with other params or {saved.get('world_size', 1)} processes")
    if world.is_main:
        log_path.write_text("".join(line + "\n" for line in lines))

    def save_state(epoch: int, step: int, stats: EpochStats) -> None:
        gathered = [None] * world.size
        if world.distributed:
            torch.distributed.all_gather_object(gathered, asdict(stats))
        else:
            gathered = [asdict(stats)]
        if world.is_main:
            save_torch({"params": params, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch, "batch": step, "stats": gathered,
                        "world_size": world.size, "log": log_path.read_text().splitlines()}, resume_path)
        barrier(world)

    with _SigtermFlag() as sigterm:
        for epoch in range(start_epoch, epochs):
            dataset.set_epoch(epoch)
            train_mode(model, frozen)
            lr = optimizer.param_groups[0]["lr"]
            batches = epoch_batches(len(dataset), recipe.batch_size, recipe.seed, epoch)[:max_steps]
            first = start_step if epoch == start_epoch else 0
            if first == 0:
                stats = EpochStats()
            mine = [mb for b in batches[first:] for mb in micro_batches(b, world.size, world.rank, accumulation)]
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=mine, num_workers=recipe.num_workers, pin_memory=cuda,
                persistent_workers=False, generator=torch.Generator().manual_seed(recipe.seed + epoch),
            )
            clips_iter = iter(loader)
            sums = _DeviceSums(device)
            start = tick = time.perf_counter() - stats.elapsed
            bar = progress_bar(range(first, len(batches)), desc=f"{experiment} epoch {epoch + 1}/{epochs}",
                               disable=not progress, unit="step", initial=first, total=len(batches))
            for step in bar:
                optimizer.zero_grad(set_to_none=True)
                for a in range(accumulation):
                    clips, labels = next(clips_iter)
                    clips, labels = to_device(clips, device), labels.to(device, non_blocking=True)
                    stats.data_time += time.perf_counter() - tick
                    torch.manual_seed(micro_batch_seed(recipe.seed, epoch, step, a * world.size + world.rank))
                    sync = a == accumulation - 1 or not world.distributed
                    with (contextlib.nullcontext() if sync else net.no_sync()), autocast:
                        logits = forward(clips).float()
                    loss = F.cross_entropy(logits, labels)
                    (loss / accumulation).backward()
                    stats.seen += labels.numel()
                    sums.add(loss, logits, labels)
                    if not cuda:
                        sums.fold(stats)
                    tick = time.perf_counter()
                optimizer.step()
                if not cuda or step % 20 == 0 or step + 1 == len(batches):
                    sums.fold(stats)
                    bar.set_postfix(loss=f"{stats.loss_sum / stats.seen:.3f}",
                                    top1=f"{100 * stats.correct / stats.seen:.1f}")
                if any_across(world, sigterm.raised) and step + 1 < len(batches):
                    sums.fold(stats)
                    stats.elapsed = time.perf_counter() - start
                    save_state(epoch, step + 1, stats)
                    raise Preempted(f"SIGTERM: state saved to {resume_path} at epoch {epoch + 1}, step {step + 1}; "
                                    "run the same command again to resume")
            scheduler.step()
            elapsed = time.perf_counter() - start
            seen, loss_sum, correct = sum_across(world, [stats.seen, stats.loss_sum, stats.correct])
            record = {
                "epoch": epoch + 1, "loss": loss_sum / seen, "top1": 100 * correct / seen, "lr": lr,
                "clips_per_s": seen / elapsed, "data_time_s": stats.data_time, "epoch_time_s": elapsed,
                "peak_gpu_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else 0.0,
                "processes": world.size, "per_device_batch": per_device, "accumulation": accumulation,
                "compile_mode": mode if cuda and recipe.compile else None, "cpu_kernels": kernels,
            }
            if world.is_main:
                with open(log_path, "a") as f:
                    f.write(json.dumps(record) + "\n")
            save_state(epoch + 1, 0, EpochStats())
            if any_across(world, sigterm.raised) and epoch + 1 < epochs:
                raise Preempted(f"SIGTERM: state saved to {resume_path} after epoch {epoch + 1}; "
                                "run the same command again to resume")

    summary = {
        "experiment": experiment,
        "seed": run.seed,
        "preset": run.preset,
        "num_classes": len(classes),
        "num_train_videos": len(dataset),
        "num_train_missing": split.num_missing,
        "epochs": epochs,
        "fresh_modules": fresh,
        "frozen_bn": len(frozen),
        "cpu_kernels": None if cuda else cpu_kernels.state(),
    }
    if world.is_main:
        save_torch({"model": model.state_dict(), "classes": classes, "params": params, "summary": summary},
                   run.checkpoint)
        resume_path.unlink(missing_ok=True)
    barrier(world)
    return summary
