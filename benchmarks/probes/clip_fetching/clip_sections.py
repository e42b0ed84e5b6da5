"""Whole-source download + PyAV trim (what `ctm fetch-clips` does) against yt-dlp's window-only download
(`download_ranges`, i.e. `--download-sections`, with and without `force_keyframes_at_cuts`), for one 10 s window
of a 300 s 1280x720 H.264 source served with range requests on 127.0.0.1. Results: docs/kinetics_clips.md.

Needs an ffmpeg binary, which the project's machines lack, e.g. the one inside the imageio-ffmpeg wheel:
    pip install --no-deps --target /tmp/iioff imageio_ffmpeg-0.6.0-py3-none-manylinux2014_x86_64.whl
    python -m benchmarks.probes.clip_fetching.clip_sections \
        --ffmpeg /tmp/iioff/imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2
yt-dlp looks for ffmpeg on PATH under that name for section downloads, so the script links it as `ffmpeg` into a
scratch folder put first on PATH.
"""

from __future__ import annotations

import argparse
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import yt_dlp
from yt_dlp.utils import download_range_func

from ctm.acquire.trim import trim_video

START, END = 150, 160


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the files of server.folder with single byte ranges (ffmpeg seeks with them)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = self.server.folder / self.path.strip("/")
        size = path.stat().st_size
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        first, last = (int(match[1]), int(match[2]) if match[2] else size - 1) if match else (0, size - 1)
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(last - first + 1))
        if match:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(first)
            try:
                self.wfile.write(f.read(last - first + 1))
            except (BrokenPipeError, ConnectionResetError):
                pass  # yt-dlp's generic extractor and ffmpeg hang up on purpose


def _source(ffmpeg: str, folder: Path) -> Path:
    """300 s of 1280x720 30 fps H.264 at 1.5 Mbit/s, key frame every 2 s, moov first: like a YouTube 720p avc1."""
    path = folder / "srcvideo01.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-t", "300", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k", "-maxrate", "2M",
                    "-bufsize", "4M", "-g", "60", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
                   check=True)
    return path


def _fetch(url: str, trim_from: float, **ydl_opts) -> tuple[float, float, float, int]:
    """(download s, trim s, MB downloaded, frames) of one download of `url` and the PyAV trim of the window."""
    folder = Path(tempfile.mkdtemp())
    try:
        t0 = time.perf_counter()
        ydl = yt_dlp.YoutubeDL({"outtmpl": str(folder / "source.%(ext)s"), "quiet": True, "no_warnings": True,
                                "noprogress": True, "retries": 0, "cachedir": False, **ydl_opts})
        src = Path(ydl.extract_info(url, download=True)["requested_downloads"][0]["filepath"])
        t1 = time.perf_counter()
        info = trim_video(src, folder / "clip.mp4", trim_from, trim_from + END - START)
        return t1 - t0, time.perf_counter() - t1, src.stat().st_size / 1e6, info["frames"]
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ffmpeg", required=True, help="an ffmpeg binary (any file name)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "bin").mkdir()
        os.symlink(os.path.abspath(args.ffmpeg), scratch / "bin" / "ffmpeg")
        os.environ["PATH"] = f"{scratch / 'bin'}{os.pathsep}{os.environ['PATH']}"
        source = _source(args.ffmpeg, scratch)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads, server.folder = True, scratch
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{source.name}"
        sections = download_range_func(None, [(START, END)])
        methods = {
            "whole source + PyAV trim": lambda: _fetch(url, START),
            "sections, stream copy + PyAV trim": lambda: _fetch(url, 0, download_ranges=sections),
            "sections, keyframes at cuts + PyAV trim": lambda: _fetch(url, 0, download_ranges=sections,
                                                                      force_keyframes_at_cuts=True),
        }
        print(f"source {source.stat().st_size / 1e6:.1f} MB, window [{START}, {END}) s")
        for _ in range(args.runs):
            for name, run in methods.items():
                dl, trim, mb, frames = run()
                print(f"{name:40s} download {dl:5.2f} s  trim {trim:5.2f} s  total {dl + trim:5.2f} s  "
                      f"kept {mb:5.1f} MB  frames {frames}", flush=True)
        server.shutdown()


if __name__ == "__main__":
    main()
