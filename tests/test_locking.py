"""ctm.locking: a second writer of the same target waits or is refused with the holder named; a dead holder's lock
is free again."""

import multiprocessing
import os
import signal
import time

import pytest

from ctm.locking import LockedError, exclusive, lock_path


def _hold(target, ready, release):
    with exclusive(target, "ctm test"):
        ready.set()
        release.wait(10)


def _holder_process(target):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(target, ready, release))
    proc.start()
    assert ready.wait(10)
    return proc, release


def test_second_writer_is_refused_with_the_holder_named(tmp_path):
    target = tmp_path / "out"
    proc, release = _holder_process(target)
    try:
        with pytest.raises(LockedError, match=rf"{target}: another run \(pid {proc.pid}, ctm test\)"):
            with exclusive(target, "ctm extract"):
                pass
    finally:
        release.set()
        proc.join(10)
    with exclusive(target, "ctm extract") as path:  # released: free again
        assert path == lock_path(target) and path.parent == tmp_path


def test_a_waiting_writer_gets_the_lock_when_the_holder_ends(tmp_path):
    target = tmp_path / "file.bin"
    proc, release = _holder_process(target)
    start = time.monotonic()
    ctx = multiprocessing.get_context("fork")
    ctx.Process(target=lambda: (time.sleep(0.5), release.set())).start()
    with exclusive(target, "ctm download", wait_s=10):
        assert time.monotonic() - start >= 0.4
    proc.join(10)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    target = tmp_path / "out"
    proc, _ = _holder_process(target)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    with exclusive(target, "ctm extract"):
        pass
