"""A Kinetics dataset's clips from the CVDF mirror, as independent steps: fetch a subset's shard list, fetch one
shard (its clips out, its record written), write the clips manifest from the records. Snakemake runs each shard as
its own job (workflow/rules/data.smk); `fetch_all` runs the same steps in one process (`ctm prepare`, DVC).

Files, under the dataset root `root` and the download folder `downloads`:

    downloads/cvdf/<subset>_shards.txt          the shard list as published (ctm.acquire.download's record beside it)
    downloads/cvdf/<subset>/shard_<i>.tar.gz    a shard while it is processed (kept only with keep_shards)
    root/.cvdf/<subset>/shard_<i>.json          a shard's record: the list line, bytes, sha256, clips written
    root/videos/<clip>.mp4                      the clips the annotations list
    root/videos_manifest.csv                    every annotated clip: ok, missing or damaged

Shards are numbered by their line in the list, so their files have plain names whatever the shard is called.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from ctm import paths
from ctm.acquire.cvdf import (
    ShardError,
    clip_manifest,
    fetch_shard,
    needed_clips,
    read_shard_list,
    shard_name,
    write_clip_manifest,
)
from ctm.acquire.download import download
from ctm.progress import progress_bar

shard_list_path, shard_archive, shard_record = paths.shard_list_in, paths.shard_archive_in, paths.shard_record_in


def fetch_list(list_url: str, downloads: Path, subset: str, progress: bool = False) -> list[str]:
    """Download a subset's shard list (resumable, like any download) and return its shard URLs."""
    path = download(list_url, shard_list_path(downloads, subset), progress=progress)
    return read_shard_list(path, list_url)


def list_urls(list_url: str, downloads: Path, subset: str) -> list[str]:
    """The shard URLs of a list already fetched (fetch_list)."""
    path = shard_list_path(downloads, subset)
    if not path.is_file():
        raise ShardError(f"{path}: the {subset} shard list is not fetched yet; run `ctm fetch-shards --list-only`")
    return read_shard_list(path, list_url)


def _fetch(urls: list[str], list_url: str, needed: dict[str, str], root: Path, downloads: Path, subset: str,
           index: int, keep: bool, progress: bool) -> dict:
    return fetch_shard(urls[index], shard_archive(downloads, subset, index), root, needed,
                       shard_record(root, subset, index), name=shard_name(urls[index], list_url), keep=keep,
                       progress=progress)


def fetch_one(rows: pd.DataFrame, root: Path, downloads: Path, list_url: str, subset: str, index: int, *,
              keep: bool = False, progress: bool = False) -> dict:
    """Fetch shard `index` (0-based line) of `subset`'s list and write its record; returns the record."""
    urls = list_urls(list_url, downloads, subset)
    if not 0 <= index < len(urls):
        raise ShardError(f"{shard_list_path(downloads, subset)} lists {len(urls)} shards; there is no shard {index}")
    return _fetch(urls, list_url, needed_clips(rows), root, downloads, subset, index, keep, progress)


def read_records(root: Path, shard_counts: dict[str, int]) -> list[dict]:
    """The records of every shard of every subset (shard_counts: subset -> number of shards); a missing one is an
    error naming it."""
    records, lacking = [], []
    for subset, count in shard_counts.items():
        for index in range(count):
            path = shard_record(root, subset, index)
            if path.is_file():
                records.append(json.loads(path.read_text()))
            else:
                lacking.append(str(path))
    if lacking:
        raise ShardError(f"{len(lacking)} shard(s) not fetched yet, e.g. {lacking[0]}: run `ctm fetch-shards` again "
                         "(fetched shards are kept)")
    return records


def write_manifest(rows: pd.DataFrame, root: Path, records: list[dict]) -> pd.DataFrame:
    """Account for every annotated clip in root/videos_manifest.csv; returns the manifest."""
    from ctm.acquire.youtube import MANIFEST_NAME

    manifest = clip_manifest(rows, root, records)
    write_clip_manifest(manifest, root / MANIFEST_NAME)
    return manifest


def fetch_all(rows: pd.DataFrame, root: Path, downloads: Path, shard_lists: dict[str, str], *, workers: int = 4,
              keep: bool = False, progress: bool = True) -> pd.DataFrame:
    """Every shard of every subset's list, `workers` at a time, then the manifest. A shard that fails does not stop
    the others; the error afterwards names each failed shard (a rerun fetches only those)."""
    urls = {subset: fetch_list(url, downloads, subset) for subset, url in shard_lists.items()}
    needed = needed_clips(rows)  # once, not once per shard
    jobs = [(subset, index) for subset, listed in urls.items() for index in range(len(listed))]
    failed: list[str] = []
    bar = progress_bar(total=len(jobs), desc="shards", unit="shard", disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(_fetch, urls[s], shard_lists[s], needed, root, downloads, s, i, keep, False): (s, i)
                   for s, i in jobs}
        for future in as_completed(futures):
            try:
                future.result()
            except ShardError as err:
                failed.append(str(err))
            bar.update()
    bar.close()
    if failed:
        raise ShardError(f"{len(failed)} of {len(jobs)} shards failed (the others are kept; run again): "
                         + "; ".join(sorted(failed)[:3]))
    counts = {subset: sum(1 for s, _ in jobs if s == subset) for subset in shard_lists}
    return write_manifest(rows, root, read_records(root, counts))
