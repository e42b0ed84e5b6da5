"""Progress in job logs (issue 18): when stderr is a file, every bar writes whole timestamped lines while its loop
runs (one at the start, then one per CTM_PROGRESS_INTERVAL, one at the end) and never a '\\r'; a terminal keeps
tqdm's bar; --no-progress stays silent; and progress never changes what a command writes."""

import contextlib
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import textwrap
import time

import pytest
import torch

from ctm.progress import INTERVAL_ENV, LogLineBar, duration, interval_s, progress_bar

LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S.*")

# A loop that runs until the test creates the file argv[1]: it cannot end before the test has seen its lines.
LOOP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ctm.progress import progress_bar
    stop = Path(sys.argv[1])
    bar = progress_bar(range(100000), desc="tiny epoch 1/1", unit="step")
    for step in bar:
        if stop.exists() or step == 50000:
            break
        time.sleep(0.005)
        bar.set_postfix(loss=f"{1 / (step + 1):.3f}")
""")


def complete_lines(path) -> list[str]:
    text = path.read_text()
    return text[:text.rfind("\n") + 1].splitlines()


def test_lines_appear_while_the_loop_runs_and_not_at_every_step(tmp_path):
    log, stop = tmp_path / "job.log", tmp_path / "stop"
    interval = 0.2
    start = time.monotonic()
    with open(log, "w") as stderr:
        child = subprocess.Popen([sys.executable, "-c", LOOP, str(stop)], stderr=stderr,
                                 env={**os.environ, INTERVAL_ENV: str(interval)})
        try:
            deadline = time.monotonic() + 60
            while len(complete_lines(log)) < 4 and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.02)
            assert child.poll() is None, "the loop ended before the test saw its lines"
            seen = complete_lines(log)
            assert len(seen) >= 4  # the start line and periodic ones, written while the loop still runs
        finally:
            stop.touch()
            assert child.wait(timeout=30) == 0
    wall = time.monotonic() - start
    text = log.read_text()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert lines[:len(seen)] == seen
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert lines[0].endswith("tiny epoch 1/1: 0/100000 step (0%)")
    counts = [int(re.search(r": (\d+)/100000 step", line).group(1)) for line in lines]
    assert counts == sorted(counts) and counts[-1] > counts[1] > 0
    assert "loss=" in lines[1] and "eta " in lines[1] and "step/s" in lines[1]
    assert "stopped after" in lines[-1]
    assert len(lines) <= wall / interval + 3  # paced by the interval, not one line per step (or per set_postfix)
    assert counts[-1] > 5 * len(lines)


def read_all(master: int) -> str:
    """Everything written to a closed pty: one read returns only what one write delivered."""
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_no_progress_writes_nothing_and_a_terminal_keeps_the_tqdm_bar(tmp_path):
    with open(tmp_path / "quiet.log", "w") as f:
        for _ in progress_bar(range(5), file=f, disable=True):
            pass
    assert (tmp_path / "quiet.log").read_text() == ""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # a new pty is 0 columns wide
    try:
        with os.fdopen(slave, "w") as tty:
            bar = progress_bar(range(5), file=tty, desc="bar")
            assert not isinstance(bar, LogLineBar)
            list(bar)
        assert "100%|" in read_all(master)
    finally:
        os.close(master)


def test_interval_setting_and_durations(monkeypatch):
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert interval_s() == 30.0
    monkeypatch.setenv(INTERVAL_ENV, "5")
    assert interval_s() == 5.0
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        with pytest.warns(UserWarning, match=INTERVAL_ENV):
            assert interval_s() == 30.0
    assert [duration(s) for s in (4.6, 80, 7500, 3 * 86400 + 4 * 3600)] == ["5s", "1m20s", "2h05m", "3d04h"]


def test_ctm_download_logs_progress_lines_and_the_same_result(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(os.urandom(3 << 20))  # three of download's 1 MiB chunks
    results = {}
    for mode, extra in (("logged", []), ("quiet", ["--no-progress"])):
        with open(tmp_path / f"{mode}.log", "w") as stderr:
            out = subprocess.run([sys.executable, "-m", "ctm.cli", "download", source.as_uri(), "--out",
                                  str(tmp_path / mode / "file.bin"), *extra], stdout=subprocess.PIPE,
                                 stderr=stderr, text=True, env={**os.environ, INTERVAL_ENV: "0"}, check=True)
        results[mode] = {k: v for k, v in json.loads(out.stdout).items() if k != "path"}
    assert results["logged"] == results["quiet"]
    assert (tmp_path / "logged" / "file.bin").read_bytes() == source.read_bytes()
    assert (tmp_path / "quiet.log").read_text() == ""
    text = (tmp_path / "logged.log").read_text()
    lines = text.splitlines()
    assert "\r" not in text and all(LINE.fullmatch(line) for line in lines)
    assert all("[ctm download] file.bin: " in line for line in lines)
    assert "(0%)" in lines[0] and "(33%)" in lines[1] and "done in" in lines[-1]


def test_ctm_train_logs_epoch_lines_and_the_same_weights(tmp_path, tiny_training_dir):
    from ctm.cli import main

    experiment = "mk200_r50_tsn"
    tiny_training_dir(tmp_path, epochs=2, batch_size=2, lr_milestones=[1])
    threads = torch.get_num_threads()
    weights = {}
    try:
        for mode, extra in (("logged", []), ("quiet", ["--no-progress"])):
            argv = ["train", "--experiment", experiment, "--params", str(tmp_path / "params.yaml"), "--root",
                    str(tmp_path / "data"), "--out", str(tmp_path / mode), "--threads", "1", *extra]
            with open(tmp_path / f"{mode}.log", "w") as log, contextlib.redirect_stderr(log):
                assert main(argv) == 0
            weights[mode] = torch.load(tmp_path / mode / "checkpoint.pt", weights_only=False)["model"]
    finally:
        torch.set_num_threads(threads)
    assert weights["logged"].keys() == weights["quiet"].keys()
    assert all(torch.equal(weights["logged"][k], weights["quiet"][k]) for k in weights["logged"])
    assert [json.loads(line)["loss"] for line in (tmp_path / "logged" / "log.jsonl").read_text().splitlines()] == \
        [json.loads(line)["loss"] for line in (tmp_path / "quiet" / "log.jsonl").read_text().splitlines()]
    assert (tmp_path / "quiet.log").read_text() == ""
    text = (tmp_path / "logged.log").read_text()
    lines = text.splitlines()
    assert "\r" not in text and lines and all(LINE.fullmatch(line) for line in lines)
    for epoch in (1, 2):
        mine = [line for line in lines if f"[ctm train] {experiment} epoch {epoch}/2: " in line]
        assert "(0%)" in mine[0] and "(100%)" in mine[-1] and "done in" in mine[-1] and "loss=" in mine[-1]
