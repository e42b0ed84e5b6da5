"""`ctm train`: SGD with momentum and a step schedule on 1..N processes, a per-epoch JSON-lines log, resumable runs.

One command for every layout: `ctm train ...` on one device, `torchrun --nproc_per_node=N -m ctm.cli train ...` on N
(ctm.engine.distributed: the global batch stays the recipe's, with gradient accumulation where the devices are fewer).
Every epoch ends with an atomic `resume.pt` in the run folder (ctm.engine.resume); SIGTERM (a SLURM preemption, a kill
from the workflow) writes one at the current step and the run exits with EXIT_PREEMPTED. Started again with the same
params, the run resumes there and ends with the same weights as an uninterrupted run (on CPU, bit for bit:
ctm.engine.train_epoch). On CUDA the recipe adds bf16 autocast, channels_last and optionally torch.compile.

This module builds what the run trains with and runs its epochs (train_epoch) with their records (run_records).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ctm import cpu_kernels, paths
from ctm.config import Limits, Recipe
from ctm.data.splits import Split, load_split
from ctm.data.store import Store, open_store
from ctm.data.video_clips import VideoClips
from ctm.engine.build import build_run_model
from ctm.engine.checkpoints import finished_run, set_aside
from ctm.engine.coverage import check_coverage, why_missing
from ctm.engine.distributed import World, accumulation_steps, any_across, barrier, close_world, init_world
from ctm.engine.finetune import init_from_checkpoint, partial_bn
from ctm.engine.forward import model_forward
from ctm.engine.resume import EpochStats, SigtermFlag, restore_resume_point, save_resume_state
from ctm.engine.run import Run
from ctm.engine.run_records import append_log, epoch_record, save_trained, start_log
from ctm.engine.train_epoch import Training, train_one_epoch
from ctm.errors import MissingInputError

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: run the same command again to resume (Snakemake `retries`, SLURM requeue)


class Preempted(RuntimeError):
    """SIGTERM arrived; the run's state is saved in resume.pt."""


def capped_schedule(recipe: Recipe, limits: Limits | None) -> tuple[int, list[int]]:
    """(epochs, lr milestones) of a run: the recipe's, or under a rehearsal's epoch cap E below the recipe's epochs,
    E epochs with each milestone m moved to round(m * E / epochs) (at least 1), so that the lr still decays within the
    run as the recipe's does (MultiStepLR applies a milestone given twice twice)."""
    cap = limits.epochs if limits is not None else None
    if cap is None or cap >= recipe.epochs:
        return recipe.epochs, list(recipe.lr_milestones)
    return cap, [max(1, round(m * cap / recipe.epochs)) for m in recipe.lr_milestones]


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
    exp = run.spec
    if exp.init is not None and run.parent_checkpoint is None:
        raise MissingInputError(f"experiment {run.experiment} fine-tunes {exp.init}: pass its checkpoint.pt "
                                "(ctm train --init-checkpoint)")
    run.folder.mkdir(parents=True, exist_ok=True)
    done = None if force else finished_run(run.folder, run.params) if world.is_main else None
    if any_across(world, done is not None):
        print(f"ctm train: {run.checkpoint} is finished with these params: nothing to do "
              "(--force trains again)", file=sys.stderr)
        return done or {}
    if force and world.is_main:
        for path in (run.checkpoint, paths.train_log_in(run.folder)):
            if path.exists():
                set_aside(path, "is trained again (--force)")
    training, split, classes, fresh = build_training(run, root, world, store)
    kernels = None if world.device.type == "cuda" else (
        "pinned" if cpu_kernels.is_pinned(cpu_kernels.state()) else "unpinned")
    point = restore_resume_point(run, world, training.model, training.optimizer, training.scheduler)
    start_log(training, point.log_lines)

    def save_state(epoch: int, step: int, stats: EpochStats) -> None:
        save_resume_state(run, world, training.model, training.optimizer, training.scheduler, epoch, step, stats)

    resume_path = paths.resume_state_in(run.folder)
    stats = point.stats
    with SigtermFlag() as sigterm:
        for epoch in range(point.epoch, training.epochs):
            first = point.step if epoch == point.epoch else 0
            if first == 0:
                stats = EpochStats()
            lr = training.optimizer.param_groups[0]["lr"]
            stopped = train_one_epoch(training, epoch, first, stats, sigterm, progress)
            if stopped is not None:
                save_state(epoch, stopped, stats)
                raise Preempted(f"SIGTERM: state saved to {resume_path} at epoch {epoch + 1}, step {stopped}; "
                                "run the same command again to resume")
            training.scheduler.step()
            append_log(training, epoch_record(training, epoch, lr, stats, kernels))
            save_state(epoch + 1, 0, EpochStats())
            if any_across(world, sigterm.raised) and epoch + 1 < training.epochs:
                raise Preempted(f"SIGTERM: state saved to {resume_path} after epoch {epoch + 1}; "
                                "run the same command again to resume")

    summary = {
        "experiment": run.experiment,
        "seed": run.seed,
        "preset": run.preset,
        "num_classes": len(classes),
        "num_train_videos": len(training.dataset),
        "num_train_missing": split.num_missing,
        "epochs": training.epochs,
        "fresh_modules": fresh,
        "frozen_bn": len(training.frozen),
        "cpu_kernels": None if world.device.type == "cuda" else cpu_kernels.state(),
    }
    save_trained(training, classes, summary)
    if world.is_main:
        resume_path.unlink(missing_ok=True)
    barrier(world)
    return summary


def build_training(run: Run, root: Path, world: World,
                   store: Store | None) -> tuple[Training, Split, list[str], list[str]]:
    """(what the run trains with, its training split, the class names, the CTM blocks new to a fine-tuned network).

    Seeds torch with the run's seed first: the network's initialisation (and so every weight after) follows from it
    and from the order of the construction here."""
    exp, recipe = run.spec, run.recipe
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
    training = Training(run=run, world=world, dataset=dataset, model=model, net=net, forward=forward, frozen=frozen,
                        optimizer=optimizer, scheduler=scheduler, autocast=autocast, epochs=epochs,
                        max_steps=max_steps, per_device=per_device, accumulation=accumulation, compile_mode=mode)
    return training, split, classes, fresh
