"""The decoded store: every video of a dataset decoded once, short side resized, in the format the loader reads fastest.

Layout under the store folder `out` (written by `ctm decode`, ctm/data/decode.py)::

    store.json      {"version", "format", "short_side", "quality", "gop", "crf"}: one format per store
    manifest.csv    one row per annotated video: video, status, reason, num_frames, fps, height, width, path, bytes,
                    declared_frames, source_height, source_width, source_bytes, crc32 (of the store file, 8 hex
                    digits: `ctm decode` checks it on a rerun and decodes a damaged file again)
    frames/<video>.<ext>    one file per decodable video (status "ok"); `path` in the manifest, relative to `out`

Formats (docs/decoded_store.md has the measurements that chose the default):
  "jpeg"  (default) concatenated JPEG frames (4:2:0, libjpeg-turbo through simplejpeg) after a header and an offset
          index; a read decodes only the requested frames:
              b"CTMJPG1\\0", uint32 num_frames, height, width, 0, uint64 offsets[num_frames + 1], JPEG bytes...
          (little endian; frame i is bytes offsets[i]:offsets[i + 1] of the file)
  "h264"  H.264 mp4 with a keyframe every `gop` frames, read with decord; frames are edge-padded to an even height
          (yuv420p) and a width that is a multiple of 32 (decord fails on others) and cropped back on read
  "raw"   uint8 (num_frames, height, width, 3) .npy, memory-mapped: fastest, ~12x the disk of "jpeg"; tiny data only
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ctm.errors import UserError
from ctm.fileio import atomic_write, save_json

VERSION = 1
FORMATS = {"jpeg": "jpgs", "h264": "mp4", "raw": "npy"}  # format -> file extension
MANIFEST = "manifest.csv"
STORE_JSON = "store.json"
MANIFEST_COLUMNS = [
    "video", "status", "reason", "num_frames", "fps", "height", "width", "path", "bytes",
    "declared_frames", "source_height", "source_width", "source_bytes", "crc32",
]
OPTIONAL_COLUMNS = {"crc32": ""}  # absent from manifests of older versions: such rows are decoded again
JPEG_MAGIC = b"CTMJPG1\0"
JPEG_HEADER = len(JPEG_MAGIC) + 16


class StoreError(UserError, ValueError):
    """A store folder is missing, incomplete or of another version/format; the message says what to run."""


class NotInStoreError(StoreError, KeyError):
    """A video that the store's manifest does not list (a KeyError too: a failed lookup by name)."""

    __str__ = StoreError.__str__  # the message itself, not KeyError's repr of it


@dataclass(frozen=True)
class StoreFormat:
    """How a store's frames are written: `format` (a FORMATS key), the resized `short_side`, JPEG `quality`,
    H.264 `gop` (keyframe interval) and `crf`."""

    format: str = "jpeg"
    short_side: int = 256
    quality: int = 90
    gop: int = 8
    crf: int = 18

    def __post_init__(self):
        if self.format not in FORMATS:
            raise StoreError(f"unknown store format {self.format!r}; available: {sorted(FORMATS)}")
        if self.short_side < 8 or not 1 <= self.quality <= 100 or self.gop < 1:
            raise StoreError(f"bad store settings {self}: short side >= 8, quality in 1..100, gop >= 1")

    def entry_path(self, video: str) -> str:
        """Store file of `video` (the annotation's relative path), relative to the store folder."""
        return f"frames/{video}.{FORMATS[self.format]}"


def write_entry(path: Path, frames: np.ndarray, fmt: StoreFormat, fps: float) -> int:
    """Write uint8 (T, H, W, 3) frames to `path` atomically in `fmt`; returns the file's size in bytes."""
    if fmt.format == "jpeg":
        import simplejpeg

        blobs = [simplejpeg.encode_jpeg(np.ascontiguousarray(f), quality=fmt.quality, colorsubsampling="420")
                 for f in frames]
        offsets = np.cumsum([JPEG_HEADER + 8 * (len(blobs) + 1)] + [len(b) for b in blobs], dtype="<u8")
        header = JPEG_MAGIC + np.array([len(frames), *frames.shape[1:3], 0], dtype="<u4").tobytes()
        atomic_write(path, lambda tmp: tmp.write_bytes(b"".join([header, offsets.tobytes(), *blobs])))
    elif fmt.format == "raw":
        def save(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(frames))
        atomic_write(path, save)
    else:
        from ctm.data.video_io import write_video

        h, w = frames.shape[1:3]
        padded = np.pad(frames, ((0, 0), (0, h % 2), (0, -w % 32), (0, 0)), mode="edge")
        write_video(path, padded, fps if fps > 0 else 25, crf=fmt.crf, keyframe_interval=fmt.gop)
    return path.stat().st_size


def entry_checksum(path: Path) -> str:
    """CRC-32 of the file at `path` as 8 hex digits (the manifest's `crc32`)."""
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


class DamagedEntryError(StoreError):
    """A store file that is not what `ctm decode` wrote (changed on disk since); rerunning `ctm decode` repairs it."""


def _jpeg_offsets(fd: int, num_frames: int, height: int, width: int) -> np.ndarray:
    """The frame offsets of a JPEG pack, checked against its header, the manifest's numbers and the file's size."""
    head = os.pread(fd, JPEG_HEADER + 8 * (num_frames + 1), 0)
    if head[: len(JPEG_MAGIC)] != JPEG_MAGIC:
        raise ValueError("not a ctm JPEG pack (bad magic)")
    if len(head) < JPEG_HEADER + 8 * (num_frames + 1):
        raise ValueError(f"{len(head)} bytes, shorter than its own header")
    numbers = np.frombuffer(head, dtype="<u4", count=3, offset=len(JPEG_MAGIC)).tolist()
    if numbers != [num_frames, height, width]:
        raise ValueError(f"its header says {numbers[0]} frames of {numbers[1]}x{numbers[2]}, the manifest "
                         f"{num_frames} of {height}x{width}")
    offsets = np.frombuffer(head, dtype="<u8", offset=JPEG_HEADER)
    if offsets[0] != len(head) or offsets[-1] != os.fstat(fd).st_size or (np.diff(offsets.astype(np.int64)) <= 0).any():
        raise ValueError("its frame index is not increasing from the header to the end of the file")
    return offsets


def read_entry(path: Path, fmt: str, indices: np.ndarray, num_frames: int, height: int, width: int) -> np.ndarray:
    """Frames `indices` (1-D ints in [0, num_frames)) of one store file -> uint8 (len(indices), height, width, 3).
    A file that does not read back as written is a DamagedEntryError naming it (rerun `ctm decode`)."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) and (indices.min() < 0 or indices.max() >= num_frames):
        raise IndexError(f"{path}: frame indices must be in [0, {num_frames}), got {indices.min()}..{indices.max()}")
    unique, inverse = np.unique(indices, return_inverse=True)
    try:
        out = _read_frames(path, fmt, unique, num_frames, height, width)
    except (ValueError, RuntimeError, EOFError, OverflowError) as err:  # decoders' and numpy's damage reports
        what = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise DamagedEntryError(f"{path}: damaged store file ({what}); rerun `ctm decode` with the same arguments "
                                "to decode its video again") from None
    return out[inverse]


def _read_frames(path: Path, fmt: str, unique: np.ndarray, num_frames: int, height: int, width: int) -> np.ndarray:
    if fmt == "jpeg":
        import simplejpeg

        out = np.empty((len(unique), height, width, 3), dtype=np.uint8)
        fd = os.open(path, os.O_RDONLY)
        try:
            offsets = _jpeg_offsets(fd, num_frames, height, width)
            for k, i in enumerate(unique):
                start, stop = int(offsets[i]), int(offsets[i + 1])
                simplejpeg.decode_jpeg(os.pread(fd, stop - start, start), colorspace="RGB", buffer=out[k])
        finally:
            os.close(fd)
    elif fmt == "raw":
        frames = np.load(path, mmap_mode="r")
        if frames.shape != (num_frames, height, width, 3) or frames.dtype != np.uint8:
            raise ValueError(f"it holds a {frames.dtype} {frames.shape} array, the manifest says uint8 "
                             f"{(num_frames, height, width, 3)}")
        out = np.asarray(frames[unique])
    else:
        import decord

        try:
            reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
            out = reader.get_batch(unique.tolist()).asnumpy()[:, :height, :width]
        except decord.DECORDError as err:
            raise RuntimeError(str(err)) from None
        if out.shape[1:] != (height, width, 3):
            raise ValueError(f"its frames are {out.shape[1:]}, the manifest says {(height, width, 3)}")
    return out


def read_manifest(out: str | Path) -> pd.DataFrame | None:
    """The manifest of the store folder `out` as a DataFrame (MANIFEST_COLUMNS), or None when there is none."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype={"video": str, "status": str, "reason": str, "path": str, "crc32": str},
                     keep_default_na=False)
    for column, value in OPTIONAL_COLUMNS.items():
        if column not in df.columns:
            df[column] = value
    missing = set(MANIFEST_COLUMNS) - set(df.columns)
    if missing:
        raise StoreError(f"{path}: columns {sorted(missing)} missing; decode into a fresh folder with `ctm decode`")
    return df


def write_manifest(out: str | Path, rows: list[dict]) -> Path:
    """Write `rows` (dicts with MANIFEST_COLUMNS) atomically as `out`/manifest.csv, sorted by video."""
    df = pd.DataFrame(rows, columns=MANIFEST_COLUMNS).sort_values("video", kind="stable")
    return atomic_write(Path(out) / MANIFEST, lambda tmp: df.to_csv(tmp, index=False, lineterminator="\n"))


def read_format(out: str | Path) -> StoreFormat | None:
    path = Path(out) / STORE_JSON
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    if info.get("version") != VERSION:
        raise StoreError(f"{path}: store version {info.get('version')}, this code reads {VERSION}; "
                         "decode into a fresh folder with `ctm decode`")
    return StoreFormat(**{k: v for k, v in info.items() if k != "version"})


def write_format(out: str | Path, fmt: StoreFormat) -> None:
    save_json({"version": VERSION, **fmt.__dict__}, Path(out) / STORE_JSON)


class Store:
    """Read access to a decoded store; picklable and light (a dict per video), so loader workers can share it."""

    def __init__(self, root: str | Path, fmt: StoreFormat, manifest: pd.DataFrame):
        self.root, self.format = Path(root), fmt
        self._rows = {r.video: (r.status, r.reason, int(r.num_frames), int(r.height), int(r.width), r.path, r.fps)
                      for r in manifest.itertuples(index=False)}

    def videos(self, status: str | None = "ok") -> list[str]:
        """Videos of the manifest (annotation paths), sorted; only those with `status` unless it is None."""
        return sorted(v for v, row in self._rows.items() if status is None or row[0] == status)

    def _row(self, video: str) -> tuple:
        if video not in self._rows:
            raise NotInStoreError(f"{video!r} is not in the store {self.root}; decode its dataset with `ctm decode`")
        return self._rows[video]

    def status(self, video: str) -> str:
        """"ok" or the failure kind (missing, empty, truncated, too_large, undecodable, no_frames)."""
        return self._row(video)[0]

    def reason(self, video: str) -> str:
        return self._row(video)[1]

    def num_frames(self, video: str) -> int:
        return self._row(video)[2]

    def fps(self, video: str) -> float:
        return float(self._row(video)[6])

    def frame_size(self, video: str) -> tuple[int, int]:
        """(height, width) of the stored frames."""
        return self._row(video)[3:5]

    def read(self, video: str, indices: np.ndarray) -> np.ndarray:
        """Frames `indices` of `video` -> uint8 (len(indices), H, W, 3); decodes only those frames."""
        status, reason, n, h, w, rel, _ = self._row(video)
        if status != "ok":
            raise StoreError(f"{video}: not in the store ({status}: {reason})")
        return read_entry(self.root / rel, self.format.format, indices, n, h, w)

    def split(self, annotations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows of `annotations` whose video is stored "ok", the other rows), like clips.split_available."""
        ok = np.array([self._rows.get(v, ("absent",))[0] == "ok" for v in annotations["video"]], dtype=bool)
        return annotations[ok].reset_index(drop=True), annotations[~ok].reset_index(drop=True)


def open_store(out: str | Path) -> Store:
    """The store in folder `out`, as written by `ctm decode`."""
    out = Path(out)
    fmt, manifest = read_format(out), read_manifest(out)
    if fmt is None or manifest is None:
        raise StoreError(f"{out}: no decoded store here ({STORE_JSON} and {MANIFEST} needed); "
                         "write one with `ctm decode --dataset NAME --root DIR --out DIR`")
    return Store(out, fmt, manifest)
