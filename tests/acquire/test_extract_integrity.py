"""Issue 27, items 1 and 6: an archive is extracted only once its whole stream is proven intact (the compressor's CRC
and size trailer, every tar member and the tar's end, zip CRCs), and what Python cannot read (encrypted or Deflate64
zip entries, names too long or too deep for a file system, a RAR header cut short, a RAR tool's odd output) is a
one-line sentence naming the archive and entry; `--out` is left exactly as it was."""

from __future__ import annotations

import bz2
import io
import lzma
import os
import re
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from ctm import cli
from ctm.acquire import rar
from ctm.acquire.extract import ExtractError, extract, list_entries
from ctm.acquire.rar import RarFormatError, read_stored
from ctm.standins.rar_writer import file_header, write_rar

MEMBERS = {f"videos/{i}.bin": np.random.default_rng(i).bytes(20_000) for i in range(6)}
COMPRESS = {"gz": lambda b: __import__("gzip").compress(b, mtime=0), "bz2": bz2.compress, "xz": lzma.compress,
            "tar": lambda b: b}


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Everything under root (files' bytes, links' targets, folders), hidden names included."""
    return {p.relative_to(root).as_posix(): os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file()
            else "dir" for p in sorted(root.rglob("*"))}


@pytest.fixture
def out(tmp_path) -> Path:
    """A dataset root that already holds something, which a failed extraction must leave exactly as it was."""
    root = tmp_path / "out"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "kept.bin").write_bytes(b"from an earlier archive")
    return root


def assert_untouched(out: Path, before: dict) -> None:
    assert snapshot(out) == before
    assert not [p.name for p in out.parent.iterdir() if ".extracting-" in p.name]


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "tar"])
def test_64_corrupted_bytes_in_the_middle_are_refused(tmp_path, out, kind):
    data = bytearray(COMPRESS[kind](tar_bytes(MEMBERS)))
    middle = len(data) // 2 if kind != "tar" else 3 * (512 + 20_480) + 40  # plain tar: the 4th member's header
    data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    archive = tmp_path / "shard_000.tar.gz"  # the Kinetics mirror's name, whatever the content
    archive.write_bytes(bytes(data))
    before = snapshot(out)
    with pytest.raises(ExtractError) as err:
        extract(archive, out, progress=False)
    message = str(err.value)
    assert message.startswith(f"{archive}: cannot be extracted") and "download it again" in message, message
    assert "\n" not in message
    assert_untouched(out, before)


@pytest.mark.parametrize("field,offset", [("CRC-32", -8), ("size", -4)])
def test_a_gzip_trailer_that_does_not_match_is_refused(tmp_path, out, field, offset):
    data = bytearray(COMPRESS["gz"](tar_bytes(MEMBERS)))
    data[offset] ^= 0x01
    archive = tmp_path / "kinetics400.tar.gz"
    archive.write_bytes(bytes(data))
    before = snapshot(out)
    with pytest.raises(ExtractError, match=r"kinetics400.tar.gz: cannot be extracted.*(CRC|length|size)"):
        extract(archive, out, progress=False)
    assert_untouched(out, before)


def test_a_tar_cut_between_members_is_refused_and_a_plain_tar_named_tar_gz_is_read(tmp_path, out):
    whole = tar_bytes(MEMBERS)
    (tmp_path / "plain.tar.gz").write_bytes(whole)  # a plain tar under a .tar.gz name: read by its content
    assert [p.name for p in extract(tmp_path / "plain.tar.gz", tmp_path / "ok", progress=False)] == ["videos"]
    assert (tmp_path / "ok" / "videos" / "5.bin").read_bytes() == MEMBERS["videos/5.bin"]
    for kind in ("tar", "gz"):  # cut right after the 3rd member's data: no end-of-archive marker
        archive = tmp_path / f"cut-{kind}.tar.gz"
        archive.write_bytes(COMPRESS[kind](whole[: 3 * (512 + 20_480)]))
        before = snapshot(out)
        with pytest.raises(ExtractError, match=rf"cut-{kind}.tar.gz: cannot be extracted.*end"):
            extract(archive, out, progress=False)
        assert_untouched(out, before)


def patched_zip(path: Path, name: str, method: int | None = None, flags: int | None = None) -> Path:
    """A zip of one stored entry whose method or flags are rewritten in both of its headers (what another zipper
    would have written: Deflate64 is method 9, bit 0 of the flags is encryption)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("fine.txt", b"fine")
        zf.writestr(name, b"x" * 100)
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.index(signature, data.index(signature) + 1)  # the second entry's header
        if flags is not None:
            data[at + flag_at : at + flag_at + 2] = struct.pack("<H", flags)
        if method is not None:
            data[at + method_at : at + method_at + 2] = struct.pack("<H", method)
        assert encoded in data[at:]
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("method,flags,says", [(None, 0x1, "encrypted"), (9, None, "Deflate64")])
def test_encrypted_or_deflate64_zip_entries_are_a_sentence(tmp_path, out, method, flags, says):
    archive = patched_zip(tmp_path / "UCF101.zip", "videos/v_a.avi", method, flags)
    before = snapshot(out)
    with pytest.raises(ExtractError) as err:
        extract(archive, out, progress=False)
    message = str(err.value)
    assert message.startswith(f"{archive}: ") and "'videos/v_a.avi'" in message and says in message, message
    assert "\n" not in message and "7z" in message
    assert_untouched(out, before)


@pytest.mark.parametrize("name,says", [("videos/" + "n" * 300 + ".avi", "255 bytes"),
                                       ("d/" * 2100 + "deep.avi", "folders deep")])
@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_very_long_or_very_deep_names_are_refused_before_anything_is_written(tmp_path, out, kind, name, says):
    if kind == "zip":
        archive = tmp_path / "names.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("videos/ok.avi", b"ok")
            zf.writestr(name, b"x")
    else:
        archive = tmp_path / "names.tar.gz"
        archive.write_bytes(COMPRESS["gz"](tar_bytes({"videos/ok.avi": b"ok", name: b"x"})))
    before = snapshot(out)
    with pytest.raises(ExtractError, match=rf"names.* refusing the whole archive, entry '.*{says}") as err:
        extract(archive, out, progress=False)
    assert len(str(err.value)) < 600 and "\n" not in str(err.value)
    assert_untouched(out, before)


def short_header_rar(path: Path) -> Path:
    """A stored RAR whose last file header declares (with a valid HEAD_CRC) 12 bytes, fewer than its fixed fields."""
    data = write_rar(path, [("a/1.avi", b"1" * 50)]).read_bytes()[:-7]  # without the end block
    rest = struct.pack("<BHH", rar.FILE_HEAD, rar.LONG_BLOCK, 12) + b"\x05\x00\x00\x00\x05"
    return path.write_bytes(data + struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest) and path


def path_with(tmp_path: Path, tool: str) -> str:
    """A PATH holding only `tool` (or no RAR tool at all: the pure-Python reader of stored RARs)."""
    folder = tmp_path / f"bin-{tool}"
    folder.mkdir()
    for binary in {"none": (), "unar": ("unar", "lsar"), "7z": ("7z",), "bsdtar": ("bsdtar",)}[tool]:
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} not on PATH")
        (folder / binary).symlink_to(shutil.which(binary))
    return str(folder)


@pytest.mark.parametrize("tool", ["none", "unar", "7z", "bsdtar"])
def test_a_rar_header_too_short_for_its_fields_is_a_sentence(tmp_path, out, monkeypatch, tool):
    archive = short_header_rar(tmp_path / "hmdb51_org.rar")
    with pytest.raises(RarFormatError, match=r"hmdb51_org.rar: .*header at byte \d+ is cut short"):
        read_stored(archive)
    monkeypatch.setenv("PATH", path_with(tmp_path, tool))  # 7z alone extracts the first member and says nothing
    before = snapshot(out)
    with pytest.raises(ExtractError, match=r"hmdb51_org.rar: cannot be extracted.*cut short.*download it again"):
        extract(archive, out, progress=False)
    assert_untouched(out, before)


def test_a_rar_cut_inside_a_header_names_the_damage_not_a_missing_tool(tmp_path, monkeypatch):
    whole = write_rar(tmp_path / "w.rar", [("a/1.avi", b"1" * 50), ("a/2.avi", b"2" * 50)]).read_bytes()
    second = whole.index(file_header("a/2.avi", 50, zlib.crc32(b"2" * 50)))
    (tmp_path / "cut.rar").write_bytes(whole[: second + 20])
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExtractError, match=r"cut.rar: cannot be extracted.*cut short") as err:
        extract(tmp_path / "cut.rar", tmp_path / "out", progress=False)
    assert "apt-get" not in str(err.value) and not (tmp_path / "out").exists()


def fake_tool(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"#!/bin/sh\n{script}\n")
    (folder / name).chmod(0o755)


@pytest.mark.parametrize("script,says", [
    ("echo 'ERROR: first line'; echo 'Can not open the file as archive'; exit 2", "failed (2): ERROR"),
    ("echo '7-Zip 23.01 (x64)'; echo 'no listing here'", "listing")])
def test_a_rar_tool_that_fails_or_prints_no_listing_is_a_one_line_sentence(tmp_path, monkeypatch, script, says):
    archive = write_rar(tmp_path / "UCF101.rar", [("a/1.avi", b"1")])
    fake_tool(tmp_path / "bin", "7z", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ExtractError, match=rf"UCF101.rar.*{re.escape(says)}") as err:
        list_entries(archive)
    assert "\n" not in str(err.value)


def test_cli_prints_one_line_for_a_corrupted_tar_xz_or_a_zip_entry_failing_its_crc(tmp_path, out, capsys):
    data = bytearray(lzma.compress(tar_bytes(MEMBERS)))
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "k.tar.xz").write_bytes(bytes(data))
    with zipfile.ZipFile(tmp_path / "splits.zip", "w", zipfile.ZIP_STORED) as zf:
        for name, member in MEMBERS.items():
            zf.writestr(name, member)
    data = bytearray((tmp_path / "splits.zip").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "splits.zip").write_bytes(bytes(data))
    before = snapshot(out)
    for name, says in (("k.tar.xz", "xz"), ("splits.zip", "CRC")):
        assert cli.main(["extract", str(tmp_path / name), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ctm extract: error: {tmp_path / name}: cannot be extracted") and says in err, err
        assert err.count("\n") == 1
        assert_untouched(out, before)
