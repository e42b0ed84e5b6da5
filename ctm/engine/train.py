"""`ctm train`: SGD with momentum and a step schedule, a per-epoch JSON-lines log, and resumable runs.

Every epoch ends with an atomic `resume.pt` in the run folder (model, optimiser, schedule, RNG state, position);
SIGTERM (a SLURM preemption, a kill from the workflow) writes one at the current batch and the run exits with
EXIT_PREEMPTED. Started again with the same params, the run resumes there and ends with the same weights as an
uninterrupted run (on CPU, bit for bit: batch order and augmentation depend only on (seed, epoch, index)).
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ctm.config import Config
from ctm.data.clips import VideoClips
from ctm.engine.build import build_model, load_split
from ctm.fileio import save_torch
from ctm.progress import progress_bar

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: run the same command again to resume (Snakemake `retries`, SLURM requeue)


class Preempted(RuntimeError):
    """SIGTERM arrived; the run's state is saved in resume.pt."""


@dataclass
class EpochStats:
    seen: int = 0
    correct: int = 0
    loss_sum: float = 0.0
    data_time: float = 0.0
    elapsed: float = 0.0


def epoch_batches(num_videos: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's batches of video indices: a permutation seeded by (seed, epoch); an incomplete last batch is
    dropped (unless the whole set is smaller than one batch)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(num_videos, generator=generator).tolist()
    usable = num_videos - num_videos % batch_size if num_videos >= batch_size else num_videos
    return [order[i : i + batch_size] for i in range(0, usable, batch_size)]


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


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train(cfg: Config, experiment: str, root: str | Path, out_dir: str | Path, progress: bool = True) -> dict:
    """Train `experiment` on the videos under `root`; write out_dir/{checkpoint.pt, log.jsonl}. Returns the summary.

    Resumes from out_dir/resume.pt when it was written with the same params; raises Preempted on SIGTERM.
    """
    exp = cfg.experiment(experiment)
    recipe = cfg.recipe(exp)
    params = cfg.experiment_params(experiment)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    split, classes = load_split(exp.dataset, root, "train")
    dataset = VideoClips(root, split.videos, cfg.preset.input, "train", seed=recipe.seed, cache=recipe.cache_videos)
    model = build_model(cfg, exp, len(classes), pretrained=True).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, recipe.lr_milestones, recipe.lr_gamma)

    log_path, resume_path = out_dir / "log.jsonl", out_dir / "resume.pt"
    start_epoch, start_batch, stats = 0, 0, EpochStats()
    saved = torch.load(resume_path, map_location=device, weights_only=False) if resume_path.exists() else None
    if saved is not None and saved["params"] == params:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        _set_rng_state(saved["rng"])
        start_epoch, start_batch, stats = saved["epoch"], saved["batch"], EpochStats(**saved["stats"])
    lines = log_path.read_text().splitlines()[:start_epoch] if log_path.exists() else []
    log_path.write_text("".join(line + "\n" for line in lines))

    def save_state(epoch: int, batch: int, stats: EpochStats) -> None:
        save_torch({"params": params, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": _rng_state(), "epoch": epoch, "batch": batch,
                    "stats": asdict(stats)}, resume_path)

    with _SigtermFlag() as sigterm:
        for epoch in range(start_epoch, recipe.epochs):
            dataset.set_epoch(epoch)
            model.train()
            lr = optimizer.param_groups[0]["lr"]
            batches = epoch_batches(len(dataset), recipe.batch_size, recipe.seed, epoch)
            first = start_batch if epoch == start_epoch else 0
            if first == 0:
                stats = EpochStats()
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=batches[first:], num_workers=recipe.num_workers,
                pin_memory=device.type == "cuda",
                # its own generator: an iterator's base seed would otherwise come from torch's global RNG, shifting
                # the dropout stream of a resumed epoch (our clips draw from numpy generators, not from this seed)
                generator=torch.Generator().manual_seed(recipe.seed + epoch),
            )
            start = tick = time.perf_counter() - stats.elapsed
            bar = progress_bar(loader, desc=f"{experiment} epoch {epoch + 1}/{recipe.epochs}",
                               disable=not progress, unit="batch", initial=first, total=len(batches))
            for batch, (clips, labels) in enumerate(bar, start=first + 1):
                clips, labels = clips.to(device, non_blocking=True), labels.to(device, non_blocking=True)
                stats.data_time += time.perf_counter() - tick
                logits = model(clips)
                loss = F.cross_entropy(logits, labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                stats.seen += labels.numel()
                stats.loss_sum += loss.item() * labels.numel()
                stats.correct += (logits.argmax(1) == labels).sum().item()
                bar.set_postfix(loss=f"{stats.loss_sum / stats.seen:.3f}",
                                top1=f"{100 * stats.correct / stats.seen:.1f}")
                tick = time.perf_counter()
                if sigterm.raised and batch < len(batches):
                    stats.elapsed = tick - start
                    save_state(epoch, batch, stats)
                    raise Preempted(f"SIGTERM: state saved to {resume_path} at epoch {epoch + 1}, batch {batch}; "
                                    "run the same command again to resume")
            scheduler.step()
            elapsed = time.perf_counter() - start
            record = {
                "epoch": epoch + 1, "loss": stats.loss_sum / stats.seen, "top1": 100 * stats.correct / stats.seen,
                "lr": lr, "clips_per_s": stats.seen / elapsed, "data_time_s": stats.data_time,
                "epoch_time_s": elapsed,
                "peak_gpu_mem_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0,
            }
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            save_state(epoch + 1, 0, EpochStats())
            if sigterm.raised and epoch + 1 < recipe.epochs:
                raise Preempted(f"SIGTERM: state saved to {resume_path} after epoch {epoch + 1}; "
                                "run the same command again to resume")

    summary = {
        "experiment": experiment,
        "preset": cfg.preset_name,
        "num_classes": len(classes),
        "num_train_videos": len(dataset),
        "num_train_missing": split.num_missing,
        "epochs": recipe.epochs,
    }
    save_torch({"model": model.state_dict(), "classes": classes, "params": params, "summary": summary},
               out_dir / "checkpoint.pt")
    resume_path.unlink(missing_ok=True)
    return summary
