"""Fetch Kinetics clips: download each YouTube video with yt-dlp, trim it to [time_start, time_end], keep a manifest.

`fetch_clips(rows, root, url_template)` writes each clip to `root / row.video` (H.264 mp4, see ctm.acquire.trim) and
records every row in `root/videos_manifest.csv` (MANIFEST_COLUMNS) with a status: `ok`; `unavailable` (404, private,
removed: not retried within a run); `rate_limited` / `blocked` (YouTube refused us, not the video: never counted
gone, not retried within a run, retried by the next); `failed` (any other download error: retried with back-off);
or `trim_failed`. A rerun retries only rows that are not `ok` or whose file is missing.
Requests are paced (FetchOptions.per_hour, ctm.acquire.pacing) and the run stops after
FetchOptions.stop_after_blocks consecutive refusals. Downloads go through ctm.acquire.youtube_source (yt-dlp's
Python API, an optional source cache shared by datasets). Downloads and trims run in a thread pool: both wait on
the network or in FFmpeg code that releases the GIL.
"""

from __future__ import annotations

import os
import shutil
import string
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ctm.acquire.pacing import FetchGate, RequestPacer, pacer_for
from ctm.acquire.portable import portable_reason
from ctm.acquire.trim import trim_video
from ctm.acquire.youtube_source import (
    DownloadFailed,
    SourceCache,
    download_source,
    first_line,
    is_refusal,
    ydl_opts_error,
)
from ctm.data.annotations.base import relative_inside
from ctm.data.annotations.kinetics import YOUTUBE_ID, window_error
from ctm.errors import UserError
from ctm.fileio import atomic_write
from ctm.progress import progress_bar

MANIFEST_NAME = "videos_manifest.csv"
MANIFEST_COLUMNS = ["youtube_id", "video", "time_start", "time_end", "status", "reason", "attempts", "bytes"]
ROW_COLUMNS = ["youtube_id", "video", "time_start", "time_end"]
YOUTUBE_TEMPLATE = "https://www.youtube.com/watch?v={youtube_id}"
# Video only, one file (merging separate audio/video needs ffmpeg), H.264 first (fast to decode), at most 720p.
DEFAULT_FORMAT = "bv*[height<=?720][vcodec^=avc1]/bv*[height<=?720]/b[height<=?720]/bv*/b"
TMP_DIR = ".fetch_tmp"


class ClipFetchError(UserError, ValueError):
    """A user error in the request (template, columns); the message names the value."""


@dataclass(frozen=True)
class FetchOptions:
    """How one clip is downloaded and encoded (see fetch_clips)."""

    retries: int = 2
    timeout_s: float = 120
    backoff_s: float = 2.0
    format: str = DEFAULT_FORMAT
    short_side: int | None = None
    crf: int = 23
    ydl_opts: dict = field(default_factory=dict)  # passed to yt_dlp.YoutubeDL last: cookiefile, js_runtimes...
    per_hour: int = 250  # request starts per hour over all workers; 0 or file:// URLs: no pacing
    stop_after_blocks: int = 20  # stop the run after this many consecutive rate_limited/blocked answers; 0: never
    source_cache: str | None = None  # folder of whole sources by YouTube id, shared by datasets (SourceCache)

    def __post_init__(self):
        for name in ("per_hour", "stop_after_blocks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ClipFetchError(f"FetchOptions.{name}={value!r}: need a whole number, 0 or more (0: off)")


def check_template(url_template: str) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(url_template) if name is not None}
    if fields != {"youtube_id"}:
        raise ClipFetchError(f"url template {url_template!r} must contain {{youtube_id}} and no other field "
                             f"(found {sorted(fields) or 'none'}), e.g. {YOUTUBE_TEMPLATE!r}")


class _Stopped(Exception):
    """The gate lets no more requests start: the run is stopping."""


def _download(url: str, folder: Path, options: FetchOptions, gate: FetchGate, result: dict) -> Path:
    """One paced download into `folder`, counted in result["attempts"] and reported to the gate."""
    if not gate.before_request():
        raise _Stopped
    result["attempts"] += 1
    try:
        file = download_source(url, folder, options)
    except DownloadFailed as err:
        gate.answered(err.status, err.reason)
        raise
    gate.answered("ok")
    return file


def _get_source(youtube_id: str, url: str, root: Path, options: FetchOptions, gate: FetchGate,
                cache: SourceCache | None, result: dict) -> tuple[Path, Path | None]:
    """(the whole source video, a scratch folder to delete after the trim or None). From the cache when it holds
    the id (no request); else downloaded, and kept in the cache when there is one."""
    if cache is None:
        scratch = Path(tempfile.mkdtemp(dir=root / TMP_DIR))
        try:
            return _download(url, scratch, options, gate, result), scratch
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    with cache.lock(youtube_id):  # a second row of the same id waits here, then finds the file
        found = cache.find(youtube_id)
        if found is not None:
            return found, None
        scratch = cache.scratch()
        try:
            return cache.keep(youtube_id, _download(url, scratch, options, gate, result)), scratch
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise


def fetch_one(row: dict, root: Path, url_template: str, options: FetchOptions, gate: FetchGate | None = None,
              cache: SourceCache | None = None) -> dict | None:
    """Download (or take from `cache`), trim and store one clip (a row with ROW_COLUMNS); returns its manifest row.
    Never raises for a bad video: the outcome is in `status` and `reason`. Returns None when `gate` stopped the run
    before this row's first request (the row stays untried)."""
    gate = gate or FetchGate(RequestPacer(0), 0)
    dst = root / row["video"]
    url = url_template.format(youtube_id=row["youtube_id"])
    result = {**{k: row[k] for k in ROW_COLUMNS}, "status": "failed", "reason": "", "attempts": 0, "bytes": 0}
    (root / TMP_DIR).mkdir(parents=True, exist_ok=True)
    while True:
        scratch = None
        try:
            source, scratch = _get_source(row["youtube_id"], url, root, options, gate, cache, result)
            info = trim_video(source, dst, row["time_start"], row["time_end"], crf=options.crf,
                              short_side=options.short_side)
        except _Stopped:
            return result if result["attempts"] else None
        except DownloadFailed as err:
            result.update(status=err.status, reason=err.reason)
        except Exception as err:  # PyAV's errors, TrimError: the download worked, the file is unusable
            result.update(status="trim_failed", reason=first_line(err))
        else:
            length = row["time_end"] - row["time_start"]
            kept = info["last_s"] - info["first_s"] + 1 / info["fps"]
            reason = f"window truncated: {kept:.2f} of {length} s" if kept < length - 0.5 else ""
            result.update(status="ok", reason=reason, bytes=dst.stat().st_size)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        if result["status"] != "failed" or result["attempts"] > options.retries:
            return result
        time.sleep(options.backoff_s * 2 ** (result["attempts"] - 1))


def read_manifest(path: Path) -> pd.DataFrame:
    """The manifest at `path` (MANIFEST_COLUMNS; empty when absent). Ids and reasons stay strings."""
    if not path.exists():
        return pd.DataFrame(columns=MANIFEST_COLUMNS)
    df = pd.read_csv(path, dtype={"youtube_id": str, "video": str, "status": str, "reason": str},
                     keep_default_na=False)
    missing = set(MANIFEST_COLUMNS) - set(df.columns)
    if missing:
        raise ClipFetchError(f"{path}: columns {sorted(missing)} are missing; delete the file to start a new "
                             "manifest (finished clips are kept: they are found on disk)")
    return df[MANIFEST_COLUMNS]


def write_manifest(records: dict[str, dict], path: Path) -> None:
    """Write the manifest (one row per video, sorted by `video`) atomically."""
    df = pd.DataFrame(sorted(records.values(), key=lambda r: r["video"]), columns=MANIFEST_COLUMNS)
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, lineterminator="\n"))


def _require_yt_dlp() -> None:
    """Fail before the first clip, not as one `trim_failed` per clip: a missing yt-dlp is the machine's fault."""
    try:
        import yt_dlp  # noqa: F401
    except ImportError as err:
        raise ClipFetchError(f"yt-dlp cannot be imported ({err}): install it (`pip install yt-dlp`, a dependency "
                             "of ctm-repro; on a host without network, carry its wheel as docs/rehearsal.md says)"
                             ) from err


def _stop_message(gate: FetchGate, options: FetchOptions, manifest: Path, untried: int) -> str:
    advice = ("pass --cookies FILE (exported from a browser logged in to YouTube) or fetch from another network"
              if gate.last_status == "blocked" else
              f"wait an hour, then run again with a lower --per-hour (now {options.per_hour}) or with --cookies FILE")
    return (f"stopped after {gate.streak} consecutive blocked or rate-limited answers (--stop-after-blocks "
            f"{options.stop_after_blocks}); the last: {gate.last_reason!r}. {untried} rows were left untried; "
            f"{manifest} records the rest. {advice[0].upper() + advice[1:]}; finished clips are kept")


def fetch_clips(
    rows: pd.DataFrame,
    root: str | os.PathLike,
    url_template: str,
    *,
    workers: int = 8,
    retries: int = 2,
    timeout_s: float = 120,
    progress: bool = True,
    retry_unavailable: bool = True,
    save_every_s: float = 30.0,
    options: FetchOptions | None = None,
    pacer: RequestPacer | None = None,
) -> pd.DataFrame:
    """Fetch the clips of `rows` (columns youtube_id, video, time_start, time_end) under `root`.

    Rows whose file exists are skipped (recorded `ok`). The others are downloaded from
    `url_template.format(youtube_id=...)` by `workers` threads, each download tried up to 1 + `retries` times
    (back-off 2 s, 4 s, ...) when it fails for a reason other than the video being unavailable; `timeout_s` is
    yt-dlp's socket timeout (a stalled connection), not a limit on the whole download. With
    `retry_unavailable=False`, rows the manifest already records as `unavailable` are not tried again.
    The manifest `root/videos_manifest.csv` keeps rows of earlier runs that `rows` does not list; it is rewritten
    every `save_every_s` seconds and at the end (also on Ctrl-C). `options` overrides format, size, quality and
    extra yt-dlp options (FetchOptions; its retries/timeout_s win over the arguments).
    Request starts are paced by `pacer` (default: RequestPacer(options.per_hour), none for file:// templates).
    After options.stop_after_blocks consecutive `rate_limited`/`blocked` answers no new request starts, the
    manifest is written (rows not reached keep their old state) and ClipFetchError says what to do. With
    options.source_cache, whole sources are kept there by YouTube id and reused (SourceCache).
    Returns the manifest rows of `rows`, in the order of `rows`.
    """
    check_template(url_template)
    missing = set(ROW_COLUMNS) - set(rows.columns)
    if missing:
        raise ClipFetchError(f"rows lack columns {sorted(missing)}; expected at least {ROW_COLUMNS}")
    options = options or FetchOptions(retries=retries, timeout_s=timeout_s)
    root = Path(root)
    path = root / MANIFEST_NAME
    cache_dir = Path(options.source_cache) if options.source_cache else None
    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        raise ClipFetchError(f"source cache {cache_dir} is a file: pass a folder (it is created if absent)")
    records = {r["video"]: r for r in read_manifest(path).to_dict("records")}
    todo = []
    for row in rows[ROW_COLUMNS].drop_duplicates("video").to_dict("records"):
        error = window_error(row["time_start"], row["time_end"])
        if error:
            raise ClipFetchError(f"the row of {str(row['youtube_id'])[:50]!r} (video {row['video']}): {error}")
        row = {**row, "youtube_id": str(row["youtube_id"]), "time_start": int(row["time_start"]),
               "time_end": int(row["time_end"])}
        relative_inside(row["video"], f"the row of {row['youtube_id']!r}")  # written to root / video
        if not YOUTUBE_ID.fullmatch(row["youtube_id"]):
            raise ClipFetchError(f"youtube_id {row['youtube_id']!r} (video {row['video']}) is not a YouTube id")
        old = records.get(row["video"])
        file = root / row["video"]
        if file.is_file():
            if old is None or old["status"] != "ok":
                records[row["video"]] = {**row, "status": "ok", "reason": "present before fetch",
                                         "attempts": 0, "bytes": file.stat().st_size}
        elif retry_unavailable or old is None or old["status"] != "unavailable" or is_refusal(old["reason"]):
            todo.append(row)
    if todo:
        _require_yt_dlp()
        error = ydl_opts_error(options.ydl_opts)
        if error:
            raise ClipFetchError(error)
    pacer = pacer or pacer_for(url_template, options.per_hour)
    gate = FetchGate(pacer, options.stop_after_blocks)
    cache = SourceCache(cache_dir) if cache_dir is not None and todo else None
    counts: Counter = Counter()  # outcomes of this run, for the progress bar
    bar = progress_bar(total=len(todo), desc="clips", unit="clip", disable=not progress)
    last_save = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(fetch_one, row, root, url_template, options, gate, cache) for row in todo]
        for future in as_completed(futures):  # once the gate trips, rows not started return None at once
            result = future.result()
            if result is None:
                continue
            result["reason"] = portable_reason(result["reason"], root, url_template)
            old = records.get(result["video"])
            result["attempts"] += int(old["attempts"]) if old is not None else 0
            records[result["video"]] = result
            counts[result["status"]] += 1
            bar.update()
            bar.set_postfix(dict(sorted(counts.items())), refresh=False)
            if time.monotonic() - last_save >= save_every_s:
                write_manifest(records, path)
                last_save = time.monotonic()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        if records:
            write_manifest(records, path)
    shutil.rmtree(root / TMP_DIR, ignore_errors=True)
    if gate.tripped:
        raise ClipFetchError(_stop_message(gate, options, path, untried=len(todo) - sum(counts.values())))
    videos = rows["video"].drop_duplicates()
    return pd.DataFrame([records[v] for v in videos], columns=MANIFEST_COLUMNS).reset_index(drop=True)
