"""One lock per written target: two runs that write the same file or folder (two `ctm extract` into one `--out`,
`ctm download` twice to one file, DVC's `ctm prepare` beside a Snakemake job) never interleave.

The lock is an advisory `flock` on a hidden sibling file, `.<name>.lock` beside the target (outside it, so a locked
folder's content and DVC's hash of it are unchanged). The kernel releases it when the holder exits, killed or not, so
a crashed run leaves no stale lock; the file itself stays (deleting it would race with a waiting run).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ctm.errors import UserError


class LockedError(UserError, RuntimeError):
    """Another run holds the lock of a target this run was asked to write."""


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of `target`: `.<name>.lock` in the same folder."""
    target = Path(target)
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def exclusive(target: str | os.PathLike, what: str, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[Path]:
    """Hold the exclusive lock of `target` for the block (`what`: the command, for messages, e.g. "ctm extract").

    A second holder waits up to `wait_s` seconds, then raises LockedError naming the target, the holder's pid and
    what to do. Yields the lock file's path."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    raise LockedError(
                        f"{target}: another run{holder} is writing it ({path} is locked); wait for that run to "
                        f"finish, or stop it, then run {what} again") from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {what}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    pid, _, what = text.partition(" ")
    return f" (pid {pid}, {what})" if pid.isdigit() else ""
