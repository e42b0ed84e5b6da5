"""Kinetics clips from the CVDF mirror (github cvdfoundation/kinetics-dataset): tar.gz shards of already-trimmed
clips named `<youtube_id>_<start:06d>_<end:06d>.mp4`, the names this project's Kinetics readers expect.

A subset (train, val) of Kinetics-400 or -600 is published as a shard list, one shard URL per line:
`https://s3.amazonaws.com/kinetics/400/train/k400_train_path.txt` lists `.../400/train/part_0.tar.gz`, ...;
Kinetics-600's shards are one per class, with spaces and parentheses in their names
(`.../600/val/mountain climber (exercise).tar.gz`), percent-encoded here before they are requested. Shard insides
differ: most hold `./<clip>.mp4`, some a class folder or deep prefix folders, and one was published as a plain tar
under a .tar.gz name; clips are therefore matched by their file-name pattern wherever they sit, and the archive's
compression is read from its first bytes. No checksums are published: each shard is checked by its Content-Length
(the downloader) and by reading its gzip and tar streams to their verified end, and its sha256 is recorded in the
shard's record so that a rerun, or a second user, can compare.

Only the clips that the dataset's annotations list are written (Mini-Kinetics-200 keeps its ids, not all of
Kinetics-400), each to `<root>/videos/<clip>` through a temporary file. `clip_manifest` then accounts for every
annotated clip: `ok`, `missing` (in no shard of the mirror) or `damaged` (an empty or unreadable member).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.parse
from pathlib import Path

import pandas as pd

from ctm.acquire import archive_verify as verify
from ctm.acquire.download import DownloadError, download, file_digests, read_record, record_path
from ctm.errors import UserError
from ctm.fileio import atomic_write, save_json, temporary_sibling

CLIP_FILE = re.compile(r"[A-Za-z0-9_-]{11}_\d{6}_\d{6}\.mp4")
LIST_SCHEMES = ("http", "https", "file")
RECORD_VERSION = 1
# statuses of videos_manifest.csv rows (the YouTube fetcher's manifest columns, so the same readers serve both)
OK, MISSING, DAMAGED = "ok", "missing", "damaged"


class ShardError(UserError, RuntimeError):
    """A shard list or shard that cannot be used; the message names the URL or file and what to do."""


def quote_url(url: str) -> str:
    """`url` with its path percent-encoded (spaces and other characters S3 names may hold); already-encoded
    sequences are kept as they are."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(urllib.parse.unquote(parts.path), safe="/()'!*,;=:@~+$&")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def read_shard_list(path: Path, list_url: str) -> list[str]:
    """The shard URLs of a downloaded shard list, in order: one per non-blank line, a relative one taken relative to
    `list_url` (where the list came from), each percent-encoded. A line that is no http(s) or file URL of a
    .tar.gz/.tar/.tgz shard is an error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ShardError(f"{path}: not a UTF-8 shard list ({err.reason} at byte {err.start}); download it again "
                         f"from {list_url}") from None
    urls: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        url = urllib.parse.urljoin(list_url, line)
        scheme = urllib.parse.urlsplit(url).scheme
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path).rsplit("/", 1)[-1]
        if scheme not in LIST_SCHEMES or not name.endswith((".tar.gz", ".tgz", ".tar")):
            raise ShardError(f"{path}, line {number}: {line[:120]!r} is not the URL of a .tar.gz shard; a CVDF shard "
                             f"list holds one per line (as {list_url} should)")
        urls.append(quote_url(url))
    if not urls:
        raise ShardError(f"{path}: the shard list from {list_url} names no shard; check the URL in params.yaml")
    if len(set(urls)) != len(urls):
        raise ShardError(f"{path}: the shard list from {list_url} names a shard twice; download it again")
    return urls


def shard_name(url: str, list_url: str) -> str:
    """`url` relative to the folder of the list that names it (`part_0.tar.gz`), or whole when elsewhere."""
    folder = quote_url(list_url).rsplit("/", 1)[0] + "/"
    return urllib.parse.unquote(url[len(folder):] if url.startswith(folder) else url)


def needed_clips(rows: pd.DataFrame) -> dict[str, str]:
    """clip file name -> its path under the dataset root (the `video` column: `videos/<clip>`), for annotation rows
    of a Kinetics reader."""
    return {Path(v).name: v for v in rows["video"].drop_duplicates()}


def _write_member(tf, member, dest: Path) -> int:
    """Copy one tar member to `dest` through a temporary sibling; returns its size."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dest)
    try:
        source = tf.extractfile(member)
        with source, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out, verify.CHUNK)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return member.size


def extract_needed(archive: Path, root: Path, needed: dict[str, str]) -> dict:
    """Write the members of the shard `archive` whose file name is in `needed` to `root / needed[name]`, reading
    the whole tar (and gzip) stream to its end, so a damaged or cut shard is refused (an ExtractError naming it).
    Returns {"members", "clips" (names written), "skipped" (clips not needed), "damaged" ({name: reason})}."""
    written: list[str] = []
    damaged: dict[str, str] = {}
    members = skipped = 0
    with verify.open_tar(archive) as (tf, stream):
        try:
            for member in tf:
                members += 1
                name = member.name.rsplit("/", 1)[-1]
                if not member.isfile() or not CLIP_FILE.fullmatch(name):
                    continue
                if name not in needed:
                    skipped += 1
                elif member.size == 0:
                    damaged[name] = "an empty file in the shard"
                else:
                    _write_member(tf, member, root / needed[name])
                    written.append(name)
        except verify.STREAM_ERRORS as err:
            raise verify.damaged(archive, f"{type(err).__name__}: {err}") from None
        verify.finish_tar(archive, tf, stream)
    return {"members": members, "clips": sorted(written), "skipped": skipped, "damaged": dict(sorted(damaged.items()))}


def fetch_shard(url: str, archive: Path, root: Path, needed: dict[str, str], record: Path, *, name: str | None = None,
                keep: bool = False, progress: bool = False, retries: int = 3) -> dict:
    """Download one shard to `archive` (resumable, bounded, Content-Length checked), extract the clips in `needed`
    and write `record` (JSON: shard, bytes, sha256, members, clips, skipped, damaged). `name` is how the record names
    the shard (default: its URL; relative to the list's folder, so that the record is the same on any machine). A
    shard whose record exists under the same name is not fetched again. The archive is deleted afterwards unless
    `keep`. A damaged shard is moved aside as `<archive>.bad` and raises, so that it alone is retried."""
    if record.is_file():
        try:
            old = json.loads(record.read_text())
        except (ValueError, UnicodeDecodeError):
            old = {}  # a damaged record: the shard is fetched again
        if isinstance(old, dict) and old.get("version") == RECORD_VERSION and old.get("shard") == (name or url):
            return old
    try:
        download(url, archive, progress=progress, retries=retries)
    except DownloadError as err:
        raise ShardError(f"shard {url}: {err}") from None
    digests = read_record(archive) or file_digests(archive)  # the downloader's record holds the digests it computed
    try:
        result = extract_needed(archive, root, needed)
    except verify.ExtractError as err:
        bad = archive.with_name(archive.name + ".bad")
        os.replace(archive, bad)
        raise ShardError(f"shard {url} is damaged ({err}); moved aside to {bad}: run again to fetch it anew") from None
    summary = {"version": RECORD_VERSION, "shard": name or url, "bytes": archive.stat().st_size,
               "sha256": digests["sha256"], **result}
    save_json(summary, record)
    if not keep:
        archive.unlink()
        record_path(archive).unlink(missing_ok=True)
    return summary


def clip_manifest(rows: pd.DataFrame, root: Path, records: list[dict]) -> pd.DataFrame:
    """One row per annotated clip (videos_manifest.csv's columns): `ok` when its file is under `root`, `damaged`
    when a shard held it unreadable, `missing` when no shard of the mirror holds it."""
    from ctm.acquire.youtube import MANIFEST_COLUMNS

    damaged = {name: f"{reason} (shard {r['shard']})" for r in records for name, reason in r.get("damaged", {}).items()}
    out = []
    for row in rows.drop_duplicates("video").itertuples(index=False):
        name, file = Path(row.video).name, root / row.video
        if file.is_file() and file.stat().st_size > 0:
            status, reason, size = OK, "in the CVDF mirror", file.stat().st_size
        elif name in damaged:
            status, reason, size = DAMAGED, damaged[name], 0
        else:
            status, reason, size = MISSING, "in no shard of the CVDF mirror", 0
        out.append({"youtube_id": row.youtube_id, "video": row.video, "time_start": int(row.time_start),
                    "time_end": int(row.time_end), "status": status, "reason": reason, "attempts": 0, "bytes": size})
    return pd.DataFrame(sorted(out, key=lambda r: r["video"]), columns=MANIFEST_COLUMNS)


def write_clip_manifest(manifest: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: manifest.to_csv(tmp, index=False, lineterminator="\n"))
