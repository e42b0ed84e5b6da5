"""Moving an extracted tree into `--out`, all or nothing (issue 27).

An archive is extracted into a private staging folder beside `--out` (on `--out`'s file system, so that every move
is a rename); `merge` then plans every rename before making one: folders that exist on both sides are merged, files
replaced, and a clash (a file of `--out` where the archive has a folder, a folder where it has a file, a folder of
`--out` on another file system, such as a link to another disk) is an error before anything moves. If a rename
still fails half-way (an I/O error, a full inode table), the renames already made are undone and the files they
replaced put back, so `--out` is as it was.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from ctm.acquire.archive_verify import ExtractError, one_line


@contextlib.contextmanager
def staging(out: Path, archive_name: str) -> Iterator[Path]:
    """A new private folder on `out`'s file system for one extraction, removed at the end whatever happens.

    Beside `out` as `.<out>.extracting-<archive>.<pid>-<random>` (inside `out` when `out` is a mount point). The
    caller holds `out`'s lock, so any other folder of that prefix was left by a killed run and is removed."""
    parent = out.parent
    if out.is_dir() and out.stat().st_dev != parent.stat().st_dev:
        parent = out
    prefix = f".{out.name}.extracting-"
    for stale in parent.glob(glob.escape(prefix) + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = parent / f"{prefix}{archive_name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def real_out(out: Path) -> Path:
    """`out` with links resolved (its files go where they will stay); a file in the way is an error."""
    try:
        real = out.resolve()
    except (OSError, RuntimeError) as err:
        raise ExtractError(f"--out {out}: cannot be resolved ({err}); give a folder") from None
    for path in (real, *real.parents):
        if path.exists():
            if not path.is_dir():
                raise ExtractError(f"{path} is a file, not a folder, so it cannot hold --out {out}; move that file "
                                   "away or give another --out")
            break
    return real


def check_tree(archive: Path, root: Path) -> None:
    """After extraction and stripping: no link that the listing missed may point outside what goes into `out`."""
    top = root.resolve()
    for path in root.rglob("*"):
        if not path.is_symlink():
            continue
        try:
            inside = path.resolve().is_relative_to(top)
        except (OSError, RuntimeError):  # a loop of links
            inside = False
        if not inside:
            raise ExtractError(f"{archive}: refusing the whole archive, {path.relative_to(root)} links outside it "
                               "(or into a loop of links); nothing was extracted. Get the archive from its official "
                               "source.")


def fold(archive: Path, src: Path, dst: Path) -> None:
    """Inside the staging folder: move `src` to `dst`, merging folders, replacing files."""
    if dst.is_dir() and not dst.is_symlink() and src.is_dir() and not src.is_symlink():
        for child in sorted(src.iterdir()):
            fold(archive, child, dst / child.name)
        src.rmdir()
    elif dst.is_dir() and not dst.is_symlink() or os.path.lexists(dst) and src.is_dir() and not src.is_symlink():
        raise ExtractError(f"{archive}: cannot be extracted: {dst.name} is both a file and a folder in it; nothing "
                           "was extracted. Get the archive from its official source")
    else:
        os.replace(src, dst)


def _what(path: Path) -> str:
    if path.is_symlink():
        return f"a link to {os.readlink(path)}"
    return "a folder" if path.is_dir() else "a file"


def plan(archive: Path, tree: Path, out: Path) -> list[tuple[Path, Path]]:
    """The (source, destination) renames that put `tree` into `out`; ExtractError for a clash, before any move."""
    device = tree.stat().st_dev
    moves: list[tuple[Path, Path]] = []

    def clash(detail: str) -> ExtractError:
        return ExtractError(f"{archive}: cannot merge into {out}: {detail}; nothing was extracted")

    def walk(src_dir: Path, dst_dir: Path) -> None:
        if dst_dir.stat().st_dev != device:
            where = f"{dst_dir} is {_what(dst_dir)}, on another file system" if dst_dir != out else \
                f"{out} is on another file system"
            raise clash(f"{where} than the staging folder {tree.parent}, so nothing can be moved into it by "
                        "renames: replace the link by a folder (move what it holds), or extract elsewhere")
        for src in sorted(src_dir.iterdir()):
            dst = dst_dir / src.name
            if src.is_dir() and not src.is_symlink():
                if not os.path.lexists(dst):
                    moves.append((src, dst))
                elif dst.is_dir():
                    walk(src, dst)
                else:
                    raise clash(f"{dst} is {_what(dst)} where the archive has a folder; move it away (or delete "
                                "it), then run again")
            elif dst.is_dir() and not dst.is_symlink():
                raise clash(f"{dst} is a folder where the archive has a file; move it away (or delete it), then run "
                            "again")
            else:
                moves.append((src, dst))

    walk(tree, out)
    return moves


def merge(archive: Path, tree: Path, out: Path, trash: Path) -> None:
    """Put `tree` into `out` by renames (see `plan`); a failure undoes them. `trash` (a new folder on the same file
    system) keeps the files being replaced until the end."""
    moves = plan(archive, tree, out)
    trash.mkdir()
    done: list[tuple[Path, Path, Path | None]] = []
    try:
        for src, dst in moves:
            kept, aside = None, False
            if os.path.lexists(dst):
                kept = trash / str(len(done))
                try:
                    os.link(dst, kept, follow_symlinks=False)  # dst stays in place until the atomic replace
                except OSError:
                    os.replace(dst, kept)
                    aside = True
            try:
                os.replace(src, dst)
            except OSError:
                if aside:
                    os.replace(kept, dst)
                raise
            done.append((src, dst, kept))
    except OSError as err:
        failed = _undo(done)
        state = f"{out} is as it was" if not failed else f"{out} could not be put back entirely ({failed})"
        raise ExtractError(f"{archive}: cannot move {err.filename or 'an entry'} into place ({err.strerror or err}); "
                           f"the entries already moved were taken back, {state}: fix the cause and run again") from None


def _undo(done: list[tuple[Path, Path, Path | None]]) -> str:
    problems = []
    for src, dst, kept in reversed(done):
        try:
            os.replace(dst, src)
            if kept is not None:
                os.replace(kept, dst)
        except OSError as err:
            problems.append(f"{dst}: {err.strerror or err}")
    return one_line("; ".join(problems), 300)
