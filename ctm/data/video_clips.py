"""Decoded, sampled, cropped clips as tensors: the torch Dataset that training and evaluation read.

A training item is one random clip: (T, 3, S, S) float32, normalised with ImageNet statistics, and its label.
A test item is every view of a video: (num_clips * num_crops, T, 3, S, S) and its label (views clip-major).
Randomness comes from numpy generators seeded by (seed, epoch, index), so a run is reproducible for any number of
loader workers. With `cache=True` each video is decoded once (all frames, with decord) and later clips are cut from
memory: the same frames, so the same results, for small datasets whose decoded frames fit in RAM.

Raw videos are probed first (ctm.data.video_io.probe_video): frames over video_io.MAX_PIXELS pixels are refused
before decoding (a VideoDecodeError naming the file), and a rotated video (a display matrix, as phones write) is
decoded with PyAV and turned upright, as players show it and as `ctm decode` stores it; others are read with decord.

Fast path: `store=` a decoded store (ctm/data/store.py, written by `ctm decode`) instead of the raw videos. Frames
come from the store and need no resize when the store's short side is `spec.resize_short`; a clip then equals the raw
video's clip up to the store's resize and compression (docs/decoded_store.md states the tolerance).
`uint8=True`: items are uint8 (T, 3, S, S) clips (test: (V, T, 3, S, S)), cropped and flipped but not normalised, so
the engine can normalise on the GPU (`normalise_uint8`); same random draws, so the same crops as the float items.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path

import av
import decord
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ctm.config import EvalSpec, InputSpec
from ctm.data.sampling import crop_offsets, eval_indices, train_indices
from ctm.data.store import Store, StoreError, open_store
from ctm.data.video_io import VideoInfo, VideoProbeError, probe_video, pyav_frames
from ctm.errors import UserError

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class VideoDecodeError(UserError, RuntimeError):
    """A video could not be decoded; the message (one line) names the file."""

    def __init__(self, message: str):
        # A DataLoader worker's exception comes back as type(f"Caught ... Original Traceback ...\n<type>: <message>"):
        # keep the worker's one-line message, which `ctm` prints (the traceback is not the user's business).
        if message.startswith(f"Caught {type(self).__name__}") and f"{type(self).__name__}: " in message:
            message = message.rstrip().rsplit(f"{type(self).__name__}: ", 1)[1]
        super().__init__(message)


def split_available(root: str | Path, annotations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows whose video file exists under root, rows whose video is missing)."""
    exists = np.array([(Path(root) / v).is_file() for v in annotations["video"]], dtype=bool)
    return annotations[exists].reset_index(drop=True), annotations[~exists].reset_index(drop=True)


@functools.lru_cache(maxsize=4096)
def _probe(path: str, mtime_ns: int, size: int) -> VideoInfo:
    """probe_video, once per version of a file (a loader worker reads each video many times)."""
    del mtime_ns, size  # cache key only
    return probe_video(path)


def _count_frames(path: Path) -> int:
    """Video packets of `path` (demuxed, not decoded): the frame count when the container declares none."""
    with av.open(str(path), metadata_errors="replace") as container:
        return sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)


def _pyav_read(path: Path, rotation: int, unique: np.ndarray) -> np.ndarray:
    """Upright frames `unique` (sorted distinct indices) decoded sequentially with PyAV."""
    frames, decoded = [], 0
    with contextlib.closing(pyav_frames(path, rotation)) as stream:
        for i, frame in enumerate(stream):
            decoded = i + 1
            if i == unique[len(frames)]:
                frames.append(frame)
                if len(frames) == len(unique):
                    break
    if len(frames) < len(unique):
        raise VideoDecodeError(f"{path}: cannot decode: frame {unique[len(frames)]} wanted, {decoded} decode")
    return np.stack(frames)


def _decord_reader(path: Path):
    """decord's reader of `path`, or None where decord cannot open it (PyAV may)."""
    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
    except (decord.DECORDError, RuntimeError):  # decord raises RuntimeError when it cannot open a file
        return None


def _decord_batch(reader, unique: np.ndarray, info: VideoInfo) -> np.ndarray | None:
    """Frames `unique` read with decord, or None where decord fails or returns frames of another shape (decord 0.6
    mangles frames 16, 24, 48 or 72 pixels wide): PyAV reads those."""
    try:
        frames = reader.get_batch(unique.tolist()).asnumpy()
    except (decord.DECORDError, RuntimeError):
        return None
    return frames if frames.shape[1:] == (info.height, info.width, 3) else None


def read_frames(path: Path, sample: Callable[[int], np.ndarray]) -> np.ndarray:
    """Frames idx = sample(number of frames) of a video, upright -> uint8 (*idx.shape, H, W, 3). Read with decord
    (opened once), or with PyAV for a rotated video or where decord fails; frames over video_io.MAX_PIXELS are
    refused unread. Any failure is a VideoDecodeError naming the file."""
    try:
        stat = Path(path).stat()
        info = _probe(str(path), stat.st_mtime_ns, stat.st_size)
        reader = _decord_reader(path) if info.plain else None
        indices = sample(len(reader) if reader is not None else info.frames or _count_frames(path))
        unique, inverse = np.unique(indices.reshape(-1), return_inverse=True)
        frames = _decord_batch(reader, unique, info) if reader is not None else None
        if frames is None:
            frames = _pyav_read(Path(path), info.rotation, unique)
    except VideoDecodeError:
        raise
    except (av.FFmpegError, ValueError, OSError) as err:  # VideoProbeError is a ValueError
        what = "refused" if isinstance(err, VideoProbeError) else "cannot decode"
        raise VideoDecodeError(f"{path}: {what}: {(str(err).splitlines() or [''])[0][:300]}") from None
    return frames[inverse].reshape(*indices.shape, *frames.shape[1:])


def resized_size(h: int, w: int, resize_short: int) -> tuple[int, int]:
    """(H', W') of an h x w frame whose short side is resized to `resize_short`, aspect kept."""
    scale = resize_short / min(h, w)
    return max(resize_short, round(h * scale)), max(resize_short, round(w * scale))


def _to_float(frames: np.ndarray, resize_short: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> float (T, 3, H', W') in [0, 1] with the short side resized to `resize_short`."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)
    h, w = x.shape[-2:]
    if min(h, w) != resize_short:
        size = resized_size(h, w, resize_short)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp_(0, 1)
    return x


def resize_uint8(frames: np.ndarray, resize_short: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> uint8 (T, 3, H', W') (a channels-last view) with the short side resized (torch's uint8
    antialiased bilinear: within 1/255 of `_to_float`)."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    h, w = x.shape[-2:]
    if min(h, w) != resize_short:
        x = F.interpolate(x, size=resized_size(h, w, resize_short), mode="bilinear", antialias=True,
                          align_corners=False)
    return x


def normalise_uint8(x: torch.Tensor) -> torch.Tensor:
    """uint8 clips (..., 3, H, W) (any device) -> float32 normalised like the float items."""
    mean, std = IMAGENET_MEAN.to(x.device), IMAGENET_STD.to(x.device)
    return (x.float().div_(255) - mean) / std


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - IMAGENET_MEAN) / IMAGENET_STD


class VideoClips(torch.utils.data.Dataset):
    """Clips of the videos in `annotations` (columns `video`, `label`) under `root`, or from `store`.

    mode "train": one random window, one random crop (same for all frames), optional horizontal flip.
    mode "test": `test.num_clips` evenly spaced windows x `test.num_crops` crops along the long side.
    `store`: a decoded store (a Store or its folder) to read instead of the raw videos under `root`.
    `uint8`: items are uint8, not normalised (see the module docstring).
    """

    def __init__(
        self,
        root: str | Path | None,
        annotations: pd.DataFrame,
        spec: InputSpec,
        mode: str,
        test: EvalSpec | None = None,
        seed: int = 0,
        cache: bool = False,
        store: Store | str | Path | None = None,
        uint8: bool = False,
    ):
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        if mode == "test" and test is None:
            raise ValueError("test mode needs a EvalSpec")
        if root is None and store is None:
            raise ValueError("VideoClips needs the raw videos' root or a decoded store")
        self.root = Path(root) if root is not None else None
        self.store = open_store(store) if isinstance(store, str | Path) else store
        self.videos = annotations["video"].tolist()
        self.labels = annotations["label"].astype(int).tolist()
        self.spec, self.mode, self.test, self.seed, self.uint8 = spec, mode, test, seed, uint8
        self.epoch = 0
        self.cache: dict[int, np.ndarray] | None = {} if cache else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.videos)

    def _read(self, index: int, sample: Callable[[int], np.ndarray]) -> np.ndarray:
        """uint8 (*idx.shape, H, W, 3) for idx = sample(number of frames), from the store or the raw video."""
        if self.store is None:
            return read_frames(self.root / self.videos[index], sample)
        video = self.videos[index]
        try:
            if self.store.status(video) != "ok":
                raise VideoDecodeError(f"{video} in the store {self.store.root}: {self.store.status(video)}: "
                                       f"{self.store.reason(video)}")
            indices = sample(self.store.num_frames(video))
            frames = self.store.read(video, indices.reshape(-1))
        except (KeyError, StoreError, OSError) as err:
            raise VideoDecodeError(f"{video} in the store {self.store.root}: {err}") from None
        return frames.reshape(*indices.shape, *frames.shape[1:])

    def _frames(self, index: int, sample: Callable[[int], np.ndarray]) -> np.ndarray:
        """uint8 (*idx.shape, H, W, 3) for idx = sample(number of frames of the video)."""
        if self.cache is None:
            return self._read(index, sample)
        if index not in self.cache:
            self.cache[index] = self._read(index, np.arange)
        video = self.cache[index]
        return video[sample(len(video))]

    def _resized(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> (N, 3, H', W'), short side resized: uint8 or float in [0, 1]."""
        return (resize_uint8 if self.uint8 else _to_float)(frames, self.spec.resize_short)

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous() if self.uint8 else _normalise(x).contiguous()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        s = self.spec
        if self.mode == "train":
            rng = np.random.default_rng([self.seed, self.epoch, index])
            frames = self._frames(index, lambda n: train_indices(n, s.num_segments, s.frame_interval, rng))
            x = self._resized(frames)
            h, w = x.shape[-2:]
            top = int(rng.integers(0, h - s.crop_size + 1))
            left = int(rng.integers(0, w - s.crop_size + 1))
            x = x[..., top : top + s.crop_size, left : left + s.crop_size]
            if s.hflip and rng.random() < 0.5:
                x = x.flip(-1)
            return self._finish(x), self.labels[index]
        frames = self._frames(index, lambda n: eval_indices(n, s.num_segments, s.frame_interval, self.test.num_clips))
        x = self._resized(frames.reshape(-1, *frames.shape[2:]))
        x = x.reshape(*frames.shape[:2], *x.shape[1:])  # (K, T, 3, H, W)
        h, w = x.shape[-2:]
        views = []
        for clip in x:
            for off in crop_offsets(max(h, w), s.crop_size, self.test.num_crops):
                top, left = ((h - s.crop_size) // 2, off) if w >= h else (off, (w - s.crop_size) // 2)
                views.append(clip[..., top : top + s.crop_size, left : left + s.crop_size])
        out = torch.stack(views)  # (V, T, 3, S, S)
        return (out if self.uint8 else _normalise(out.flatten(0, 1)).view(out.shape)), self.labels[index]
