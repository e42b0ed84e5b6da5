"""Issue 27, items 3 and 6: links are checked where they will land (after --strip-components), nothing is written
through a link the archive made, and an `--out` that cannot take the archive (a file where a folder goes, a link to
another disk, a rename that fails half-way) ends in one sentence with `--out` exactly as it was."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from ctm.acquire.extract import ExtractError, extract

SYM, HARD = tarfile.SYMTYPE, tarfile.LNKTYPE


def tar_gz(path: Path, members: list[tuple[str, bytes | tuple[bytes, str]]]) -> Path:
    """Members in order (a name may repeat): bytes for a regular file, (SYM or HARD, target) for a link."""
    with tarfile.open(path, "w:gz") as tf:
        for name, what in members:
            info = tarfile.TarInfo(name)
            if isinstance(what, bytes):
                info.size = len(what)
                tf.addfile(info, io.BytesIO(what))
            else:
                info.type, info.linkname = what
                tf.addfile(info)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def snapshot(root: Path) -> dict[str, bytes | str]:
    return {p.relative_to(root).as_posix(): "link:" + os.readlink(p) if p.is_symlink() else p.read_bytes()
            if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("target", ["../outside", "../top/a.csv"])
def test_a_symlink_that_strip_components_sends_outside_out_is_refused(tmp_path, target):
    archive = tar_gz(tmp_path / "kinetics400.tar.gz", [("top/a.csv", b"a"), ("top/link", (SYM, target))])
    out = tmp_path / "root" / "out"
    with pytest.raises(ExtractError, match=rf"refusing the whole archive, entry 'top/link' is a symlink to "
                                           rf"'{target}'.*--strip-components 1"):
        extract(archive, out, strip_components=1, progress=False)
    assert not out.exists() and not (tmp_path / "root" / "outside").exists()
    whole = extract(archive, tmp_path / "whole", progress=False)  # unstripped, the same link stays inside
    assert whole == [tmp_path / "whole" / "top"] and os.readlink(tmp_path / "whole" / "top" / "link") == target


@pytest.mark.parametrize("link", [(SYM, "target.txt"), (HARD, "d/target.txt")])
def test_a_file_after_a_link_of_the_same_name_is_not_written_through_it(tmp_path, link):
    archive = tar_gz(tmp_path / "a.tar.gz", [("d/target.txt", b"original"), ("d/link", link), ("d/link", b"pwned")])
    with pytest.raises(ExtractError, match=r"a.tar.gz: refusing the whole archive, entry 'd/link' .*through the "
                                           r"(symlink|hardlink) 'd/link'"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_stripped_link_overwritten_by_a_file_reaches_nothing_outside(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "victim").write_bytes(b"precious")
    archive = tar_gz(tmp_path / "k.tar.gz", [("top/link", (SYM, "../victim")), ("top/link", b"pwned")])
    with pytest.raises(ExtractError, match="refusing the whole archive, entry 'top/link'"):
        extract(archive, tmp_path / "root" / "out", strip_components=1, progress=False)
    assert (tmp_path / "root" / "victim").read_bytes() == b"precious"
    assert sorted(p.name for p in (tmp_path / "root").iterdir() if not p.name.endswith(".lock")) == ["victim"]


def test_a_loop_of_links_is_a_sentence(tmp_path):
    archive = tar_gz(tmp_path / "loop.tar.gz", [("d/f", b"x"), ("d/a", (SYM, "b")), ("d/b", (SYM, "a"))])
    with pytest.raises(ExtractError, match=r"loop.tar.gz: refusing the whole archive, d/(a|b) links outside it "
                                           r"\(or into a loop of links\)"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def out(tmp_path) -> Path:
    root = tmp_path / "ucf101"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "kept.avi").write_bytes(b"kept")
    (root / "a.txt").write_bytes(b"old")
    return root


def test_an_out_subfolder_that_is_a_file_is_a_sentence_and_nothing_is_merged(tmp_path, out):
    shutil.rmtree(out / "videos")
    (out / "videos").write_bytes(b"a file where the archive has a folder")
    archive = write_zip(tmp_path / "UCF101.zip", {"a.txt": b"new", "aaa/1.txt": b"1", "videos/v.avi": b"v"})
    before = snapshot(out)
    with pytest.raises(ExtractError, match=rf"UCF101.zip: cannot merge into {out}: {out / 'videos'} is a file where "
                                           r"the archive has a folder; move it away"):
        extract(archive, out, progress=False)
    assert snapshot(out) == before


def test_an_out_subfolder_where_the_archive_has_a_file_is_a_sentence_and_nothing_is_merged(tmp_path, out):
    archive = write_zip(tmp_path / "UCF101.zip", {"a.txt": b"new", "aaa/1.txt": b"1", "videos": b"a file"})
    before = snapshot(out)
    with pytest.raises(ExtractError, match=rf"{out / 'videos'} is a folder where the archive has a file"):
        extract(archive, out, progress=False)
    assert snapshot(out) == before


@pytest.fixture
def other_disk(tmp_path):
    """A folder on another file system than tmp_path (/dev/shm, a tmpfs), as a dataset root on a second disk."""
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system (/dev/shm) to link to")
    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="ctm-test-"))
    yield folder
    shutil.rmtree(folder)


def test_an_out_subfolder_linking_to_another_disk_is_a_sentence_and_nothing_is_merged(tmp_path, out, other_disk):
    shutil.rmtree(out / "videos")
    (other_disk / "videos").mkdir()
    (other_disk / "videos" / "old.avi").write_bytes(b"old")
    (out / "videos").symlink_to(other_disk / "videos")
    archive = write_zip(tmp_path / "UCF101.zip", {"a.txt": b"new", "aaa/1.txt": b"1", "videos/v.avi": b"v"})
    before, there = snapshot(out), snapshot(other_disk)
    with pytest.raises(ExtractError, match=rf"{out / 'videos'} is a link to {other_disk / 'videos'}, on another "
                                           r"file system"):
        extract(archive, out, progress=False)
    assert snapshot(out) == before and snapshot(other_disk) == there


def test_an_out_that_links_to_another_disk_is_extracted_there(tmp_path, other_disk):
    (other_disk / "ucf101").mkdir()
    out = tmp_path / "ucf101"
    out.symlink_to(other_disk / "ucf101")
    archive = write_zip(tmp_path / "UCF101.zip", {"aaa/1.txt": b"1", "videos/v.avi": b"v"})
    assert extract(archive, out, progress=False) == [out / "aaa", out / "videos"]
    assert (other_disk / "ucf101" / "videos" / "v.avi").read_bytes() == b"v"
    assert not [p for p in [*tmp_path.iterdir(), *other_disk.iterdir()] if ".extracting-" in p.name]
    assert extract(archive, out, progress=False) == [out / "aaa", out / "videos"]  # the marker: a no-op


def test_a_rename_failing_half_way_puts_out_back_as_it_was(tmp_path, out, monkeypatch):
    archive = write_zip(tmp_path / "UCF101.zip", {"a.txt": b"new", "b/1.txt": b"1", "videos/new.avi": b"n",
                                                  "z.txt": b"z"})
    before = snapshot(out)
    real_replace = os.replace

    def failing_replace(src, dst, *args, **kwargs):
        if Path(dst) == out / "z.txt":  # the last entry to reach out: everything before it must be undone
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ExtractError, match=rf"UCF101.zip: .*{out / 'z.txt'}.*Input/output error.*{out} is as it "
                                           r"was") as err:
        extract(archive, out, progress=False)
    assert "\n" not in str(err.value)
    assert snapshot(out) == before
    monkeypatch.setattr(os, "replace", real_replace)
    extract(archive, out, progress=False)
    assert (out / "a.txt").read_bytes() == b"new" and (out / "videos" / "kept.avi").exists()


def test_out_that_is_a_file_is_a_sentence(tmp_path):
    archive = write_zip(tmp_path / "UCF101.zip", {"a.txt": b"new"})
    (tmp_path / "file").write_bytes(b"x")
    for out in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(ExtractError, match=rf"{tmp_path / 'file'} is a file.*--out"):
            extract(archive, out, progress=False)
    assert (tmp_path / "file").read_bytes() == b"x"
