"""Resumable, verified downloads over http(s) and file:// (the embedded preset's synthetic "internet").

`download(url, dest)` streams into `<dest>.part`. A dropped connection, a timeout or a killed process leaves the
.part behind, and the next try (after an exponential back-off, or in a later run) asks only for the rest with
`Range: bytes=N-`. 5xx answers and network errors are retried; 401/403/404/410 fail at once. When a sha256 or md5 is
given the finished file is checked: a mismatch moves it aside to `<dest>.bad` (kept for inspection, never used) and
raises. On success `<dest>.verified` (JSON: url, size, mtime_ns, sha256, md5, checked) records the digests, so a
verified file is never fetched or hashed again; a present file with no checksum to check is not fetched again either.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from ctm.errors import UserError
from ctm.fileio import save_json
from ctm.progress import progress_bar

CHUNK = 1 << 20
MAX_BYTES = 64 << 30  # bytes taken from a server that gives no size, over all tries (UCF101.rar, the largest, 6.5 GB)
MAX_TRIES_PER_RETRY = 10  # tries that add bytes do not use up a retry, but all tries together are bounded
FATAL_HTTP = {400, 401, 403, 404, 405, 410, 451}
FATAL_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
USER_AGENT = "ctm-repro (python urllib)"


class DownloadError(UserError, RuntimeError):
    """A download failed for good or its checksum did not match; the message names the URL and what to do."""


class _Transient(Exception):
    """A failure worth retrying (5xx, dropped connection, short body)."""


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

    def digests(self) -> dict[str, str]:
        return {"sha256": self.sha256.hexdigest(), "md5": self.md5.hexdigest()}


def file_digests(path: Path) -> dict[str, str]:
    """{"sha256": hex, "md5": hex} of a file."""
    return _Hashes.of_file(Path(path)).digests()


def _mismatches(expected: dict[str, str | None], actual: dict[str, str]) -> list[str]:
    """Human-readable mismatches; an expected sha256 may be a prefix (torchvision names carry its first 8 digits)."""
    out = []
    for algo, want in expected.items():
        if want is None:
            continue
        want, got = want.lower(), actual[algo]
        if algo == "sha256" and len(want) < 64:
            if not got.startswith(want):
                out.append(f"sha256 {got} does not start with {want}")
        elif got != want:
            out.append(f"{algo} is {got}, expected {want}")
    return out


def read_record(dest: Path) -> dict | None:
    """The `<dest>.verified` record if it still describes dest (same size and mtime), else None."""
    try:
        record = json.loads(record_path(dest).read_text())
        stat = dest.stat()
    except (OSError, ValueError):
        return None
    return record if (record.get("size"), record.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns) else None


def _write_record(dest: Path, url: str, digests: dict[str, str], checked: list[str]) -> None:
    stat = dest.stat()
    save_json({"url": url, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **digests, "checked": checked},
              record_path(dest))


def _move_aside(path: Path, dest: Path) -> Path:
    """Rename `path` to `<dest>.bad` (or .bad.2, .bad.3, ... so an older bad copy is not overwritten)."""
    bad, n = bad_path(dest), 1
    while bad.exists():
        n += 1
        bad = dest.with_name(f"{dest.name}.bad.{n}")
    os.replace(path, bad)
    record_path(dest).unlink(missing_ok=True)
    return bad


def _open(url: str, have: int, timeout_s: float) -> tuple[BinaryIO, int, int | None, bool]:
    """(stream, offset of its first byte, total size or None, framed) for `url` from byte `have` on. The size is None
    only when the server gives none; `framed` is False when the body's end is not known either (not chunked: a cut
    looks like the end), True otherwise (a size, or a chunked body whose end http.client checks)."""
    if url.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file {path}")
        size = path.stat().st_size
        f = open(path, "rb")
        start = have if have <= size else 0
        f.seek(start)
        return f, start, size, True
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={have}-"} if have else {})}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416:  # the .part is already complete, or longer than the file: check, or start over
            match = re.fullmatch(r"bytes \*/(\d+)", err.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == have:
                return open(os.devnull, "rb"), have, have, True
            return _open(url, 0, timeout_s)
        if err.code in FATAL_HTTP:
            raise DownloadError(f"{url}: HTTP {err.code} {err.reason}; check the URL (or the mirror in params.yaml), "
                                "or put the file in place by hand") from None
        raise _Transient(f"HTTP {err.code} {err.reason}") from None
    length = response.headers.get("Content-Length")
    length = int(length) if length is not None else None
    chunked = response.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if have and response.status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        start = int(match.group(1)) if match else have
        if start != have:
            response.close()
            return _open(url, 0, timeout_s)
        total = int(match.group(2)) if match and match.group(2) != "*" else (have + length if length else None)
        return response, have, total, total is not None or chunked
    return response, 0, length, length is not None or chunked  # 200: the whole file (or a server ignoring Range)


def _attempt(url: str, part: Path, hashes: _Hashes, timeout_s: float, progress: bool,
             budget: list[int]) -> tuple[_Hashes, bool]:
    """Append the rest of `url` to `part`; return the hashes of the whole .part and whether its end was known (a
    size or a chunked body). Never reads past the size the server announced, nor more than `budget[0]` bytes (the
    budget left over all tries, decreased here)."""
    have = part.stat().st_size if part.exists() else 0
    if hashes.size != have:  # a write failed halfway last time: hash what is really there
        hashes = _Hashes.of_file(part)
    stream, start, total, framed = _open(url, have, timeout_s)
    if start == 0 and have:
        hashes = _Hashes()
    with stream, open(part, "ab" if start else "wb") as f, progress_bar(
        total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[:-5],
        disable=not progress,
    ) as bar:
        while True:
            want = CHUNK if total is None else min(CHUNK, total - hashes.size)
            if want <= 0:  # all announced bytes are here; a server that sends more is not listened to
                break
            if budget[0] <= 0:
                raise DownloadError(f"{url}: more than {MAX_BYTES} bytes arrived over all tries without the end of "
                                    f"the file; {part} is kept. The server misbehaves: use another mirror")
            chunk = stream.read1(min(want, budget[0]))  # whatever has arrived: a kill loses little
            if not chunk:
                break
            f.write(chunk)
            hashes.update(chunk)
            budget[0] -= len(chunk)
            bar.update(len(chunk))
    if total is not None and hashes.size != total:
        raise _Transient(f"connection closed after {hashes.size} of {total} bytes")
    return hashes, framed


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
             retries: int = 4, backoff_s: float = 1.0, timeout_s: float = 60, progress: bool = True) -> Path:
    """Fetch `url` (http, https or file://) to `dest` unless a good copy is there; return dest.

    sha256: the full hex digest, or a prefix of it (8+ digits, as in torchvision file names); md5: hex digest.
    retries: further tries after network errors and 5xx, waiting backoff_s * 2**k; a try that added bytes
    does not use one up. Raises DownloadError (URL, HTTP status or expected vs actual digest in the message).
    """
    dest = Path(dest)
    if dest.is_dir():
        raise DownloadError(f"{url}: the destination {dest} is a folder; give the path of the file to write")
    expected = {"sha256": sha256, "md5": md5}
    for algo, pattern in (("sha256", r"[0-9a-fA-F]{8,64}"), ("md5", r"[0-9a-fA-F]{32}")):
        if expected[algo] is not None and not re.fullmatch(pattern, expected[algo]):
            raise DownloadError(f"{url}: {algo} {expected[algo]!r} is not a hex digest ({pattern})")
    checked = [k for k, v in expected.items() if v]
    if dest.exists():
        record = read_record(dest)
        if not checked or (record and not _mismatches(expected, record)):
            return dest
        digests = {k: record[k] for k in ("sha256", "md5")} if record else file_digests(dest)
        if not _mismatches(expected, digests):
            _write_record(dest, url, digests, checked)
            return dest
        problems = "; ".join(_mismatches(expected, digests))
        bad = _move_aside(dest, dest)
        if record and record.get("url") == url:  # downloaded from this very URL: fetching it again gives the same
            raise DownloadError(f"{url}: {problems}; {dest} (downloaded earlier) is moved aside to {bad} and not "
                                "used. Check the checksum or the mirror")
        print(f"{dest}: {problems}; moved aside to {bad}, downloading {url} again", file=sys.stderr)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    hashes = _Hashes.of_file(part)
    failures, tries, budget = 0, 0, [MAX_BYTES]
    while True:
        before = part.stat().st_size if part.exists() else 0
        tries += 1
        try:
            hashes, framed = _attempt(url, part, hashes, timeout_s, progress, budget)
            break
        except (_Transient, OSError, http.client.HTTPException) as err:
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
                            "Check the checksum (params.yaml / ../shared/notes/datasets.md) or the mirror, delete "
                            f"{bad} and try again")
    os.replace(part, dest)
    _write_record(dest, url, digests, checked)
    return dest
