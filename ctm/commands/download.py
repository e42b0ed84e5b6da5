"""`ctm download`: the resumable, verified fetch of one file from the first of its mirrors that gives it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctm.acquire.download import DownloadError, read_record
from ctm.acquire.extract import WAIT_S
from ctm.acquire.mirrors import download_any
from ctm.commands.numbers import count, nonnegative_seconds, positive


def sha256_from_sums(sums: Path, name: str) -> str:
    """The digest of file `name` in a sha256sum-format file (`<hex>  <name>` per line)."""
    from ctm.acquire.prepare import expected_sha256

    if not Path(sums).is_file():
        raise DownloadError(f"{sums}: no such checksums file (--checksums)")
    digest = expected_sha256(Path(sums), name)
    if digest is None:
        raise DownloadError(f"{sums}: lists no sha256 for {name!r}; regenerate it (ctm synth) or drop --checksums")
    return digest


def _download(args: argparse.Namespace) -> dict:
    sha256 = args.sha256
    if args.checksums:
        sha256 = sha256_from_sums(Path(args.checksums), Path(args.out).name)
    dest, url = download_any(args.url, Path(args.out), sha256=sha256, md5=args.md5, size=args.size,
                             retries=args.retries, timeout_s=args.timeout, progress=not args.no_progress,
                             wait_s=args.wait)
    record = read_record(dest) or {}
    return {"path": str(dest), "url": url, "size": dest.stat().st_size,
            **{k: record[k] for k in ("sha256", "md5", "checked") if k in record}}


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("download", help="fetch a file (http, https, file://) with resume, retries and checksum check, "
                                        "from the first of its mirrors that gives it")
    p.add_argument("url", nargs="+", help="the file's URL; more than one: mirrors of the same file, tried in order")
    p.add_argument("--out", required=True, help="destination file (bytes go to FILE.part until complete)")
    p.add_argument("--sha256", help="expected sha256 (hex; a prefix of 8+ digits is accepted)")
    p.add_argument("--md5", help="expected md5 (hex)")
    p.add_argument("--size", type=count, help="expected size in bytes (a mirror announcing another is skipped)")
    p.add_argument("--checksums", help="a sha256sum-format file that lists the expected sha256 of --out's file name")
    p.add_argument("--retries", type=count, default=4, help="retries after network errors and 5xx (default 4)")
    p.add_argument("--timeout", type=positive, default=60.0, help="seconds without data before a retry (default 60)")
    p.add_argument("--wait", type=nonnegative_seconds, default=WAIT_S,
                   help=f"seconds to wait for another run downloading to the same --out (default {WAIT_S:g}); "
                        "0: stop at once, naming that run")
    common(p)
    p.set_defaults(func=_download)
