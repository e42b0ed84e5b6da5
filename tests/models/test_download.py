"""The weights download path against a real HTTP server on 127.0.0.1: resume, retries, hash checks."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ctm.models.pretrained import PretrainedError, fetch

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """Serves PAYLOAD at any path, honours Range, and can drop the first connection after `drop_after` bytes."""

    def __init__(self):
        self.drop_after: int | None = None
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = int(rng.split("=")[1].rstrip("-")) if rng else 0
                body = PAYLOAD[start:]
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drop_after is not None:
                    cut, server.drop_after = server.drop_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.close()  # dropped mid-download
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


def test_download_verifies_and_is_not_fetched_again(server, tmp_path):
    path = fetch(f"{server.url}/resnet50-{DIGEST[:8]}.pth", tmp_path, backoff_s=0)
    assert path.read_bytes() == PAYLOAD and not list(tmp_path.glob("*.part"))
    fetch(f"{server.url}/resnet50-{DIGEST[:8]}.pth", tmp_path, backoff_s=0)
    assert len(server.ranges) == 1


def test_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    server.drop_after = 300_000
    path = fetch(f"{server.url}/resnet50-{DIGEST[:8]}.pth", tmp_path, backoff_s=0)
    assert path.read_bytes() == PAYLOAD
    assert server.ranges == [None, "bytes=300000-"]


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    name = f"resnet50-{DIGEST[:8]}.pth"
    (tmp_path / (name + ".part")).write_bytes(PAYLOAD[:12345])
    assert fetch(f"{server.url}/{name}", tmp_path, backoff_s=0).read_bytes() == PAYLOAD
    assert server.ranges == ["bytes=12345-"]


def test_wrong_hash_is_refused_and_kept_aside(server, tmp_path):
    with pytest.raises(PretrainedError, match="does not start with deadbeef"):
        fetch(f"{server.url}/resnet50-deadbeef.pth", tmp_path, backoff_s=0)
    assert not (tmp_path / "resnet50-deadbeef.pth").exists()
    assert (tmp_path / "resnet50-deadbeef.pth.bad").exists()


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(PretrainedError, match="after 2 tries"):
        fetch("http://127.0.0.1:9/resnet50-00000000.pth", tmp_path, retries=1, backoff_s=0, timeout=2)
