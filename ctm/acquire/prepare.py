"""A dataset from nothing to its official layout in one call: download each published file, extract it (or copy it)
into the dataset root, and get the clips of the Kinetics datasets (the CVDF mirror's shards, local folders, or
YouTube).

The Snakemake rules run the same steps one by one (`ctm download`, `ctm extract`, `ctm fetch-clips`:
workflow/rules/data.smk); `ctm prepare` chains them for DVC's per-dataset stage and for users without a workflow.
Every step is idempotent (verified downloads are not fetched again, extraction leaves a marker, fetched clips are in
the manifest), so a rerun only does what is missing.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

from ctm import paths
from ctm.acquire.extract import WAIT_S, extract
from ctm.acquire.mirrors import download_any
from ctm.config import ClipsSpec, Config
from ctm.data.annotations import read_annotations
from ctm.fileio import temporary_sibling


def expected_sha256(sums: Path, name: str) -> str | None:
    """The digest of `name` in a sha256sum-format file, or None when it lists none."""
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            return parts[0]
    return None


def fill_remote(template: str, remote: Path) -> str:
    """A params.yaml URL with `{remote}` (a synthetic stand-in's host folder) filled in; other fields untouched."""
    return template.replace("{remote}", str(remote.resolve()))


def place_file(path: Path, dest: Path) -> None:
    """Copy a downloaded plain file to `dest` (atomically) unless `dest` already holds the same bytes: a file left
    half-copied, or an older version, is replaced."""
    if dest.is_file() and filecmp.cmp(path, dest, shallow=False):
        return
    tmp = temporary_sibling(dest)
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_dataset(cfg: Config, dataset: str, root: Path, downloads: Path, remote: Path, workers: int = 8,
                    progress: bool = True, wait_s: float = WAIT_S) -> dict:
    """Download, extract and (Kinetics) fetch `dataset` as params.yaml describes it; returns counts per step.

    Extraction holds the dataset root's lock (ctm.locking, as `ctm extract` does): beside a Snakemake job writing
    the same root, it waits up to `wait_s` seconds, then says which run holds it."""
    spec = cfg.dataset(dataset)
    root.mkdir(parents=True, exist_ok=True)
    summary: dict = {"dataset": dataset, "root": str(root), "files": []}
    for name, f in spec.files.items():
        sha256 = f.sha256
        if spec.checksums and sha256 is None:
            sha256 = expected_sha256(remote / spec.checksums, name)
        path, _ = download_any([fill_remote(u, remote) for u in f.urls], downloads / name, sha256=sha256, md5=f.md5,
                               size=f.size, progress=progress)
        if f.extract:
            extract(path, root, strip_components=f.strip_components, inner_rars=f.inner_rars, progress=progress,
                    wait_s=wait_s)
        else:
            place_file(path, root / name)
        summary["files"].append(name)
    if spec.clips:
        rows = read_annotations(dataset, root)
        rows = rows[rows["subset"].isin(["train", "val"])]
        manifest = fetch_dataset_clips(spec.clips, rows, root, downloads, remote, workers=workers, progress=progress,
                                       source_cache=paths.youtube_sources(cfg.preset_name))
        summary["clips"] = manifest["status"].value_counts().to_dict()
    return summary


def fetch_dataset_clips(clips: ClipsSpec, rows, root: Path, downloads: Path, remote: Path, *, workers: int = 8,
                        progress: bool = True, source_cache: Path | None = None):
    """The clips of a Kinetics dataset's annotation `rows`, from where `clips` says (the CVDF mirror, YouTube or
    local folders), into `root`; returns the clips manifest (one row per clip, its status). `source_cache`: YouTube
    sources kept by id, shared by the datasets."""
    if clips.source == "cvdf":
        from ctm.acquire.cvdf_dataset import fetch_all

        lists = {subset: fill_remote(url, remote) for subset, url in clips.shard_lists.items()}
        return fetch_all(rows, root, downloads, lists, workers=workers, keep=clips.keep_shards, progress=progress)
    if clips.source == "local":
        from ctm.acquire.local_clips import link_local

        return link_local(rows, root, [Path(fill_remote(f, remote)) for f in clips.folders])
    from ctm.acquire.youtube import FetchOptions, fetch_clips

    options = FetchOptions(per_hour=clips.per_hour, stop_after_blocks=clips.stop_after_blocks,
                           source_cache=str(source_cache) if source_cache else None)
    return fetch_clips(rows, root, fill_remote(clips.url, remote), workers=workers, progress=progress, options=options)
