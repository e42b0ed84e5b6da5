"""A writer of stored (uncompressed) RAR 1.5-4.x archives, for the stand-ins of HMDB-51 and UCF-101 (ctm/acquire/rar.py
reads them back and holds the format's constants).

The real datasets ship as RAR files (HMDB-51 even as a RAR of 51 RARs), and no free tool writes RAR, so test
fixtures are written here, byte by byte, in the format of the "RAR 1.5-4.x" technote (signature
`Rar!\\x1a\\x07\\x00`):

    marker block | main archive header (0x73) | (file header (0x74) + stored bytes) per member | end block (0x7b)

Every header starts with HEAD_CRC (2 bytes: the low 16 bits of the crc32 of the header from HEAD_TYPE to its end),
HEAD_TYPE (1), HEAD_FLAGS (2), HEAD_SIZE (2), all little-endian. Members use METHOD 0x30 (store), so unar, 7z and
bsdtar all extract them. Names are stored with '\\' separators and HOST_OS Win32, as WinRAR writes them; the file
time is a fixed DOS timestamp, so the same members always give the same bytes.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ctm.acquire.rar import CHUNK, DIRECTORY, END_HEAD, FILE_HEAD, LONG_BLOCK, MAIN_HEAD, MARKER, STORE
from ctm.fileio import atomic_write

SKIP_IF_UNKNOWN = 0x4000
HOST_WIN32 = 2
UNP_VER = 20  # RAR 2.0 is enough to extract a stored member
ATTR_FILE, ATTR_DIR = 0x20, 0x10  # Windows FILE_ATTRIBUTE_ARCHIVE / FILE_ATTRIBUTE_DIRECTORY
FIXED_TIME = (2013, 10, 1, 12, 0, 0)  # the month HMDB-51's archives were published
MAX_SIZE = 0xFFFFFFFF  # larger members need the 64-bit HIGH_*_SIZE fields, which this writer does not write


def dos_time(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """MS-DOS date and time in one 32-bit value (2-second resolution), as FTIME stores it."""
    return ((year - 1980) << 25) | (month << 21) | (day << 16) | (hour << 11) | (minute << 5) | (second // 2)


def _header(head_type: int, flags: int, body: bytes) -> bytes:
    """HEAD_CRC + HEAD_TYPE + HEAD_FLAGS + HEAD_SIZE + body, the CRC taken over everything after itself."""
    rest = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest


def _archive_name(name: str, check: bool = True) -> bytes:
    if not check:  # hostile names, kept as given but for the separator (tests of the extractor's refusals)
        return name.replace("/", "\\").encode("utf-8")
    parts = name.replace("\\", "/").strip("/").split("/")
    if not name or name.startswith(("/", "\\")) or any(p in ("", ".", "..") for p in parts) or ":" in name:
        raise ValueError(f"RAR member name {name!r}: must be a relative path without '.', '..' or drive letters")
    try:
        return "\\".join(parts).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"RAR member name {name!r}: only ASCII names are supported by this writer") from None


def _source(data: bytes | str | os.PathLike) -> tuple[int, int]:
    """(size, crc32) of the bytes or of the file's contents, read in chunks."""
    if isinstance(data, bytes):
        return len(data), zlib.crc32(data)
    crc, size = 0, 0
    with open(data, "rb") as f:
        while chunk := f.read(CHUNK):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return size, crc


def _copy(data: bytes | str | os.PathLike, out: BinaryIO) -> None:
    if isinstance(data, bytes):
        out.write(data)
        return
    with open(data, "rb") as f:
        while chunk := f.read(CHUNK):
            out.write(chunk)


def file_header(name: str, size: int, crc: int, directory: bool = False, check_names: bool = True) -> bytes:
    """The 0x74 block of one stored member (its data follows it in the archive)."""
    if size > MAX_SIZE:
        raise ValueError(f"RAR member {name!r} is {size} bytes; this writer stores members of at most 4 GiB - 1")
    encoded = _archive_name(name, check_names)
    body = struct.pack(
        "<IIBIIBBHI", size, size, HOST_WIN32, crc & 0xFFFFFFFF, dos_time(*FIXED_TIME), UNP_VER, STORE,
        len(encoded), ATTR_DIR if directory else ATTR_FILE,
    ) + encoded
    return _header(FILE_HEAD, LONG_BLOCK | (DIRECTORY if directory else 0), body)


def write_rar(path: str | os.PathLike, members: Sequence[tuple[str, bytes | Path]], *,
              check_names: bool = True) -> Path:
    """Write a stored RAR 4.x archive at `path` (atomically) and return the path.

    members: (name inside the archive with '/' separators, contents as bytes or a path to a file) in archive order.
    A name ending in '/' with contents b"" is a directory entry (optional: extractors create folders on their own).
    Raises ValueError for names that are absolute, contain '..' or non-ASCII characters, duplicates, or members
    of 4 GiB or more. check_names=False writes any name as given (only '/' -> '\\'): hostile archives for tests.
    """
    seen: set[str] = set()
    for name, _ in members:
        key = name.replace("\\", "/").strip("/")
        if key in seen:
            raise ValueError(f"RAR member name {name!r} appears twice")
        seen.add(key)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            out.write(MARKER)
            out.write(_header(MAIN_HEAD, 0, b"\x00" * 6))  # RESERVED1 (2 bytes) + RESERVED2 (4 bytes)
            for name, data in members:
                if name.endswith("/"):
                    if data != b"":
                        raise ValueError(f"RAR member {name!r} ends in '/' (a directory) but has contents")
                    out.write(file_header(name, 0, 0, directory=True, check_names=check_names))
                    continue
                size, crc = _source(data)
                out.write(file_header(name, size, crc, check_names=check_names))
                _copy(data, out)
            out.write(_header(END_HEAD, SKIP_IF_UNKNOWN, b""))

    return atomic_write(path, write)
