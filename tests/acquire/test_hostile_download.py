"""Hostile or broken servers (issue 19), on a real HTTP server on 127.0.0.1: a 206 whose body runs past its
Content-Range, bodies without a length, endless streams, a connection that drops after every byte, a folder as the
destination, and Ctrl-C. Every download ends: verified, or a DownloadError that says what to do."""

import hashlib
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import ctm.acquire.download as download_module
from ctm.acquire.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
FAST = {"backoff_s": 0.0, "progress": False, "retries": 1}


class Hostile:
    """mode: "overrun" (a 206 whose body goes on past its range; 416 never), "unframed" (200, no Content-Length,
    the body cut at half), "endless" (200, no length, junk for ever), "dribble" (Content-Length, one byte, close),
    "stall" (Content-Length, a few bytes, then silence)."""

    def __init__(self, mode: str):
        self.mode, self.requests, self.release = mode, 0, threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                rng = self.headers.get("Range")
                start = int(rng.split("=")[1].rstrip("-")) if rng else 0
                try:
                    if server.mode == "overrun":
                        self.send_response(206 if start else 200)
                        if start:
                            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
                            self.end_headers()
                            self.wfile.write(PAYLOAD[start:] + b"junk" * (1 << 20))  # 4 MiB past the range
                        else:
                            self.send_header("Content-Length", str(len(PAYLOAD)))
                            self.end_headers()
                            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])  # then drop: the client resumes
                    elif server.mode in ("unframed", "endless"):
                        self.send_response(200)
                        self.end_headers()
                        if server.mode == "unframed":
                            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
                        else:
                            for _ in range(64):
                                self.wfile.write(b"x" * (1 << 16))
                    elif server.mode == "dribble":
                        self.send_response(206 if start else 200)
                        if start:
                            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
                        self.send_header("Content-Length", str(len(PAYLOAD) - start))
                        self.end_headers()
                        self.wfile.write(PAYLOAD[start : start + 1])
                    else:  # stall
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(PAYLOAD)))
                        self.end_headers()
                        self.wfile.write(PAYLOAD[:1000])
                        self.wfile.flush()
                        server.release.wait(30)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/file.bin"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()


@pytest.fixture
def hostile():
    servers = []

    def make(mode):
        servers.append(Hostile(mode))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def within(seconds: float, fn):
    """fn()'s result or exception, failing the test if it has not ended after `seconds` (it may never end)."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            result["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still downloading after {seconds} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_206_body_past_its_range_stops_at_the_announced_size(hostile, tmp_path):
    server = hostile("overrun")
    dest = within(30, lambda: download(server.url, tmp_path / "file.bin", sha256=SHA256, **FAST))
    assert dest.read_bytes() == PAYLOAD and not Path(f"{dest}.part").exists()


def test_body_without_length_and_without_checksum_is_not_a_success(hostile, tmp_path):
    server = hostile("unframed")
    with pytest.raises(DownloadError, match="sent no size and no checksum is given"):
        within(30, lambda: download(server.url, tmp_path / "file.bin", **FAST))
    assert not (tmp_path / "file.bin").exists()
    with pytest.raises(DownloadError, match="does not start with|expected"):  # with a checksum the cut is caught
        within(30, lambda: download(server.url, tmp_path / "other.bin", sha256=SHA256, **FAST))


def test_endless_body_is_bounded(hostile, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "MAX_BYTES", 1 << 20)
    server = hostile("endless")
    with pytest.raises(DownloadError, match="more than 1048576 bytes arrived"):
        within(30, lambda: download(server.url, tmp_path / "file.bin", sha256=SHA256, **FAST))
    assert (tmp_path / "file.bin.part").stat().st_size <= 1 << 20


def test_a_byte_per_connection_does_not_retry_for_ever(hostile, tmp_path):
    server = hostile("dribble")
    with pytest.raises(DownloadError, match="after .* tries"):
        within(60, lambda: download(server.url, tmp_path / "file.bin", sha256=SHA256, **FAST))
    assert server.requests == download_module.MAX_TRIES_PER_RETRY * (FAST["retries"] + 1)


def test_a_folder_as_destination_is_an_error(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(PAYLOAD)
    (tmp_path / "folder").mkdir()
    with pytest.raises(DownloadError, match="is a folder"):
        download(source.as_uri(), tmp_path / "folder", progress=False)
    result = subprocess.run([sys.executable, "-m", "ctm.cli", "download", source.as_uri(), "--out",
                             str(tmp_path / "folder"), "--no-progress"], capture_output=True, text=True)
    assert result.returncode == 2 and "is a folder" in result.stderr


def test_ctrl_c_during_a_download_is_a_sentence_and_keeps_the_part(hostile, tmp_path):
    server = hostile("stall")
    dest = tmp_path / "file.bin"
    # a shell's background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
    proc = subprocess.Popen([sys.executable, "-m", "ctm.cli", "download", server.url, "--out", str(dest),
                             "--no-progress"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not (Path(f"{dest}.part").exists() and Path(f"{dest}.part").stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert Path(f"{dest}.part").stat().st_size == 1000
