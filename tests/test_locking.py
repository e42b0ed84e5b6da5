"""ctm.locking: a second writer of the same target waits or is refused with the holder named; a dead holder's lock
is free again; CPU slots let at most N commands run at once, `ctm` itself included."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from ctm.locking import SLOTS_ENV, LockedError, cpu_slot, exclusive, lock_path, slot_from_environment


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


def _busy_in_slot(folder, log, i):
    with cpu_slot(folder, 2, poll_s=0.02):
        with open(log, "a") as f:
            f.write(f"start {time.monotonic()}\n")
        time.sleep(0.3)
        with open(log, "a") as f:
            f.write(f"end {time.monotonic()}\n")


def test_at_most_n_holders_of_cpu_slots_run_at_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    log = tmp_path / "log"
    procs = [ctx.Process(target=_busy_in_slot, args=(tmp_path / "slots", log, i)) for i in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
        assert p.exitcode == 0
    events = sorted((float(t), kind) for kind, t in (line.split() for line in log.read_text().splitlines()))
    running, most = 0, 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most == 2 and len(events) == 10


def test_ctm_waits_for_a_free_slot_when_the_environment_asks(tmp_path):
    """The variable that the Snakemake rules of a CPU preset set: with the only slot held here, a `ctm` command
    waits, and runs once it is given back."""
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()

    def hold():
        with cpu_slot(tmp_path / "slots", 1):
            ready.set()
            release.wait(20)

    holder = ctx.Process(target=hold)
    holder.start()
    assert ready.wait(10)
    env = {**os.environ, SLOTS_ENV: f"1 {tmp_path / 'slots'}"}
    cmd = subprocess.Popen([sys.executable, "-m", "ctm.cli", "dvc-yaml", "--check"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    assert cmd.poll() is None  # still waiting for the slot
    release.set()
    holder.join(10)
    assert cmd.wait(30) == 0


def test_slot_setting_is_checked_and_not_passed_on(monkeypatch):
    monkeypatch.setenv(SLOTS_ENV, "two slots")
    with pytest.raises(Exception, match="expected .N DIR."):
        slot_from_environment()
    assert SLOTS_ENV not in os.environ  # a child `ctm` never waits for its parent's slot
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    with slot_from_environment():
        pass
