"""Which archive entries may be extracted: the names and links of an archive, checked before anything is written
(from its listing) and again, entry by entry, as a tar is extracted.

An entry is refused, and with it the whole archive, when its name is absolute, has a drive letter or a '..'
component ('\\' read as '/'), is too long or too deep for a file system (a part over 255 bytes, a name over
MAX_NAME_BYTES, more than MAX_DEPTH parts), is a device file or fifo, or is a link pointing outside the archive's
root, or outside `--out` once `--strip-components` has dropped its first folders. An entry is also refused when it
would be written through a link the archive made before it: a later entry under an earlier link (`d -> .`, then
`d/e`), or a regular file or folder with the name of an earlier link (extractors open that name and follow it).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from ctm.acquire.archive_verify import ExtractError

MAX_PART_BYTES = 255  # NAME_MAX of Linux file systems
MAX_NAME_BYTES = 1024  # far above any dataset's names, well under PATH_MAX (4096) with the staging folder's path
MAX_DEPTH = 64


@dataclass(frozen=True)
class Entry:
    """One archive entry: its name with '/' separators, kind (file, dir, symlink, hardlink, special), link target."""

    name: str
    kind: str = "file"
    target: str | None = None
    size: int = 0  # bytes the entry expands to, as the archive declares it (0 where the listing does not say)


def parts(name: str) -> tuple[str, ...]:
    """The components of an entry name as extractors write it ('\\' as '/', no empty or '.' parts)."""
    return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def show(name: str, limit: int = 80) -> str:
    """An entry name for a message: quoted, escaped, and cut to `limit` characters."""
    return repr(name) if len(name) <= limit else repr(name[:limit]) + f"... ({len(name)} characters)"


def _outside(target: str, base: str) -> bool:
    target = target.replace("\\", "/")
    return target.startswith("/") or bool(re.match(r"[A-Za-z]:", target)) or \
        posixpath.normpath(posixpath.join(base, target)).split("/")[0] == ".."


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
        base = posixpath.dirname(name) if entry.kind == "symlink" else ""  # hardlink targets are archive paths
        if _outside(entry.target, base):
            return f"a {entry.kind} to {entry.target!r}, outside the archive"
    return None


def _size_reason(names: tuple[str, ...]) -> str | None:
    longest = max((len(p.encode("utf-8", "surrogateescape")) for p in names), default=0)
    if longest > MAX_PART_BYTES:
        return (f"a name with a {longest}-byte part, over the {MAX_PART_BYTES} bytes a file or folder name may have "
                "on Linux")
    if len(names) > MAX_DEPTH:
        return f"{len(names) - 1} folders deep, over the {MAX_DEPTH - 1} folders deep this extractor accepts"
    total = len("/".join(names).encode("utf-8", "surrogateescape"))
    if total > MAX_NAME_BYTES:
        return f"a {total}-byte name, over the {MAX_NAME_BYTES} bytes this extractor accepts"
    return None


class NameGuard:
    """Checks the entries of one archive in archive order; `check` raises ExtractError naming the first refused."""

    def __init__(self, archive: Path, strip_components: int = 0):
        self.archive, self.strip = archive, strip_components
        self.links: dict[tuple[str, ...], str] = {}  # earlier link entries: name parts -> kind

    def _reason(self, entry: Entry) -> str | None:
        reason = unsafe_reason(entry)
        if reason:
            return reason
        names = parts(entry.name)
        reason = _size_reason(names)
        if reason:
            return reason
        for i in range(1, len(names) + 1):
            kind = self.links.get(names[:i])
            if kind and (i < len(names) or entry.kind not in ("symlink", "hardlink")):
                return (f"written through the {kind} {'/'.join(names[:i])!r} that the archive makes before it "
                        "(extractors follow it)")
        target = parts(entry.target or "") if entry.kind == "hardlink" else ()
        if any(target[:i] in self.links for i in range(1, len(target) + 1)):
            return f"a hardlink to {entry.target!r}, through a link that the archive makes before it"
        if entry.kind == "symlink" and len(names) > self.strip and self.strip and \
                _outside(entry.target or "", "/".join(names[self.strip:-1])):
            return (f"a symlink to {entry.target!r}, which points outside --out once --strip-components "
                    f"{self.strip} drops its first folder{'s' if self.strip > 1 else ''}")
        return None

    def check(self, entry: Entry) -> None:
        reason = self._reason(entry)
        if reason:
            raise ExtractError(f"{self.archive}: refusing the whole archive, entry {show(entry.name)} is {reason}; "
                               "nothing was extracted. Get the archive from its official source.")
        if entry.kind in ("symlink", "hardlink"):
            self.links[parts(entry.name)] = entry.kind
