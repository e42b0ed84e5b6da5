"""Pretrained weights: fetch (through ctm.acquire.download, against a real HTTP server on 127.0.0.1) and loading."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from ctm.models import CTMNet, resnet50
from ctm.models.pretrained import PretrainedError, fetch, load_pretrained


def write_checkpoint(tmp_path, with_counters: bool, name_hash: bool = True):
    """A state dict in torchvision's layout (written by our resnet50, whose keys are torchvision's)."""
    state = resnet50(num_classes=1000, width=0.0625).state_dict()
    if not with_counters:
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    raw = tmp_path / "raw.pth"
    torch.save(state, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    path = tmp_path / (f"resnet50-{digest[:8]}.pth" if name_hash else "resnet50.pth")
    raw.rename(path)
    return path, state


@pytest.mark.parametrize("with_counters", [True, False])
def test_backbone_loads_strictly_except_head_and_ctm_blocks(tmp_path, with_counters):
    path, state = write_checkpoint(tmp_path, with_counters)
    model = CTMNet(50, num_classes=7, num_segments=4, input_size=64, width=0.0625, ctm_stage="res4", ctm_after=(5,))
    left = load_pretrained(model, str(path))
    assert left and all(k.startswith(("fc.", "ctm_blocks.")) for k in left)
    assert torch.equal(model.layer3[2].conv2.weight, state["layer3.2.conv2.weight"])


def test_hash_mismatch_is_refused_and_kept_aside(tmp_path):
    path, _ = write_checkpoint(tmp_path, True)
    bad = path.with_name("resnet50-00000000.pth")
    path.rename(bad)
    with pytest.raises(PretrainedError, match="does not start with 00000000"):
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(bad))
    assert not bad.exists() and bad.with_name(bad.name + ".bad").exists()


def test_other_architecture_is_an_error_listing_keys(tmp_path):
    path, _ = write_checkpoint(tmp_path, True, name_hash=False)
    shapes = r"does not match the model: \d+ shape mismatches .*conv1.weight \(4, 3, 7, 7\) vs \(8, 3, 7, 7\)"
    with pytest.raises(PretrainedError, match=shapes):
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.125), str(path))
    with pytest.raises(PretrainedError, match=r"missing \['layer3.6.conv1.weight"):
        load_pretrained(CTMNet(101, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(path))


def test_unknown_spec(tmp_path):
    with pytest.raises(PretrainedError, match="not a known name"):
        load_pretrained(CTMNet(50, width=0.0625, input_size=64), str(tmp_path / "nope.pth"))


# fetch() (formerly tests/models/test_download.py, whose name clashed with tests/acquire/test_download.py)
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
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
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


class RunsCode:
    """Unpickling this calls os.system: what a crafted "weights" file does to a loader that trusts pickles."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("layout", ["torch.save", "plain pickle"])
def test_a_malicious_pickle_as_weights_runs_nothing_and_is_one_line(tmp_path, layout):
    import pickle

    marker = tmp_path / "ran"
    path = tmp_path / "resnet50.pth"
    if layout == "torch.save":
        torch.save({"conv1.weight": torch.zeros(1), "evil": RunsCode(marker)}, path)
    else:  # a bare pickle in torch's protocol 2, read up to the call
        path.write_bytes(pickle.dumps({"evil": RunsCode(marker)}, protocol=2))
    with pytest.raises(PretrainedError, match=rf"^{path}: asks to load \w+\.system, not only tensors, and was refused "
                       "unexecuted") as err:
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(path))
    assert "\n" not in str(err.value) and not marker.exists()


@pytest.mark.parametrize("content, message", [
    (None, r"not a readable PyTorch weights file"),  # a real checkpoint cut in half
    (b"<html>Not found</html>", r"not a readable PyTorch weights file"),
    ([1, 2, 3], r"holds list, not a state dict"),
    ({"state_dict": {}, "epoch": 3}, r"holds a dict of other values, not a state dict"),
])
def test_a_cut_or_foreign_weights_file_is_one_line_naming_it(tmp_path, content, message):
    path, _ = write_checkpoint(tmp_path, True, name_hash=False)
    if content is None:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(PretrainedError, match=rf"^{path}: {message}") as err:
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(path))
    assert "\n" not in str(err.value) and "torch.save(model.state_dict())" in str(err.value)
