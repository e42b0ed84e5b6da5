"""Building blocks of the published synthetic datasets (ctm.standins.published): parallel video encoding and
deterministic archives (tar.gz, zip), id lists with missing videos, and SHA256SUMS.

Every archive is byte-identical for the same members: fixed timestamps, owners and permissions, a fixed member
order, and gzip headers without the (temporary) file name or the current time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import multiprocessing
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ctm.data.video_io import write_video
from ctm.fileio import atomic_write
from ctm.progress import progress_bar
from ctm.standins.motion import render_clip

ARCHIVE_TIME = (2013, 10, 1, 12, 0, 0)
"""Timestamp of every member of the zip archives (tar uses ARCHIVE_EPOCH, the same moment in UTC)."""
ARCHIVE_EPOCH = 1380628800


@dataclass(frozen=True)
class VideoSpec:
    """Frame size and rate of every video of a dataset; the default is the embedded preset's 10 s at 8 fps."""

    num_frames: int = 80
    fps: int = 8
    height: int = 72
    width: int = 96

    def check(self) -> None:
        if min(self.num_frames, self.fps) < 1 or self.height < 2 or self.width < 2 or self.height % 2 or self.width % 2:
            raise ValueError(f"video sizes must be positive with even height and width, got {self}")
        if self.width % 32:
            raise ValueError(f"width={self.width}: use a multiple of 32 (64, 96); decord fails on e.g. 48 px wide")


DEFAULT_VIDEO = VideoSpec()


@dataclass(frozen=True)
class VideoJob:
    """One video: ``pre`` frames of class ``margin_class`` (seed ``margin_entropy``), the ``spec.num_frames``
    frames of ``label_class`` (seed ``entropy``), then ``post`` frames that continue the margin clip."""

    path: str
    label_class: int
    entropy: tuple[int, ...]
    spec: VideoSpec
    pre: int = 0
    post: int = 0
    margin_class: int = -1
    margin_entropy: tuple[int, ...] = ()


def render_job(job: VideoJob) -> np.ndarray:
    """The frames of ``job``, uint8 (pre + num_frames + post, H, W, 3)."""
    spec = job.spec
    clip = render_clip(job.label_class, np.random.default_rng(job.entropy), spec.num_frames, spec.height, spec.width)
    if job.pre + job.post == 0:
        return clip
    margin_rng = np.random.default_rng(job.margin_entropy)
    margin = render_clip(job.margin_class, margin_rng, job.pre + job.post, spec.height, spec.width)
    return np.concatenate([margin[: job.pre], clip, margin[job.pre :]])


def _encode(job: VideoJob) -> str:
    write_video(job.path, render_job(job), job.spec.fps)
    return job.path


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int, progress: bool, desc: str) -> None:
    """fn(job) for every job, with a progress bar; ``workers`` > 1 uses a spawn-context process pool (``fn`` must be
    a module-level function; the files written are the same either way)."""
    with progress_bar(total=len(jobs), desc=desc, disable=not progress) as bar:
        if workers > 1 and len(jobs) > 1:
            with multiprocessing.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
                for _ in pool.imap_unordered(fn, jobs, chunksize=4):
                    bar.update()
        else:
            for job in jobs:
                fn(job)
                bar.update()


def encode_videos(jobs: Sequence[VideoJob], *, workers: int, progress: bool, desc: str) -> None:
    """Render and write every job (run_jobs)."""
    run_jobs(_encode, jobs, workers=workers, progress=progress, desc=desc)


def missing_count(fraction: float, listed: int) -> int:
    """How many of ``listed`` ids get no video: round(fraction * listed), but at least 1 when fraction > 0 and
    listed >= 2 (so small datasets exercise the missing-video path too), and never all of them."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"missing_fraction must be in [0, 1), got {fraction}")
    count = round(fraction * listed)
    if fraction > 0 and listed >= 2:
        count = max(count, 1)
    return min(count, max(listed - 1, 0))


def write_tar_gz(path: Path, members: Sequence[tuple[str, bytes | None]]) -> Path:
    """A gzip-compressed tar of ``members`` (name, bytes; None = a directory) in the given order; deterministic."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, data in members:
                    info = tarfile.TarInfo(name.rstrip("/"))
                    info.mtime, info.uid, info.gid, info.uname, info.gname = ARCHIVE_EPOCH, 0, 0, "root", "root"
                    if data is None:
                        info.type, info.mode = tarfile.DIRTYPE, 0o755
                        tar.addfile(info)
                    else:
                        info.size, info.mode = len(data), 0o644
                        tar.addfile(info, io.BytesIO(data))

    return atomic_write(path, write)


def write_zip(path: Path, members: Sequence[tuple[str, bytes | None]]) -> Path:
    """A deflated zip of ``members`` (name, bytes; None = a directory ending in '/') in order; deterministic."""

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=ARCHIVE_TIME)
                info.create_system = 0  # MS-DOS/Windows, as the real archives were made
                if data is None:
                    info.external_attr = 0x10  # MS-DOS directory attribute
                    archive.writestr(info, b"")
                else:
                    info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0x20
                    archive.writestr(info, data)

    return atomic_write(path, write)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_sha256sums(folder: Path, names: Sequence[str]) -> Path:
    """``folder/SHA256SUMS`` in ``sha256sum`` format (``<hex>  <name>``, sorted by name) for the named files."""
    lines = [f"{sha256_file(folder / name)}  {name}\n" for name in sorted(names)]
    return atomic_write(folder / "SHA256SUMS", lambda tmp: tmp.write_text("".join(lines), newline="\n"))


def crlf_lines(lines: Sequence[str], final_newline: bool = True) -> bytes:
    """``lines`` joined with CRLF, as the Windows-made UCF-101 lists are; optionally without the last CRLF."""
    text = "\r\n".join(lines) + ("\r\n" if final_newline and lines else "")
    return text.encode("ascii")
