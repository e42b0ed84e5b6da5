"""What `ctm train` writes in a run folder besides resume.pt: log.jsonl (one JSON record per epoch) and, once the
run is done, checkpoint.pt (weights, class names, params, the run's summary and, since format 2, the run itself:
ctm.engine.checkpoint_run).

Only the main process writes; every write of these is by that process alone.
"""

from __future__ import annotations

import json

import torch

from ctm import paths
from ctm.engine.checkpoint_run import CHECKPOINT_FORMAT, run_record
from ctm.engine.distributed import sum_across
from ctm.engine.resume import EpochStats
from ctm.engine.train_epoch import Training
from ctm.fileio import save_torch


def start_log(training: Training, lines: list[str]) -> None:
    """log.jsonl holding the records of the epochs already done (`lines`: those that resume.pt carries)."""
    if training.world.is_main:
        paths.train_log_in(training.run.folder).write_text("".join(line + "\n" for line in lines))


def epoch_record(training: Training, epoch: int, lr: float, stats: EpochStats, cpu_kernels: str | None) -> dict:
    """The log record of `epoch` (0-based), done with learning rate `lr`: loss, top-1 and throughput over all the
    processes (`stats`: this one's sums), and how the run was laid out. Collective: every process calls it."""
    world, recipe = training.world, training.run.recipe
    device = world.device
    cuda = device.type == "cuda"
    seen, loss_sum, correct = sum_across(world, [stats.seen, stats.loss_sum, stats.correct])
    return {
        "epoch": epoch + 1, "loss": loss_sum / seen, "top1": 100 * correct / seen, "lr": lr,
        "clips_per_s": seen / stats.elapsed, "data_time_s": stats.data_time, "epoch_time_s": stats.elapsed,
        "peak_gpu_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else 0.0,
        "processes": world.size, "per_device_batch": training.per_device, "accumulation": training.accumulation,
        "compile_mode": training.compile_mode if cuda and recipe.compile else None, "cpu_kernels": cpu_kernels,
    }


def append_log(training: Training, record: dict) -> None:
    """Add one epoch's record to log.jsonl."""
    if training.world.is_main:
        with open(paths.train_log_in(training.run.folder), "a") as f:
            f.write(json.dumps(record) + "\n")


def save_trained(training: Training, classes: list[str], summary: dict) -> None:
    """checkpoint.pt of the finished run: the network's weights, the class names in label order, the run's params
    (the no-retrain record), `summary`, and the run as testing reads it (self-contained: format 2)."""
    if training.world.is_main:
        run = training.run
        save_torch({"model": training.model.state_dict(), "classes": classes, "params": run.params,
                    "summary": summary, "format": CHECKPOINT_FORMAT, "run": run_record(run)}, run.checkpoint)
