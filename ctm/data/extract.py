"""Safe, resumable extraction of the datasets' archives: zip, tar(.gz/.bz2/.xz) and RAR (incl. HMDB-51's RAR of RARs).

The format comes from the file's first bytes, not its name. zip and tar are read with Python; RAR needs an external
tool, looked up at run time in the order unar (with its lsar), 7z / 7zz / 7za, bsdtar. Every archive is listed first
and refused whole, before anything is written, if an entry is absolute, has a drive letter or a '..' component (with
'\\' read as '/'), or is a link pointing outside the archive's root. Entries go to a temporary sibling folder of
`out` and are then moved into `out` one by one (renames), so an interrupted run leaves no half-written file in `out`;
a marker `out/.extracted-<archive name>.json` (archive size + mtime, options, top-level names) makes a repeat a no-op.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ctm.data import rar
from ctm.errors import UserError
from ctm.fileio import save_json
from ctm.progress import progress_bar

RAR_MAGIC = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# An archive that lists more than this many times its own size (and over MIN_LIMIT) is refused before extraction: the
# datasets' archives hold compressed videos and text (ratios under 10); a zip bomb's ratio is in the thousands.
MAX_RATIO = 100
MIN_LIMIT = 16 << 20
INSTALL_HINT = ("install one: `apt-get install unar` (or the Debian package p7zip-full or 7zip for 7z, or "
                "libarchive-tools for bsdtar)")


class ExtractError(UserError, RuntimeError):
    """An archive cannot be extracted (unsafe entry, unknown format, no RAR tool, tool failure); says what to do."""


@dataclass(frozen=True)
class Entry:
    """One archive entry: its name with '/' separators, kind (file, dir, symlink, hardlink, special), link target."""

    name: str
    kind: str = "file"
    target: str | None = None
    size: int = 0  # bytes the entry expands to, as the archive declares it (0 where the listing does not say)


def archive_format(archive: Path) -> str:
    """'zip', 'tar' or 'rar' from the first bytes of the file (a .tar.gz is 'tar')."""
    with open(archive, "rb") as f:
        head = f.read(512)
    if head.startswith(RAR_MAGIC):
        return "rar"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    raise ExtractError(f"{archive}: not a zip, tar(.gz/.bz2/.xz) or RAR archive (first bytes {head[:8]!r}); "
                       "is the download complete?")


def unsafe_reason(entry: Entry) -> str | None:
    """Why an entry may not be extracted, or None when it stays inside the extraction folder."""
    name = entry.name.replace("\\", "/")
    if name.startswith("/"):
        return "an absolute path"
    if re.match(r"[A-Za-z]:", name):
        return "a drive letter"
    if ".." in name.split("/"):
        return "a '..' component"
    if entry.kind == "special":
        return "a device file or fifo"
    if entry.kind in ("symlink", "hardlink"):
        if entry.target is None:
            return f"a {entry.kind} with an unknown target"
        target = entry.target.replace("\\", "/")
        base = posixpath.dirname(name) if entry.kind == "symlink" else ""  # hardlink targets are archive paths
        if target.startswith("/") or re.match(r"[A-Za-z]:", target) or \
                posixpath.normpath(posixpath.join(base, target)).split("/")[0] == "..":
            return f"a {entry.kind} to {entry.target!r}, outside the archive"
    return None


def _zip_entries(archive: Path) -> list[Entry]:
    with zipfile.ZipFile(archive) as zf:
        out = []
        for info in zf.infolist():
            if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a Unix symlink: its data is the target
                out.append(Entry(info.filename, "symlink", zf.read(info).decode("utf-8", "replace")))
            else:
                out.append(Entry(info.filename, "dir" if info.is_dir() else "file", size=info.file_size))
        return out


def _tar_entries(archive: Path) -> list[Entry]:
    with tarfile.open(archive) as tf:
        return [Entry(m.name, "file" if m.isfile() else "dir" if m.isdir() else "symlink" if m.issym()
                      else "hardlink" if m.islnk() else "special", m.linkname or None, m.size)
                for m in tf.getmembers()]


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        output = (result.stderr or result.stdout)[-800:]
        raise ExtractError(f"`{' '.join(argv)}` failed ({result.returncode}): {output}")
    return result.stdout


def _list_lsar(archive: Path) -> list[Entry]:
    contents = json.loads(_run(["lsar", "-j", str(archive)]))["lsarContents"]
    return [Entry(e["XADFileName"], "dir" if e.get("XADIsDirectory") else "symlink" if e.get("XADIsLink")
                  else "hardlink" if e.get("XADIsHardLink") else "file", e.get("XADLinkDestination"),
                  int(e.get("XADFileSize") or 0)) for e in contents]


def _list_7z(tool: str, archive: Path) -> list[Entry]:
    text = _run([tool, "l", "-slt", "-sccUTF-8", str(archive)]).split("\n----------\n", 1)[1]
    entries = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Path" in fields:
            link = fields.get("Symbolic Link") or fields.get("Link") or None
            kind = "dir" if fields.get("Folder") == "+" else "symlink" if link else "file"
            size = int(fields["Size"]) if fields.get("Size", "").isdigit() else 0
            entries.append(Entry(fields["Path"], kind, link, size))
    return entries


def _list_bsdtar(archive: Path) -> list[Entry]:
    names = _run(["bsdtar", "-tf", str(archive)]).splitlines()
    verbose = _run(["bsdtar", "-tvf", str(archive)]).splitlines()
    entries = []
    for name, line in zip(names, verbose, strict=True):
        if line.startswith("l") and f"{name} -> " in line:
            entries.append(Entry(name, "symlink", line.split(f"{name} -> ", 1)[1]))
        elif f"{name} link to " in line:
            entries.append(Entry(name, "hardlink", line.split(f"{name} link to ", 1)[1]))
        else:
            entries.append(Entry(name, "dir" if line.startswith("d") else "file"))
    return entries


def rar_tools() -> list[str]:
    """The RAR tools on PATH, in the order they are tried."""
    found = ["unar"] if shutil.which("unar") and shutil.which("lsar") else []
    found += [t for t in ("7z", "7zz", "7za") if shutil.which(t)][:1]
    return found + (["bsdtar"] if shutil.which("bsdtar") else [])


def _rar_argv(tool: str, archive: Path, dest: Path) -> list[str]:
    """The command that extracts `archive` into `dest`, printing one line per entry (counted by the progress bar)."""
    if tool == "unar":  # -D: no enclosing folder, -nr: never unpack archives found inside
        return ["unar", "-f", "-D", "-nr", "-o", str(dest), str(archive)]
    if tool == "bsdtar":
        return ["bsdtar", "-xvf", str(archive), "-C", str(dest)]
    return [tool, "x", "-y", "-bd", "-bb1", f"-o{dest}", str(archive)]


def _run_counting(argv: list[str], total: int, desc: str, progress: bool) -> None:
    """Run an extractor, advancing a progress bar by one per line it prints; ExtractError with its last lines."""
    tail: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace") as p, \
            progress_bar(total=total, desc=desc, unit="file", disable=not progress) as bar:
        for line in p.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            bar.update(min(1, total - bar.n))
    if p.returncode != 0:
        raise ExtractError(f"`{' '.join(argv)}` failed ({p.returncode}): " + " / ".join(tail))


# What Python's zip and tar readers raise on a cut or damaged archive, or on entries that clash on disk (a file, then
# a folder of the same name) or that tarfile's "data" filter refuses (a chain of links leading outside)
DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, NotADirectoryError, FileExistsError,
           IsADirectoryError)


def _damaged(archive: Path, err: BaseException) -> ExtractError:
    first = (str(err).splitlines() or [""])[0][:300]
    return ExtractError(f"{archive}: cannot be extracted ({type(err).__name__}: {first}); it is cut short or damaged, "
                        "or its entries clash. Nothing was extracted: download it again (`ctm download` resumes and "
                        "verifies) or get it from its official source")


def list_entries(archive: Path) -> list[Entry]:
    """Every entry of a zip, tar or RAR archive (RAR: listed by the first tool of rar_tools())."""
    fmt = archive_format(archive)
    if fmt in ("zip", "tar"):
        try:
            return _zip_entries(archive) if fmt == "zip" else _tar_entries(archive)
        except DAMAGED as err:
            raise _damaged(archive, err) from None
    tools = rar_tools()
    if not tools:
        try:  # the stand-ins' RARs (stored, as ctm.data.rar writes them) need no tool
            return [Entry(m.name, "dir" if m.directory else "file", None, m.size) for m in rar.read_stored(archive)]
        except rar.RarFormatError as err:
            raise ExtractError(f"{archive} is a RAR archive and no RAR tool (unar, 7z, bsdtar) is on PATH "
                               f"({err}); {INSTALL_HINT}") from None
    tool = tools[0]
    return _list_lsar(archive) if tool == "unar" else _list_bsdtar(archive) if tool == "bsdtar" else \
        _list_7z(tool, archive)


def _check(archive: Path, entries: list[Entry], max_ratio: float = MAX_RATIO) -> None:
    declared = sum(e.size for e in entries)
    limit = max(max_ratio * archive.stat().st_size, MIN_LIMIT)
    if declared > limit:
        raise ExtractError(f"{archive}: refusing the whole archive, it declares {declared} bytes, over {max_ratio:g} "
                           f"times its own size ({archive.stat().st_size} bytes); nothing was extracted. Get the "
                           "archive from its official source (or raise the limit: `ctm extract --max-ratio`)")
    for entry in entries:
        reason = unsafe_reason(entry)
        if reason:
            raise ExtractError(f"{archive}: refusing the whole archive, entry {entry.name!r} is {reason}; "
                               "nothing was extracted. Get the archive from its official source.")


def _check_tree(archive: Path, root: Path) -> None:
    """After extraction, before anything moves into `out`: no link the listing missed may point outside."""
    top = root.resolve()
    for path in root.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(top):
            raise ExtractError(f"{archive}: refusing the whole archive, {path.relative_to(root)} links outside it")


def _unpack(archive: Path, fmt: str, staging: Path, entries: list[Entry], progress: bool) -> None:
    if fmt == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in progress_bar(zf.infolist(), desc=archive.name, unit="file", disable=not progress):
                zf.extract(info, staging)
    elif fmt == "tar":
        with tarfile.open(archive) as tf:
            for member in progress_bar(tf, total=len(entries), desc=archive.name, unit="file", disable=not progress):
                tf.extract(member, staging, filter="data")
    else:
        errors = []
        for tool in rar_tools():
            try:
                _run_counting(_rar_argv(tool, archive, staging), len(entries), f"{archive.name} ({tool})", progress)
                return
            except ExtractError as err:
                errors.append(str(err))
                shutil.rmtree(staging)
                staging.mkdir()
        if errors:
            raise ExtractError(f"{archive}: no RAR tool could extract it: " + " | ".join(errors))
        try:  # no tool on PATH: list_entries has already found every member stored
            rar.extract_stored(archive, rar.read_stored(archive), staging)
        except rar.RarFormatError as err:
            raise ExtractError(f"{archive}: {err}; {INSTALL_HINT}") from None


def _merge(src: Path, dst: Path) -> None:
    """Move `src` to `dst` by renames; folders that exist on both sides are merged, files replaced."""
    if dst.is_dir() and not dst.is_symlink() and src.is_dir() and not src.is_symlink():
        for child in sorted(src.iterdir()):
            _merge(child, dst / child.name)
        src.rmdir()
    elif dst.is_dir() and not dst.is_symlink():
        raise ExtractError(f"cannot put the file {src.name} where the folder {dst} is; move that folder away")
    else:
        os.replace(src, dst)


def _extract_once(archive: Path, out: Path, strip_components: int, progress: bool,
                  max_ratio: float = MAX_RATIO) -> list[str]:
    """Extract into a sibling staging folder, move the top-level entries (after stripping) into out; their names."""
    fmt = archive_format(archive)
    entries = list_entries(archive)
    _check(archive, entries, max_ratio)
    staging = out.parent / f".{out.name}.extracting-{archive.name}"
    if staging.exists():  # left by an interrupted run
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        try:
            _unpack(archive, fmt, staging, entries, progress)
        except DAMAGED as err:
            raise _damaged(archive, err) from None
        _check_tree(archive, staging)
        items = sorted(staging.iterdir())
        for _ in range(strip_components):
            items = [c for d in items if d.is_dir() and not d.is_symlink() for c in sorted(d.iterdir())]
        out.mkdir(parents=True, exist_ok=True)
        for item in items:
            _merge(item, out / item.name)
        return sorted({item.name for item in items})
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def extract(archive: str | os.PathLike, out: str | os.PathLike, *, strip_components: int = 0,
            inner_rars: bool = False, progress: bool = True, max_ratio: float = MAX_RATIO) -> list[Path]:
    """Extract `archive` into `out` unless its marker says it already is; return the top-level paths in out.

    strip_components: leading folders dropped from every entry, like tar's option (entries above are skipped).
    inner_rars: then extract each top-level .rar (HMDB-51's per-class RARs) into out too and delete it from out.
    max_ratio: an archive whose entries declare more than this many times its size (and over MIN_LIMIT) is refused.
    Raises ExtractError (unsafe entry, unknown format, no RAR tool with the packages to install, tool failure).
    """
    archive, out = Path(archive), Path(out)
    if not archive.is_file():
        raise ExtractError(f"{archive}: no such archive; download it first (`ctm download`)")
    stat = archive.stat()
    stamp = {"archive": archive.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
             "strip_components": strip_components, "inner_rars": inner_rars}
    marker = out / f".extracted-{archive.name}.json"
    try:
        done = json.loads(marker.read_text())
        if {k: done.get(k) for k in stamp} == stamp and all((out / n).exists() for n in done["paths"]):
            return [out / n for n in done["paths"]]
    except (OSError, ValueError, KeyError):
        pass
    names = _extract_once(archive, out, strip_components, progress, max_ratio)
    if inner_rars:
        inner = [n for n in names if n.lower().endswith(".rar") and (out / n).is_file()]
        names = [n for n in names if n not in inner]
        for n in progress_bar(inner, desc=f"{archive.name}: inner RARs", unit="rar", disable=not progress):
            names += _extract_once(out / n, out, 0, progress=False, max_ratio=max_ratio)
            (out / n).unlink()
        names = sorted(set(names))
    save_json({**stamp, "paths": names}, marker)
    return [out / n for n in names]
