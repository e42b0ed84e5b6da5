"""Synthetic stand-ins of the four datasets written as their official hosts publish them, so the embedded preset
runs the real download -> extract -> parse -> decode code on them (from file:// URLs into ``out``).

``write_published(dataset, out, pairs=..., **sizes)`` writes one dataset's host folder (docs/synthetic_data.md,
"Published form")::

    mini_kinetics_200   kinetics400.tar.gz  train_ytid_list.txt  val_ytid_list.txt  youtube/<id>.mp4  cvdf/  SHA256SUMS
    kinetics_600        kinetics600.tar.gz  youtube/<id>.mp4  cvdf/  SHA256SUMS
    ucf101              UCF101.rar  UCF101TrainTestSplits-RecognitionTask.zip  SHA256SUMS
    hmdb51              hmdb51_org.rar  test_train_splits.rar  SHA256SUMS

Sizes (keyword arguments; all datasets also take num_frames=80, fps=8, height=72, width=96):

    mini_kinetics_200, kinetics_600   train_per_class, val_per_class, missing_fraction=0.03, margin_seconds=2
    ucf101                            groups=5, clips_per_group=4
    hmdb51                            clips_per_class=12
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from ctm.standins.hmdb51 import write_hmdb51
from ctm.standins.host_files import VideoSpec, write_sha256sums
from ctm.standins.kinetics import write_kinetics
from ctm.standins.ucf101 import write_ucf101
from ctm.vocabulary import HMDB51, KINETICS_600, MINI_KINETICS_200, UCF101

WRITERS: dict[str, Callable[..., tuple[dict, list[str]]]] = {
    MINI_KINETICS_200: functools.partial(write_kinetics, MINI_KINETICS_200),
    KINETICS_600: functools.partial(write_kinetics, KINETICS_600),
    UCF101: write_ucf101,
    HMDB51: write_hmdb51,
}
VIDEO_SIZES = ("num_frames", "fps", "height", "width")


def size_arguments(dataset: str) -> list[str]:
    """The size keyword arguments ``write_published`` accepts for ``dataset``."""
    writer = WRITERS[dataset]
    skip = {"out", "pairs", "seed", "workers", "progress", "video"}
    names = [p for p in inspect.signature(writer).parameters if p not in skip]
    return names + list(VIDEO_SIZES)


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished folder ``tmp`` to ``out``; an existing ``out`` is moved aside first, then deleted."""
    if out.exists() or out.is_symlink():
        old = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex}.old")
        os.replace(out, old)
        os.replace(tmp, out)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.replace(tmp, out)


def write_published(
    dataset: str,
    out: str | os.PathLike,
    *,
    pairs: Sequence[str],
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    **sizes: float,
) -> dict:
    """Write the published files of synthetic ``dataset`` into the folder ``out`` (replaced as a whole).

    ``pairs``: class pairs by key (motion.PAIR_KEYS), 2 classes each. ``sizes``: see the module
    docstring (``size_arguments(dataset)``). Everything is built in a hidden temporary sibling folder and renamed to
    ``out`` at the end, so ``out`` is either the old folder or the complete new one; the same arguments give
    byte-identical files for any ``workers``. ``out/SHA256SUMS`` covers the archives and id lists (not the
    youtube/ source videos, which stand for files fetched one by one).

    Returns the writer's summary (classes, counts per split, missing ids) plus "dataset", "out", "files" (the
    checksummed names) and "seconds".
    """
    if dataset not in WRITERS:
        raise ValueError(f"no published synthetic writer for {dataset!r}; choose one of {sorted(WRITERS)}")
    allowed = size_arguments(dataset)
    unknown = sorted(set(sizes) - set(allowed))
    if unknown:
        raise ValueError(f"{dataset}: unknown size argument(s) {unknown}; allowed: {allowed}")
    video = VideoSpec(**{k: int(sizes.pop(k)) for k in VIDEO_SIZES if k in sizes})
    video.check()
    out = Path(out)
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
        summary, checksummed = WRITERS[dataset](
            tmp, pairs=pairs, seed=seed, workers=workers, progress=progress, video=video, **sizes
        )
        shutil.rmtree(tmp / ".work", ignore_errors=True)
        write_sha256sums(tmp, checksummed)
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = round(time.perf_counter() - started, 2)
    return {"dataset": dataset, "out": str(out), **summary, "files": sorted(checksummed), "seconds": seconds}
