"""Progress of long loops: a tqdm bar on a terminal, periodic log lines everywhere else.

Every command reports progress through `progress_bar`. On an interactive terminal it is an ordinary tqdm bar. When
stderr is a file or a pipe (a Snakemake or SLURM job log, `dvc repro > log`), tqdm's '\\r'-separated redraws would
be unreadable, so the bar instead writes whole, newline-terminated lines such as

    2026-12-05 01:23:45 [ctm train] k600_r50_ctm epoch 2/10: 150/400 step (38%) 3.1 step/s eta 1m20s loss=2.3

one when it starts, then at most one every CTM_PROGRESS_INTERVAL seconds (default 30) while it advances, and one
when it ends. Progress only ever goes to stderr: it never changes what a command writes or returns.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

INTERVAL_ENV = "CTM_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0

_label = ""  # the command, e.g. "ctm train", put in front of every log line (set_label)


def set_label(label: str) -> None:
    """Name the running command in every log line from now on ("" for none); `ctm <verb>` sets it."""
    global _label
    _label = label


def interval_s() -> float:
    """Seconds between two log lines of one bar: CTM_PROGRESS_INTERVAL, or 30 if unset or not a number >= 0."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):  # also rejects nan
        warnings.warn(f"{INTERVAL_ENV}={raw!r} is not a number of seconds >= 0; using {DEFAULT_INTERVAL_S:g}",
                      stacklevel=3)
        return DEFAULT_INTERVAL_S
    return value


def duration(seconds: float) -> str:
    """A short human duration: 45s, 1m20s, 2h05m, 3d04h."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


class _Sink:
    """The file tqdm itself is given by LogLineBar: it swallows the '\\r', '\\n' and cursor moves of tqdm's
    redraws (LogLineBar writes its own lines to the real stream)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class LogLineBar(tqdm):
    """A tqdm whose display is a timestamped log line on `stream`: at the start, at most one per `interval` seconds
    while it advances (updates, set_postfix), and at the end (close, including an early one after an exception).
    Counts, totals, postfix and `disable` behave as tqdm's, so callers use it as any tqdm."""

    monitor_interval = 0  # no tqdm monitor thread: it would force redraws between our lines

    def __init__(self, iterable: Iterable | None = None, *, stream: Any, interval: float, **kwargs: Any) -> None:
        self._stream = stream
        self._interval = interval
        self._last_line_t: float | None = None
        # miniters=1 keeps tqdm's own pacing to `mininterval` (its dynamic miniters would wake the monitor)
        super().__init__(iterable, file=_Sink(), mininterval=interval, miniters=1, **kwargs)

    def __iter__(self):
        """Count every item at once (tqdm's own loop updates `n` only when it redraws, so a line written by
        set_postfix in between would show a stale count)."""
        if self.disable:
            yield from self.iterable
            return
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Write a line if none was written yet or `interval` has passed since the last one."""
        if self.disable:  # closing: close() has written the last line
            return False
        now = time.monotonic()
        if self._last_line_t is not None and now - self._last_line_t < self._interval:
            return False
        self._write_line()
        self._last_line_t = now
        return True

    def close(self) -> None:
        """Write the last line (the count reached, the mean rate, the time taken), then close as tqdm does."""
        if not getattr(self, "disable", True):
            self._write_line(done=True)
        super().close()

    def _write_line(self, done: bool = False) -> None:
        try:
            self._stream.write(self.line(done) + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken log must not stop the work
            pass

    def line(self, done: bool = False) -> str:
        """This bar's state as one line (without the timestamp's newline)."""
        d = self.format_dict
        n, total, elapsed, unit = d["n"], d["total"], d["elapsed"], d["unit"]
        scale = d["unit_scale"] is True  # k/M/G prefixes (a numeric unit_scale factor is not applied here)
        divisor = d["unit_divisor"]

        def amount(x: float) -> str:
            return self.format_sizeof(x, divisor=divisor) + unit if scale else f"{x:g}"

        parts = [time.strftime("%Y-%m-%d %H:%M:%S")]
        if _label:
            parts.append(f"[{_label}]")
        if d["prefix"]:
            parts.append(f"{d['prefix']}:")
        if total:
            parts.append(f"{amount(n)}/{amount(total)}" + ("" if scale else f" {unit}"))
            parts.append(f"({100 * n / total:.0f}%)")
        else:
            parts.append(amount(n) + ("" if scale else f" {unit}"))
        rate = (n - self.initial) / elapsed if elapsed > 0 else 0.0
        if rate > 0:
            if scale:
                parts.append(self.format_sizeof(rate, divisor=divisor) + f"{unit}/s")
            elif rate >= 1:
                parts.append(f"{rate:.3g} {unit}/s")
            else:
                parts.append(f"{1 / rate:.3g} s/{unit}")
        if done:  # closed before its total: an exception, or an interrupted run
            parts.append(f"{'stopped after' if total and n < total else 'done in'} {duration(elapsed)}")
        elif total and rate > 0 and n < total:
            parts.append(f"eta {duration((total - n) / rate)}")
        if d["postfix"]:
            parts.append(str(d["postfix"]).lstrip(", "))
        return " ".join(parts)


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """tqdm(iterable, **kwargs) on an interactive terminal; otherwise a LogLineBar writing lines to the same file
    (stderr unless `file` is given). `disable=True` (the commands' --no-progress) prints nothing at all."""
    file = kwargs.pop("file", None) or sys.stderr
    try:
        interactive = file.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        kwargs.setdefault("mininterval", 0.1)
        kwargs.setdefault("dynamic_ncols", True)
        return tqdm(iterable, file=file, **kwargs)
    kwargs.pop("mininterval", None)
    kwargs.pop("dynamic_ncols", None)
    return LogLineBar(iterable, stream=file, interval=interval_s(), **kwargs)
