"""A run exported as a bundle and imported elsewhere: over a real HTTP server on 127.0.0.1, verified, evaluated again
in a fresh folder with the same metrics; hostile and damaged archives refused before anything is unpacked."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ctm.cli import main
from ctm.engine.bundle import MEMBERS, BundleError, bundle_members, export_run
from ctm.engine.bundle_import import import_run

EXPERIMENT = "mk200_r50_tsn"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_training_dir):
    """A tiny trained and evaluated run, and its bundle: (base, run folder, bundle path, export result)."""
    base = tmp_path_factory.mktemp("bundle")
    params = str(tiny_training_dir(base))
    run = base / "results" / "run"
    common = ["--params", params, "--threads", "1", "--no-progress"]
    assert main(["train", "--experiment", EXPERIMENT, "--root", str(base / "data"), "--out", str(run), *common]) == 0
    assert main(["evaluate", "--experiment", EXPERIMENT, "--root", str(base / "data"), "--run-dir", str(run),
                 *common]) == 0
    bundle = base / "share" / f"{EXPERIMENT}-seed0.tar.gz"
    from ctm.config import load_config
    from ctm.pipeline.dvc_models import served_cells

    result = export_run(run, bundle, served_cells(load_config(params)))
    return base, run, bundle, result


@pytest.fixture
def http_server(exported):
    """A real HTTP server on 127.0.0.1 serving the bundle's folder; yields its base URL."""
    folder = exported[2].parent
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bundle_holds_the_model_zoo_row_and_is_byte_reproducible(exported, tmp_path):
    base, run, bundle, result = exported
    data = bundle.read_bytes()
    assert result["sha256"] == hashlib.sha256(data).hexdigest() and result["experiment"] == EXPERIMENT
    with tarfile.open(bundle) as tar:
        assert tar.getnames() == list(MEMBERS)
        manifest = json.loads(tar.extractfile("manifest.json").read())
        readme = tar.extractfile("README.md").read().decode()
        assert tar.extractfile("checkpoint.pt").read() == (run / "checkpoint.pt").read_bytes()
    assert manifest["cells"] == ["table1.baseline", "table2.baseline", "table3.baseline",
                                 "table6.baseline.mini_kinetics_200"]
    assert manifest["metrics"]["top1"] == json.loads((run / "metrics.json").read_text())["top1"]
    assert "table1.baseline" in readme and "ctm import-run" in readme
    again = export_run(run, tmp_path / "again.tar.gz", {EXPERIMENT: manifest["cells"]})
    assert again["sha256"] == result["sha256"]  # no time, owner or path of this machine in the archive


def test_imported_from_a_url_it_evaluates_to_the_same_metrics_in_a_fresh_folder(exported, http_server, tmp_path):
    base, run, bundle, result = exported
    fresh = tmp_path / "clone"  # a fresh checkout: params.yaml and the dataset, no results
    fresh.mkdir()
    shutil.copy(base / "params.yaml", fresh / "params.yaml")
    out = fresh / "runs" / "imported"
    assert main(["import-run", f"{http_server}/{bundle.name}", "--out", str(out), "--sha256", result["sha256"],
                 "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(MEMBERS)
    assert not (fresh / "runs" / ".imported.download").exists()
    published = json.loads((out / "metrics.json").read_text())
    (out / "metrics.json").unlink()
    assert main(["evaluate", "--experiment", EXPERIMENT, "--root", str(base / "data"), "--run-dir", str(out),
                 "--params", str(fresh / "params.yaml"), "--threads", "1", "--no-progress"]) == 0
    again = json.loads((out / "metrics.json").read_text())
    assert {k: again[k] for k in ("top1", "top5", "correct", "num_videos")} == {
        k: published[k] for k in ("top1", "top5", "correct", "num_videos")}


def test_a_wrong_published_sha256_is_refused_before_unpacking(exported, http_server, tmp_path, capsys):
    bundle = exported[2]
    assert main(["import-run", f"{http_server}/{bundle.name}", "--out", str(tmp_path / "run"), "--sha256",
                 "0" * 64, "--no-progress"]) == 2
    assert "sha256" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_importing_the_same_bundle_twice_writes_nothing_and_another_folder_is_refused(exported, tmp_path):
    bundle = exported[2]
    first = import_run(str(bundle), tmp_path / "run", progress=False)
    assert not first["unchanged"]
    assert import_run(bundle.as_uri(), tmp_path / "run", progress=False)["unchanged"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="exists and holds other files"):
        import_run(str(bundle), tmp_path / "other", progress=False)


def _archive(path, members: dict[str, bytes], link: str | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)


@pytest.mark.parametrize("damage, message", [
    ("traversal", "is not one of a bundle's files"),
    ("symlink", "is not a plain file"),
    ("tampered", "the manifest says"),
    ("format", "not 'ctm-run-bundle/1'"),
    ("cut", "not a readable .tar.gz"),
])
def test_hostile_or_damaged_bundles_unpack_nothing(exported, tmp_path, damage, message):
    members = bundle_members(exported[1], None)
    path = tmp_path / "bad.tar.gz"
    if damage == "traversal":
        _archive(path, {**members, "../evil.py": b"import os"})
    elif damage == "symlink":
        del members["README.md"]
        _archive(path, members, link="README.md")
    elif damage == "tampered":
        _archive(path, {**members, "log.jsonl": members["log.jsonl"] + b"{}\n"})
    elif damage == "format":
        manifest = json.loads(members["manifest.json"])
        _archive(path, {**members, "manifest.json": json.dumps({**manifest, "format": "old"}).encode()})
    else:
        _archive(path, members)
        path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(BundleError, match=message):
        import_run(str(path), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists() and not (tmp_path.parent / "evil.py").exists()
    assert not list(tmp_path.glob(".run.*"))
