"""Write uint8 RGB clips as video files (PyAV, deterministic bytes) and read them back (decord), and look at a
video before decoding it (`probe_video`: frame size, rotation, frame count) with memory bounded whatever it claims.

The container follows the file name: ``.mp4`` is H.264 (libx264) in MP4, like YouTube downloads and the Kinetics
clips; ``.avi`` is MPEG-4 Part 2 (FFmpeg's ``mpeg4`` encoder, FourCC ``XVID``) in AVI, like the UCF-101 and HMDB-51
files.

Rotated videos (a phone's portrait video: landscape frames plus a display matrix that tells players to turn them)
are read upright: `probe_video` reads the rotation from the first decoded frame (FFmpeg attaches the stream's
display matrix to every frame; PyAV's `VideoFrame.rotation`), and `pyav_frames` turns each frame by it. decord
ignores or mangles the matrix (it returns frames of the wrong shape, even 4 channels), so rotated videos are decoded
with PyAV only. Frames of more than `MAX_PIXELS` pixels are refused before any is decoded: FFmpeg's `max_pixels`
option bounds the probe's and the decoder's allocations, and the size that the container declares is checked first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from ctm.fileio import temporary_sibling

AVI_QSCALE = 3
"""Fixed MPEG-4 quantiser of .avi files (2-31, lower is better): for the synthetic clips about the same mean decoding
error (about 2 grey levels) as H.264 at crf 18, at about 20 kB for 80 frames of 72x96."""
AVI_FOURCC = "XVID"

# Single-threaded x264 without macroblock-tree rate control: with mbtree on, this libx264 build gives different bytes
# (and pixels) from run to run of the same input even with one thread; without it the output is byte-identical.
X264_REPRODUCIBLE = "threads=1:lookahead-threads=1:mbtree=0"


def _check_frames(frames: np.ndarray) -> None:
    """Raise TypeError/ValueError unless ``frames`` is a uint8 array of shape (T, H, W, 3) with T >= 1 and even H, W."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"frames must be a numpy array, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must have dtype uint8, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must have shape (T, H, W, 3) with T >= 1, got {frames.shape}")
    height, width = frames.shape[1:3]
    if height < 2 or width < 2 or height % 2 or width % 2:
        raise ValueError(f"H.264 yuv420p needs even height and width >= 2, got H={height} W={width}")


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray,
    fps: float | Fraction,
    *,
    crf: int = 18,
    keyframe_interval: int = 8,
    preset: str = "veryfast",
) -> None:
    """Atomically write ``frames`` (uint8, shape (T, H, W, 3), RGB) to ``path``: H.264 mp4 or MPEG-4 Part 2 avi.

    The format follows the suffix: ``.mp4`` is H.264 yuv420p, ``.avi`` is MPEG-4 Part 2 yuv420p with FourCC XVID
    and the fixed quantiser ``AVI_QSCALE`` (``crf`` and ``preset`` apply to H.264 only). Both encoders run
    single-threaded with a fixed GOP of ``keyframe_interval`` frames and no B-frames in the avi, and the muxer in
    bit-exact mode, so the same frames always give byte-identical files. x264's
    macroblock-tree rate control is switched off: with it, this libx264 build gave different bytes from
    run to run even single-threaded. ``preset`` is x264's speed/size trade-off ("veryfast": about half the
    encoding time of "medium" at the same size for these small clips).
    The file is written under a temporary name in the same folder and moved into place with ``os.replace``.
    Raises ValueError for other suffixes.
    """
    _check_frames(frames)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if keyframe_interval < 1:
        raise ValueError(f"keyframe_interval must be >= 1, got {keyframe_interval}")
    path = Path(path)
    container_format = {".mp4": "mp4", ".avi": "avi"}.get(path.suffix.lower())
    if container_format is None:
        raise ValueError(f"{path}: write_video writes .mp4 (H.264) or .avi (MPEG-4 Part 2); use one of those suffixes")
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    tmp = temporary_sibling(path)
    try:
        with av.open(str(tmp), mode="w", format=container_format, options={"fflags": "+bitexact"}) as container:
            if container_format == "mp4":
                stream = container.add_stream("libx264", rate=rate)
                stream.options = {
                    "crf": str(crf),
                    "preset": preset,
                    "g": str(keyframe_interval),
                    "flags": "+bitexact",
                    "x264-params": X264_REPRODUCIBLE + ":scenecut=0",
                }
            else:
                stream = container.add_stream("mpeg4", rate=rate)
                context = stream.codec_context
                context.gop_size, context.max_b_frames = keyframe_interval, 0
                context.qmin = context.qmax = AVI_QSCALE  # a constant quantiser: no rate control
                context.codec_tag = AVI_FOURCC
                stream.options = {"flags": "+bitexact"}
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.thread_count = 1
            for index, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts = index
                frame.time_base = 1 / rate
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_video(path: str | os.PathLike) -> np.ndarray:
    """Decode every frame of the video at ``path`` with decord; returns uint8 RGB of shape (T, H, W, 3)."""
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    batch = reader.get_batch(list(range(len(reader))))
    return batch.asnumpy() if hasattr(batch, "asnumpy") else np.asarray(batch)


MAX_PIXELS = 8192 * 8192
"""Frames with more pixels than this (8K and DCI 8K have about half as many) are refused before decoding: one
such RGB frame alone is 200 MB, and a 16000x16000 one 768 MB."""


class VideoProbeError(ValueError):
    """A video that cannot be opened, has no video stream, or whose frames are too large; the message says which
    (without the path: callers name the file)."""


class NoVideoStreamError(VideoProbeError):
    """The container holds no video stream."""


class VideoTooLargeError(VideoProbeError):
    """Frames larger than the allowed number of pixels (`width` x `height`, as stored)."""

    def __init__(self, width: int, height: int, max_pixels: int):
        super().__init__(f"its frames are {width}x{height} ({width * height} pixels), more than the {max_pixels} "
                         "accepted; re-encode it smaller (e.g. 1920 pixels on the long side)")
        self.width, self.height = width, height


class VideoInfo(NamedTuple):
    """What `probe_video` finds. `height`, `width`: of the upright frames (after `rotation`); `rotation`: degrees
    counter-clockwise that a player turns the stored frames (0, 90, 180 or 270); `frames`: the count that the
    container declares (0 when it declares none); `fps`: its average frame rate (0.0 when unknown); `plain`: the
    first frame decoded cleanly and needs no turning, so decord may read the video."""

    height: int
    width: int
    rotation: int
    frames: int
    fps: float
    plain: bool


def _bounded(stream, max_pixels: int) -> None:
    """Make the decoder of `stream` refuse frames over `max_pixels` and decode in one thread (deterministic)."""
    stream.codec_context.options = {"max_pixels": str(max_pixels)}
    stream.codec_context.thread_count = 1


def probe_video(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> VideoInfo:
    """Open the video at `path` with PyAV and decode its first frame, never allocating a frame over `max_pixels`
    pixels. Raises VideoTooLargeError when the container or the first frame declares larger frames,
    VideoProbeError when FFmpeg cannot open the file or finds no video stream."""
    try:
        with av.open(str(path), options={"max_pixels": str(max_pixels)}, metadata_errors="replace") as container:
            if not container.streams.video:
                raise NoVideoStreamError("it holds no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > max_pixels:
                raise VideoTooLargeError(width, height, max_pixels)
            frames = max(int(stream.frames or 0), 0)
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            _bounded(stream, max_pixels)
            try:
                first = next(container.decode(stream), None)
            except (av.FFmpegError, ValueError, IndexError):  # a damaged first frame: the decoders decide
                first = None
    except av.FFmpegError as err:
        raise VideoProbeError(f"FFmpeg cannot open it: {(str(err).splitlines() or [''])[0][:200]}") from None
    if first is None:
        return VideoInfo(height, width, 0, frames, fps, False)
    if first.width * first.height > max_pixels:
        raise VideoTooLargeError(first.width, first.height, max_pixels)
    rotation = round((first.rotation or 0) / 90) % 4 * 90
    height, width = (first.width, first.height) if rotation % 180 else (first.height, first.width)
    return VideoInfo(height, width, rotation, frames, fps, rotation == 0)


def upright(frame: np.ndarray, rotation: int) -> np.ndarray:
    """A stored (H, W, 3) frame turned `rotation` degrees counter-clockwise, as a player shows it."""
    return np.ascontiguousarray(np.rot90(frame, rotation // 90)) if rotation % 360 else frame


def pyav_frames(path: str | os.PathLike, rotation: int = 0, max_pixels: int = MAX_PIXELS) -> Iterator[np.ndarray]:
    """uint8 RGB (H, W, 3) frames of the first video stream, in order, decoded by PyAV in one thread (the same RGB
    as decord), turned upright by `rotation` (see VideoInfo); the decoder refuses frames over `max_pixels`. Raises
    av.FFmpegError (or ValueError) where decoding fails."""
    with av.open(str(path), options={"max_pixels": str(max_pixels)}, metadata_errors="replace") as container:
        stream = container.streams.video[0]
        _bounded(stream, max_pixels)
        for frame in container.decode(stream):
            yield upright(frame.to_ndarray(format="rgb24"), rotation)
