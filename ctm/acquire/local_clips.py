"""Kinetics clips already on disk, used where they are: every file named `<youtube_id>_<start:06d>_<end:06d>.mp4`
under the given folders (searched recursively) is linked into the dataset root as `videos/<clip>`, never copied.

This accepts the layouts people have: the CVDF mirror extracted (`train/`, `val/`, flat or with class folders), the
layout of MMAction2's Kinetics tools (`videos_train/`, `videos_val/`, class folders inside) and this project's own
(`videos/`). Every annotated clip is accounted for in videos_manifest.csv: `ok` (linked, or already in place) or
`missing` (in none of the folders).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ctm.acquire.cvdf import CLIP_FILE, MISSING, OK, ShardError, write_clip_manifest
from ctm.fileio import temporary_sibling


def index_folders(folders: list[Path]) -> dict[str, Path]:
    """clip file name -> its first path under `folders` (in order; each walked in sorted order)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise ShardError(f"clips folder {folder} does not exist (params.yaml clips.folders); give the folder that "
                             "holds the extracted clips (CVDF's train/ and val/, MMAction2's videos_train/, ...)")
        for parent, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if CLIP_FILE.fullmatch(name) and name not in found:
                    found[name] = Path(parent, name).resolve()
    return found


def _link(target: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dest)
    try:
        os.symlink(target, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.is_symlink():
            tmp.unlink()


def link_local(rows: pd.DataFrame, root: Path, folders: list[Path]) -> pd.DataFrame:
    """Link each annotated clip found under `folders` into `root` and write root/videos_manifest.csv; returns it."""
    from ctm.acquire.youtube import MANIFEST_COLUMNS, MANIFEST_NAME

    found = index_folders(folders)
    out = []
    for row in rows.drop_duplicates("video").itertuples(index=False):
        dest, name = root / row.video, Path(row.video).name
        if not dest.exists() and name in found:
            _link(found[name], dest)
        if dest.exists():
            status, reason, size = OK, "linked" if dest.is_symlink() else "in place", dest.stat().st_size
        else:
            status, reason, size = MISSING, "in none of the local clip folders", 0
        out.append({"youtube_id": row.youtube_id, "video": row.video, "time_start": int(row.time_start),
                    "time_end": int(row.time_end), "status": status, "reason": reason, "attempts": 0, "bytes": size})
    manifest = pd.DataFrame(sorted(out, key=lambda r: r["video"]), columns=MANIFEST_COLUMNS)
    write_clip_manifest(manifest, root / MANIFEST_NAME)
    return manifest
