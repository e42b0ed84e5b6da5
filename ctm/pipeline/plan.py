"""What a preset's run costs before it starts (`ctm plan`): per stage the download volume, the disk for archives,
clips and decoded stores, and device hours, from params.yaml, the paper's video counts (ctm.report.paper) and the
measured figures of ctm.pipeline.plan_figures.

The Snakemake rules ask for the same numbers: a training or test job's `runtime` is Job.request_minutes (through
workflow/rules/common.smk), so a dry run's requests add up to this plan times plan_figures.REQUEST_MARGIN.
docs/plan.md gives the paper preset's figures and how each is derived.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ctm.config import Config, Experiment
from ctm.paths import run_name
from ctm.pipeline import plan_figures as fig
from ctm.report.paper import PAPER_VIDEO_COUNTS, paper_videos

GB = 1e9


def ucf101_test_groups(groups: int) -> int:
    """Groups per class that one split of a synthetic UCF-101 tests (ctm.standins.ucf101.tested_groups)."""
    return max(1, min(round(7 * groups / 25), (groups - 1) // 3))


def split_videos(cfg: Config, dataset: str, split: int = 1) -> tuple[int, int]:
    """(train, test) videos of a dataset's split under the preset: the paper's counts, or the synthetic stand-in's."""
    spec = cfg.dataset(dataset)
    if spec.source != "synthetic":
        train, test = paper_videos(dataset, [split] if PAPER_VIDEO_COUNTS[dataset].per_split else None)
        return int(train), int(test)
    s, classes = spec.synthetic, cfg.num_classes(dataset)
    if s.groups is not None:  # UCF-101
        tested = ucf101_test_groups(s.groups) * s.clips_per_group * classes
        return s.groups * s.clips_per_group * classes - tested, tested
    if s.clips_per_class is not None:  # HMDB-51: a fifth unused, the rest 70/30
        used = s.clips_per_class - max(1, s.clips_per_class // 5)
        return round(0.7 * used) * classes, (used - round(0.7 * used)) * classes
    kept = 1 - (s.missing_fraction or 0)  # Kinetics: listed ids whose video is gone are not trained or tested
    return round(s.train_per_class * classes * kept), round(s.val_per_class * classes * kept)


def store_frames(cfg: Config, dataset: str) -> tuple[int, float, float]:
    """(videos, frames, bytes) of a dataset's decoded store at the preset's short side."""
    spec, short = cfg.dataset(dataset), cfg.preset.input.resize_short
    if spec.source == "synthetic":
        s = spec.synthetic
        train, test = split_videos(cfg, dataset)
        videos = train + test if s.groups is None and s.clips_per_class is None else (
            s.groups * s.clips_per_group if s.groups is not None else s.clips_per_class) * cfg.num_classes(dataset)
        frames = videos * s.num_frames
        return videos, frames, frames * short * short * s.width / s.height * fig.SYNTHETIC_STORE_BYTES_PER_PIXEL
    train, test = split_videos(cfg, dataset)
    videos = fig.REAL_STORE_VIDEOS.get(dataset, train + test)
    frames = videos * fig.REAL_FRAMES_PER_VIDEO[dataset]
    per_frame = fig.STORE_BYTES_PER_FRAME * short * short * fig.REAL_ASPECT / fig.STORE_FRAME_PIXELS
    return videos, frames, frames * per_frame


def block_equivalents(exp: Experiment) -> float:
    """CTM blocks counted as full (two-path) blocks: a one-path block counts half."""
    return 0.0 if exp.ctm is None else len(exp.ctm.after) * len(exp.ctm.paths) / 2


def per_clip_rate(rate: fig.Rate, exp: Experiment) -> float:
    """Clips/s of the experiment's network: TSN's time per clip plus a third of the 3-block CTM's extra time per
    block (measured: TSN and 3 blocks in Res4; other stages and counts are interpolated)."""
    seconds = 1 / rate.tsn + block_equivalents(exp) / 3 * (1 / rate.ctm3 - 1 / rate.tsn)
    return 1 / seconds


@dataclass(frozen=True)
class Job:
    """One training or test job of the DAG and what it costs."""

    step: str  # "train" | "evaluate"
    run: str  # <experiment>/seed<k>
    group: str  # the plan's row
    devices: int  # GPUs (a cuda preset) or CPU cores (one per job)
    clips: int
    rate: float  # clips/s of one device
    source: str
    gpu: bool

    @property
    def wall_s(self) -> float:
        """Planned wall time: the clips over every device (linear scaling), plus a GPU job's start-up (a CPU job's
        is small, and within the CPU test rate)."""
        return self.clips / (self.rate * self.devices) + (fig.STARTUP_S[self.step] if self.gpu else 0.0)

    @property
    def device_hours(self) -> float:
        return self.wall_s * self.devices / 3600

    @property
    def request_minutes(self) -> int:
        """The job's `runtime` request: its planned wall time times the margin, in whole minutes."""
        return math.ceil(self.wall_s * fig.REQUEST_MARGIN / 60)


def train_job(cfg: Config, name: str, seed: int) -> Job:
    exp = cfg.experiment(name)
    recipe, limits, gpu = cfg.recipe(exp, seed), cfg.preset.limits, cfg.preset.device == "cuda"
    train, _ = split_videos(cfg, exp.dataset, exp.split)
    steps = train // recipe.batch_size if train >= recipe.batch_size else 1  # an incomplete last batch is dropped
    epochs = recipe.epochs
    if limits is not None:
        epochs = min(epochs, limits.epochs or epochs)
        steps = min(steps, limits.steps_per_epoch or steps)
    clips = epochs * steps * min(train, recipe.batch_size)
    if gpu:
        measured = fig.H100_TRAIN[(exp.backbone, recipe.compile)]
        rate, source, devices = per_clip_rate(measured, exp), measured.source, recipe.gpus
    else:
        rate, source, devices = fig.CPU_TRAIN[exp.backbone], fig.PROVENANCE, 1
    verb = "fine-tune" if exp.init else "train"
    return Job("train", run_name(name, seed), f"{verb} {exp.dataset}", devices, clips, rate, source, gpu)


def evaluate_job(cfg: Config, name: str, seed: int) -> Job:
    exp, t, gpu = cfg.experiment(name), cfg.preset.test, cfg.preset.device == "cuda"
    _, test = split_videos(cfg, exp.dataset, exp.split)
    if cfg.preset.limits is not None and cfg.preset.limits.test_videos is not None:
        test = min(test, cfg.preset.limits.test_videos)
    clips = test * t.num_clips * t.num_crops
    if gpu:
        compiled = cfg.recipe(exp, seed).compile
        measured = fig.H100_EVAL[(exp.backbone, "folded" if t.fold_bn and compiled else
                                  "compiled" if compiled else "eager")]
        rate, source = per_clip_rate(measured, exp), measured.source
    else:
        rate, source = fig.CPU_EVAL, fig.PROVENANCE
    return Job("evaluate", run_name(name, seed), f"evaluate {exp.dataset}", 1, clips, rate, source, gpu)


def planned_experiments(cfg: Config) -> list[str]:
    """The experiments the tables need, with the parents they are fine-tuned from, in params.yaml's order."""
    needed = {m for table in cfg.tables.values() for n in table.names() for m in cfg.members(n)}
    todo = list(needed)
    while todo:
        parent = cfg.experiment(todo.pop()).init
        if parent is not None and parent not in needed:
            needed.add(parent)
            todo.append(parent)
    return [n for n in cfg.experiments if n in needed]


def jobs(cfg: Config) -> list[Job]:
    """Every training and test job of the preset's DAG: each planned experiment once per seed."""
    runs = [(n, s) for n in planned_experiments(cfg) for s in cfg.seeds]
    return [train_job(cfg, n, s) for n, s in runs] + [evaluate_job(cfg, n, s) for n, s in runs]


@dataclass
class Row:
    stage: str
    download_gb: float | None = None
    disk_gb: float | None = None
    gpu_h: float = 0.0
    cpu_h: float = 0.0
    runs: int = 0
    sources: list[str] = field(default_factory=list)


def data_rows(cfg: Config) -> list[Row]:
    """Download, clips (extract or fetch) and decode rows of every dataset an experiment uses."""
    used = list(dict.fromkeys(cfg.experiment(n).dataset for n in planned_experiments(cfg)))
    rows = []
    for d in used:
        spec = cfg.dataset(d)
        if spec.source == "download":
            dl = fig.DOWNLOADS[d]
            rows.append(Row(f"download {d}", dl.gb, dl.gb, sources=[f"{dl.files}: {dl.source}"]))
            kept = f"{dl.kept:.0%} of the videos kept" if dl.kept < 1 else "every video kept"
            rows.append(Row(f"extract clips {d}", None, dl.gb * dl.kept, sources=[f"{dl.files}: {kept}"]))
        elif spec.source == "synthetic":
            rows.append(Row(f"publish {d} (synthetic)", 0.0, None, sources=["written locally by `ctm synth`"]))
        videos, frames, size = store_frames(cfg, d)
        source = fig.SYNTHETIC_STORE_SOURCE if spec.source == "synthetic" else fig.DECODED_STORE
        rows.append(Row(f"decode {d}", None, size / GB, cpu_h=frames / fig.DECODE_FRAMES_PER_CORE_S / 3600,
                        sources=[f"{videos:,} videos x {frames / videos:.0f} frames, JPEG q90: {source}"]))
    return rows


def compute_rows(cfg: Config) -> list[Row]:
    """Training and test rows: one per group of jobs (a dataset's trainings, fine-tunings or tests)."""
    rows: dict[str, Row] = {}
    for job in jobs(cfg):
        row = rows.setdefault(job.group, Row(job.group))
        row.runs += 1
        if job.gpu:
            row.gpu_h += job.device_hours
        else:
            row.cpu_h += job.device_hours
        if job.source not in row.sources:
            row.sources.append(job.source)
    return list(rows.values())


def plan(cfg: Config) -> dict:
    """The plan as JSON-able data: its rows, their totals and the requests of the training and test jobs."""
    rows = data_rows(cfg) + compute_rows(cfg)
    total = Row("total", sum(r.download_gb or 0 for r in rows), sum(r.disk_gb or 0 for r in rows),
                sum(r.gpu_h for r in rows), sum(r.cpu_h for r in rows), sum(r.runs for r in rows))
    requested = sum(j.request_minutes * j.devices / 60 for j in jobs(cfg) if j.gpu)
    return {"preset": cfg.preset_name, "device": cfg.preset.device, "seeds": cfg.seeds,
            "rows": [vars(r) for r in rows], "total": {k: v for k, v in vars(total).items() if k != "sources"},
            "requested_gpu_h": requested, "request_margin": fig.REQUEST_MARGIN}


def request_minutes(cfg: Config, step: str, experiment: str, seed: int) -> int:
    """A training or test job's `runtime` request in minutes (workflow/rules/train.smk through common.smk)."""
    make = {"train": train_job, "evaluate": evaluate_job}[step]
    return make(cfg, experiment, seed).request_minutes


def decode_request_minutes(cfg: Config, dataset: str, workers: int) -> int:
    """A decode job's `runtime` request with `workers` processes (data.smk's decode may ask through common.smk)."""
    _, frames, _ = store_frames(cfg, dataset)
    return math.ceil(frames / fig.DECODE_FRAMES_PER_CORE_S / workers * fig.REQUEST_MARGIN / 60) + 1
