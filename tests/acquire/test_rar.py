"""ctm.acquire.rar.check_blocks walks the block headers of any RAR 1.5-4.x archive and refuses a cut or damaged one."""

from __future__ import annotations

import struct
import zlib

import pytest

from ctm.acquire.rar import RarDamagedError, check_blocks
from ctm.standins.rar_writer import file_header, write_rar


def test_check_blocks_walks_any_rar4_and_finds_a_cut_or_a_damaged_header(tmp_path, rar_members):
    data = bytearray(write_rar(tmp_path / "a.rar", rar_members).read_bytes())
    check_blocks(tmp_path / "a.rar")
    (tmp_path / "no-end.rar").write_bytes(bytes(data[:-7]))  # an end block is optional in RAR 4
    check_blocks(tmp_path / "no-end.rar")
    name = "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"
    payload = dict(rar_members)[name]
    second = bytes(data).index(file_header(name, len(payload), zlib.crc32(payload)))
    data[second + 7 + 18] = 0x33  # METHOD: compressed, HEAD_CRC fixed: a valid archive that only a tool extracts
    size = struct.unpack_from("<H", data, second + 5)[0]
    data[second : second + 2] = struct.pack("<H", zlib.crc32(bytes(data[second + 2 : second + size])) & 0xFFFF)
    (tmp_path / "compressed.rar").write_bytes(bytes(data))
    check_blocks(tmp_path / "compressed.rar")
    (tmp_path / "rar5.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 20)  # RAR 5: left to the tools
    check_blocks(tmp_path / "rar5.rar")
    cases = {"cut-data.rar": bytes(data[: second + size + 100]), "cut-header.rar": bytes(data[: second + 10]),
             "bad-crc.rar": bytes(data[:second]) + bytes([data[second] ^ 1]) + bytes(data[second + 1 :])}
    for name, damaged in cases.items():
        (tmp_path / name).write_bytes(damaged)
        with pytest.raises(RarDamagedError, match=rf"{name}: .*(cut short|CRC mismatch) *"):
            check_blocks(tmp_path / name)
