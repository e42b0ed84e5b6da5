"""A synthetic Kinetics stand-in in the CVDF mirror's form (ctm.acquire.cvdf reads it), quirks included::

    cvdf/<400|600>/<split>/k<400|600>_<split>_path.txt   the shard list: one shard per line (relative names here,
                                                         taken relative to the list's URL; the real lists hold URLs)
    cvdf/400/<split>/part_<k>.tar.gz                     Kinetics-400 (Mini-Kinetics-200's source): numbered shards
    cvdf/600/<split>/<label>.tar.gz                      Kinetics-600: one shard per class, named by its label
                                                         (spaces, parentheses and apostrophes in the names)

As on the real mirror, most shards hold `./<clip>.mp4`; the second shard of each list holds a class folder
(`<label>/<clip>.mp4`); the last is a plain tar under its .tar.gz name with deep prefix folders
(`home/kinetics/<split>/<clip>.mp4`, as K400's part_120 once was). Kinetics-400's shards also hold clips that
Mini-Kinetics-200 does not list (its Kinetics-400-only classes), which extraction must skip. A clip is the annotated
window of its "YouTube" source trimmed by the fetcher's own code (ctm.acquire.trim), so both routes give the same
bytes; a video missing from YouTube is missing from the mirror too.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ctm.fileio import atomic_write, save_text
from ctm.standins.host_files import ARCHIVE_EPOCH, run_jobs

SHARD_CLIPS = 40  # clips per numbered (Kinetics-400) shard


@dataclass(frozen=True)
class MirrorClip:
    """One clip of the mirror: its file name, its label, and where its bytes are (a trimmed file)."""

    name: str
    label: str
    path: Path


def trim_job(job: tuple[str, str, int, int]) -> None:
    """(source, clip, start, end): the clip as `ctm fetch-clips` would trim it (module level, for run_jobs)."""
    from ctm.acquire.trim import trim_video

    source, clip, start, end = job
    trim_video(source, clip, start, end)


def write_tar(path: Path, members: Sequence[tuple[str, bytes]], compress: bool) -> Path:
    """A tar (gzip-compressed or plain) of (name, bytes) members in the given order; byte-identical for the same
    members."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw:
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if compress else None
            with tarfile.open(fileobj=gz or raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.mtime, info.uid, info.gid, info.uname, info.gname = ARCHIVE_EPOCH, 0, 0, "root", "root"
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
            if gz is not None:
                gz.close()

    return atomic_write(path, write)


def _shards(version: str, clips: list[MirrorClip]) -> dict[str, list[MirrorClip]]:
    """shard file name -> its clips, in list order: per class for Kinetics-600, numbered for Kinetics-400."""
    if version == "600":
        labels = sorted({c.label for c in clips})
        return {f"{label}.tar.gz": [c for c in clips if c.label == label] for label in labels}
    ordered = sorted(clips, key=lambda c: c.name)
    return {f"part_{k}.tar.gz": ordered[i : i + SHARD_CLIPS]
            for k, i in enumerate(range(0, len(ordered), SHARD_CLIPS))}


def write_mirror(out: Path, version: str, clips: dict[str, list[MirrorClip]]) -> dict:
    """Write `out/cvdf/<version>/<split>/...` for every split of `clips`; returns {split: shard count}."""
    written = {}
    for split, split_clips in clips.items():
        folder = out / "cvdf" / version / split
        shards = _shards(version, split_clips)
        names = list(shards)
        for k, (shard, members) in enumerate(shards.items()):
            plain = len(names) > 2 and k == len(names) - 1
            if plain:
                prefix = f"home/kinetics/{split}/"
            elif k == 1:
                prefix = f"{members[0].label.replace(' ', '_')}/"
            else:
                prefix = "./"
            write_tar(folder / shard, [(prefix + c.name, c.path.read_bytes()) for c in members], compress=not plain)
        save_text("".join(name + "\n" for name in names), folder / f"k{version}_{split}_path.txt")
        written[split] = len(names)
    return written


def trim_clips(jobs: list[tuple[str, str, int, int]], *, workers: int, progress: bool) -> None:
    run_jobs(trim_job, jobs, workers=workers, progress=progress, desc="mirror clips")
