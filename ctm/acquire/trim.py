"""Cut the window [start, end) seconds out of a downloaded video and re-encode it as an H.264 mp4, with PyAV.

This is what `ffmpeg -ss START -to END -i SRC -c:v libx264 -an DST` does for the Kinetics crawlers, written
against PyAV's bundled FFmpeg libraries because the machines running this have no ffmpeg binary. Frames are
decoded from the key frame before `start` (one seek, so a 2-hour source is not decoded from its beginning),
kept when their presentation time t (seconds since the stream's first timestamp, as ffmpeg counts `-ss`)
satisfies start <= t < end, and encoded with their source timestamps shifted so the clip starts at 0: the
source frame rate (constant or variable) is kept. Audio is dropped (the models read frames only).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from ctm.data.annotations.kinetics import MAX_TIME_S
from ctm.data.video_io import X264_REPRODUCIBLE
from ctm.fileio import temporary_sibling


class TrimError(RuntimeError):
    """The source has no video stream, or no frame inside the window; the message says which."""


def _output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """(width, height) after scaling the short side to `short_side` (None: unchanged), rounded down to even
    numbers because yuv420p needs them (YouTube serves e.g. 853x480)."""
    if short_side is not None and min(width, height) != short_side:
        scale = short_side / min(width, height)
        width, height = max(2, round(width * scale)), max(2, round(height * scale))
    return width - width % 2, height - height % 2


def trim_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    start: float,
    end: float,
    *,
    crf: int = 23,
    preset: str = "veryfast",
    short_side: int | None = None,
    threads: int = 1,
) -> dict:
    """Write the frames of `src` whose time t is in [start, end) seconds to `dst` (H.264 yuv420p mp4, no audio).

    `crf`/`preset`: x264 quality and speed (23 is ffmpeg's default quality). `short_side`: resize so the short
    side has this many pixels (None keeps the source size). `threads`: decoder threads per clip (1 suits many
    clips in parallel); the encoder is single-threaded, so a source always gives the same bytes.
    Written to a temporary sibling and renamed, so `dst` is complete or absent.
    Returns {"frames": int, "fps": float (source average rate), "first_s": float, "last_s": float (times of
    the first and last kept frame in the source), "width": int, "height": int}. Raises TrimError when nothing
    falls in the window, av.FFmpegError when the source cannot be decoded, ValueError for a window that is not
    finite, is empty or negative, or ends after kinetics.MAX_TIME_S (the seek would overflow FFmpeg's timestamps).
    """
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end <= MAX_TIME_S):
        raise ValueError(f"need finite 0 <= start < end <= {MAX_TIME_S} seconds, got start={start!r} end={end!r}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dst)
    try:
        with av.open(str(src)) as inp:
            if not inp.streams.video:
                raise TrimError(f"{src}: no video stream")
            vin = inp.streams.video[0]
            vin.thread_count = threads
            tb = vin.time_base
            origin = vin.start_time or 0
            rate = vin.average_rate or vin.guessed_rate or Fraction(25)
            if start > 0:
                inp.seek(origin + int(start / tb), stream=vin, backward=True)
            with av.open(str(tmp), mode="w", format="mp4") as out:
                info = _reencode(inp, vin, out, start, end, rate, origin, crf, preset, short_side)
            length = float(vin.duration * tb) if vin.duration else (inp.duration or 0) / 1e6
        if info["frames"] == 0:
            raise TrimError(f"no frame in [{start}, {end}) s: the video lasts {length:.2f} s")
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return info


def _reencode(inp, vin, out, start, end, rate, origin, crf, preset, short_side) -> dict:
    """Decode from the current position of `inp`, encode the frames inside [start, end) into `out`."""
    tb = vin.time_base
    width, height = _output_size(vin.codec_context.width, vin.codec_context.height, short_side)
    vout = out.add_stream("libx264", rate=rate)
    vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
    vout.time_base = tb
    vout.codec_context.time_base = tb
    # x264 in its reproducible mode (video_io.X264_REPRODUCIBLE): the same source gives the same clip on every run
    vout.options = {"crf": str(crf), "preset": preset, "x264-params": X264_REPRODUCIBLE}
    frames, first_pts, last_pts, first_t, last_t = 0, None, None, None, None
    for frame in inp.decode(vin):
        if frame.pts is None:
            continue
        t = float((frame.pts - origin) * tb)
        if t >= end:
            break
        if t < start or (last_pts is not None and frame.pts <= last_pts):
            continue
        if first_pts is None:
            first_pts, first_t = frame.pts, t
        last_pts, last_t = frame.pts, t
        image = frame.reformat(width=width, height=height, format="yuv420p")
        # A decoded frame keeps its I/P/B type, which libx264 would obey as a forced type.
        image.pict_type = PictureType.NONE
        image.pts, image.time_base = frame.pts - first_pts, tb
        out.mux(vout.encode(image))
        frames += 1
    out.mux(vout.encode(None))
    return {"frames": frames, "fps": float(rate), "first_s": first_t, "last_s": last_t,
            "width": width, "height": height}
