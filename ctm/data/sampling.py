"""Frame-index formulas (pure functions; docs/protocol.md states them).

Training (paper 4.2; MMAction2 `SampleFrames(clip_len=8, frame_interval=8)`): a window of T*interval consecutive
frames starts at a uniformly random offset in [0, max(N - T*interval, 0)]; the clip is offset + interval*[0..T-1].
Indices wrap modulo N for videos shorter than the window.

Testing: `num_clips` windows spread evenly over the video. A clip spans (T-1)*interval + 1 frames; clip k of K starts
at round(k * max(N - span, 0) / (K - 1)) (the first clip at frame 0, the last ending on the last frame); a single
clip is centred. Indices wrap modulo N like in training.
"""

from __future__ import annotations

import numpy as np


def _check(num_frames: int, num_segments: int, interval: int) -> None:
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame, got num_frames={num_frames}")
    if num_segments < 1 or interval < 1:
        raise ValueError(f"num_segments and interval must be >= 1, got {num_segments}, {interval}")


def train_indices(num_frames: int, num_segments: int, interval: int, rng: np.random.Generator) -> np.ndarray:
    """(num_segments,) frame indices of one random training clip."""
    _check(num_frames, num_segments, interval)
    offset = int(rng.integers(0, max(num_frames - num_segments * interval, 0) + 1))
    return (offset + interval * np.arange(num_segments)) % num_frames


def eval_indices(num_frames: int, num_segments: int, interval: int, num_clips: int) -> np.ndarray:
    """(num_clips, num_segments) frame indices of evenly spaced test clips."""
    _check(num_frames, num_segments, interval)
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    room = max(num_frames - ((num_segments - 1) * interval + 1), 0)
    if num_clips == 1:
        offsets = np.array([room // 2])
    else:
        offsets = np.round(np.arange(num_clips) * room / (num_clips - 1)).astype(int)
    return (offsets[:, None] + interval * np.arange(num_segments)[None, :]) % num_frames


def crop_offsets(length: int, crop: int, num_crops: int) -> list[int]:
    """Start positions of `num_crops` crops along one axis: 1 -> centre; 3 -> start, centre, end (Non-local)."""
    if crop > length:
        raise ValueError(f"crop {crop} is larger than the frame side {length}")
    if num_crops == 1:
        return [(length - crop) // 2]
    return [round(i * (length - crop) / (num_crops - 1)) for i in range(num_crops)]
