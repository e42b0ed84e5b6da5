"""What every annotation reader (Kinetics, Mini-Kinetics, UCF-101, HMDB-51) shares: the error and warning types,
strict UTF-8 reading with file and line, the checks that keep paths inside their root, and `VideoRegistry`, which
refuses one video in two subsets or under two labels (train and test on the same video) and drops exact repeats.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterator
from pathlib import Path

from ctm.errors import UserError


class AnnotationError(UserError, ValueError):
    """An annotation file is missing or malformed; the message names the file (and line) and what to do."""


class AnnotationWarning(UserWarning):
    """An annotation file repeats a line; the repeat was dropped (the message names the files and lines)."""


def require_file(path: Path, source: str) -> Path:
    """`path` if it is a file, else an AnnotationError naming it and the download (`source`) that provides it."""
    if not Path(path).is_file():
        raise AnnotationError(f"{path}: not found; it comes from {source} (extract it in place, unchanged)")
    return Path(path)


def read_utf8(path: Path) -> str:
    """The text of an annotation file (a UTF-8 BOM dropped); bytes that are not UTF-8 are an AnnotationError naming
    the file and line."""
    data = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise AnnotationError(f"{path}:{line}: byte {data[err.start]:#04x} is not UTF-8 (the official files are "
                              "UTF-8: was the file re-saved in another encoding?)") from None


def annotation_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, whitespace-separated fields) of every non-blank line of a text annotation file.

    Tolerates CRLF, LF or CR line ends, a missing final newline, a UTF-8 BOM and stray spaces or tabs. Bytes that are
    not UTF-8 are an AnnotationError naming the file and line: the official lists are ASCII, and a name that UTF-8
    cannot hold could be written to no manifest, checkpoint or report (each is UTF-8).
    """
    for number, line in enumerate(read_utf8(path).splitlines(), start=1):
        fields = line.split()
        if fields:
            yield number, fields


def check_utf8(text: str, where: str, what: str) -> str:
    """`text` unless it holds characters that UTF-8 cannot write (bytes decoded as surrogates, as Python decodes file
    names that are not UTF-8); then an AnnotationError naming `where` and the byte."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        byte = f"byte {code - 0xDC00:#04x}" if 0xDC80 <= code <= 0xDCFF else f"character {code:#x}"
        raise AnnotationError(f"{where}: {what} {text!r} holds {byte}, which is not UTF-8; rename it in UTF-8 "
                              "(the official names are ASCII)") from None
    return text


def relative_inside(relative: str, where: str) -> str:
    """`relative` if, joined to a dataset root, it names a path inside that root: relative, POSIX, with no empty, '.'
    or '..' part and no backslash or NUL byte, and UTF-8. Otherwise an AnnotationError naming `where` (file and line):
    paths built from annotation files never leave their root, whatever the files say."""
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or "\0" in relative or any(p in ("", ".", "..") for p in parts):
        raise AnnotationError(f"{where}: {relative!r} is not a path inside the dataset root (absolute, or with an "
                              "empty, '.' or '..' part, or a backslash); the file is not an official annotation file")
    return check_utf8(relative, where, "the path")


def parse_int(text: str, path: Path, line: int, what: str) -> int:
    """`text` as an int, else an AnnotationError `<path>:<line>: <what> ... is not an integer`."""
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f"{path}:{line}: {what} {text[:50]!r} is not an integer") from None


def check_split(split: int, dataset: str) -> int:
    """The official split number (1, 2 or 3) of UCF-101/HMDB-51, else ValueError naming the value."""
    if isinstance(split, bool) or split not in (1, 2, 3):
        raise ValueError(f"{dataset}: split must be 1, 2 or 3 (the three official splits), got {split!r}")
    return int(split)


class VideoRegistry:
    """The videos of one reading, each listed once: `add` refuses a video already listed in another subset (the
    same video trained and tested on) or under another label, and drops an exact repeat (the same subset and label),
    which `warn_repeats` then reports in one AnnotationWarning. `fix` ends each message (what to do)."""

    def __init__(self, fix: str):
        self.fix = fix
        self.first: dict[Hashable, tuple[str, str, object]] = {}
        self.repeats: list[str] = []

    def add(self, video: Hashable, where: str, subset: str, label: object) -> bool:
        """Whether `video` (listed at `where`, e.g. "file:line") is new; False for an exact repeat."""
        if video not in self.first:
            self.first[video] = (where, subset, label)
            return True
        first, first_subset, first_label = self.first[video]
        if first_subset != subset:
            raise AnnotationError(f"{first} and {where} both list {video!r}, as {first_subset} and as {subset}: "
                                  f"testing on a video trained on inflates the accuracy; {self.fix}")
        if first_label != label:
            raise AnnotationError(f"{first} and {where} list {video!r} under two labels, {first_label!r} and "
                                  f"{label!r}; {self.fix}")
        self.repeats.append(f"{where} repeats {first}")
        return False

    def warn_repeats(self) -> None:
        if self.repeats:
            shown = "; ".join(self.repeats[:3]) + (f"; and {len(self.repeats) - 3} more" if len(self.repeats) > 3
                                                   else "")
            warnings.warn(f"{len(self.repeats)} repeated annotation line(s) dropped, each video is used once: "
                          f"{shown}", AnnotationWarning, stacklevel=3)
