"""Resumable, verified downloads over http(s) and file:// (the embedded preset's synthetic "internet").

`download(url, dest)` streams into `<dest>.part`. A dropped connection, a timeout or a killed process leaves the
.part behind, and the next try (after an exponential back-off, or in a later run) asks only for the rest with
`Range: bytes=N-`. 5xx answers and network errors are retried; 401/403/404/410 fail at once. When a sha256 or md5 is
given the finished file is checked: a mismatch moves it aside to `<dest>.bad` (kept for inspection, never used) and
raises; so does a file (or a Content-Length) of another size than `size` when one is given. On success
`<dest>.verified` (JSON: size, sha256, md5, checked, and the http(s) URL it came from) records the digests, so a
verified file is never fetched or hashed again; a present file with no checksum to check is not fetched again either.
The record holds nothing of this machine (no absolute path, no time): a tree moved or checked out elsewhere keeps its
bytes. It describes `dest` while both have the size it records and `dest` is not newer than it (a file changed since
is hashed again, never trusted).
The whole fetch, check and record holds the lock of `dest` (ctm.locking, `.<name>.lock` beside it): a second run
for the same file waits up to `wait_s` seconds (then finds the file done), or is refused naming the run holding it.
The server's answers are checked by ctm.acquire.download_source before a byte is written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import re
import sys
import time
from pathlib import Path

from ctm.acquire.download_source import DownloadError, Transient, open_source
from ctm.fileio import save_json
from ctm.locking import LockedError, exclusive, lock_path
from ctm.progress import progress_bar

CHUNK = 1 << 20
MAX_BYTES = 64 << 30  # bytes taken from a server that gives no size, over all tries (UCF101.rar, the largest, 6.5 GB)
MAX_TRIES_PER_RETRY = 10  # tries that add bytes do not use up a retry, but all tries together are bounded
WAIT_S = 3600.0  # how long a second run for the same file waits for the first (then finds the file verified)
FATAL_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
__all__ = ["DownloadError", "download", "file_digests", "read_record"]


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def bad_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".bad")


class _Hashes:
    """sha256 and md5 of a file's bytes, fed chunk by chunk as they are written."""

    def __init__(self) -> None:
        self.sha256, self.md5, self.size = hashlib.sha256(), hashlib.md5(), 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)

    @classmethod
    def of_file(cls, path: Path) -> _Hashes:
        hashes = cls()
        if path.exists():
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    hashes.update(chunk)
        return hashes

    def digests(self) -> dict:
        return {"sha256": self.sha256.hexdigest(), "md5": self.md5.hexdigest(), "size": self.size}


def file_digests(path: Path) -> dict:
    """{"sha256": hex, "md5": hex, "size": bytes} of a file."""
    return _Hashes.of_file(Path(path)).digests()


def _mismatches(expected: dict[str, str | None], actual: dict[str, str]) -> list[str]:
    """Human-readable mismatches; an expected sha256 may be a prefix (torchvision names carry its first 8 digits)."""
    out = []
    for algo, want in expected.items():
        if want is None:
            continue
        if algo == "size":
            if actual.get("size") != want:
                out.append(f"size is {actual.get('size')} bytes, expected {want}")
            continue
        want, got = want.lower(), actual[algo]
        if algo == "sha256" and len(want) < 64:
            if not got.startswith(want):
                out.append(f"sha256 {got} does not start with {want}")
        elif got != want:
            out.append(f"{algo} is {got}, expected {want}")
    return out


def read_record(dest: Path) -> dict | None:
    """The `<dest>.verified` record if it still describes dest (its size, and dest not modified after it), else None."""
    try:
        record = json.loads(record_path(dest).read_text())
        stat, written = dest.stat(), record_path(dest).stat().st_mtime_ns
    except (OSError, ValueError):
        return None
    fresh = isinstance(record, dict) and record.get("size") == stat.st_size and stat.st_mtime_ns <= written
    return record if fresh else None


def _write_record(dest: Path, url: str, digests: dict[str, str], checked: list[str]) -> None:
    """What was checked, in bytes that do not depend on where the tree lies: a file:// URL (a local path) is left
    out."""
    source = {} if url.startswith("file:") else {"url": url}
    save_json({**source, "size": dest.stat().st_size, **digests, "checked": checked}, record_path(dest))


def _move_aside(path: Path, dest: Path) -> Path:
    """Rename `path` to `<dest>.bad` (or .bad.2, .bad.3, ... so an older bad copy is not overwritten)."""
    bad, n = bad_path(dest), 1
    while bad.exists():
        n += 1
        bad = dest.with_name(f"{dest.name}.bad.{n}")
    os.replace(path, bad)
    record_path(dest).unlink(missing_ok=True)
    return bad


class _Tries:
    """What one download() call has left over all its tries (bytes), and the file size the server announced."""

    def __init__(self, size: int | None = None) -> None:
        self.bytes_left, self.total, self.size = MAX_BYTES, None, size  # size: the one expected (params.yaml)


def _attempt(url: str, dest: Path, hashes: _Hashes, timeout_s: float, progress: bool,
             tries: _Tries) -> tuple[_Hashes, bool]:
    """Append the rest of `url` to dest's .part; return the hashes of the whole .part and whether its end was known
    (a size or a chunked body). Never reads past the size the server announced, nor more than `tries.bytes_left`
    bytes (decreased here). A size other than the one announced before is a DownloadError: the .part may mix two
    files, so it is moved aside."""
    part = part_path(dest)
    have = part.stat().st_size if part.exists() else 0
    if hashes.size != have:  # a write failed halfway last time: hash what is really there
        hashes = _Hashes.of_file(part)
    stream, start, total, framed = open_source(url, have, timeout_s)
    if total is not None and tries.size not in (None, total):
        stream.close()
        raise DownloadError(f"{url}: the server announces {total} bytes, not the {tries.size} expected (size in "
                            "params.yaml): not the file; use another mirror")
    if total is not None and tries.total not in (None, total):
        stream.close()
        bad = _move_aside(part, dest) if part.exists() else part
        raise DownloadError(f"{url}: the server announced {tries.total} bytes, then {total}: its sizes cannot be "
                            f"trusted (or the file changed while downloading), so the bytes so far are kept aside as "
                            f"{bad} and not used; try again, or use another mirror")
    tries.total = total if total is not None else tries.total
    if start == 0 and have:
        hashes = _Hashes()
    with stream, open(part, "ab" if start else "wb") as f, progress_bar(
        total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
        disable=not progress,
    ) as bar:
        while True:
            want = CHUNK if total is None else min(CHUNK, total - hashes.size)
            if want <= 0:  # all announced bytes are here; a server that sends more is not listened to
                break
            if tries.bytes_left <= 0:
                raise DownloadError(f"{url}: more than {MAX_BYTES} bytes arrived over all tries without the end of "
                                    f"the file; {part} is kept. The server misbehaves: use another mirror")
            chunk = stream.read1(min(want, tries.bytes_left))  # whatever has arrived: a kill loses little
            if not chunk:
                break
            f.write(chunk)
            f.flush()  # on disk as it arrives: a killed or interrupted run keeps every byte it was sent
            hashes.update(chunk)
            tries.bytes_left -= len(chunk)
            bar.update(len(chunk))
    if total is not None and hashes.size != total:
        raise Transient(f"connection closed after {hashes.size} of {total} bytes")
    return hashes, framed


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
             size: int | None = None, retries: int = 4, backoff_s: float = 1.0, timeout_s: float = 60,
             progress: bool = True, wait_s: float = WAIT_S, what: str = "ctm download") -> Path:
    """Fetch `url` (http, https or file://) to `dest` unless a good copy is there; return dest.

    sha256: the full hex digest, or a prefix of it (8+ digits, as in torchvision file names); md5: hex digest;
    size: the file's size in bytes (a server announcing another is refused before a byte is written).
    retries: further tries after network errors and 5xx, waiting backoff_s * 2**k; a try that added bytes
    does not use one up. wait_s: how long to wait for another run that holds dest's lock (`what`: this command, as
    the lock names it). Raises DownloadError (URL, HTTP status or expected vs actual digest in the message), or
    ctm.locking.LockedError.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise DownloadError(f"{url}: the destination {dest} is a folder; give the path of the file to write")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DownloadError(f"{url}: size {size!r} is not a byte count")
    expected = {"sha256": sha256, "md5": md5, "size": size}
    for algo, pattern in (("sha256", r"[0-9a-fA-F]{8,64}"), ("md5", r"[0-9a-fA-F]{32}")):
        if expected[algo] is not None and not re.fullmatch(pattern, expected[algo]):
            raise DownloadError(f"{url}: {algo} {expected[algo]!r} is not a hex digest ({pattern})")
    if dest.exists() and _kept(dest, expected):  # nothing to write (a read-only cache works): no lock
        return dest
    with contextlib.ExitStack() as stack:
        try:
            try:
                stack.enter_context(exclusive(dest, what))
            except LockedError:
                if wait_s <= 0:
                    raise
                print(f"{dest}: another run is downloading it ({lock_path(dest)} is locked); waiting up to "
                      f"{wait_s:g} s for it to finish", file=sys.stderr)
                stack.enter_context(exclusive(dest, what, wait_s=wait_s))
        except OSError as err:
            raise DownloadError(f"{url}: cannot write beside {dest} ({err.strerror or err}); check the folder's "
                                "permissions and free space") from None
        return _download(url, dest, expected, retries, backoff_s, timeout_s, progress)


def _kept(dest: Path, expected: dict[str, str | None]) -> bool:
    """Whether the present `dest` is taken as it is: no checksum to check, or its record matches the checksum."""
    record = read_record(dest)
    return all(v is None for v in expected.values()) or bool(record and not _mismatches(expected, record))


def _download(url: str, dest: Path, expected: dict[str, str | None], retries: int, backoff_s: float,
              timeout_s: float, progress: bool) -> Path:
    """download() once dest's lock is held."""
    checked = [k for k, v in expected.items() if v is not None]
    if dest.exists():
        if _kept(dest, expected):  # written by the run that held the lock before
            return dest
        record = read_record(dest)
        digests = {k: record.get(k) for k in ("sha256", "md5", "size")} if record else file_digests(dest)
        if not _mismatches(expected, digests):
            _write_record(dest, url, digests, checked)
            return dest
        problems = "; ".join(_mismatches(expected, digests))
        bad = _move_aside(dest, dest)
        if record and record.get("url") == url:  # downloaded from this very URL: fetching it again gives the same
            raise DownloadError(f"{url}: {problems}; {dest} (downloaded earlier) is moved aside to {bad} and not "
                                "used. Check the checksum or the mirror")
        print(f"{dest}: {problems}; moved aside to {bad}, downloading {url} again", file=sys.stderr)
    part = part_path(dest)
    hashes = _Hashes.of_file(part)
    failures, tries, state = 0, 0, _Tries(expected["size"])
    while True:
        before = part.stat().st_size if part.exists() else 0
        tries += 1
        try:
            hashes, framed = _attempt(url, dest, hashes, timeout_s, progress, state)
            break
        except (Transient, OSError, http.client.HTTPException) as err:
            if isinstance(err, OSError) and err.errno in FATAL_ERRNO:
                raise DownloadError(f"{url}: cannot write {part}: {err}") from err
            failures = 0 if part.exists() and part.stat().st_size > before else failures + 1
            if failures > retries or tries >= MAX_TRIES_PER_RETRY * (retries + 1):
                raise DownloadError(f"cannot download {url} after {failures} tries: {err}; {part} is kept and the "
                                    f"next call resumes it, or put the file at {dest} by hand") from None
            time.sleep(backoff_s * 2 ** max(failures - 1, 0))
    if not framed and not checked:
        raise DownloadError(f"{url}: the server sent no size and no checksum is given, so a cut download cannot be "
                            f"told from a complete one; {part} is kept. Give --sha256 or --md5 (params.yaml: the "
                            "file's sha256/md5), or use a mirror that sends Content-Length")
    digests = hashes.digests()
    problems = _mismatches(expected, digests)
    if problems:
        bad = _move_aside(part, dest)
        raise DownloadError(f"{url}: {'; '.join(problems)}; the download is kept aside as {bad} and not used. "
                            "Check the checksum (params.yaml / docs/downloads.md) or the mirror, delete "
                            f"{bad} and try again")
    os.replace(part, dest)
    _write_record(dest, url, digests, checked)
    return dest
