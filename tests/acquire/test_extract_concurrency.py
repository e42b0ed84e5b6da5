"""Issue 27, item 2: two `ctm extract` into one `--out` never share a staging folder. The second one waits for the
first (up to --wait seconds) or says which run holds `--out`; both end with the whole tree and one marker."""

from __future__ import annotations

import io
import multiprocessing
import tarfile
import time
from pathlib import Path

import pytest

from ctm import cli
from ctm.acquire.extract import extract
from ctm.errors import UserError
from ctm.locking import exclusive

FILES = {f"top/{i // 50}/{i}.txt": f"{i}".encode() * 200 for i in range(300)}


def tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".extracted-")}


def _hold(target, ready, release):
    with exclusive(target, "ctm extract"):
        ready.set()
        release.wait(20)


@pytest.fixture
def holder():
    """Another process holding `--out`'s lock, as a running `ctm extract` does; released on request."""
    ctx = multiprocessing.get_context("fork")
    started = []

    def hold(target: Path):
        ready, release = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=_hold, args=(target, ready, release))
        proc.start()
        assert ready.wait(10)
        started.append((proc, release))
        return proc, release

    yield hold
    for proc, release in started:
        release.set()
        proc.join(10)


def test_a_second_run_says_which_run_holds_out_and_writes_nothing(tmp_path, holder, capsys):
    archive = tar_gz(tmp_path / "kinetics400.tar.gz", FILES)
    out = tmp_path / "k400"
    proc, _ = holder(out)
    with pytest.raises(UserError, match=rf"{out}: another run \(pid {proc.pid}, ctm extract\) is writing it"):
        extract(archive, out, progress=False, wait_s=0)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".extracting-" in p.name]
    argv = ["extract", str(archive), "--out", str(out), "--wait", "0", "--no-progress"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ctm extract: error: {out}: another run (pid {proc.pid}") and err.count("\n") == 1


def test_a_second_run_waits_for_the_first_then_finds_its_work_done(tmp_path, holder):
    archive = tar_gz(tmp_path / "kinetics400.tar.gz", FILES)
    out = tmp_path / "k400"
    _, release = holder(out)
    ctx = multiprocessing.get_context("fork")
    ctx.Process(target=lambda: (time.sleep(0.6), release.set())).start()
    start = time.monotonic()
    assert extract(archive, out, strip_components=1, progress=False, wait_s=20)[0] == out / "0"
    assert time.monotonic() - start >= 0.5
    assert tree(out) == {k.split("/", 1)[1]: v for k, v in FILES.items()}


def _extract(archive, out, strip, queue, barrier):
    barrier.wait(30)
    try:
        queue.put(("ok", [p.name for p in extract(archive, out, strip_components=strip, progress=False)]))
    except BaseException as err:  # reported to the test, whatever it is
        queue.put(("error", f"{type(err).__name__}: {err}"))


def test_three_runs_at_once_end_with_the_whole_tree_and_their_markers(tmp_path):
    first = tar_gz(tmp_path / "kinetics400.tar.gz", FILES)
    other = {f"top/{i % 6}/extra-{i}.txt": b"e" * 300 for i in range(200)}  # into the same folders as the first
    archives = [first, first, tar_gz(tmp_path / "extra.tar.gz", other)]  # twice the same: one staging name today
    out = tmp_path / "k400"
    ctx = multiprocessing.get_context("fork")
    queue, barrier = ctx.Queue(), ctx.Barrier(len(archives))
    procs = [ctx.Process(target=_extract, args=(a, out, 1, queue, barrier)) for a in archives]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(10)
    assert [r[0] for r in results] == ["ok"] * 3, results
    assert tree(out) == {k.split("/", 1)[1]: v for k, v in (FILES | other).items()}
    assert not [p for p in tmp_path.iterdir() if ".extracting-" in p.name]
    assert sorted(p.name for p in out.glob(".extracted-*")) == [".extracted-extra.tar.gz.json",
                                                                ".extracted-kinetics400.tar.gz.json"]


class OneDataset:
    """What prepare_dataset reads of a Config: one dataset of params.yaml."""

    def __init__(self, spec):
        self.spec = spec

    def dataset(self, name):
        return self.spec


def test_ctm_prepare_takes_the_same_lock_and_replaces_a_half_copied_file(tmp_path, holder):
    from ctm.acquire.prepare import prepare_dataset
    from ctm.config import DatasetSpec, FileSpec

    remote = tmp_path / "remote"
    remote.mkdir()
    tar_gz(remote / "kinetics400.tar.gz", FILES)
    (remote / "val_ytid_list.txt").write_text("a\nb\nc\n")
    spec = DatasetSpec("download", files={
        "kinetics400.tar.gz": FileSpec(["file://{remote}/kinetics400.tar.gz"], strip_components=1),
        "val_ytid_list.txt": FileSpec(["file://{remote}/val_ytid_list.txt"], extract=False)})
    root, downloads = tmp_path / "mini_kinetics_200", tmp_path / "downloads"
    root.mkdir()
    (root / "val_ytid_list.txt").write_text("a\n")  # what a `cp` killed half-way (Snakemake's place_file) leaves
    proc, release = holder(root)
    with pytest.raises(UserError, match=rf"{root}: another run \(pid {proc.pid}, ctm extract\) is writing it"):
        prepare_dataset(OneDataset(spec), "mini_kinetics_200", root, downloads, remote, progress=False, wait_s=0)
    assert not (root / "0").exists()
    release.set()
    proc.join(10)
    summary = prepare_dataset(OneDataset(spec), "mini_kinetics_200", root, downloads, remote, progress=False)
    assert summary["files"] == ["kinetics400.tar.gz", "val_ytid_list.txt"]
    assert (root / "val_ytid_list.txt").read_text() == "a\nb\nc\n"
    assert tree(root) == {"val_ytid_list.txt": b"a\nb\nc\n"} | {k.split("/", 1)[1]: v for k, v in FILES.items()}
