"""The external RAR extractors: found on PATH at run time (unar with its lsar, then 7z / 7zz / 7za, then bsdtar),
used to list a RAR's entries and to extract it into a staging folder (ctm.acquire.extract). A tool that fails, or
prints what is not a listing, is an ExtractError of one line naming the archive, the command and its last output.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ctm.acquire.archive_names import Entry
from ctm.acquire.archive_verify import ExtractError, one_line
from ctm.progress import progress_bar

INSTALL_HINT = ("install one: `apt-get install unar` (or the Debian package p7zip-full or 7zip for 7z, or "
                "libarchive-tools for bsdtar)")


def rar_tools() -> list[str]:
    """The RAR tools on PATH, in the order they are tried."""
    found = ["unar"] if shutil.which("unar") and shutil.which("lsar") else []
    found += [t for t in ("7z", "7zz", "7za") if shutil.which(t)][:1]
    return found + (["bsdtar"] if shutil.which("bsdtar") else [])


def _failed(archive: Path, argv: list[str], code: int, output: str) -> ExtractError:
    return ExtractError(f"{archive}: `{' '.join(argv)}` failed ({code}): {one_line(output, 400, tail=True)}; is it "
                        "complete? Download it again (`ctm download` resumes and verifies), or install another RAR "
                        "tool (unar, p7zip-full, libarchive-tools)")


def _run(archive: Path, argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    except OSError as err:
        raise ExtractError(f"{archive}: cannot run `{argv[0]}` ({err.strerror or err}); {INSTALL_HINT}") from None
    if result.returncode != 0:
        raise _failed(archive, argv, result.returncode, result.stderr.strip() or result.stdout)
    return result.stdout


def _no_listing(archive: Path, tool: str, output: str) -> ExtractError:
    return ExtractError(f"{archive}: `{tool}` printed no listing of it ({one_line(output[-1000:], 300) or 'nothing'});"
                        " is it a RAR archive, and complete? Download it again or try another RAR tool "
                        f"({INSTALL_HINT})")


def _list_lsar(archive: Path) -> list[Entry]:
    output = _run(archive, ["lsar", "-j", str(archive)])
    try:
        contents = json.loads(output)["lsarContents"]
        return [Entry(e["XADFileName"], "dir" if e.get("XADIsDirectory") else "symlink" if e.get("XADIsLink")
                      else "hardlink" if e.get("XADIsHardLink") else "file", e.get("XADLinkDestination"),
                      int(e.get("XADFileSize") or 0)) for e in contents]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _no_listing(archive, "lsar -j", output) from None


def _list_7z(tool: str, archive: Path) -> list[Entry]:
    output = _run(archive, [tool, "l", "-slt", "-sccUTF-8", str(archive)])
    if "\n----------\n" not in output:
        raise _no_listing(archive, f"{tool} l -slt", output)
    entries = []
    for block in re.split(r"\n\s*\n", output.split("\n----------\n", 1)[1].strip()):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Path" in fields:
            link = fields.get("Symbolic Link") or fields.get("Link") or None
            kind = "dir" if fields.get("Folder") == "+" else "symlink" if link else "file"
            size = int(fields["Size"]) if fields.get("Size", "").isdigit() else 0
            entries.append(Entry(fields["Path"], kind, link, size))
    return entries


def _list_bsdtar(archive: Path) -> list[Entry]:
    names = _run(archive, ["bsdtar", "-tf", str(archive)]).splitlines()
    verbose = _run(archive, ["bsdtar", "-tvf", str(archive)]).splitlines()
    if len(names) != len(verbose):
        raise _no_listing(archive, "bsdtar -tvf", "\n".join(verbose))
    entries = []
    for name, line in zip(names, verbose, strict=True):
        if line.startswith("l") and f"{name} -> " in line:
            entries.append(Entry(name, "symlink", line.split(f"{name} -> ", 1)[1]))
        elif f"{name} link to " in line:
            entries.append(Entry(name, "hardlink", line.split(f"{name} link to ", 1)[1]))
        else:
            entries.append(Entry(name, "dir" if line.startswith("d") else "file"))
    return entries


def list_with_tool(tool: str, archive: Path) -> list[Entry]:
    """The entries of a RAR as `tool` lists them."""
    return _list_lsar(archive) if tool == "unar" else _list_bsdtar(archive) if tool == "bsdtar" else \
        _list_7z(tool, archive)


def _rar_argv(tool: str, archive: Path, dest: Path) -> list[str]:
    """The command that extracts `archive` into `dest`, printing one line per entry (counted by the progress bar)."""
    if tool == "unar":  # -D: no enclosing folder, -nr: never unpack archives found inside
        return ["unar", "-f", "-D", "-nr", "-o", str(dest), str(archive)]
    if tool == "bsdtar":
        return ["bsdtar", "-xvf", str(archive), "-C", str(dest)]
    return [tool, "x", "-y", "-bd", "-bb1", f"-o{dest}", str(archive)]


def _run_counting(archive: Path, argv: list[str], total: int, desc: str, progress: bool) -> None:
    """Run an extractor, advancing a progress bar by one per line it prints; ExtractError with its last lines."""
    tail: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace") as p, \
            progress_bar(total=total, desc=desc, unit="file", disable=not progress) as bar:
        for line in p.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            bar.update(min(1, total - bar.n))
    if p.returncode != 0:
        raise _failed(archive, argv, p.returncode, "\n".join(tail))


def unpack_with_tools(archive: Path, dest: Path, total: int, progress: bool) -> None:
    """Extract a RAR into the empty folder `dest` with the first tool of rar_tools() that succeeds."""
    errors = []
    for tool in rar_tools():
        try:
            _run_counting(archive, _rar_argv(tool, archive, dest), total, f"{archive.name} ({tool})", progress)
            return
        except ExtractError as err:
            errors.append(str(err).removeprefix(f"{archive}: ").split("; is it complete?")[0])
            shutil.rmtree(dest)
            dest.mkdir()
    raise ExtractError(f"{archive}: no RAR tool could extract it: " + " | ".join(errors) + "; is it complete? "
                       "Download it again (`ctm download` resumes and verifies) or get it from its official source")
