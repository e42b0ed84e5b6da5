"""ctm.standins.rar_writer writes RAR 4.x archives that the real extractors (unar, 7z, bsdtar) accept, byte for byte."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from ctm.acquire.rar import MARKER
from ctm.standins.rar_writer import file_header, write_rar

TOOLS = {  # tool -> (Debian package, argv that extracts ARCHIVE into OUT)
    "unar": ("unar", lambda archive, out: ["unar", "-q", "-D", "-o", str(out), str(archive)]),
    "7z": ("p7zip-full", lambda archive, out: ["7z", "x", "-y", f"-o{out}", str(archive)]),
    "bsdtar": ("libarchive-tools", lambda archive, out: ["bsdtar", "-xf", str(archive), "-C", str(out)]),
}


def extract_with(tool: str, archive: Path, out: Path) -> None:
    package, argv = TOOLS[tool]
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not on PATH: apt-get install {package}")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(argv(archive, out), check=True, capture_output=True)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def blocks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(HEAD_TYPE, HEAD_FLAGS, header bytes) of every block, checking each HEAD_CRC like an extractor does."""
    assert data.startswith(MARKER)
    pos, out = len(MARKER), []
    while pos < len(data):
        crc, head_type, flags, size = struct.unpack_from("<HBHH", data, pos)
        header = data[pos:pos + size]
        assert zlib.crc32(header[2:]) & 0xFFFF == crc, f"HEAD_CRC of block {head_type:#x} at {pos}"
        out.append((head_type, flags, header))
        pos += size + (struct.unpack_from("<I", header, 7)[0] if flags & 0x8000 else 0)
    assert pos == len(data)
    return out


def expected(rar_members) -> dict[str, bytes]:
    return {n: (d.read_bytes() if isinstance(d, Path) else d) for n, d in rar_members if not n.endswith("/")}


def test_layout_header_crcs_and_determinism(tmp_path, rar_members):
    a = write_rar(tmp_path / "a.rar", rar_members)
    b = write_rar(tmp_path / "b.rar", rar_members)
    data = a.read_bytes()
    assert data == b.read_bytes()
    parsed = blocks(data)
    assert [t for t, _, _ in parsed] == [0x73] + [0x74] * 5 + [0x7B]
    names = [h[32:32 + struct.unpack_from("<H", h, 26)[0]] for t, _, h in parsed if t == 0x74]
    assert names[1] == b"brush_hair\\April_09_brush_hair_u_nm_np1_ba_goo_0.avi"
    _, flags, head = parsed[2]
    pack, unp, host, crc, ftime, ver, method = struct.unpack_from("<IIBIIBB", head, 7)
    payload = expected(rar_members)["brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"]
    assert (pack, unp, host, crc, ver, method) == (len(payload), len(payload), 2, zlib.crc32(payload), 20, 0x30)
    assert ftime >> 25 == 2013 - 1980
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_each_tool_extracts_identical_bytes(tmp_path, rar_members, tool):
    archive = write_rar(tmp_path / "a.rar", rar_members)
    extract_with(tool, archive, tmp_path / "out")
    assert tree(tmp_path / "out") == expected(rar_members)
    assert (tmp_path / "out" / "brush_hair").is_dir()


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_rar_of_rars(tmp_path, tool):
    inner = {c: write_rar(tmp_path / f"{c}.rar", [(f"{c}/{c}_{i}.avi", f"{c}{i}".encode() * 99) for i in range(3)])
             for c in ("brush_hair", "cartwheel")}
    outer = write_rar(tmp_path / "hmdb51_org.rar", [(f"{c}.rar", p) for c, p in inner.items()])
    extract_with(tool, outer, tmp_path / "outer")
    assert tree(tmp_path / "outer") == {f"{c}.rar": p.read_bytes() for c, p in inner.items()}
    for c in inner:
        extract_with(tool, tmp_path / "outer" / f"{c}.rar", tmp_path / "videos")
    assert tree(tmp_path / "videos") == {f"{c}/{c}_{i}.avi": f"{c}{i}".encode() * 99 for c in inner for i in range(3)}


def test_file_crc_is_what_7z_checks(tmp_path):
    if shutil.which("7z") is None:
        pytest.skip("7z not on PATH: apt-get install p7zip-full")
    archive = write_rar(tmp_path / "a.rar", [("x.bin", b"0123456789" * 50)])
    assert subprocess.run(["7z", "t", str(archive)], capture_output=True).returncode == 0
    data = bytearray(archive.read_bytes())
    data[-20] ^= 0xFF  # a byte of the stored data, before the 7-byte end block
    archive.write_bytes(bytes(data))
    result = subprocess.run(["7z", "t", str(archive)], capture_output=True, text=True)
    assert result.returncode != 0 and "CRC" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["../evil", "/etc/x", "a/../../b", "C:/x", "caf\u00e9.avi"])
def test_unsafe_or_non_ascii_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="RAR member name"):
        write_rar(tmp_path / "a.rar", [(name, b"x")])
    assert not (tmp_path / "a.rar").exists()


def test_limits_and_failures_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="at most 4 GiB"):
        file_header("huge.bin", 1 << 32, 0)
    with pytest.raises(ValueError, match="appears twice"):
        write_rar(tmp_path / "a.rar", [("a/x", b"1"), ("a\\x", b"2")])
    with pytest.raises(FileNotFoundError):
        write_rar(tmp_path / "a.rar", [("ok", b"1"), ("missing", tmp_path / "nope.bin")])
    assert list(tmp_path.iterdir()) == []
