"""The tests' synthetic stand-in for Mini-Kinetics-200, written in the real dataset's on-disk layout once extracted
(ctm/standins/kinetics.py writes the published form and shares this module's id and label helpers).

The 10 classes are 5 time-reversal pairs (ctm/standins/motion.py, docs/synthetic_data.md): a frame-averaging
2D model can tell the pair from any frame but is exactly at chance within a pair; a temporal model is not.

Layout under ``root`` (the real Mini-Kinetics-200 id lists beside the Kinetics-400 annotation CSVs)::

    train_ytid_list.txt   val_ytid_list.txt          one 11-character YouTube id per line
    train.csv             validate.csv               label,youtube_id,time_start,time_end,split,is_cc
    videos/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4
"""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ctm.data.video_io import write_video
from ctm.fileio import save_text
from ctm.standins.host_files import run_jobs
from ctm.standins.motion import PAIR_KEYS, SYNTHETIC_CLASS_NAMES, pair_classes, render_clip

YOUTUBE_ID_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "_-"
CLIP_SECONDS = 10
CSV_HEADER = "label,youtube_id,time_start,time_end,split,is_cc"
# Real Kinetics-400 classes that Mini-Kinetics-200 does not use here: rows in the CSVs, ids in no list.
K400_ONLY_CLASSES = ("abseiling", "air drumming", "archery", "massaging person's head", "tying knot (not on a tie)")
K400_ONLY_ROWS_PER_CLASS = 2
# split name -> (seed tag, id list file, annotation CSV, value of the CSV's split column)
SPLITS = {
    "train": (1, "train_ytid_list.txt", "train.csv", "train"),
    "val": (2, "val_ytid_list.txt", "validate.csv", "val"),
}


@dataclass(frozen=True)
class Row:
    """One annotation row; ``label_index`` is -1 for the Kinetics-400-only distractor rows."""

    label: str
    label_index: int
    youtube_id: str
    time_start: int
    is_cc: int

    @property
    def time_end(self) -> int:
        return self.time_start + CLIP_SECONDS

    @property
    def video_name(self) -> str:
        return f"{self.youtube_id}_{self.time_start:06d}_{self.time_end:06d}.mp4"

    def csv_line(self, split_value: str) -> str:
        return f"{csv_label(self.label)},{self.youtube_id},{self.time_start},{self.time_end},{split_value},{self.is_cc}"


def csv_label(label: str) -> str:
    """Quote a label like the Kinetics CSVs do: bare if alphanumeric, else in double quotes (no other escaping)."""
    return label if label.isalnum() else '"' + label.replace('"', '""') + '"'


def make_youtube_ids(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` unique 11-character ids over [A-Za-z0-9_-]; every 7th one (index 0 included) starts with '-'."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        chars = [YOUTUBE_ID_ALPHABET[i] for i in rng.integers(0, len(YOUTUBE_ID_ALPHABET), size=11)]
        if len(ids) % 7 == 0:
            chars[0] = "-"
        candidate = "".join(chars)
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def _make_rows(rng: np.random.Generator, ids: list[str], labels: list[int], names: list[str]) -> list[Row]:
    """Rows for ``ids`` with label indices ``labels`` (-1 entries take their name from ``names``)."""
    starts = rng.integers(0, 291, size=len(ids))
    is_cc = (rng.random(len(ids)) < 0.1).astype(int)
    return [
        Row(names[k] if label < 0 else SYNTHETIC_CLASS_NAMES[label], label, youtube_id, int(start), int(cc))
        for k, (youtube_id, label, start, cc) in enumerate(zip(ids, labels, starts, is_cc, strict=True))
    ]


def plan_splits(
    seed: int, train_per_class: int, val_per_class: int, missing_fraction: float, pairs: Sequence[str] = PAIR_KEYS
) -> dict[str, tuple[list[Row], list[Row], set[str]]]:
    """Deterministic annotations: split -> (listed rows in list order, K400-only rows, ids with no video)."""
    rng = np.random.default_rng([seed, 0])
    classes = pair_classes(pairs)
    num_classes = len(classes)
    per_class = {"train": train_per_class, "val": val_per_class}
    num_extra = len(K400_ONLY_CLASSES) * K400_ONLY_ROWS_PER_CLASS
    ids = iter(make_youtube_ids(rng, sum(num_classes * n + num_extra for n in per_class.values())))
    plan = {}
    for split, n in per_class.items():
        listed_ids = [next(ids) for _ in range(num_classes * n)]
        extra_ids = [next(ids) for _ in range(num_extra)]
        labels = rng.permutation(np.repeat(classes, n)).tolist()
        listed = _make_rows(rng, listed_ids, labels, [])
        extra_names = [name for name in K400_ONLY_CLASSES for _ in range(K400_ONLY_ROWS_PER_CLASS)]
        extra = _make_rows(rng, extra_ids, [-1] * num_extra, extra_names)
        num_missing = round(missing_fraction * len(listed))
        missing = {listed[i].youtube_id for i in rng.choice(len(listed), size=num_missing, replace=False)}
        plan[split] = (listed, extra, missing)
    return plan


def _write_one(job: tuple) -> str:
    """Render and write one video; ``job`` = (path, label index, (seed, split tag, index), T, H, W, fps)."""
    path, label_index, entropy, num_frames, height, width, fps = job
    clip = render_clip(label_index, np.random.default_rng(entropy), num_frames, height, width)
    write_video(path, clip, fps)
    return path


def write_mini_kinetics_200(
    root: str | os.PathLike,
    *,
    train_per_class: int,
    val_per_class: int,
    num_frames: int = 80,
    fps: int = 8,
    height: int = 72,
    width: int = 96,
    seed: int = 0,
    missing_fraction: float = 0.02,
    workers: int = 1,
    progress: bool = True,
    pairs: Sequence[str] = PAIR_KEYS,
) -> dict:
    """Write the synthetic Mini-Kinetics-200 tree under ``root``; byte-identical for the same arguments.

    Each listed id gets a ``num_frames`` x ``height`` x ``width`` clip at ``fps`` (80 frames at 8 fps = the 10 s
    of a Kinetics clip), except a deterministic ``round(missing_fraction * listed)`` ids per split that get no
    video (like failed downloads). Videos of split s, list index i use ``default_rng([seed, tag(s), i])``, so
    ``workers`` (> 1: a spawn-context process pool) does not change the output. ``pairs`` picks the class pairs by
    key (``PAIR_KEYS``); the dataset has their 2 * len(pairs) classes.

    Returns ``{"root", "classes", "train": {"listed", "written", "missing", "missing_ids"}, "val": {...}}``.
    """
    if train_per_class < 0 or val_per_class < 0 or not 0.0 <= missing_fraction <= 1.0:
        raise ValueError("per-class counts must be >= 0 and missing_fraction in [0, 1]")
    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    plan = plan_splits(seed, train_per_class, val_per_class, missing_fraction, pairs)
    jobs = []
    summary: dict = {"root": str(root), "classes": [SYNTHETIC_CLASS_NAMES[c] for c in pair_classes(pairs)]}
    for split, (listed, extra, missing) in plan.items():
        tag, list_name, csv_name, split_value = SPLITS[split]
        save_text("".join(row.youtube_id + "\n" for row in listed), root / list_name)
        rows = sorted(listed + extra, key=lambda row: (row.label, row.youtube_id))
        lines = [CSV_HEADER] + [row.csv_line(split_value) for row in rows]
        save_text("".join(line + "\n" for line in lines), root / csv_name)
        for index, row in enumerate(listed):
            if row.youtube_id not in missing:
                path = str(root / "videos" / row.video_name)
                jobs.append((path, row.label_index, (seed, tag, index), num_frames, height, width, fps))
        counts = {"listed": len(listed), "written": len(listed) - len(missing), "missing": len(missing)}
        summary[split] = {**counts, "missing_ids": sorted(missing)}
    run_jobs(_write_one, jobs, workers=workers, progress=progress, desc="synthetic videos")
    return summary
