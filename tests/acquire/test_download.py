"""ctm.acquire.download against a real HTTP server on 127.0.0.1 that honours Range and injects failures."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ctm.acquire.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 8192  # 2 MiB
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()
FAST = {"backoff_s": 0.01, "progress": False}


class Server:
    """Serves `files`; each request takes the next entry of `faults`: ("status", code), ("drop", n): close the
    connection after n body bytes, ("stall", n): send n body bytes and hang. `ignore_range` answers 200 to Range."""

    def __init__(self):
        self.files = {"/data.bin": PAYLOAD}
        self.faults: list[tuple[str, int]] = []
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                kind, arg = server.faults.pop(0) if server.faults else (None, 0)
                data = server.files.get(self.path)
                if kind == "status" or data is None:
                    self.send_error(arg if kind == "status" else 404)
                    return
                start = int(rng.split("=")[1].rstrip("-")) if rng and not server.ignore_range else None
                if start is not None and start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200 if start is None else 206)
                if start is not None:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                body = data[start or 0:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind in ("drop", "stall"):
                    self.wfile.write(body[:arg])
                    self.wfile.flush()
                    if kind == "stall":
                        server.release.wait(20)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.release.set()
    s.httpd.shutdown()
    s.httpd.server_close()


def test_download_verifies_records_and_is_never_fetched_again(server, tmp_path):
    dest = tmp_path / "sub" / "data.bin"
    assert download(f"{server.url}/data.bin", dest, sha256=SHA256, md5=MD5, **FAST) == dest
    assert dest.read_bytes() == PAYLOAD and sorted(p.name for p in dest.parent.iterdir()) == [
        ".data.bin.lock", "data.bin", "data.bin.verified"]  # the lock file stays (ctm.locking)
    record = json.loads((tmp_path / "sub" / "data.bin.verified").read_text())
    assert (record["sha256"], record["md5"], record["size"], record["checked"]) == (SHA256, MD5, len(PAYLOAD),
                                                                                    ["sha256", "md5"])
    download(f"{server.url}/data.bin", dest, sha256=SHA256, **FAST)
    download(f"{server.url}/data.bin", dest, md5=MD5.upper(), **FAST)
    download(f"{server.url}/data.bin", dest, **FAST)
    assert len(server.requests) == 1


def test_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    server.faults = [("drop", 300_000), ("drop", 200_000)]  # tries that add bytes do not use up a retry
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA256, retries=0, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/data.bin", None), ("/data.bin", "bytes=300000-"), ("/data.bin", "bytes=500000-")]


def test_timeout_resumes_too(server, tmp_path):
    server.faults = [("stall", 500_000)]
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA256, timeout_s=0.5, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[1] == ("/data.bin", "bytes=500000-")


def test_killed_process_is_resumed_by_the_next_run(server, tmp_path):
    server.faults = [("stall", 1_000_000)]
    dest, part = tmp_path / "data.bin", tmp_path / "data.bin.part"
    code = f"from ctm.acquire.download import download; download({server.url + '/data.bin'!r}, {str(dest)!r})"
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not (part.exists() and part.stat().st_size >= 900_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.kill()
    child.wait()
    have = part.stat().st_size
    assert 900_000 <= have <= 1_000_000 and not dest.exists()
    assert download(f"{server.url}/data.bin", dest, sha256=SHA256, **FAST).read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/data.bin", f"bytes={have}-")


def test_5xx_is_retried_with_back_off_until_the_tries_run_out(server, tmp_path):
    server.faults = [("status", 503), ("status", 502)]
    assert download(f"{server.url}/data.bin", tmp_path / "a.bin", **FAST).read_bytes() == PAYLOAD
    assert len(server.requests) == 3
    server.faults = [("status", 503)] * 3
    with pytest.raises(DownloadError, match=r"/data.bin after 3 tries: HTTP 503"):
        download(f"{server.url}/data.bin", tmp_path / "b.bin", retries=2, **FAST)


@pytest.mark.parametrize("code", [404, 403])
def test_404_and_403_fail_at_once(server, tmp_path, code):
    server.faults = [("status", code)]
    start = time.monotonic()
    with pytest.raises(DownloadError, match=rf"{server.url}/data.bin: HTTP {code}"):
        download(f"{server.url}/data.bin", tmp_path / "x.bin", retries=4, backoff_s=10, progress=False)
    assert time.monotonic() - start < 5 and len(server.requests) == 1
    assert [p.name for p in tmp_path.iterdir()] == [".x.bin.lock"]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.ignore_range = True
    (tmp_path / "data.bin.part").write_bytes(b"\xff" * 12345)  # would corrupt the file if appended to
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA256, **FAST)
    assert dest.read_bytes() == PAYLOAD and server.requests == [("/data.bin", "bytes=12345-")]


def test_complete_part_answered_416_is_verified_without_refetching(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", md5=MD5, **FAST)
    assert dest.read_bytes() == PAYLOAD and server.requests == [("/data.bin", f"bytes={len(PAYLOAD)}-")]


def test_checksum_mismatch_keeps_the_file_aside_and_names_both_digests(server, tmp_path):
    url, dest = f"{server.url}/data.bin", tmp_path / "data.bin"
    with pytest.raises(DownloadError, match=rf"{url}: sha256 is {SHA256}, expected {'0' * 64}"):
        download(url, dest, sha256="0" * 64, **FAST)
    with pytest.raises(DownloadError, match=rf"md5 is {MD5}, expected {'1' * 32}"):
        download(url, dest, md5="1" * 32, **FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".data.bin.lock", "data.bin.bad", "data.bin.bad.2"]
    assert (tmp_path / "data.bin.bad").read_bytes() == PAYLOAD


def test_present_file_is_checked_when_a_checksum_is_given(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    download(f"{server.url}/data.bin", dest, sha256=SHA256[:8], **FAST)  # right: recorded, not fetched
    assert server.requests == [] and (tmp_path / "data.bin.verified").exists()
    dest.write_bytes(b"wrong")  # changed since: the record no longer applies
    download(f"{server.url}/data.bin", dest, sha256=SHA256, **FAST)
    assert dest.read_bytes() == PAYLOAD and (tmp_path / "data.bin.bad").read_bytes() == b"wrong"
    assert len(server.requests) == 1
    with pytest.raises(DownloadError, match=r"data.bin \(downloaded earlier\) is moved aside to .*data.bin.bad.2"):
        download(f"{server.url}/data.bin", dest, md5="2" * 32, **FAST)  # same URL: not fetched again for nothing
    assert len(server.requests) == 1 and not dest.exists()
    with pytest.raises(DownloadError, match="sha256 'abc' is not a hex digest"):
        download(f"{server.url}/data.bin", dest, sha256="abc", **FAST)


def test_file_url_with_resume(tmp_path):
    source = tmp_path / "internet" / "data set.bin"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:1000])
    dest = download(source.as_uri(), tmp_path / "data.bin", sha256=SHA256, **FAST)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="no such file"):
        download((tmp_path / "internet" / "nope.bin").as_uri(), tmp_path / "nope.bin", **FAST)


def test_unreachable_server_gives_up_and_keeps_nothing(tmp_path):
    with pytest.raises(DownloadError, match=r"http://127.0.0.1:9/x.bin after 2 tries"):
        download("http://127.0.0.1:9/x.bin", Path(tmp_path / "x.bin"), retries=1, timeout_s=2, **FAST)


def _stalled_first_run(server, tmp_path):
    """A first download in a thread, stalled by the server after 300000 bytes until server.release is set; returns
    (url, dest, thread) once its .part file exists."""
    server.faults = [("stall", 300_000)]
    url, dest = f"{server.url}/data.bin", tmp_path / "data.bin"
    first = threading.Thread(target=download, args=(url, dest), kwargs=FAST)
    first.start()
    deadline = time.monotonic() + 15
    while not (tmp_path / "data.bin.part").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return url, dest, first


def test_a_second_download_of_the_same_file_is_refused_naming_the_first(server, tmp_path):
    """Two runs to one --out without a checksum used to append to one .part: a corrupt file recorded as verified."""
    import os

    from ctm.locking import LockedError

    url, dest, first = _stalled_first_run(server, tmp_path)
    try:
        with pytest.raises(LockedError, match=rf"{dest}: another run \(pid {os.getpid()}, ctm download\) is writing"):
            download(url, dest, wait_s=0, **FAST)
    finally:
        server.release.set()  # the first run's connection ends: it resumes and finishes
        first.join(30)
    assert dest.read_bytes() == PAYLOAD and json.loads((tmp_path / "data.bin.verified").read_text())["size"] == len(
        PAYLOAD)
    assert [rng for _, rng in server.requests] == [None, "bytes=300000-"]


def test_a_waiting_download_finds_the_file_done_and_fetches_nothing(server, tmp_path, capfd):
    url, dest, first = _stalled_first_run(server, tmp_path)
    threading.Timer(0.5, server.release.set).start()
    assert download(url, dest, sha256=SHA256, wait_s=30, **FAST).read_bytes() == PAYLOAD  # waits, then only hashes
    first.join(30)
    assert len(server.requests) == 2 and "another run is downloading it" in capfd.readouterr().err
