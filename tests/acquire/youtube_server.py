"""The local "YouTube" of the fetch tests: synthetic source videos served over HTTP on 127.0.0.1, the helpers that
build rows and check clips, and yt-dlp's exact YouTube refusal messages. Fixtures `sources` and `server` are in
conftest.py. Source frame i has brightness 8 + 7 i, so a decoded clip tells which frames it kept."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctm.data.video_io import read_video, write_video

FPS, FRAMES = 8, 32  # 4 s sources
DASH_ID, PLAIN_ID, MISSING_ID = "--nQbRBEz2s", "abcdefghijk", "missing0001"


def brightness(index: int) -> int:
    return 8 + 7 * index


def write_source(folder: Path, youtube_id: str) -> None:
    frames = np.stack([np.full((64, 64, 3), brightness(i), np.uint8) for i in range(FRAMES)])
    write_video(folder / f"{youtube_id}.mp4", frames, FPS)


def clip_rows(windows: list[tuple[str, int, int]]) -> pd.DataFrame:
    rows = pd.DataFrame(windows, columns=["youtube_id", "time_start", "time_end"])
    rows["video"] = [f"videos/{y}_{s:06d}_{e:06d}.mp4" for y, s, e in windows]
    return rows


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # yt-dlp's generic extractor reads the start of a file and hangs up: broken pipes are expected


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests[self.path] += 1
        self.server.log.append((self.path, self.server.clock(), self.headers.get("Cookie")))
        if self.path in self.server.refuse:  # (HTTP status, reason phrase), answered every time
            self.send_error(*self.server.refuse[self.path])
            return
        if self.server.fail_first.get(self.path, 0) > 0:
            self.server.fail_first[self.path] -= 1
            self.send_error(503, "busy")
            return
        super().do_GET()


@contextmanager
def serve(folder: Path):
    """An HTTP server of `folder` on 127.0.0.1 with `template` (a url template), `requests` (a Counter of paths),
    `log` ([(path, clock(), Cookie header)]), `clock` (settable), `fail_first` ({path: 503s before serving}) and
    `refuse` ({path: (status, reason phrase) answered every time})."""
    srv = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    srv.requests, srv.fail_first, srv.refuse, srv.log, srv.clock = Counter(), {}, {}, [], time.monotonic
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.template = f"http://127.0.0.1:{srv.server_address[1]}/{{youtube_id}}.mp4"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def check_clip(path: Path, first: int, last: int) -> None:
    import decord

    frames = read_video(path)
    assert len(frames) == last - first + 1
    assert abs(int(frames[0].mean()) - brightness(first)) <= 3
    assert abs(int(frames[-1].mean()) - brightness(last)) <= 3
    assert decord.VideoReader(str(path)).get_avg_fps() == pytest.approx(FPS)


# yt-dlp's YouTube messages as its extractor (yt_dlp/extractor/youtube/_video.py) builds them: the rate limit is
# YouTube's reason "Video unavailable" plus its subreason, then yt-dlp's explanation; the bot check ends with the
# cookie hint.
RATE_LIMITED = ("Video unavailable. This content isn't available, try again later. The current session has been "
                "rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a delay between "
                "video requests to avoid exceeding the rate limit. For more information, refer to  "
                "https://github.com/yt-dlp/yt-dlp/wiki/Extractors#this-content-isnt-available-try-again-later")
BOT_CHECK = ("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies for the "
             "authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  "
             "for how to manually pass cookies. Also see  "
             "https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  "
             "for tips on effectively exporting YouTube cookies")
