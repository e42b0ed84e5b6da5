"""Decoded, sampled, cropped clips as tensors: the torch Dataset that training and evaluation read.

A training item is one random clip: (T, 3, S, S) float32, normalised with ImageNet statistics, and its label.
A test item is every view of a video: (num_clips * num_crops, T, 3, S, S) and its label (views clip-major).
Randomness comes from numpy generators seeded by (seed, epoch, index), so a run is reproducible for any number of
loader workers. With `cache=True` each video is decoded once (all frames, with decord) and later clips are cut from
memory: the same frames, so the same results, for small datasets whose decoded frames fit in RAM.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import decord
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ctm.config import EvalSpec, InputSpec
from ctm.data.sampling import crop_offsets, eval_indices, train_indices

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class VideoDecodeError(RuntimeError):
    """A video could not be decoded; the message names the file."""


def split_available(root: str | Path, annotations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows whose video file exists under root, rows whose video is missing)."""
    exists = np.array([(Path(root) / v).is_file() for v in annotations["video"]], dtype=bool)
    return annotations[exists].reset_index(drop=True), annotations[~exists].reset_index(drop=True)


def read_frames(path: Path, sample: Callable[[int], np.ndarray]) -> np.ndarray:
    """Frames idx = sample(number of frames) of a video, opened once -> uint8 (*idx.shape, H, W, 3)."""
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        indices = sample(len(reader))
        unique, inverse = np.unique(indices.reshape(-1), return_inverse=True)
        frames = reader.get_batch(unique.tolist()).asnumpy()
    except (decord.DECORDError, RuntimeError) as err:  # decord raises RuntimeError when it cannot open a file
        raise VideoDecodeError(f"{path}: cannot decode: {err}") from None
    return frames[inverse].reshape(*indices.shape, *frames.shape[1:])


def _to_float(frames: np.ndarray, resize_short: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> float (T, 3, H', W') in [0, 1] with the short side resized to `resize_short`."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)
    h, w = x.shape[-2:]
    if min(h, w) != resize_short:
        scale = resize_short / min(h, w)
        size = (max(resize_short, round(h * scale)), max(resize_short, round(w * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp_(0, 1)
    return x


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - IMAGENET_MEAN) / IMAGENET_STD


class VideoClips(torch.utils.data.Dataset):
    """Clips of the videos in `annotations` (columns `video`, `label`) under `root`.

    mode "train": one random window, one random crop (same for all frames), optional horizontal flip.
    mode "test": `test.num_clips` evenly spaced windows x `test.num_crops` crops along the long side.
    """

    def __init__(
        self,
        root: str | Path,
        annotations: pd.DataFrame,
        spec: InputSpec,
        mode: str,
        test: EvalSpec | None = None,
        seed: int = 0,
        cache: bool = False,
    ):
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        if mode == "test" and test is None:
            raise ValueError("test mode needs a EvalSpec")
        self.root = Path(root)
        self.videos = annotations["video"].tolist()
        self.labels = annotations["label"].astype(int).tolist()
        self.spec, self.mode, self.test, self.seed = spec, mode, test, seed
        self.epoch = 0
        self.cache: dict[int, np.ndarray] | None = {} if cache else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.videos)

    def _frames(self, index: int, sample: Callable[[int], np.ndarray]) -> np.ndarray:
        """uint8 (*idx.shape, H, W, 3) for idx = sample(number of frames of the video)."""
        path = self.root / self.videos[index]
        if self.cache is None:
            return read_frames(path, sample)
        if index not in self.cache:
            self.cache[index] = read_frames(path, np.arange)
        video = self.cache[index]
        return video[sample(len(video))]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        s = self.spec
        if self.mode == "train":
            rng = np.random.default_rng([self.seed, self.epoch, index])
            frames = self._frames(index, lambda n: train_indices(n, s.num_segments, s.frame_interval, rng))
            x = _to_float(frames, s.resize_short)
            h, w = x.shape[-2:]
            top = int(rng.integers(0, h - s.crop_size + 1))
            left = int(rng.integers(0, w - s.crop_size + 1))
            x = x[..., top : top + s.crop_size, left : left + s.crop_size]
            if s.hflip and rng.random() < 0.5:
                x = x.flip(-1)
            return _normalise(x).contiguous(), self.labels[index]
        frames = self._frames(index, lambda n: eval_indices(n, s.num_segments, s.frame_interval, self.test.num_clips))
        x = _to_float(frames.reshape(-1, *frames.shape[2:]), s.resize_short)
        x = x.view(*frames.shape[:2], *x.shape[1:])  # (K, T, 3, H, W)
        h, w = x.shape[-2:]
        views = []
        for clip in x:
            for off in crop_offsets(max(h, w), s.crop_size, self.test.num_crops):
                top, left = ((h - s.crop_size) // 2, off) if w >= h else (off, (w - s.crop_size) // 2)
                views.append(clip[..., top : top + s.crop_size, left : left + s.crop_size])
        return _normalise(torch.stack(views).flatten(0, 1)).view(len(views), *views[0].shape), self.labels[index]
