"""A reader of stored (uncompressed) RAR 1.5-4.x archives (`read_stored`, `extract_stored`: no RAR tool needed),
with `check_blocks`, which walks the block headers of any RAR 1.5-4.x archive so that a damaged or cut one is refused
before a RAR tool extracts part of it. The stand-ins' archives are written by ctm/standins/rar_writer.py.

The real datasets ship as RAR files (HMDB-51 even as a RAR of 51 RARs). The format is that of the "RAR 1.5-4.x"
technote (signature `Rar!\\x1a\\x07\\x00`):

    marker block | main archive header (0x73) | (file header (0x74) + stored bytes) per member | end block (0x7b)

Every header starts with HEAD_CRC (2 bytes: the low 16 bits of the crc32 of the header from HEAD_TYPE to its end),
HEAD_TYPE (1), HEAD_FLAGS (2), HEAD_SIZE (2), all little-endian. A stored member has METHOD 0x30.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ctm.errors import UserError

MARKER = b"Rar!\x1a\x07\x00"
MAIN_HEAD, FILE_HEAD, END_HEAD = 0x73, 0x74, 0x7B
LONG_BLOCK = 0x8000  # a file header is followed by PACK_SIZE data bytes
LARGE = 0x0100  # a file header with HIGH_PACK_SIZE and HIGH_UNP_SIZE (members over 4 GiB)
DIRECTORY = 0x00E0  # the "dictionary size" bits all set mark a directory entry
STORE = 0x30
CHUNK = 1 << 20


class RarFormatError(UserError, ValueError):
    """Not a RAR 1.5-4.x archive whose members are all stored: it needs a RAR tool (unar, 7z or bsdtar)."""


class RarDamagedError(RarFormatError):
    """A RAR 1.5-4.x archive that is cut short or damaged (a header shorter than its fields, a CRC that fails)."""


@dataclass(frozen=True)
class StoredMember:
    """One member of a stored RAR: its name ('/' separators), where its bytes are, their size and CRC-32."""

    name: str
    offset: int
    size: int
    crc: int
    directory: bool


def _block(f: BinaryIO, path: Path, pos: int) -> tuple[int, int, bytes]:
    """(HEAD_TYPE, HEAD_FLAGS, the whole header) of the block at `pos`, checked against its size and HEAD_CRC."""
    head = f.read(7)
    if len(head) < 7:
        raise RarDamagedError(f"{path}: ends without an end-of-archive block, at byte {pos} (cut short?)")
    crc, head_type, flags, head_size = struct.unpack("<HBHH", head)
    fields = (40 if flags & LARGE else 32) if head_type == FILE_HEAD else 11 if flags & LONG_BLOCK else 7
    if head_size < fields:
        raise RarDamagedError(f"{path}: the block header at byte {pos} is cut short: it declares {head_size} bytes, "
                              f"fewer than the {fields} of its fields")
    header = head + f.read(head_size - 7)
    if len(header) < head_size:
        raise RarDamagedError(f"{path}: the block header at byte {pos} is cut short: the file ends inside it")
    if zlib.crc32(header[2:]) & 0xFFFF != crc:
        raise RarDamagedError(f"{path}: header CRC mismatch at byte {pos}")
    return head_type, flags, header


def _blocks(path: Path, require_end: bool) -> Iterator[tuple[int, int, int, bytes]]:
    """(position, HEAD_TYPE, HEAD_FLAGS, header) of every block of a RAR 1.5-4.x archive, up to its end block, each
    header checked (`_block`) and each block's data found inside the file. Without `require_end`, the file may also
    end between two blocks (an end block is optional in the format)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(len(MARKER)) != MARKER:
            raise RarFormatError(f"{path}: not a RAR 1.5-4.x archive (RAR5 and others need a RAR tool)")
        pos = len(MARKER)
        while require_end or pos < size:
            head_type, flags, header = _block(f, path, pos)
            yield pos, head_type, flags, header
            if head_type == END_HEAD:
                return
            data = struct.unpack_from("<I", header, 7)[0] if flags & LONG_BLOCK else 0
            if head_type == FILE_HEAD and flags & LARGE:
                data |= struct.unpack_from("<I", header, 32)[0] << 32  # HIGH_PACK_SIZE
            if pos + len(header) + data > size:
                raise RarDamagedError(f"{path}: ends without an end-of-archive block, inside the data of the block "
                                      f"at byte {pos} (cut short)")
            pos += len(header) + data
            f.seek(pos)


def check_blocks(path: str | os.PathLike) -> None:
    """Walk every block header of a RAR 1.5-4.x archive (any compression): RarDamagedError if one is cut short or
    fails its CRC, or if a block's data runs past the end of the file. RAR5 archives, and archives with encrypted
    headers, are left to the RAR tools."""
    with open(path, "rb") as f:
        if f.read(len(MARKER)) != MARKER:
            return
    for _, head_type, flags, _ in _blocks(Path(path), require_end=False):
        if head_type == MAIN_HEAD and flags & 0x0080:
            return


def read_stored(path: str | os.PathLike) -> list[StoredMember]:
    """The members of a RAR 1.5-4.x archive if every one of them is stored (method 0x30), as the stand-ins' writer
    (ctm.standins.rar_writer) writes them.

    Reads the headers only (seeking over the data). Raises RarDamagedError for a cut or damaged archive (a header
    shorter than its fields or than declared, a header CRC that fails, member data or the end block missing) and
    RarFormatError for RAR5, compressed, encrypted or split archives: those need a RAR tool."""
    path = Path(path)
    members = []
    for pos, head_type, flags, header in _blocks(path, require_end=True):
        if head_type == MAIN_HEAD and flags & 0x0080:
            raise RarFormatError(f"{path}: its headers are encrypted (a password-protected RAR)")
        if head_type != FILE_HEAD:
            continue
        pack, unpack, _, file_crc, _, _, method, name_size, _ = struct.unpack_from("<IIBIIBBHI", header, 7)
        if flags & LARGE:
            raise RarFormatError(f"{path}: members over 4 GiB need a RAR tool")
        if flags & 0x0004:
            raise RarFormatError(f"{path}: member at byte {pos} is encrypted (a password-protected RAR)")
        if method != STORE or pack != unpack or flags & 0x0003:
            raise RarFormatError(f"{path}: member at byte {pos} is compressed or split")
        if 32 + name_size > len(header):
            raise RarDamagedError(f"{path}: the block header at byte {pos} is cut short: its name of {name_size} "
                                  "bytes runs past it")
        name = header[32 : 32 + name_size].split(b"\0")[0].decode("utf-8", errors="replace").replace("\\", "/")
        members.append(StoredMember(name, pos + len(header), pack, file_crc, flags & DIRECTORY == DIRECTORY))
    return members


def extract_stored(path: str | os.PathLike, members: Sequence[StoredMember], dest: Path) -> None:
    """Write stored `members` of the archive at `path` under `dest`, checking each CRC-32 (RarDamagedError). The
    caller has already refused unsafe names (ctm.acquire.extract)."""
    with open(path, "rb") as f:
        for m in members:
            target = dest / m.name
            if m.directory:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            f.seek(m.offset)
            crc, left = 0, m.size
            with open(target, "wb") as out:
                while left and (chunk := f.read(min(CHUNK, left))):
                    crc, left = zlib.crc32(chunk, crc), left - len(chunk)
                    out.write(chunk)
            if left or crc & 0xFFFFFFFF != m.crc:
                raise RarDamagedError(f"{path}: member {m.name!r} is cut short or fails its CRC-32")
