"""Several URLs per file (ctm.acquire.mirrors), from a real HTTP server on 127.0.0.1: the first mirror answers 404,
announces or sends another size, or sends other bytes; the second is good. Each failure is reported, the next mirror
gives the file, and when all fail the error names every URL and why."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ctm.acquire.download import DownloadError, download
from ctm.acquire.mirrors import download_any
from ctm.cli import main

PAYLOAD = bytes(range(256)) * 512  # 128 KiB
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()
OTHER = PAYLOAD[::-1]  # same size, other bytes
FAST = {"backoff_s": 0.0, "progress": False, "retries": 1, "wait_s": 0}


def answer(path: str) -> tuple[int, dict, bytes]:
    """What the server sends for each mirror path."""
    if path == "/good/f.bin":
        return 200, {"Content-Length": str(len(PAYLOAD))}, PAYLOAD
    if path == "/other/f.bin":  # another file of the same size
        return 200, {"Content-Length": str(len(OTHER))}, OTHER
    if path == "/longer/f.bin":  # announces (and sends) 10 bytes more
        return 200, {"Content-Length": str(len(PAYLOAD) + 10)}, PAYLOAD + b"0123456789"
    if path == "/unsized/f.bin":  # no Content-Length; the body ends early (HTTP/1.0: the connection closes)
        return 200, {}, PAYLOAD[:-100]
    return 404, {"Content-Length": "0"}, b""


@pytest.fixture(scope="module")
def base():
    requests = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            status, headers, body = answer(self.path)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("first, checks, why", [
    ("missing", {}, "HTTP 404"),
    ("longer", {"size": len(PAYLOAD)}, f"the server announces {len(PAYLOAD) + 10} bytes, not the {len(PAYLOAD)} "
                                       "expected"),
    ("unsized", {"size": len(PAYLOAD)}, f"size is {len(PAYLOAD) - 100} bytes, expected {len(PAYLOAD)}"),
    ("other", {"sha256": SHA256}, f"sha256 is {hashlib.sha256(OTHER).hexdigest()}, expected {SHA256}"),
    ("other", {"md5": MD5}, f"md5 is {hashlib.md5(OTHER).hexdigest()}, expected {MD5}"),
])
def test_a_failing_first_mirror_is_reported_and_the_second_gives_the_file(base, tmp_path, capsys, first, checks,
                                                                          why):
    dest = tmp_path / "f.bin"
    urls = [f"{base}/{first}/f.bin", f"{base}/good/f.bin"]
    assert download_any(urls, dest, **checks, **FAST) == (dest, urls[1])
    assert dest.read_bytes() == PAYLOAD
    err = capsys.readouterr().err
    assert f"f.bin: mirror 1 of 2 failed ({urls[0]}: {why}" in err and f"trying {urls[1]}" in err
    record = json.loads((tmp_path / "f.bin.verified").read_text())
    assert record["url"] == urls[1] and record["size"] == len(PAYLOAD) and record["sha256"] == SHA256
    assert sorted(record["checked"]) == sorted(checks)
    assert not (tmp_path / "f.bin.part").exists()
    bad = tmp_path / "f.bin.bad"  # bytes that arrived and failed a check are kept aside, never used
    assert bad.exists() == (first in ("unsized", "other"))


def test_a_good_copy_is_not_fetched_again_from_any_mirror(base, tmp_path):
    dest = tmp_path / "f.bin"
    download_any([f"{base}/good/f.bin"], dest, size=len(PAYLOAD), sha256=SHA256, **FAST)
    urls = [f"{base}/missing/f.bin", f"{base}/other/f.bin"]  # neither could give it: nothing is asked of them
    assert download_any(urls, dest, size=len(PAYLOAD), sha256=SHA256, **FAST) == (dest, urls[0])
    assert dest.read_bytes() == PAYLOAD


def test_when_every_mirror_fails_the_error_names_each_url_and_why(base, tmp_path):
    urls = [f"{base}/missing/f.bin", f"{base}/longer/f.bin", f"{base}/other/f.bin"]
    with pytest.raises(DownloadError) as err:
        download_any(urls, tmp_path / "f.bin", size=len(PAYLOAD), sha256=SHA256, **FAST)
    message = str(err.value)
    assert "\n" not in message and message.startswith("f.bin: all 3 mirrors failed: ")
    assert f"[1] {urls[0]}: HTTP 404" in message
    assert f"[2] {urls[1]}: the server announces {len(PAYLOAD) + 10} bytes" in message
    assert f"[3] {urls[2]}: sha256 is {hashlib.sha256(OTHER).hexdigest()}, expected {SHA256}" in message
    assert "add a working mirror to the file's `urls` in params.yaml" in message
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.verified").exists()


def test_a_present_file_of_another_size_is_not_taken(base, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(PAYLOAD[:-1])  # left by hand, one byte short
    assert download(f"{base}/good/f.bin", dest, size=len(PAYLOAD), **FAST).read_bytes() == PAYLOAD
    assert (tmp_path / "f.bin.bad").read_bytes() == PAYLOAD[:-1]


def test_ctm_download_takes_mirrors_and_a_size(base, tmp_path, capsys):
    out = tmp_path / "f.bin"
    code = main(["download", f"{base}/missing/f.bin", f"{base}/good/f.bin", "--out", str(out), "--size",
                 str(len(PAYLOAD)), "--sha256", SHA256, "--retries", "0", "--no-progress"])
    assert code == 0 and out.read_bytes() == PAYLOAD
    summary = json.loads(capsys.readouterr().out)
    assert summary["url"] == f"{base}/good/f.bin" and summary["size"] == len(PAYLOAD)
    assert sorted(summary["checked"]) == ["sha256", "size"]
