"""A writer of stored (uncompressed) RAR 1.5-4.x archives, for synthetic stand-ins of HMDB-51 and UCF-101, and a
reader of them (`read_stored`, `extract_stored`: no RAR tool needed), with `check_blocks`, which walks the block
headers of any RAR 1.5-4.x archive so that a damaged or cut one is refused before a RAR tool extracts part of it.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ctm.errors import UserError
from ctm.fileio import atomic_write

MARKER = b"Rar!\x1a\x07\x00"
MAIN_HEAD, FILE_HEAD, END_HEAD = 0x73, 0x74, 0x7B
LONG_BLOCK = 0x8000  # a file header is followed by PACK_SIZE data bytes
LARGE = 0x0100  # a file header with HIGH_PACK_SIZE and HIGH_UNP_SIZE (members over 4 GiB)
DIRECTORY = 0x00E0  # the "dictionary size" bits all set mark a directory entry
SKIP_IF_UNKNOWN = 0x4000
HOST_WIN32 = 2
UNP_VER = 20  # RAR 2.0 is enough to extract a stored member
STORE = 0x30
ATTR_FILE, ATTR_DIR = 0x20, 0x10  # Windows FILE_ATTRIBUTE_ARCHIVE / FILE_ATTRIBUTE_DIRECTORY
FIXED_TIME = (2013, 10, 1, 12, 0, 0)  # the month HMDB-51's archives were published
MAX_SIZE = 0xFFFFFFFF  # larger members need the 64-bit HIGH_*_SIZE fields, which this writer does not write
CHUNK = 1 << 20


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
    """The members of a RAR 1.5-4.x archive if every one of them is stored (method 0x30), as `write_rar` writes them.

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
