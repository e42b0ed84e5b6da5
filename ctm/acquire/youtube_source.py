"""Download one whole source video with yt-dlp, classify its errors, and keep sources in a cache shared by datasets.

Used by ctm.acquire.youtube (fetch_one), which trims the source to a clip. yt-dlp is called through its Python API
(`yt_dlp.YoutubeDL`), so an id such as `--nQbRBEz2s` is a URL part and never a command-line option.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ctm.acquire.youtube import FetchOptions

# The rate limit reads "Video unavailable. This content isn't available, try again later. The current session has
# been rate-limited by YouTube for up to an hour..." (yt-dlp's youtube/_video.py): it must win over _UNAVAILABLE.
_RATE_LIMITED = re.compile(r"rate.limited|content isn.t available, try again later|too many requests|http error 429",
                           re.IGNORECASE)
# "Sign in to confirm you’re not a bot" (curly or straight apostrophe) and YouTube's captcha before playback.
_BLOCKED = re.compile(r"confirm you.re not a bot|captcha", re.IGNORECASE)
# yt-dlp messages that mean the video is gone for good (or needs an account), not that the try failed.
_UNAVAILABLE = re.compile(
    r"video unavailable|private video|video is private|has been removed|no longer available|account .*terminated|"
    r"not available in your country|not made this video available|geo.?restrict|copyright|members.only|"
    r"join this channel|confirm your age|"
    r"age.restricted|does not exist|no such file|premieres in|live event will begin",
    re.IGNORECASE,
)
_UNAVAILABLE_HTTP = {404, 410}
_PRIORITY = ("rate_limited", "blocked", "unavailable")  # the first one found anywhere in the error chain wins


class DownloadFailed(Exception):
    """A download that did not give a file; `status` is classify_error's verdict, `reason` the first line."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def first_line(err: BaseException) -> str:
    """The first line of an error's message, without yt-dlp's "ERROR: " and at most 300 characters."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0].removeprefix("ERROR: ")[:300]


def _verdict(e: BaseException) -> str | None:
    status = getattr(e, "status", None) or getattr(getattr(e, "response", None), "status", None)
    text = str(e)
    if status == 429 or _RATE_LIMITED.search(text):
        return "rate_limited"
    if _BLOCKED.search(text):
        return "blocked"
    if (isinstance(status, int) and status in _UNAVAILABLE_HTTP) or isinstance(e, FileNotFoundError) \
            or _UNAVAILABLE.search(text):
        return "unavailable"
    return None


def classify_error(err: BaseException) -> str:
    """What yt-dlp's error (or one it wraps) says about the video:

    - `rate_limited`: YouTube's session rate limit ("... try again later ... rate-limited") or HTTP 429;
    - `blocked`: YouTube's bot check ("Sign in to confirm you're not a bot") or a captcha;
    - `unavailable`: gone or closed for good: HTTP 404/410, private, removed, missing file...;
    - `failed`: anything else (timeouts, 5xx: worth retrying).
    The first two say nothing about the video, so they win over `unavailable` wherever they appear in the chain."""
    seen, todo, found = set(), [err], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        found.add(_verdict(e))
        exc_info = getattr(e, "exc_info", None)
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__, exc_info[1] if exc_info else None]
    return next((status for status in _PRIORITY if status in found), "failed")


def is_refusal(reason: str) -> bool:
    """Whether a recorded reason is YouTube refusing us (`rate_limited` or `blocked`). Versions before those statuses
    recorded the rate limit ("Video unavailable. This content isn't available, try again later...") as
    `unavailable`; fetch_clips retries such rows even when told to skip unavailable ones."""
    return classify_error(Exception(reason)) in ("rate_limited", "blocked")


class _QuietLogger:
    """yt-dlp logger that prints nothing: errors reach the manifest through the raised exception."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


_THREAD = threading.local()


def ydl_params(options: FetchOptions, file_urls: bool) -> dict:
    """The yt-dlp options of a download: FetchOptions' format and timeout, then `options.ydl_opts` (cookies, JS
    runtime...) on top."""
    return {
        "outtmpl": "source.%(ext)s", "format": options.format, "noplaylist": True,
        "socket_timeout": options.timeout_s, "retries": 0, "fragment_retries": 0, "cachedir": False,
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": _QuietLogger(),
        # yt-dlp refuses file:// URLs unless asked (--enable-file-urls); the presets serve local "YouTube" files.
        "enable_file_urls": file_urls,
        **copy.deepcopy(options.ydl_opts),  # yt-dlp edits js_runtimes in place
    }


def ydl_opts_error(ydl_opts: dict) -> str | None:
    """What is wrong with the cookie file or JavaScript runtime in `ydl_opts`, or None. yt-dlp itself skips a
    missing cookie file and an unknown runtime with at most a warning (hidden by _QuietLogger), so a typo would
    fetch as a guest and meet the bot check; a malformed cookie file would fail every download instead."""
    import yt_dlp  # noqa: F401  (fills supported_js_runtimes)
    from yt_dlp.cookies import YoutubeDLCookieJar
    from yt_dlp.globals import supported_js_runtimes

    cookies = ydl_opts.get("cookiefile")
    if cookies is not None:
        jar, skipped = YoutubeDLCookieJar(os.fspath(cookies)), io.StringIO()
        try:
            with contextlib.redirect_stderr(skipped):  # yt-dlp prints a warning per line it skips
                jar.load()
        except Exception as err:  # FileNotFoundError, PermissionError, http.cookiejar.LoadError...
            problem = first_line(err)
        else:
            warning = skipped.getvalue().strip().removeprefix("WARNING: ").split("\n")[0][:200]
            problem = None if len(jar) else "no cookie in it" + (f"; {warning}" if warning else "")
        if problem:
            return (f"cookies file {cookies} cannot be used ({problem}): export the cookies of a browser "
                    "logged in to YouTube in Netscape format (yt-dlp's FAQ says how) and pass that file")
    known = sorted(supported_js_runtimes.value)
    for name, config in (ydl_opts.get("js_runtimes") or {}).items():
        if name not in known:
            return f"JavaScript runtime {name!r} is not one yt-dlp knows ({', '.join(known)}): pick one of those"
        where = (config or {}).get("path")
        if where and not os.path.isfile(where):
            return f"JavaScript runtime {name}: {where} is not a file; give the path of the {name} program"
    return None


def _downloader(options: FetchOptions, file_urls: bool):
    """This thread's yt-dlp instance for these options: building one costs ~90 ms (extractor set-up), more than a
    small clip's download, so each worker thread keeps its own and only changes the output template per call."""
    import yt_dlp

    cache = _THREAD.__dict__.setdefault("downloaders", {})
    key = (options.format, options.timeout_s, repr(sorted(options.ydl_opts.items())), file_urls)
    if key not in cache:
        cache[key] = yt_dlp.YoutubeDL(ydl_params(options, file_urls))
    return cache[key]


def download_source(url: str, folder: Path, options: FetchOptions) -> Path:
    """Download the whole video at `url` into `folder` with yt-dlp; returns the file. Raises DownloadFailed."""
    ydl = _downloader(options, url.startswith("file:"))
    ydl.params["outtmpl"] = {"default": str(folder / "source.%(ext)s")}
    try:
        info = ydl.extract_info(url, download=True)
    except Exception as err:  # yt-dlp wraps most errors in DownloadError, but not all (e.g. some OSErrors)
        raise DownloadFailed(classify_error(err), first_line(err)) from err
    paths = [Path(d["filepath"]) for d in (info or {}).get("requested_downloads", []) if d.get("filepath")]
    paths = [p for p in paths if p.is_file()] or sorted(p for p in folder.glob("source.*") if p.suffix != ".part")
    if not paths:
        raise DownloadFailed("failed", f"yt-dlp reported success but wrote no file for {url}")
    return paths[0]


class SourceCache:
    """Whole source videos by YouTube id, `<folder>/<youtube_id>.<ext>`, so that a video listed by two datasets
    (Mini-Kinetics-200 and Kinetics-600) or by two rows is downloaded once and trimmed twice.

    A source enters the cache by an atomic rename from a scratch folder inside it (`.partial-*`), so a cached file
    is complete. Within a process one lock per id makes the second row wait for the first download; two processes
    sharing the folder may both download an id (the later rename wins, both files are whole)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, youtube_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(youtube_id, threading.Lock())

    def find(self, youtube_id: str) -> Path | None:
        """The cached source of `youtube_id`, or None. Ids hold only [A-Za-z0-9_-], so the glob is literal."""
        files = sorted(p for p in self.folder.glob(f"{youtube_id}.*") if p.is_file() and p.suffix != ".part")
        return files[0] if files else None

    def scratch(self) -> Path:
        """A new empty folder on the cache's file system, for one download."""
        return Path(tempfile.mkdtemp(prefix=".partial-", dir=self.folder))

    def keep(self, youtube_id: str, file: Path) -> Path:
        """Move a downloaded `file` into the cache as the source of `youtube_id`; returns its new path."""
        dst = self.folder / f"{youtube_id}{file.suffix}"
        os.replace(file, dst)
        return dst
