"""Fetch Kinetics clips: download each YouTube video with yt-dlp, trim it to [time_start, time_end], keep a manifest.

`fetch_clips(rows, root, url_template)` writes each clip to `root / row.video` (H.264 mp4, see ctm.acquire.trim) and
records every row in `root/videos_manifest.csv` (MANIFEST_COLUMNS): status `ok`, `unavailable` (404, private,
removed: not retried within a run), `failed` (any other download error: retried with back-off) or `trim_failed`.
A rerun retries only rows that are not `ok` or whose file is missing. yt-dlp is called through its Python API
(`yt_dlp.YoutubeDL`), so an id such as `--nQbRBEz2s` is a URL part and never a command-line option.
Downloads and trims run in a thread pool: both wait on the network or in FFmpeg code that releases the GIL.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ctm.acquire.portable import portable_reason
from ctm.acquire.trim import trim_video
from ctm.data.kinetics import YOUTUBE_ID, relative_inside, window_error
from ctm.errors import UserError
from ctm.fileio import atomic_write
from ctm.progress import progress_bar

MANIFEST_NAME = "videos_manifest.csv"
MANIFEST_COLUMNS = ["youtube_id", "video", "time_start", "time_end", "status", "reason", "attempts", "bytes"]
ROW_COLUMNS = ["youtube_id", "video", "time_start", "time_end"]
YOUTUBE_TEMPLATE = "https://www.youtube.com/watch?v={youtube_id}"
# Video only, one file (merging separate audio/video needs ffmpeg), H.264 first (fast to decode), at most 720p.
DEFAULT_FORMAT = "bv*[height<=?720][vcodec^=avc1]/bv*[height<=?720]/b[height<=?720]/bv*/b"
# yt-dlp messages that mean the video is gone for good (or needs an account), not that the try failed.
_UNAVAILABLE = re.compile(
    r"video unavailable|private video|video is private|has been removed|no longer available|account .*terminated|"
    r"not available in your country|not made this video available|geo.?restrict|copyright|members.only|"
    r"join this channel|confirm your age|"
    r"age.restricted|does not exist|no such file|premieres in|live event will begin",
    re.IGNORECASE,
)
_UNAVAILABLE_HTTP = {404, 410}
TMP_DIR = ".fetch_tmp"


class ClipFetchError(UserError, ValueError):
    """A user error in the request (template, columns); the message names the value."""


class _DownloadError(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class FetchOptions:
    """How one clip is downloaded and encoded (see fetch_clips)."""

    retries: int = 2
    timeout_s: float = 120
    backoff_s: float = 2.0
    format: str = DEFAULT_FORMAT
    short_side: int | None = None
    crf: int = 23
    ydl_opts: dict = field(default_factory=dict)


def check_template(url_template: str) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(url_template) if name is not None}
    if fields != {"youtube_id"}:
        raise ClipFetchError(f"url template {url_template!r} must contain {{youtube_id}} and no other field "
                             f"(found {sorted(fields) or 'none'}), e.g. {YOUTUBE_TEMPLATE!r}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0].removeprefix("ERROR: ")[:300]


def classify_error(err: BaseException) -> str:
    """`unavailable` when yt-dlp's error (or one it wraps) says the video is gone: HTTP 404/410, private,
    removed, missing file...; `failed` otherwise (timeouts, 5xx, throttling: worth retrying)."""
    seen, todo = set(), [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        status = getattr(e, "status", None) or getattr(getattr(e, "response", None), "status", None)
        if isinstance(status, int) and status in _UNAVAILABLE_HTTP:
            return "unavailable"
        if isinstance(e, FileNotFoundError) or _UNAVAILABLE.search(str(e)):
            return "unavailable"
        exc_info = getattr(e, "exc_info", None)
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__, exc_info[1] if exc_info else None]
    return "failed"


class _QuietLogger:
    """yt-dlp logger that prints nothing: errors reach the manifest through the raised exception."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


_THREAD = threading.local()


def _downloader(options: FetchOptions, file_urls: bool):
    """This thread's yt-dlp instance for these options: building one costs ~90 ms (extractor set-up), more than a
    small clip's download, so each worker thread keeps its own and only changes the output template per call."""
    import yt_dlp

    cache = _THREAD.__dict__.setdefault("downloaders", {})
    key = (repr(options), file_urls)
    if key not in cache:
        cache[key] = yt_dlp.YoutubeDL({
            "outtmpl": "source.%(ext)s", "format": options.format, "noplaylist": True,
            "socket_timeout": options.timeout_s, "retries": 0, "fragment_retries": 0, "cachedir": False,
            "quiet": True, "no_warnings": True, "noprogress": True, "logger": _QuietLogger(),
            # yt-dlp refuses file:// URLs unless asked (--enable-file-urls); the presets serve local "YouTube" files.
            "enable_file_urls": file_urls,
            **options.ydl_opts,
        })
    return cache[key]


def download_source(url: str, folder: Path, options: FetchOptions) -> Path:
    """Download the whole video at `url` into `folder` with yt-dlp; returns the file. Raises _DownloadError."""
    ydl = _downloader(options, url.startswith("file:"))
    ydl.params["outtmpl"] = {"default": str(folder / "source.%(ext)s")}
    try:
        info = ydl.extract_info(url, download=True)
    except Exception as err:  # yt-dlp wraps most errors in DownloadError, but not all (e.g. some OSErrors)
        raise _DownloadError(classify_error(err), _first_line(err)) from err
    paths = [Path(d["filepath"]) for d in (info or {}).get("requested_downloads", []) if d.get("filepath")]
    paths = [p for p in paths if p.is_file()] or sorted(p for p in folder.glob("source.*") if p.suffix != ".part")
    if not paths:
        raise _DownloadError("failed", f"yt-dlp reported success but wrote no file for {url}")
    return paths[0]


def fetch_one(row: dict, root: Path, url_template: str, options: FetchOptions) -> dict:
    """Download, trim and store one clip (a row with ROW_COLUMNS); returns its manifest row. Never raises for a
    bad video: the outcome is in `status` and `reason`."""
    dst = root / row["video"]
    url = url_template.format(youtube_id=row["youtube_id"])
    result = {**{k: row[k] for k in ROW_COLUMNS}, "status": "failed", "reason": "", "attempts": 0, "bytes": 0}
    tmp_root = root / TMP_DIR
    tmp_root.mkdir(parents=True, exist_ok=True)
    while True:
        result["attempts"] += 1
        folder = Path(tempfile.mkdtemp(dir=tmp_root))
        try:
            source = download_source(url, folder, options)
            info = trim_video(source, dst, row["time_start"], row["time_end"], crf=options.crf,
                              short_side=options.short_side)
        except _DownloadError as err:
            result.update(status=err.status, reason=err.reason)
        except Exception as err:  # PyAV's errors, TrimError: the download worked, the file is unusable
            result.update(status="trim_failed", reason=_first_line(err))
        else:
            length = row["time_end"] - row["time_start"]
            kept = info["last_s"] - info["first_s"] + 1 / info["fps"]
            reason = f"window truncated: {kept:.2f} of {length} s" if kept < length - 0.5 else ""
            result.update(status="ok", reason=reason, bytes=dst.stat().st_size)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
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
    Returns the manifest rows of `rows`, in the order of `rows`.
    """
    check_template(url_template)
    missing = set(ROW_COLUMNS) - set(rows.columns)
    if missing:
        raise ClipFetchError(f"rows lack columns {sorted(missing)}; expected at least {ROW_COLUMNS}")
    options = options or FetchOptions(retries=retries, timeout_s=timeout_s)
    root = Path(root)
    path = root / MANIFEST_NAME
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
        elif retry_unavailable or old is None or old["status"] != "unavailable":
            todo.append(row)
    if todo:
        _require_yt_dlp()
    counts: Counter = Counter()  # outcomes of this run, for the progress bar
    bar = progress_bar(total=len(todo), desc="clips", unit="clip", disable=not progress)
    last_save = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(fetch_one, row, root, url_template, options) for row in todo]
        for future in as_completed(futures):
            result = future.result()
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
    videos = rows["video"].drop_duplicates()
    return pd.DataFrame([records[v] for v in videos], columns=MANIFEST_COLUMNS).reset_index(drop=True)
