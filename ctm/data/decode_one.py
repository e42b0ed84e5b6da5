"""One video of `ctm decode` (ctm/data/decode.py): probe, decode, resize, write its store file, return its manifest
row. Never raises for a bad video: every failure is a row whose `status` is a failure kind and `reason` says why.

  missing      the annotations list it, the disk has no such file
  empty        zero bytes
  truncated    the container is cut short (an mp4 box or the AVI RIFF chunk runs past the end of the file, or an
               mp4 has no `moov` index): an incomplete download. Never kept, even when some frames decode: the end of
               the action is gone and the file should be downloaded again
  too_large    its frames have more than video_io.MAX_PIXELS pixels (refused before any frame is decoded)
  undecodable  FFmpeg cannot open it (garbage, unknown codec), its decoding stops before half of the frames
               that the container declares, or anything else goes wrong while reading it (the reason names it)
  no_frames    the container holds no video stream or no video frame

Each video is first probed with PyAV (ctm.data.video_io.probe_video: frame size, rotation, first frame, with FFmpeg's
`max_pixels` bounding every allocation). A plain video is then read sequentially with decord; a rotated one (a
display matrix), or one whose first frame PyAV cannot decode, with PyAV, turned upright. Frames are resized as they
are decoded, in chunks of at most CHUNK_PIXELS source pixels, so a worker's memory does not grow with the frame size.

A complete file whose decoding stops early (a clean end of stream: the container over-reports its frame count, as
decord's count comes from the container; or a decoder error on corrupt data) is kept with the frames that decoded if
they are at least half of the declared ones: `num_frames` is what decoded, `declared_frames` what the container says,
and `reason` says where and why decoding stopped. After a decord error the frames are decoded again with PyAV in one
thread: decord's decoder thread runs ahead and reports the error at a frame that varies from run to run.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from ctm.data.store import StoreFormat, entry_checksum, write_entry
from ctm.data.video_io import (
    NoVideoStreamError,
    VideoInfo,
    VideoProbeError,
    VideoTooLargeError,
    probe_video,
    pyav_frames,
)

CHUNK_PIXELS = 1 << 22  # source pixels resized together (12 MB of RGB; 48 frames of 340x256, 1 of 4K)
MIN_DECODED_FRACTION = 0.5  # a complete file whose decoding stops early is kept if this much of it decodes
MP4_TOP_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"uuid", b"styp", b"sidx", b"moof"}
END_OF_STREAM = "the stream ends after"


def resize_short_side(frames: np.ndarray, short_side: int) -> np.ndarray:
    """uint8 (T, H, W, 3) -> uint8 (T, H', W', 3) with min(H', W') = short_side (aspect kept, antialiased bilinear):
    exactly the loader's uint8 resize (ctm.data.video_clips), so uint8 clips from the store equal those from the raw
    video."""
    from ctm.data.video_clips import resize_uint8

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


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:200]


def _decord_frames(reader, declared: int, shape: tuple[int, int]) -> Iterator[np.ndarray]:
    """uint8 (H, W, 3) frames read with next(), which never seeks (get_batch can hang in decord when a container
    over-reports its frame count, dmlc/decord#373); raises _Stopped, also for a frame that is not `shape` x 3."""
    import decord

    for i in range(declared):
        try:
            frame = reader.next().asnumpy()
        except StopIteration:
            raise _Stopped(f"{END_OF_STREAM} {i} frames") from None
        except (decord.DECORDError, RuntimeError) as err:
            raise _Stopped(f"frame {i}: {_first_line(err)}") from None
        if frame.shape != (*shape, 3):
            raise _Stopped(f"frame {i}: decord returned a {frame.shape} array, not {(*shape, 3)}")
        yield frame


def _pyav_frames(src: Path, rotation: int) -> Iterator[np.ndarray]:
    """video_io.pyav_frames, with its errors as _Stopped."""
    count = 0
    try:
        for frame in pyav_frames(src, rotation):
            yield frame
            count += 1
    except (av.FFmpegError, ValueError, IndexError) as err:
        raise _Stopped(f"frame {count}: {_first_line(err)}") from None


def _collect(frames: Iterator[np.ndarray], short_side: int) -> tuple[list[np.ndarray], str]:
    """(resized chunks of the frames, why decoding stopped early or ""): each frame is resized within a chunk of at
    most CHUNK_PIXELS source pixels, so only the resized frames accumulate. A change of frame size stops it."""
    chunks, pending, pixels, error, shape = [], [], 0, "", None
    try:
        for i, frame in enumerate(frames):
            shape = shape or frame.shape
            if frame.shape != shape:
                raise _Stopped(f"frame {i}: its size {frame.shape[:2]} differs from the first frame's {shape[:2]}")
            pending.append(frame)
            pixels += shape[0] * shape[1]
            if pixels >= CHUNK_PIXELS:
                chunks.append(resize_short_side(np.stack(pending), short_side))
                pending, pixels = [], 0
    except _Stopped as stop:
        error = str(stop)
    if pending:
        chunks.append(resize_short_side(np.stack(pending), short_side))
    return chunks, error


def _decode_frames(src: Path, info: VideoInfo, row: dict, short_side: int) -> tuple[list[np.ndarray], str, float]:
    """(resized chunks, why decoding stopped early or "", frame rate); fills `row`'s declared_frames, fps and
    reason (a note on how it was decoded)."""
    fps = info.fps
    row.update(declared_frames=info.frames, fps=round(fps, 4))
    if info.plain:
        import decord

        try:
            reader = decord.VideoReader(str(src), ctx=decord.cpu(0), num_threads=1)
            declared, fps = len(reader), float(reader.get_avg_fps())
        except (decord.DECORDError, RuntimeError) as err:  # decord raises RuntimeError when it cannot open a file
            row["reason"] = f"decord cannot open it ({_first_line(err)}); frames decoded with PyAV"
        else:
            row.update(declared_frames=declared, fps=round(fps, 4))
            chunks, error = _collect(_decord_frames(reader, declared, info[:2]), short_side)
            if not error or error.startswith(END_OF_STREAM):
                return chunks, error, fps
            # decord's decoder thread runs ahead, so its error surfaces at a frame that varies from run to run:
            # count (and take) what decodes with PyAV, single-threaded and deterministic (the same RGB as decord).
            row["reason"] = f"decord stopped at {error}; frames decoded with PyAV"
    else:
        row["reason"] = (f"turned upright (a display matrix rotates it {info.rotation} degrees); decoded with PyAV"
                         if info.rotation else "decoded with PyAV (its first frame does not decode cleanly)")
    chunks, error = _collect(_pyav_frames(src, info.rotation), short_side)
    return chunks, error, fps


def decode_video(root: Path, video: str, out: Path, fmt: StoreFormat) -> dict:
    """Decode `root`/`video` into the store `out`; returns its manifest row (never raises for a bad video). Its
    `reason` names the video by its path relative to `root`, never by this machine's path (the manifest is a DVC
    out: a store moved or checked out elsewhere keeps its bytes)."""
    row = _decode_video(root, video, out, fmt)
    src = Path(root) / video
    for where in sorted({str(src.absolute()), str(src.resolve()), str(src)}, key=len, reverse=True):
        row["reason"] = row["reason"].replace(where, video)
    return row


def _decode_video(root: Path, video: str, out: Path, fmt: StoreFormat) -> dict:
    src = root / video
    row = {"video": video, "status": "ok", "reason": "", "num_frames": 0, "fps": 0.0, "height": 0, "width": 0,
           "path": "", "bytes": 0, "declared_frames": 0, "source_height": 0, "source_width": 0, "source_bytes": -1,
           "crc32": ""}
    if not src.is_file():
        return {**row, "status": "missing", "reason": f"{src}: no such file"}
    row["source_bytes"] = src.stat().st_size
    if row["source_bytes"] == 0:
        return {**row, "status": "empty", "reason": f"{src}: zero bytes"}
    try:
        info = probe_video(src)
    except VideoTooLargeError as err:
        return {**row, "status": "too_large", "reason": f"{src}: {err}", "source_height": err.height,
                "source_width": err.width}
    except NoVideoStreamError as err:
        return _failure(row, src, "no_frames", str(err))
    except VideoProbeError as err:
        return _failure(row, src, "undecodable", str(err))
    row.update(source_height=info.height, source_width=info.width)
    try:
        chunks, error, fps = _decode_frames(src, info, row, fmt.short_side)
    except Exception as err:  # anything else that this one file provokes ends as its row, not as the whole run's end
        return _failure(row, src, "undecodable", f"reading it failed: {type(err).__name__}: {_first_line(err)}")
    decoded = sum(len(c) for c in chunks)
    declared = row["declared_frames"] = row["declared_frames"] or decoded  # PyAV: a container that declares none
    # A cut AVI without its index declares only the frames it still holds, so the container is checked whatever
    # the frame counts say (RIFF size, mp4 box sizes).
    cut = container_truncation(src)
    if cut:
        return {**row, "status": "truncated", "reason": f"{cut}; {decoded} of {declared} frames decode"}
    if declared == 0:
        return (_failure(row, src, "undecodable", f"no frame decodes ({error})") if error else
                _failure(row, src, "no_frames", "the container lists no video frame"))
    if decoded < declared:
        if decoded < MIN_DECODED_FRACTION * declared:
            return {**row, "status": "undecodable", "reason": f"{decoded} of {declared} frames decode ({error})"}
        row["reason"] = "; ".join(filter(None, [f"the container declares {declared} frames, {decoded} decode ({error})",
                                                row["reason"]]))
    frames = np.concatenate(chunks)[:declared]  # more frames than declared: keep the container's numbering
    rel = fmt.entry_path(video)
    size = write_entry(out / rel, frames, fmt, fps)
    return {**row, "num_frames": len(frames), "height": frames.shape[1], "width": frames.shape[2], "path": rel,
            "bytes": size, "crc32": entry_checksum(out / rel)}
