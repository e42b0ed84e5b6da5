"""`ctm decode`: decode every video of a dataset once into the decoded store (ctm/data/store.py) that training reads.

Each video is probed, read sequentially (decord, or PyAV for rotated videos), its short side resized to `short_side`
(torch's antialiased bilinear on uint8; within 1/255 of the loader's float resize of the raw video) as it is decoded,
and written as one store file, in parallel over worker processes (ctm/data/decode_one.py). Every annotated video gets
a manifest row whose `status` is "ok" or a failure kind (missing, empty, truncated, too_large, undecodable,
no_frames; see ctm.data.decode_one) with its `reason`: one bad video never stops the run.
Videos shorter than the 64-frame training window are kept (the sampling wraps, ctm/data/sampling.py); `num_frames`
lets reports count them.

Resuming: store files are written atomically and the manifest is rewritten (atomically) every 30 s and at the end.
An "ok" row stands when its source file has the recorded size and its store file the recorded size and CRC-32
(`crc32`, checked in the worker processes), so a store file damaged in place is decoded again; a failure row stands
while its source is unchanged (a missing video that appears since is decoded). A row without a checksum (a manifest
of an older version) is decoded again. Leftover temporary files of a killed run are deleted. One `ctm decode` per
store folder at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ctm.data.annotations.base import relative_inside
from ctm.data.decode_one import container_truncation, decode_video, resize_short_side
from ctm.data.store import (
    StoreError,
    StoreFormat,
    entry_checksum,
    read_format,
    read_manifest,
    write_format,
    write_manifest,
)
from ctm.progress import progress_bar
from ctm.vocabulary import DATASET_INFO

__all__ = ["container_truncation", "decode_dataset", "decode_video", "decode_videos", "resize_short_side"]

SAVE_EVERY_S = 30.0


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _entry_intact(row: dict, out: Path) -> bool:
    """Whether the store file of an "ok" row has the recorded size and CRC-32 (read whole: damage of unchanged
    size is found too)."""
    entry = out / row["path"]
    return (bool(row["crc32"]) and entry.is_file() and entry.stat().st_size == int(row["bytes"])
            and entry_checksum(entry) == row["crc32"])


def _decode_job(job: tuple) -> tuple[dict, bool]:
    """(manifest row, whether the video was decoded): an earlier "ok" row (`old`) whose store file is intact stands,
    any other video is decoded."""
    root, video, out, fmt, old = job
    if old is not None and _entry_intact(old, out):
        return old, False
    return decode_video(root, video, out, fmt), True


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run(jobs: list[tuple], workers: int) -> Iterator[tuple[dict, bool]]:
    """_decode_job of each of `jobs`, in completion order, from `workers` spawned processes (or this one)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_decode_job, jobs)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs)), initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_decode_job, jobs)


def _standing(row: dict | None, root: Path) -> str:
    """What an earlier run's manifest row is worth: "done" (a failure row, its source unchanged), "verify" (an "ok"
    row, its source unchanged: the worker checks its store file) or "decode" (see the module docstring)."""
    if row is None:
        return "decode"
    src = root / row["video"]
    source_bytes = src.stat().st_size if src.is_file() else -1
    if int(row["source_bytes"]) != source_bytes:
        return "decode"
    return "verify" if row["status"] == "ok" else "done"


def _remove_temporaries(out: Path) -> int:
    """Delete the hidden temporary files (ctm.fileio.temporary_sibling) that a killed run left under `out`."""
    removed = 0
    for folder, _, files in os.walk(out):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def decode_videos(
    root: str | Path, videos: list[str], out: str | Path, fmt: StoreFormat, workers: int = 1, progress: bool = True,
    window: int = 64,
) -> dict:
    """Decode `videos` (paths relative to `root`) into the store folder `out`, resuming an earlier run.

    Returns {"out", "format", "videos", "decoded" (this run), "skipped" (rows that stand: "ok" ones with their
    store file verified), "status": {status: count},
    "short_videos" (ok videos with fewer than `window` frames), "frames", "bytes", "bytes_per_frame"}.
    """
    root, out = Path(root), Path(out)
    for video in videos:  # read from root / video and written to out / video: neither may leave its folder
        relative_inside(video, f"the videos to decode into {out}")
    out.mkdir(parents=True, exist_ok=True)
    old_fmt = read_format(out)
    if old_fmt is not None and old_fmt != fmt:
        raise StoreError(f"{out} holds a store written with {old_fmt}, not {fmt}; decode into another folder "
                         "or use the same settings")
    write_format(out, fmt)
    _remove_temporaries(out)
    old = read_manifest(out)
    rows = {r["video"]: r for r in old.to_dict("records")} if old is not None else {}
    wanted = list(dict.fromkeys(videos))
    standing = {v: _standing(rows.get(v), root) for v in wanted}
    jobs = [(root, v, out, fmt, rows[v] if standing[v] == "verify" else None)
            for v in wanted if standing[v] != "done"]
    decoded = 0
    last_save = time.monotonic()
    main = threading.current_thread() is threading.main_thread()  # a kill (SLURM, snakemake) still saves the manifest
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        with progress_bar(total=len(jobs), desc="decode", unit="video", disable=not progress) as bar:
            for row, fresh in _run(jobs, workers):
                rows[row["video"]] = row
                decoded += fresh
                bar.update()
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    write_manifest(out, list(rows.values()))
                    last_save = time.monotonic()
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        write_manifest(out, list(rows.values()))
    mine = [rows[v] for v in wanted]
    ok = [r for r in mine if r["status"] == "ok"]
    statuses: dict[str, int] = {}
    for r in mine:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    frames, size = sum(int(r["num_frames"]) for r in ok), sum(int(r["bytes"]) for r in ok)
    return {"out": str(out), "format": fmt.__dict__, "videos": len(wanted), "decoded": decoded,
            "skipped": len(wanted) - decoded, "status": statuses,
            "short_videos": sum(int(r["num_frames"]) < window for r in ok), "frames": frames, "bytes": size,
            "bytes_per_frame": round(size / frames, 1) if frames else 0.0}


def dataset_videos(dataset: str, root: str | Path) -> list[str]:
    """Every video that the annotations of `dataset` list (the union over the official splits, where there are)."""
    from ctm.data.annotations import read_annotations

    splits = DATASET_INFO[dataset].splits
    videos: dict[str, None] = {}
    for split in splits:
        videos.update(dict.fromkeys(read_annotations(dataset, root, split)["video"]))
    return list(videos)


def decode_dataset(
    dataset: str, root: str | Path, out: str | Path, short_side: int = 256, workers: int = 1, progress: bool = True,
    fmt: str = "jpeg", quality: int = 90,
) -> dict:
    """Decode every annotated video of `dataset` under `root` into the store `out` (see decode_videos)."""
    store_format = StoreFormat(format=fmt, short_side=short_side, quality=quality)
    return {"dataset": dataset, **decode_videos(root, dataset_videos(dataset, root), out, store_format, workers,
                                                 progress)}
