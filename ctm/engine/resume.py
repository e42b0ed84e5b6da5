"""A training run's state between epochs and across preemptions: resume.pt, the epoch's running sums, SIGTERM.

Every epoch ends with an atomic resume.pt in the run folder (model, optimiser, schedule, position, each process's
running sums and the finished epochs' log records); SIGTERM writes one at the current step. Started again with the
same params and as many processes, the run resumes there; a resume.pt of other params is set aside.
"""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field

import torch

from ctm import paths
from ctm.engine.checkpoints import load_checkpoint, set_aside
from ctm.engine.distributed import World, barrier
from ctm.engine.run import Run
from ctm.fileio import save_torch

RESUME_KEYS = ("params", "model", "optimizer", "scheduler", "epoch", "batch", "stats")


@dataclass
class EpochStats:
    """This process's running sums over the epoch (summed over processes for the log)."""

    seen: int = 0
    correct: int = 0
    loss_sum: float = 0.0
    data_time: float = 0.0
    elapsed: float = 0.0


@dataclass
class ResumePoint:
    """Where a run starts: at step `step` of epoch `epoch` (0-based), with this process's sums of that epoch so far
    and the log records of the epochs before it; (0, 0, empty, none) for a fresh run."""

    epoch: int = 0
    step: int = 0
    stats: EpochStats = field(default_factory=EpochStats)
    log_lines: list[str] = field(default_factory=list)


class SigtermFlag:
    """Within the block, SIGTERM sets `.raised` instead of killing the process."""

    def __enter__(self) -> SigtermFlag:
        self.raised = False
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.raised = True

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGTERM, self.previous)


def restore_resume_point(run: Run, world: World, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                         scheduler: torch.optim.lr_scheduler.LRScheduler) -> ResumePoint:
    """Load the run folder's resume.pt into `model`, `optimizer` and `scheduler` when it was written with the run's
    params by as many processes, and return its position; else (none, or set aside) a fresh run's."""
    path = paths.resume_state_in(run.folder)
    saved = load_checkpoint(path, "resume state", RESUME_KEYS, world.device) if path.exists() else None
    resumable = saved is not None and saved["params"] == run.params and saved.get("world_size", 1) == world.size
    point = ResumePoint()
    if resumable:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        # the finished epochs' records travel in resume.pt: Snakemake deletes a failed job's log.jsonl before a retry
        point = ResumePoint(saved["epoch"], saved["batch"], EpochStats(**saved["stats"][world.rank]),
                            saved.get("log", [])[:saved["epoch"]])
    barrier(world)  # every process has read resume.pt before the main one rewrites anything
    if saved is not None and not resumable and world.is_main:
        set_aside(path, f"was written with other params or {saved.get('world_size', 1)} processes")
    return point


def save_resume_state(run: Run, world: World, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: torch.optim.lr_scheduler.LRScheduler, epoch: int, step: int,
                      stats: EpochStats) -> None:
    """Write resume.pt (atomically, by the main process): the run resumes at step `step` of epoch `epoch` with each
    process's `stats` (gathered) and the records of log.jsonl so far."""
    gathered = [None] * world.size
    if world.distributed:
        torch.distributed.all_gather_object(gathered, asdict(stats))
    else:
        gathered = [asdict(stats)]
    if world.is_main:
        save_torch({"params": run.params, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch, "batch": step, "stats": gathered,
                    "world_size": world.size, "log": paths.train_log_in(run.folder).read_text().splitlines()},
                   paths.resume_state_in(run.folder))
    barrier(world)
