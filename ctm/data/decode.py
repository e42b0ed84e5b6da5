"""`ctm decode`: decode every video of a dataset once into the decoded store (ctm/data/store.py) that training reads.

Each video is read sequentially with decord, its short side resized to `short_side` (torch's antialiased bilinear on
uint8; within 1/255 of the loader's float resize of the raw video) and written as one store file, in parallel over
worker processes. Every annotated video gets a manifest row whose `status` is "ok" or a failure kind:

  missing      the annotations list it, the disk has no such file
  empty        zero bytes
  truncated    the container is cut short (an mp4 box or the AVI RIFF chunk runs past the end of the file, or an
               mp4 has no `moov` index): an incomplete download. Never kept, even when some frames decode: the end of
               the action is gone and the file should be downloaded again
  undecodable  decord cannot open it (garbage, unknown codec), or its decoding stops before half of the frames that
               the container declares
  no_frames    the container holds no video frame

A complete file whose decoding stops early (a clean end of stream: the container over-reports its frame count, as
decord's count comes from the container; or a decoder error on corrupt data) is kept with the frames that decoded if
they are at least half of the declared ones: `num_frames` is what decoded, `declared_frames` what the container says,
and `reason` says where and why decoding stopped. After a decoder error the frames are decoded again with PyAV in one
thread: decord's decoder thread runs ahead and reports the error at a frame that varies from run to run.
Videos shorter than the 64-frame training window are kept (the sampling wraps, ctm/data/sampling.py); `num_frames`
lets reports count them.

Resuming: store files are written atomically and the manifest is rewritten (atomically) every 30 s and at the end.
A video is skipped when its manifest row says "ok", its store file has the recorded size and its source file the
recorded size, or when a failure row's source is unchanged (a missing video that appears since is decoded).
Leftover temporary files of a killed run are deleted. One `ctm decode` per store folder at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ctm.data.kinetics import relative_inside
from ctm.data.store import (
    StoreError,
    StoreFormat,
    read_format,
    read_manifest,
    write_entry,
    write_format,
    write_manifest,
)
from ctm.progress import progress_bar

SAVE_EVERY_S = 30.0
CHUNK = 32  # frames resized together
MIN_DECODED_FRACTION = 0.5  # a complete file whose decoding stops early is kept if this much of it decodes
MP4_TOP_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"uuid", b"styp", b"sidx", b"moof"}


def resize_short_side(frames: np.ndarray, short_side: int) -> np.ndarray:
    """uint8 (T, H, W, 3) -> uint8 (T, H', W', 3) with min(H', W') = short_side (aspect kept, antialiased bilinear):
    exactly the loader's uint8 resize (ctm.data.clips), so uint8 clips from the store equal those from the raw video."""
    from ctm.data.clips import resize_uint8

    if min(frames.shape[1:3]) == short_side:
        return frames
    return resize_uint8(frames, short_side).permute(0, 2, 3, 1).contiguous().numpy()


def container_truncation(path: Path) -> str | None:
    """Why the mp4/AVI container at `path` is cut short, or None if it looks complete (other formats: None)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
            need = struct.unpack("<I", head[4:8])[0] + 8
            return f"its RIFF header says {need} bytes, the file has {size}" if need > size else None
        if head[4:8] not in MP4_TOP_BOXES:
            return None
        pos, seen = 0, set()
        while pos + 8 <= size:
            f.seek(pos)
            length, kind = struct.unpack(">I4s", f.read(8))
            if length == 1:
                length = struct.unpack(">Q", f.read(8))[0]
            elif length == 0:
                length = size - pos
            if length < 8:
                return f"mp4 box {kind!r} at byte {pos} has an impossible size {length}"
            if pos + length > size:
                return f"mp4 box {kind.decode('latin-1')!r} at byte {pos} needs {length} bytes, {size - pos} remain"
            seen.add(kind)
            pos += length
        return None if b"moov" in seen or b"moof" in seen else "the mp4 has no 'moov' box (its frame index)"


def _failure(row: dict, path: Path, status: str, reason: str) -> dict:
    cut = container_truncation(path) if status == "undecodable" else None
    return {**row, "status": "truncated" if cut else status, "reason": f"{cut}; {reason}" if cut else reason}


class _Stopped(Exception):
    """Decoding stopped before the end; the message says where and why."""


END_OF_STREAM = "the stream ends after"


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [""])[0][:200]


def _decord_frames(reader, declared: int) -> Iterator[np.ndarray]:
    """uint8 (H, W, 3) frames read with next(), which never seeks (get_batch can hang in decord when a container
    over-reports its frame count, dmlc/decord#373); raises _Stopped."""
    import decord

    for i in range(declared):
        try:
            frame = reader.next()
        except StopIteration:
            raise _Stopped(f"{END_OF_STREAM} {i} frames") from None
        except (decord.DECORDError, RuntimeError) as err:
            raise _Stopped(f"frame {i}: {_first_line(err)}") from None
        yield frame.asnumpy()


def _pyav_frames(src: Path) -> Iterator[np.ndarray]:
    """uint8 (H, W, 3) frames of the first video stream, decoded by PyAV in one thread; raises _Stopped."""
    import av

    count = 0
    try:
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
                count += 1
    except (av.FFmpegError, IndexError) as err:
        raise _Stopped(f"frame {count}: {_first_line(err)}") from None


def _collect(frames: Iterator[np.ndarray], short_side: int) -> tuple[list[np.ndarray], str, tuple[int, int]]:
    """(resized chunks of the frames, why decoding stopped early or "", the source's (height, width))."""
    chunks, pending, error, shape = [], [], "", (0, 0)
    try:
        for frame in frames:
            pending.append(frame)
            shape = frame.shape[:2]
            if len(pending) == CHUNK:
                chunks.append(resize_short_side(np.stack(pending), short_side))
                pending = []
    except _Stopped as stop:
        error = str(stop)
    if pending:
        chunks.append(resize_short_side(np.stack(pending), short_side))
    return chunks, error, shape


def decode_video(root: Path, video: str, out: Path, fmt: StoreFormat) -> dict:
    """Decode `root`/`video` into the store `out`; returns its manifest row (never raises for a bad video)."""
    import decord

    src = root / video
    row = {"video": video, "status": "ok", "reason": "", "num_frames": 0, "fps": 0.0, "height": 0, "width": 0,
           "path": "", "bytes": 0, "declared_frames": 0, "source_height": 0, "source_width": 0, "source_bytes": -1}
    if not src.is_file():
        return {**row, "status": "missing", "reason": f"{src}: no such file"}
    row["source_bytes"] = src.stat().st_size
    if row["source_bytes"] == 0:
        return {**row, "status": "empty", "reason": f"{src}: zero bytes"}
    try:
        reader = decord.VideoReader(str(src), ctx=decord.cpu(0), num_threads=1)
        declared, fps = len(reader), float(reader.get_avg_fps())
    except (decord.DECORDError, RuntimeError) as err:  # decord raises RuntimeError when it cannot open a file
        return _failure(row, src, "undecodable", f"decord cannot open it: {_first_line(err)}")
    row.update(declared_frames=declared, fps=round(fps, 4))
    if declared == 0:
        return _failure(row, src, "no_frames", "the container lists no video frame")
    chunks, error, shape = _collect(_decord_frames(reader, declared), fmt.short_side)
    if error and not error.startswith(END_OF_STREAM):
        # decord's decoder thread runs ahead, so its error surfaces at a frame that varies from run to run: count
        # (and take) what decodes with PyAV, single-threaded and deterministic (the same RGB frames as decord).
        row["reason"] = f"decord stopped at {error}; frames decoded with PyAV"
        chunks, error, shape = _collect(_pyav_frames(src), fmt.short_side)
    decoded = sum(len(c) for c in chunks)
    row.update(source_height=shape[0], source_width=shape[1])
    # A cut AVI without its index declares only the frames it still holds, so the container is checked whatever
    # the frame counts say (RIFF size, mp4 box sizes).
    cut = container_truncation(src)
    if cut:
        return {**row, "status": "truncated", "reason": f"{cut}; {decoded} of {declared} frames decode"}
    if decoded < declared:
        if decoded < MIN_DECODED_FRACTION * declared:
            return {**row, "status": "undecodable", "reason": f"{decoded} of {declared} frames decode ({error})"}
        row["reason"] = "; ".join(filter(None, [f"the container declares {declared} frames, {decoded} decode ({error})",
                                                row["reason"]]))
    if decoded > declared:  # PyAV found more frames than decord's count: keep decord's numbering
        chunks, decoded = [np.concatenate(chunks)[:declared]], declared
    frames = np.concatenate(chunks)
    rel = fmt.entry_path(video)
    size = write_entry(out / rel, frames, fmt, fps)
    return {**row, "num_frames": decoded, "height": frames.shape[1], "width": frames.shape[2], "path": rel,
            "bytes": size}


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _decode_job(job: tuple) -> dict:
    return decode_video(*job)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run(jobs: list[tuple], workers: int) -> Iterator[dict]:
    """Manifest rows of `jobs`, in completion order, from `workers` spawned processes (or this one)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_decode_job, jobs)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs)), initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_decode_job, jobs)


def _is_done(row: dict | None, root: Path, out: Path) -> bool:
    """Whether a manifest row from an earlier run still stands (see the module docstring)."""
    if row is None:
        return False
    src = root / row["video"]
    source_bytes = src.stat().st_size if src.is_file() else -1
    if int(row["source_bytes"]) != source_bytes:
        return False
    if row["status"] != "ok":
        return True
    entry = out / row["path"]
    return entry.is_file() and entry.stat().st_size == int(row["bytes"])


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

    Returns {"out", "format", "videos", "decoded" (this run), "skipped", "status": {status: count},
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
    todo = [v for v in wanted if not _is_done(rows.get(v), root, out)]
    jobs = [(root, v, out, fmt) for v in todo]
    last_save = time.monotonic()
    main = threading.current_thread() is threading.main_thread()  # a kill (SLURM, snakemake) still saves the manifest
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        with progress_bar(total=len(jobs), desc="decode", unit="video", disable=not progress) as bar:
            for row in _run(jobs, workers):
                rows[row["video"]] = row
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
    return {"out": str(out), "format": fmt.__dict__, "videos": len(wanted), "decoded": len(todo),
            "skipped": len(wanted) - len(todo), "status": statuses,
            "short_videos": sum(int(r["num_frames"]) < window for r in ok), "frames": frames, "bytes": size,
            "bytes_per_frame": round(size / frames, 1) if frames else 0.0}


def dataset_videos(dataset: str, root: str | Path) -> list[str]:
    """Every video that the annotations of `dataset` list (the union over the official splits, where there are)."""
    from ctm.data.annotations import read_annotations

    splits = (1, 2, 3) if dataset in ("ucf101", "hmdb51") else (1,)
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
