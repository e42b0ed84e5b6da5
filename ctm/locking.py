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
        while not _try_flock(fd):
            if time.monotonic() >= deadline:
                holder = _holder(fd)
                raise LockedError(
                    f"{target}: another run{holder} is writing it ({path} is locked); wait for that run to "
                    f"finish, or stop it, then run {what} again")
            time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {what}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _try_flock(fd: int) -> bool:
    """Take the exclusive flock of the open file `fd` if no other process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    pid, _, what = text.partition(" ")
    return f" (pid {pid}, {what})" if pid.isdigit() else ""


SLOTS_ENV = "CTM_CPU_SLOTS"  # "N DIR": hold one of N CPU slots (lock files in DIR) for the whole command
# Snakemake >= 9.10 starts more CPU-bound jobs at once than its `cpu_jobs` resource allows (its scheduler gives back
# more than it took; snakemake issues #3913, #3815: 4 trainings at once on 2 cores for most of a `make tables`), so
# the rules of a CPU preset set this variable and each `ctm` job waits for a free slot itself.


@contextlib.contextmanager
def cpu_slot(folder: str | os.PathLike, slots: int, poll_s: float = 0.2) -> Iterator[int]:
    """Hold one of `slots` CPU slots (an flock on DIR/slot<k>.lock) for the block, waiting for one to be free;
    yields k. The kernel frees a slot when its holder exits, killed or not."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for k in range(slots):
            fd = os.open(folder / f"slot{k}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_flock(fd):
                os.close(fd)
                continue
            try:
                yield k
            finally:
                os.close(fd)
            return
        time.sleep(poll_s)


def slot_from_environment() -> contextlib.AbstractContextManager:
    """cpu_slot() as $CTM_CPU_SLOTS asks ("N DIR"), else a no-op. The variable is removed from this process's
    environment, so that `ctm` commands it starts do not wait for a slot their parent holds."""
    value = os.environ.pop(SLOTS_ENV, "").strip()
    if not value:
        return contextlib.nullcontext()
    count, _, folder = value.partition(" ")
    if not count.isdigit() or int(count) < 1 or not folder:
        raise UserError(f"${SLOTS_ENV}={value!r}: expected \"N DIR\" (N CPU slots, lock files in DIR), e.g. "
                        "\"2 .snakemake/cpu_slots\"; unset it to run without slots")
    return cpu_slot(folder, int(count))
