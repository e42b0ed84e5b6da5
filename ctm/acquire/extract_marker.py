"""The marker `out/.extracted-<archive>.json` that makes a repeated extraction a no-op (ctm.acquire.extract).

It records the archive's name, size and sha256, the options and the top-level names extracted, and nothing of this
machine (no absolute path, no time), so a dataset root moved to another folder or checked out on another machine
(DVC) has the same bytes and is not extracted again. Times are only compared, never stored: the archive's sha256 is
computed again only when the archive is newer than its marker.
"""

from __future__ import annotations

import json
from pathlib import Path

from ctm.acquire.download import file_digests, read_record


def done(marker: Path, archive: Path, stamp: dict) -> list[str] | None:
    """The marker's top-level names if it records this archive (name, size, options, sha256) as extracted and those
    names are present, else None. The sha256 is computed only when the archive is newer than the marker (downloaded
    again, or checked out after it): the marker holds no time or path of this machine, so a tree moved or checked
    out elsewhere stays extracted."""
    try:
        done = json.loads(marker.read_text())
        if {k: done.get(k) for k in stamp} != stamp or not all((marker.parent / n).exists() for n in done["paths"]):
            return None
        if archive.stat().st_mtime_ns > marker.stat().st_mtime_ns and done.get("sha256") != sha256(archive):
            return None
        return list(done["paths"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stamp(archive: Path, strip_components: int, inner_rars: bool) -> dict:
    """What a marker records of an archive and the options (beside the archive's sha256)."""
    return {"archive": archive.name, "size": archive.stat().st_size, "strip_components": strip_components,
            "inner_rars": inner_rars}


def identity(archive: Path) -> tuple[int, int]:
    """(size, mtime) of the archive on this machine: whether it changes while it is extracted (never recorded)."""
    stat = archive.stat()
    return stat.st_size, stat.st_mtime_ns


def sha256(archive: Path) -> str:
    """The archive's sha256: from its download record (ctm.acquire.download) when that still describes it, else
    read from the file."""
    record = read_record(archive)
    return record["sha256"] if record and record.get("sha256") else file_digests(archive)["sha256"]
