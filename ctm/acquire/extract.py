"""Safe, verified, all-or-nothing extraction of the datasets' archives: zip, tar(.gz/.bz2/.xz) and RAR (incl.
HMDB-51's RAR of RARs).

The format comes from the file's first bytes, not its name. zip and tar are read with Python; RAR needs an external
tool, looked up at run time in the order unar (with its lsar), 7z / 7zz / 7za, bsdtar (stored RARs, as the synthetic
stand-ins are, are read without one: ctm.acquire.rar). Every archive is listed first, and a tar's whole stream is
verified on the way (ctm.acquire.archive_verify); the archive is refused whole, before anything is written, if an
entry is unsafe (ctm.acquire.archive_names) or cannot be read. Then, holding the lock of `out` (ctm.locking: a second
run into the same `out` waits, or says which run holds it), entries go to a private staging folder, are checked
again (a tar's stream to its end, links on disk) and are moved into `out` by renames, all or nothing
(ctm.acquire.archive_merge); a marker `out/.extracted-<archive name>.json` (ctm.acquire.extract_marker: the
archive's name, size and sha256, the options, the top-level names) makes a repeat a no-op.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

from ctm.acquire import archive_merge, rar
from ctm.acquire import archive_verify as verify
from ctm.acquire.archive_names import Entry, NameGuard, show, unsafe_reason
from ctm.acquire.archive_verify import ExtractError
from ctm.acquire.extract_marker import done as _done
from ctm.acquire.extract_marker import identity as _identity
from ctm.acquire.extract_marker import sha256 as _sha256
from ctm.acquire.extract_marker import stamp as _stamp
from ctm.acquire.rar_tools import INSTALL_HINT, list_with_tool, rar_tools, unpack_with_tools
from ctm.fileio import save_json
from ctm.locking import LockedError, exclusive
from ctm.progress import progress_bar

__all__ = ["Entry", "ExtractError", "archive_format", "extract", "list_entries", "rar_tools", "unsafe_reason"]

RAR_MAGIC = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# An archive that lists more than this many times its own size (and over MIN_LIMIT) is refused before extraction: the
# datasets' archives hold compressed videos and text (ratios under 10); a zip bomb's ratio is in the thousands.
MAX_RATIO = 100
MIN_LIMIT = 16 << 20
WAIT_S = 3600.0  # how long a second run into the same `out` waits for the first (Snakemake runs them side by side)
# What the zip and tar readers raise on damaged bytes, and what a file system raises when entries clash on disk
DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError)
CLASH = (NotADirectoryError, FileExistsError, IsADirectoryError)


def archive_format(archive: Path) -> str:
    """'zip', 'tar' or 'rar' from the first bytes of the file (a .tar.gz, or a plain tar of any name, is 'tar')."""
    with open(archive, "rb") as f:
        head = f.read(512)
    if head.startswith(RAR_MAGIC):
        return "rar"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if verify.compression(archive) or tarfile.is_tarfile(archive):
        return "tar"
    if head.startswith(ZSTD_MAGIC):
        raise ExtractError(f"{archive}: zstd-compressed, which ctm extract does not read; decompress it first "
                           "(`zstd -d`) and extract the tar that gives")
    raise ExtractError(f"{archive}: not a zip, tar(.gz/.bz2/.xz) or RAR archive (first bytes {head[:8]!r}); "
                       "is the download complete?")


def _zip_entries(archive: Path) -> list[Entry]:
    with zipfile.ZipFile(archive) as zf:
        out = []
        for info in zf.infolist():
            problem = verify.zip_entry_problem(info)
            if problem:
                raise ExtractError(f"{archive}: entry {show(info.filename)} is {problem}")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a Unix symlink: its data is the target
                out.append(Entry(info.filename, "symlink", zf.read(info).decode("utf-8", "replace")))
            else:
                out.append(Entry(info.filename, "dir" if info.is_dir() else "file", size=info.file_size))
        return out


def _tar_entry(m: tarfile.TarInfo) -> Entry:
    kind = "file" if m.isfile() else "dir" if m.isdir() else "symlink" if m.issym() else "hardlink" if m.islnk() \
        else "special"
    return Entry(m.name, kind, m.linkname or None, m.size)


def _tar_entries(archive: Path) -> list[Entry]:
    """Every member, the whole stream read and verified (CRCs, size trailers, the tar's end) on the way."""
    with verify.open_tar(archive) as (tf, stream):
        members = verify.read_members(archive, tf)
        verify.finish_tar(archive, tf, stream)
    return [_tar_entry(m) for m in members]


def list_entries(archive: Path) -> list[Entry]:
    """Every entry of a zip, tar or RAR archive (RAR: listed by the first tool of rar_tools())."""
    fmt = archive_format(archive)
    if fmt in ("zip", "tar"):
        try:
            return _zip_entries(archive) if fmt == "zip" else _tar_entries(archive)
        except (*DAMAGED, OSError) as err:
            raise verify.damaged(archive, f"{type(err).__name__}: {err}") from None
    try:
        if not rar_tools():  # the stand-ins' RARs (stored, as ctm.standins.rar_writer writes them) need no tool
            return [Entry(m.name, "dir" if m.directory else "file", None, m.size) for m in rar.read_stored(archive)]
        rar.check_blocks(archive)  # RAR 1.5-4.x: every header checked before a tool reads it
        return list_with_tool(rar_tools()[0], archive)
    except rar.RarDamagedError as err:
        raise verify.damaged(archive, str(err).removeprefix(f"{archive}: ")) from None
    except rar.RarFormatError as err:
        raise ExtractError(f"{archive} is a RAR archive and no RAR tool (unar, 7z, bsdtar) is on PATH "
                           f"({err}); {INSTALL_HINT}") from None


def _check(archive: Path, entries: list[Entry], max_ratio: float = MAX_RATIO, strip_components: int = 0) -> None:
    declared = sum(e.size for e in entries)
    limit = max(max_ratio * archive.stat().st_size, MIN_LIMIT)
    if declared > limit:
        raise ExtractError(f"{archive}: refusing the whole archive, it declares {declared} bytes, over {max_ratio:g} "
                           f"times its own size ({archive.stat().st_size} bytes); nothing was extracted. Get the "
                           "archive from its official source (or raise the limit: `ctm extract --max-ratio`)")
    guard = NameGuard(archive, strip_components)
    for entry in entries:
        guard.check(entry)


def _unpack_tar(archive: Path, dest: Path, strip: int, count: int, progress: bool) -> None:
    guard = NameGuard(archive, strip)  # again, entry by entry: the archive may have changed since its listing
    with verify.open_tar(archive) as (tf, stream):
        for member in progress_bar(tf, total=count, desc=archive.name, unit="file", disable=not progress):
            guard.check(_tar_entry(member))
            tf.extract(member, dest, filter="data")
        verify.finish_tar(archive, tf, stream)


def _unpack(archive: Path, fmt: str, dest: Path, entries: list[Entry], strip: int, progress: bool) -> None:
    if fmt == "zip":
        with zipfile.ZipFile(archive) as zf:  # each entry is read to its end: zipfile checks its CRC-32 there
            for info in progress_bar(zf.infolist(), desc=archive.name, unit="file", disable=not progress):
                zf.extract(info, dest)
    elif fmt == "tar":
        _unpack_tar(archive, dest, strip, len(entries), progress)
    elif rar_tools():
        unpack_with_tools(archive, dest, len(entries), progress)
    else:  # no tool on PATH: list_entries has already found every member stored
        try:
            rar.extract_stored(archive, rar.read_stored(archive), dest)
        except rar.RarFormatError as err:
            raise verify.damaged(archive, str(err).removeprefix(f"{archive}: ")) from None


def _unpack_checked(archive: Path, fmt: str, dest: Path, entries: list[Entry], strip: int, progress: bool) -> None:
    """`_unpack` with every failure as one sentence; nothing of it has reached `out` yet."""
    try:
        _unpack(archive, fmt, dest, entries, strip, progress)
    except tarfile.FilterError as err:
        raise ExtractError(f"{archive}: refusing the whole archive, {verify.one_line(err)}; nothing was extracted. "
                           "Get the archive from its official source.") from None
    except CLASH as err:
        raise ExtractError(f"{archive}: cannot be extracted ({type(err).__name__}: {verify.one_line(err, 300)}): its "
                           "entries clash (a file and a folder of the same name); nothing was extracted. Get the "
                           "archive from its official source") from None
    except DAMAGED as err:
        raise verify.damaged(archive, f"{type(err).__name__}: {err}") from None
    except OSError as err:
        raise ExtractError(f"{archive}: cannot write {err.filename or dest} ({err.strerror or err}); nothing was "
                           f"extracted: make room in (or fix) {dest.parent}, then run again") from None


def _stage(archive: Path, stage: Path, strip: int, inner_rars: bool, progress: bool, max_ratio: float,
           entries: list[Entry]) -> Path:
    """Unpack into `stage`, strip, unpack the inner RARs; the tree that goes into `out` (stage/tree)."""
    raw, tree = stage / "raw", stage / "tree"
    raw.mkdir()
    tree.mkdir()
    _unpack_checked(archive, archive_format(archive), raw, entries, strip, progress)
    items = sorted(raw.iterdir())
    for _ in range(strip):
        items = [c for d in items if d.is_dir() and not d.is_symlink() for c in sorted(d.iterdir())]
    for item in items:
        archive_merge.fold(archive, item, tree / item.name)
    archive_merge.check_tree(archive, tree)
    inner = [p for p in sorted(tree.iterdir()) if p.name.lower().endswith(".rar") and p.is_file()] * inner_rars
    for k, path in enumerate(progress_bar(inner, desc=f"{archive.name}: inner RARs", unit="rar",
                                          disable=not progress)):
        dest = stage / f"inner-{k}"
        dest.mkdir()
        try:
            found = list_entries(path)
            _check(path, found, max_ratio)
            _unpack_checked(path, "rar", dest, found, 0, progress=False)
            archive_merge.check_tree(path, dest)
        except ExtractError as err:
            raise ExtractError(str(err).replace(str(path), f"{archive} (inner {path.name})")) from None
        path.unlink()
        for item in sorted(dest.iterdir()):
            archive_merge.fold(archive, item, tree / item.name)
    return tree


@contextlib.contextmanager
def _locked(out: Path, wait_s: float):
    """Hold `out`'s lock; when another run holds it, say so and wait up to `wait_s` seconds for it."""
    held = False
    try:
        with exclusive(out, "ctm extract"):
            held = True
            yield
    except LockedError as err:
        if held or wait_s <= 0:
            raise
        print(f"ctm extract: {str(err).split('; wait')[0]}; waiting up to {wait_s:g} s for it (--wait)",
              file=sys.stderr)
    if not held:
        with exclusive(out, "ctm extract", wait_s=wait_s):
            yield


def extract(archive: str | os.PathLike, out: str | os.PathLike, *, strip_components: int = 0,
            inner_rars: bool = False, progress: bool = True, max_ratio: float = MAX_RATIO,
            wait_s: float = WAIT_S) -> list[Path]:
    """Extract `archive` into `out` unless its marker says it already is; return the top-level paths in out.

    strip_components: leading folders dropped from every entry, like tar's option (entries above are skipped).
    inner_rars: then extract each top-level .rar (HMDB-51's per-class RARs) too, in place of the .rar.
    max_ratio: an archive whose entries declare more than this many times its size (and over MIN_LIMIT) is refused.
    wait_s: how long to wait for another run that holds `out`'s lock (ctm.locking.LockedError after that).
    Raises ExtractError (damaged archive, unsafe entry, unknown format, no RAR tool, clash with `out`, tool failure),
    with `out` as it was.
    """
    archive, given = Path(archive), Path(out)
    if not archive.is_file():
        raise ExtractError(f"{archive}: no such archive; download it first (`ctm download`)")
    if strip_components < 0:
        raise ExtractError(f"--strip-components {strip_components}: must be 0 or more")
    out = archive_merge.real_out(given)
    stamp, identity = _stamp(archive, strip_components, inner_rars), _identity(archive)
    marker = out / f".extracted-{archive.name}.json"
    names = _done(marker, archive, stamp)
    if names is None:
        entries = list_entries(archive)  # before the lock: runs into one `out` may verify their archives together
        _check(archive, entries, max_ratio, strip_components)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ExtractError(f"--out {given}: cannot create {out.parent} ({err.strerror or err})") from None
        try:
            with _locked(out, wait_s):
                names = _done(marker, archive, stamp)  # the run we waited for may have done it
                if names is None:
                    names = _extract_locked(archive, out, stamp, identity, entries, progress, max_ratio)
        except OSError as err:  # the lock file, the staging folder, the marker: what is written beside or in `out`
            raise ExtractError(f"{archive}: cannot write {err.filename or out} ({err.strerror or err}); nothing was "
                               f"extracted: make room in (or fix) {out.parent}, then run again") from None
    return [given / n for n in names]


def _extract_locked(archive: Path, out: Path, stamp: dict, identity: tuple[int, int], entries: list[Entry],
                    progress: bool, max_ratio: float) -> list[str]:
    strip, inner_rars = stamp["strip_components"], stamp["inner_rars"]
    if _identity(archive) != identity:
        raise ExtractError(f"{archive}: changed while this run waited for --out; run the same command again")
    with archive_merge.staging(out, archive.name) as stage:
        tree = _stage(archive, stage, strip, inner_rars, progress, max_ratio, entries)
        sha256 = _sha256(archive)
        if _identity(archive) != identity:
            raise ExtractError(f"{archive}: changed while it was being extracted (a download into it?); nothing "
                               "was extracted: run the same command again once it is complete")
        names = sorted(p.name for p in tree.iterdir())
        created = not out.exists()
        out.mkdir(exist_ok=True)
        try:
            archive_merge.merge(archive, tree, out, stage / "replaced")
        except ExtractError:
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()
            raise
    marker = out / f".extracted-{archive.name}.json"
    try:
        save_json({**stamp, "sha256": sha256, "paths": names}, marker)
    except OSError as err:
        raise ExtractError(f"{archive}: extracted into {out}, but its marker {marker} cannot be written "
                           f"({err.strerror or err}); make room, then run again (it extracts again)") from None
    return names
