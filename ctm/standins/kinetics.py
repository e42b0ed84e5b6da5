"""Synthetic Kinetics-600 and Mini-Kinetics-200 as their hosts publish them: annotation tarballs, id lists, and
"YouTube" source videos that are longer than the annotated windows (docs/synthetic_data.md, "Published form").

Layout of the folder written (file names as on the official hosts)::

    kinetics600.tar.gz     kinetics600/{train,validate,test}.csv      (kinetics_600)
    kinetics400.tar.gz     kinetics400/{train,validate,test}.csv      (mini_kinetics_200; plus K400-only classes)
    train_ytid_list.txt    val_ytid_list.txt                          (mini_kinetics_200; s9xie/Mini-Kinetics-200)
    youtube/<youtube_id>.mp4                                          (sources; a few listed ids have none)
    cvdf/<400|600>/<split>/...                                        (the clips as the CVDF mirror publishes them:
                                                                       shard lists and shards, cvdf_mirror.py)

A source video holds ``time_start`` seconds of a distractor (the motion of another class of the dataset), the
annotated window [time_start, time_end) of the labelled motion, then ``margin_seconds`` more of the distractor, so a
fetcher that does not trim gets clips whose motion contradicts the label for part of their length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ctm.data.annotations.kinetics import clip_name
from ctm.fileio import save_text
from ctm.standins.cvdf_mirror import MirrorClip, trim_clips, write_mirror
from ctm.standins.host_files import DEFAULT_VIDEO, VideoJob, VideoSpec, encode_videos, missing_count, write_tar_gz
from ctm.standins.mini_kinetics_tree import K400_ONLY_CLASSES, csv_label, make_youtube_ids
from ctm.standins.motion import SYNTHETIC_CLASS_NAMES, pair_classes
from ctm.vocabulary import KINETICS_600, MINI_KINETICS_200

# dataset -> (seed tag, tarball stem, CSV has an is_cc column, id lists are written)
KINETICS = {MINI_KINETICS_200: (10, "kinetics400", True, True), KINETICS_600: (11, "kinetics600", False, False)}
# split -> (seed tag, CSV file, value of the CSV's split column, Mini-Kinetics id list)
SPLITS = {
    "train": (1, "train.csv", "train", "train_ytid_list.txt"),
    "val": (2, "validate.csv", "val", "val_ytid_list.txt"),
    "test": (3, "test.csv", "test", None),
}
TEST_ROWS_PER_CLASS = 1  # test.csv rows (no videos: the pipeline never fetches the unlabelled test split)


@dataclass(frozen=True)
class KineticsRow:
    """One annotation row; ``label_index`` is -1 for Kinetics-400-only rows (in no Mini-Kinetics list)."""

    label: str
    label_index: int
    youtube_id: str
    time_start: int
    time_end: int
    is_cc: int


def _header(split: str, is_cc: bool) -> str:
    columns = ["label", "youtube_id", "time_start", "time_end", "split"] + (["is_cc"] if is_cc else [])
    if split == "test" and not is_cc:  # Kinetics-600's test.csv has no label column
        columns.remove("label")
    return ",".join(columns)


def csv_text(rows: Sequence[KineticsRow], split: str, is_cc: bool) -> str:
    """A Kinetics CSV (LF; labels that are not one alphanumeric word in double quotes), rows sorted by label."""
    header = _header(split, is_cc)
    lines = [header]
    for row in sorted(rows, key=lambda r: (r.label, r.youtube_id)):
        fields = {"label": csv_label(row.label), "youtube_id": row.youtube_id, "time_start": str(row.time_start),
                  "time_end": str(row.time_end), "split": SPLITS[split][2], "is_cc": str(row.is_cc)}
        lines.append(",".join(fields[column] for column in header.split(",")))
    return "".join(line + "\n" for line in lines)


def plan_kinetics(
    dataset: str, seed: int, classes: list[int], per_class: dict[str, int], window: int, margin: int,
    missing_fraction: float,
) -> dict[str, tuple[list[KineticsRow], list[KineticsRow], set[str]]]:
    """split -> (rows of the dataset's classes in list order, K400-only rows, ids without a source video)."""
    rng = np.random.default_rng([seed, KINETICS[dataset][0], 0])
    extra_names = list(K400_ONLY_CLASSES) if KINETICS[dataset][2] else []
    counts = {split: len(classes) * n for split, n in per_class.items()}
    ids = make_youtube_ids(rng, sum(counts.values()) + len(per_class) * len(extra_names))
    if "--" + ids[0][2:] not in ids:  # ids[0] starts with '-' already; make it start like the real `--nQbRBEz2s`
        ids[0] = "--" + ids[0][2:]
    pool = iter(ids)
    plan = {}
    for split, n in per_class.items():
        labels = rng.permutation(np.repeat(classes, n)).tolist()
        names = [SYNTHETIC_CLASS_NAMES[label] for label in labels] + extra_names
        labels += [-1] * len(extra_names)
        starts = rng.integers(0, margin + 1, size=len(labels))  # the source starts time_start s before the window
        far_starts = rng.integers(0, 291, size=len(labels))  # rows without a video can start anywhere
        is_cc = (rng.random(len(labels)) < 0.1).astype(int)
        rows = []
        for k, label in enumerate(labels):
            start = int(starts[k] if label >= 0 and split != "test" else far_starts[k])
            rows.append(KineticsRow(names[k], label, next(pool), start, start + window, int(is_cc[k])))
        listed, extra = rows[: counts[split]], rows[counts[split] :]
        missing: set[str] = set()
        if split != "test":
            chosen = rng.choice(len(listed), size=missing_count(missing_fraction, len(listed)), replace=False)
            missing = {listed[i].youtube_id for i in chosen}
        plan[split] = (listed, extra, missing)
    return plan


def write_kinetics(
    dataset: str,
    out: Path,
    *,
    pairs: Sequence[str],
    seed: int,
    workers: int,
    progress: bool,
    train_per_class: int,
    val_per_class: int,
    missing_fraction: float = 0.03,
    margin_seconds: int = 2,
    video: VideoSpec = DEFAULT_VIDEO,
) -> tuple[dict, list[str]]:
    """Write the published form of ``dataset`` (mini_kinetics_200 or kinetics_600) into ``out``.

    Windows are ``video.num_frames / video.fps`` seconds (an integer; 10 by default, as in Kinetics), with
    time_start drawn from 0..margin_seconds. Returns (summary, names of the files to list in SHA256SUMS).
    """
    tag, stem, is_cc, id_lists = KINETICS[dataset]
    if video.num_frames % video.fps:
        raise ValueError(f"num_frames={video.num_frames} must be a multiple of fps={video.fps}: "
                         "Kinetics windows are whole seconds")
    if train_per_class < 1 or val_per_class < 1 or margin_seconds < 0:
        raise ValueError("train_per_class and val_per_class must be >= 1 and margin_seconds >= 0")
    classes = pair_classes(pairs)
    per_class = {"train": train_per_class, "val": val_per_class, "test": TEST_ROWS_PER_CLASS}
    plan = plan_kinetics(dataset, seed, classes, per_class, video.num_frames // video.fps, margin_seconds,
                         missing_fraction)
    members: list[tuple[str, bytes | None]] = [(f"{stem}/", None)]
    checksummed = [f"{stem}.tar.gz"]
    jobs = []
    summary: dict = {"classes": [SYNTHETIC_CLASS_NAMES[c] for c in classes]}
    margin_rng = np.random.default_rng([seed, tag, 4])
    for split, (listed, extra, missing) in plan.items():
        split_tag, csv_name, _, list_name = SPLITS[split]
        members.append((f"{stem}/{csv_name}", csv_text(listed + extra, split, is_cc).encode("utf-8")))
        if split == "test":
            summary[split] = {"listed": len(listed) + len(extra)}
            continue
        if id_lists:
            save_text("".join(row.youtube_id + "\n" for row in listed), out / list_name)
            checksummed.append(list_name)
        for index, row in enumerate(listed):
            others = [c for c in classes if c != row.label_index]
            margin_class = int(others[margin_rng.integers(len(others))])
            if row.youtube_id in missing:
                continue
            jobs.append(VideoJob(
                str(out / "youtube" / f"{row.youtube_id}.mp4"), row.label_index, (seed, tag, split_tag, index), video,
                pre=row.time_start * video.fps, post=margin_seconds * video.fps, margin_class=margin_class,
                margin_entropy=(seed, tag, split_tag, index, 1),
            ))
        counts = {"listed": len(listed), "written": len(listed) - len(missing), "missing": len(missing)}
        summary[split] = {**counts, "missing_ids": sorted(missing)}
    members.sort(key=lambda member: member[0])  # the folder, then test.csv, train.csv, validate.csv
    write_tar_gz(out / f"{stem}.tar.gz", members)
    encode_videos(jobs, workers=workers, progress=progress, desc=f"{dataset} source videos")
    summary["source_videos"] = len(jobs)
    summary["cvdf_shards"] = _write_mirror(out, dataset, plan, workers=workers, progress=progress)
    return summary, checksummed


def _write_mirror(out: Path, dataset: str, plan: dict, *, workers: int, progress: bool) -> dict:
    """The CVDF mirror's form of the clips (ctm.standins.cvdf_mirror), trimmed from the sources just written; the
    Kinetics-400 shards also hold one clip of each Kinetics-400-only class per split (not needed by Mini-Kinetics)."""
    work = out / ".work" / "clips"
    jobs, clips = [], {}
    for split in ("train", "val"):
        listed, extra, missing = plan[split]
        present = [row for row in listed if row.youtube_id not in missing]
        mirror = []
        for row in present:
            name = clip_name(row.youtube_id, row.time_start, row.time_end)
            jobs.append((str(out / "youtube" / f"{row.youtube_id}.mp4"), str(work / name), row.time_start,
                         row.time_end))
            mirror.append(MirrorClip(name, row.label, work / name))
        if KINETICS[dataset][2]:  # clips of classes outside Mini-Kinetics-200: the bytes of a present clip
            mirror += [MirrorClip(clip_name(row.youtube_id, row.time_start, row.time_end), row.label, mirror[0].path)
                       for row in extra]
        clips[split] = mirror
    trim_clips(jobs, workers=workers, progress=progress)
    return write_mirror(out, "400" if KINETICS[dataset][2] else "600", clips)
