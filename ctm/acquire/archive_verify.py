"""The one check that an archive's bytes are whole before anything extracted from it is trusted (issue 27).

Python's tarfile stops silently at the first header it cannot read (a corrupted header reads as the archive's end)
and never reads a gzip/bzip2/xz stream to its trailer, so a damaged .tar.gz extracted "successfully" with members
missing or wrong. Here a tar is read through `open_tar`: the compression is taken from the first bytes (the Kinetics
mirror has plain tars named .tar.gz), and `finish_tar` then reads the stream to its very end, so that

- gzip's CRC-32 and size trailer (of every member of a multi-member file), bzip2's block and stream CRCs and xz's
  check are all verified by the decompressor, and a stream cut short is an error, not an end;
- the tar itself ends with its end-of-archive marker (zero blocks) and nothing but zeros after it: a header that
  fails its checksum in the middle, or a tar cut between two members, is found.

Every tar member is read to its end on the way (listing reads the data it skips). A zip entry's CRC is checked as it
is extracted (zipfile reads each entry to its end), and `zip_entry_problem` refuses what zipfile cannot read
(encrypted entries, Deflate64 and other methods) before anything is written. Errors are ExtractError, one line.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ctm.errors import UserError

CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE
COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
OPENERS = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}
# what the readers raise on damaged bytes: decompressors (bz2 raises a bare OSError), tarfile, zipfile
STREAM_ERRORS = (EOFError, zlib.error, lzma.LZMAError, OSError, tarfile.TarError, zipfile.BadZipFile)
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
ZIP_METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 10: "PKWARE DCL Implode", 93: "Zstandard", 95: "xz",
                    96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "WinZip AES encryption"}


class ExtractError(UserError, RuntimeError):
    """An archive cannot be extracted (damaged, unsafe entry, unknown format, no RAR tool, tool failure); says what
    to do."""


def one_line(text: str, limit: int = 400, tail: bool = False) -> str:
    """`text` on one line (a tool's output, an exception's message), at most `limit` characters: its start, or its
    end with `tail` (where a tool prints its error last)."""
    flat = " / ".join(line.strip() for line in str(text).splitlines() if line.strip())
    if len(flat) <= limit:
        return flat
    return "..." + flat[3 - limit :] if tail else flat[: limit - 3] + "..."


def damaged(archive: Path, detail: str) -> ExtractError:
    return ExtractError(f"{archive}: cannot be extracted, it is damaged or cut short ({one_line(detail)}); nothing "
                        "was extracted: download it again (`ctm download` resumes and verifies) or get it from its "
                        "official source")


def compression(archive: Path) -> str | None:
    """'gzip', 'bzip2', 'xz' from the first bytes, None for anything else (a plain tar, a zip, ...)."""
    with open(archive, "rb") as f:
        head = f.read(6)
    return next((name for magic, name in COMPRESSIONS if head.startswith(magic)), None)


class _Stream:
    """The decompressed bytes as tarfile reads them: decompressor errors become `damaged` sentences, and the last
    header-sized read is kept, so that the block where tarfile stopped can be checked without reading back."""

    def __init__(self, archive: Path, kind: str | None):
        self.archive, self.kind = archive, kind or "tar"
        self.raw = OPENERS[kind](archive, "rb") if kind else open(archive, "rb")  # noqa: SIM115 (closed by close)
        self.pos, self.last = 0, (-1, b"")

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.raw.read(size)
        except OSError as err:
            if err.errno is not None:  # the disk, not the data (the decompressors raise OSErrors without errno)
                raise ExtractError(f"{self.archive}: cannot read it ({err.strerror}); check the disk and run "
                                   "again") from None
            raise damaged(self.archive, f"{self.kind} data at byte {self.pos}: {type(err).__name__}: {err}") from None
        except STREAM_ERRORS as err:
            raise damaged(self.archive, f"{self.kind} data at byte {self.pos}: {type(err).__name__}: {err}") from None
        if size == BLOCK:
            self.last = (self.pos, data)
        self.pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0 and pos >= self.pos:  # forward: read through, so that every byte passes the checks
            while self.pos < pos and self.read(min(CHUNK, pos - self.pos)):
                pass
            return self.pos
        try:
            self.pos = self.raw.seek(pos, whence)
        except STREAM_ERRORS as err:
            raise damaged(self.archive, f"{self.kind} data: {type(err).__name__}: {err}") from None
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.raw.close()


@contextlib.contextmanager
def open_tar(archive: Path) -> Iterator[tuple[tarfile.TarFile, _Stream]]:
    """The tar in `archive` (plain, gzip, bzip2 or xz by content) and its checked stream; errors are sentences."""
    stream = _Stream(archive, compression(archive))
    try:
        try:
            tf = tarfile.open(fileobj=stream, mode="r:")  # noqa: SIM115 (closed below)
        except tarfile.TarError as err:
            raise damaged(archive, f"no tar inside the {stream.kind} data: {err}") from None
        with tf:
            yield tf, stream
    finally:
        stream.close()


def finish_tar(archive: Path, tf: tarfile.TarFile, stream: _Stream) -> None:
    """After tarfile has met what it takes for the archive's end: prove that it is the end. Reads the rest of the
    stream (the decompressor then checks its CRCs and size trailers) and requires only zero blocks there."""
    end = tf.offset  # where tarfile read the block it could not take as a header
    at, block = stream.last
    if at != end:
        stream.seek(end)
        block = stream.read(BLOCK)
    zeros = len(block)
    if block.strip(b"\0"):
        raise damaged(archive, f"the tar header at byte {end} of the {stream.kind} data is not valid and data follows "
                               "it: a damaged header, members after it would be lost")
    while chunk := stream.read(CHUNK):
        if chunk.strip(b"\0"):
            raise damaged(archive, f"data follows the tar's end at byte {end} of the {stream.kind} data (a "
                                   "header damaged into zeros?)")
        zeros += len(chunk)
    if zeros < BLOCK:
        raise damaged(archive, f"the tar ends at byte {end} of the {stream.kind} data without its end-of-archive "
                               "marker: cut short between two members")


def read_members(archive: Path, tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member of an open tar, reading (and so checking) the data it skips; tarfile's own errors as sentences."""
    try:
        return tf.getmembers()
    except tarfile.TarError as err:
        raise damaged(archive, f"tar: {err}") from None


def zip_entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot extract this entry (encrypted, or a compression method it lacks), or None."""
    if info.flag_bits & 0x1:
        return ("encrypted (password-protected), which ctm extract does not read: get an unencrypted copy from the "
                "official source, or extract it yourself with the password (`7z x`, `unzip`)")
    if info.compress_type not in ZIP_METHODS:
        name = ZIP_METHOD_NAMES.get(info.compress_type, "an unknown method")
        return (f"compressed with {name} (zip method {info.compress_type}), which Python's zipfile cannot read: "
                "extract it with `7z x` (Debian package p7zip-full) and point the dataset root at the result")
    return None
