"""ctm.acquire.extract on real zip, tar.gz and RAR archives (RARs extracted by unar, 7z and bsdtar in turn)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from ctm.acquire.extract import ExtractError, archive_format, extract, list_entries, rar_tools
from ctm.standins.rar_writer import write_rar

SPLITS = {f"ucfTrainTestlist/{n}": f"{n} line 1\r\nline 2\r\n".encode() for n in ("classInd.txt", "trainlist01.txt")}
TOOL_BINARIES = {"unar": ("unar", "lsar"), "7z": ("7z",), "bsdtar": ("bsdtar",)}
PACKAGES = {"unar": "unar", "7z": "p7zip-full", "bsdtar": "libarchive-tools"}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".extracted-")}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2013, 10, 1, 0, 0, 0)), data)
    return path


def write_tar(path: Path, members: dict[str, bytes], links: dict[str, tuple[bytes, str]] | None = None) -> Path:
    """members: name -> bytes; links: name -> (tarfile.SYMTYPE or LNKTYPE, target)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
    return path


@pytest.fixture
def only_tool(tmp_path, monkeypatch):
    """Put only one RAR tool on PATH (a folder of links to it), as a machine with one package installed."""

    def use(tool: str) -> None:
        binaries = TOOL_BINARIES[tool]
        if not all(shutil.which(b) for b in binaries):
            pytest.skip(f"{tool} not on PATH: apt-get install {PACKAGES[tool]}")
        folder = tmp_path / f"bin-{tool}"
        folder.mkdir()
        for b in binaries:
            (folder / b).symlink_to(shutil.which(b))
        monkeypatch.setenv("PATH", str(folder))
        assert rar_tools() == [tool]

    return use


def test_zip_then_marker_makes_a_repeat_a_no_op(tmp_path):
    archive = write_zip(tmp_path / "UCF101TrainTestSplits-RecognitionTask.zip", SPLITS)
    out = tmp_path / "ucf101"
    assert extract(archive, out, progress=False) == [out / "ucfTrainTestlist"]
    assert tree(out) == SPLITS and (out / ".extracted-UCF101TrainTestSplits-RecognitionTask.zip.json").exists()
    (out / "ucfTrainTestlist" / "classInd.txt").write_bytes(b"edited")
    extract(archive, out, progress=False)  # marker: nothing extracted again
    assert (out / "ucfTrainTestlist" / "classInd.txt").read_bytes() == b"edited"
    os.utime(archive, ns=(0, 0))  # the same bytes with another time (a copy, a checkout): still extracted
    extract(archive, out, progress=False)
    assert (out / "ucfTrainTestlist" / "classInd.txt").read_bytes() == b"edited"
    other = {**SPLITS, "ucfTrainTestlist/classInd.txt": SPLITS["ucfTrainTestlist/classInd.txt"][::-1]}
    marker = out / ".extracted-UCF101TrainTestSplits-RecognitionTask.zip.json"
    os.utime(write_zip(archive, other), ns=(marker.stat().st_mtime_ns + 10**9,) * 2)  # other bytes, same size
    extract(archive, out, progress=False)  # newer than its marker and another sha256: extracted again
    assert tree(out) == other
    # no staging folder left; the lock file of ucf101 (ctm.locking) stays beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ucf101.lock", archive.name, "ucf101"]


def test_tar_gz_with_strip_components_and_format_by_content(tmp_path):
    csvs = {f"kinetics400/{s}.csv": b"label,youtube_id,time_start,time_end,split,is_cc\n" for s in ("train", "test")}
    archive = write_tar(tmp_path / "kinetics400.download", {**csvs, "top-level-file": b"dropped by the strip"})
    assert archive_format(archive) == "tar"
    paths = extract(archive, tmp_path / "k400", strip_components=1, progress=False)
    assert paths == [tmp_path / "k400" / "test.csv", tmp_path / "k400" / "train.csv"]
    assert tree(tmp_path / "k400") == {k.split("/")[1]: v for k, v in csvs.items()}


def test_format_comes_from_content_not_name(tmp_path):
    assert archive_format(write_rar(tmp_path / "looks.zip", [("a", b"1")])) == "rar"
    assert archive_format(write_zip(tmp_path / "looks.rar", {"a": b"1"})) == "zip"
    (tmp_path / "junk.tar.gz").write_bytes(b"<html>404</html>")
    with pytest.raises(ExtractError, match=r"junk.tar.gz: not a zip, tar\(.gz/.bz2/.xz\) or RAR archive"):
        extract(tmp_path / "junk.tar.gz", tmp_path / "out", progress=False)


@pytest.mark.parametrize("tool", ["unar", "7z", "bsdtar"])
def test_rar_with_each_tool(tmp_path, only_tool, tool):
    only_tool(tool)
    members = {"UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": bytes(range(256)) * 50,
               "UCF-101/HandstandPushups/v_HandStandPushups_g08_c01.avi": b"RIFF" * 333}
    archive = write_rar(tmp_path / "UCF101.rar", list(members.items()))
    assert [e.name for e in list_entries(archive) if e.kind == "file"] == list(members)
    assert extract(archive, tmp_path / "ucf101", progress=False) == [tmp_path / "ucf101" / "UCF-101"]
    assert tree(tmp_path / "ucf101") == members


@pytest.mark.parametrize("tool", ["unar", "7z", "bsdtar"])
def test_rar_of_rars(tmp_path, only_tool, tool):
    only_tool(tool)
    classes = ("brush_hair", "cartwheel", "catch")
    videos = {f"{c}/{c}_{i}.avi": f"{c}{i}".encode() * 100 for c in classes for i in (0, 1)}
    inner = [(f"{c}.rar", write_rar(tmp_path / f"{c}.rar", [(k, v) for k, v in videos.items() if k.startswith(c)]))
             for c in classes]
    outer = write_rar(tmp_path / "hmdb51_org.rar", inner)
    out = tmp_path / "hmdb51"
    paths = extract(outer, out, inner_rars=True, progress=False)
    assert paths == [out / "brush_hair", out / "cartwheel", out / "catch"]
    assert tree(out) == videos and outer.exists() and not list(out.glob("*.rar"))
    assert extract(outer, out, inner_rars=True, progress=False) == paths


def hostile(tmp_path: Path, kind: str, name: str) -> Path:
    members = {"fine/a.txt": b"ok", name: b"pwned"}
    if kind == "zip":
        return write_zip(tmp_path / "evil.zip", members)
    if kind == "tar":
        return write_tar(tmp_path / "evil.tar.gz", members)
    return write_rar(tmp_path / "evil.rar", list(members.items()), check_names=False)


@pytest.mark.parametrize("name,reason", [("../evil", "a '..' component"), ("/etc/x", "an absolute path"),
                                         ("fine/../../evil", "a '..' component"), ("C:\\x", "a drive letter")])
@pytest.mark.parametrize("kind", ["zip", "tar", "rar-unar", "rar-7z", "rar-bsdtar"])
def test_unsafe_entries_refuse_the_whole_archive(tmp_path, only_tool, kind, name, reason):
    if kind.startswith("rar"):
        only_tool(kind[4:])
    archive = hostile(tmp_path, kind, name)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ExtractError, match=rf"{archive.name}: refusing the whole archive, entry .* is {reason}"):
        extract(archive, tmp_path / "out", progress=False)
    assert sorted(tmp_path.rglob("*")) == before  # not even an empty out/ or a staging folder
    assert not Path("/etc/x").exists()


@pytest.mark.parametrize("link,reason", [((tarfile.SYMTYPE, "/etc/passwd"), "a symlink to '/etc/passwd'"),
                                         ((tarfile.SYMTYPE, "../../etc"), "a symlink to '../../etc'"),
                                         ((tarfile.LNKTYPE, "../outside"), "a hardlink to '../outside'")])
def test_links_pointing_outside_are_refused(tmp_path, link, reason):
    archive = write_tar(tmp_path / "links.tar.gz", {"d/f": b"x"}, {"d/link": link})
    with pytest.raises(ExtractError, match=rf"entry 'd/link' is {reason}, outside the archive"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    inside = write_tar(tmp_path / "ok.tar.gz", {"d/f": b"x"}, {"d/link": (tarfile.SYMTYPE, "f")})
    extract(inside, tmp_path / "ok", progress=False)
    assert (tmp_path / "ok" / "d" / "link").read_bytes() == b"x"


def compressed_rar(path):
    """A RAR whose member claims method 0x33 (compressed): only a RAR tool could extract it."""
    data = bytearray(write_rar(path, [("a/b.avi", b"x")]).read_bytes())
    head = data.index(b"\x74", len(b"Rar!\x1a\x07\x00") + 13) - 2  # the file header's HEAD_CRC
    data[head + 7 + 18] = 0x33  # METHOD
    size = struct.unpack_from("<H", data, head + 5)[0]  # HEAD_SIZE
    data[head : head + 2] = struct.pack("<H", zlib.crc32(bytes(data[head + 2 : head + size])) & 0xFFFF)
    path.write_bytes(bytes(data))
    return path


def test_stored_rar_needs_no_tool(tmp_path, monkeypatch):
    archive = write_rar(tmp_path / "ucf.rar", [("UCF-101/", b""), ("UCF-101/A/v_A_g01_c01.avi", b"video" * 100)])
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    extract(archive, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "UCF-101" / "A" / "v_A_g01_c01.avi").read_bytes() == b"video" * 100
    evil = write_rar(tmp_path / "evil.rar", [("../evil", b"x")], check_names=False)
    with pytest.raises(ExtractError, match="refusing the whole archive"):
        extract(evil, tmp_path / "out2", progress=False)


def test_no_rar_tool_names_the_packages(tmp_path, monkeypatch):
    archive = compressed_rar(tmp_path / "hmdb51_org.rar")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExtractError, match=r"hmdb51_org.rar is a RAR archive and no RAR tool .*`apt-get install unar`.*"
                                           r"p7zip-full.*libarchive-tools"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_failed_or_interrupted_extraction_leaves_nothing_half_written(tmp_path):
    good = write_rar(tmp_path / "good.rar", [("cls/v.avi", b"v" * 5000)])
    out = tmp_path / "out"
    stale = tmp_path / ".out.extracting-good.rar"  # what a killed run leaves behind
    (stale / "cls").mkdir(parents=True)
    (stale / "cls" / "v.avi").write_bytes(b"half")
    assert tree(out := tmp_path / "out") == {} and extract(good, out, progress=False) == [out / "cls"]
    assert tree(out) == {"cls/v.avi": b"v" * 5000} and not stale.exists()
    truncated = tmp_path / "cut.rar"
    truncated.write_bytes(good.read_bytes()[:-2000])
    # with a RAR tool on PATH, every tool fails on it; without one, ctm.acquire.rar reads stored RARs and finds the cut
    with pytest.raises(ExtractError, match=r"cut\.rar.*(no RAR tool could extract it|ends without an end-of-archive)"):
        extract(truncated, tmp_path / "cut", progress=False)
    assert not (tmp_path / "cut").exists() and not (tmp_path / ".cut.extracting-cut.rar").exists()
