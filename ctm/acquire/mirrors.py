"""One file from several mirrors: each URL is tried in turn (ctm.acquire.download: resumable, size and checksums
checked) until one gives the file.

A mirror fails when its server refuses (HTTP 404, 403, ...), keeps failing after the retries, announces or sends
another size than the one expected, or sends bytes whose checksum does not match (kept aside as `<dest>.bad`). Each
failure is reported on stderr and the next mirror is tried; when all fail, one DownloadError names every URL and
why. A lock held by another run (ctm.locking.LockedError) is no mirror's fault and stops at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ctm.acquire.download import DownloadError, download


def download_any(urls: Sequence[str], dest: str | os.PathLike, **kwargs) -> tuple[Path, str]:
    """(dest, the URL that gave it): `download(url, dest, **kwargs)` for each of `urls` in order until one succeeds.
    A good copy already at `dest` is returned without touching the network (as download() does)."""
    urls = list(urls)
    if not urls:
        raise DownloadError(f"{dest}: no URL to download it from; list at least one under `urls` in params.yaml")
    failures = []
    for i, url in enumerate(urls):
        try:
            return download(url, dest, **kwargs), url
        except DownloadError as err:
            why = str(err)
            why = why[len(url) + 2:] if why.startswith(f"{url}: ") else why
            failures.append(f"{url}: {why}")
            if i + 1 < len(urls):
                print(f"{Path(dest).name}: mirror {i + 1} of {len(urls)} failed ({url}: {why}); trying {urls[i + 1]}",
                      file=sys.stderr)
    if len(urls) == 1:
        raise DownloadError(failures[0])
    raise DownloadError(f"{Path(dest).name}: all {len(urls)} mirrors failed: " + " | ".join(
        f"[{i + 1}] {f}" for i, f in enumerate(failures)) + "; add a working mirror to the file's `urls` in "
        f"params.yaml, or put the file at {dest} by hand")
