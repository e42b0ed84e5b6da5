"""Pace requests to YouTube and stop when it keeps refusing them (used by ctm.acquire.youtube).

YouTube lets a guest session fetch roughly 300 videos an hour; past that every video answers "This content isn't
available, try again later ... rate-limited" for up to an hour, and a datacenter address may get "Sign in to confirm
you're not a bot" on every request. yt-dlp leaves pacing and giving up to its caller (yt-dlp issue #14921), so:

- RequestPacer spaces the starts of requests, over all worker threads, at least 3600 / per_hour seconds apart
  (an interval limiter without bursts: a burst is what trips the limit).
- FetchGate adds a stop: after `stop_after` consecutive blocked or rate-limited answers it lets no further request
  start, so a run does not burn through the whole list recording refusals.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

# Statuses meaning "YouTube refused us", not "the video is gone": never counted as missing, retried by a later run.
BLOCK_STATUSES = frozenset({"rate_limited", "blocked"})


class RequestPacer:
    """At most `per_hour` request starts per hour over all threads (0: no pacing).

    `clock` (seconds, monotonic) and `sleep` (seconds) are injectable so tests run on a fake clock; the default
    sleep waits on an event that `stop()` sets, so a stopped run does not sit out its remaining slots."""

    def __init__(self, per_hour: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None):
        if not (isinstance(per_hour, int | float) and math.isfinite(per_hour) and per_hour >= 0):
            raise ValueError(f"per_hour={per_hour!r}: need a finite number of requests per hour, 0 or more "
                             "(0: no pacing)")
        self.interval = 3600.0 / per_hour if per_hour else 0.0
        self._clock = clock
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self) -> float | None:
        """Block until this caller's slot; returns the slot's clock time, or None when stopped (send nothing)."""
        if self._stopped.is_set():
            return None
        with self._lock:  # reserve a slot under the lock, sleep outside it: other threads reserve the next slots
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return None if self._stopped.is_set() else slot

    def stop(self) -> None:
        """Make every waiting and later `wait()` return None at once."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()


def pacer_for(url_template: str, per_hour: int) -> RequestPacer:
    """The pace of a fetch from `url_template`: `per_hour` request starts an hour, none for local file:// sources."""
    return RequestPacer(0 if url_template.startswith("file:") else per_hour)


class FetchGate:
    """A pacer plus a stop after `stop_after` consecutive answers whose status is in BLOCK_STATUSES (0: never).

    Workers call `before_request()` (False: the run is stopping, do not send) and `answered(status, reason)` after
    each download; any other status (ok, unavailable, failed) breaks the streak. Thread-safe."""

    def __init__(self, pacer: RequestPacer, stop_after: int):
        if not (isinstance(stop_after, int) and stop_after >= 0):
            raise ValueError(f"stop_after={stop_after!r}: need a whole number of answers, 0 or more (0: never stop)")
        self.pacer, self.stop_after = pacer, stop_after
        self._lock = threading.Lock()
        self.streak, self.last_status, self.last_reason, self.tripped = 0, "", "", False

    def before_request(self) -> bool:
        return self.pacer.wait() is not None

    def answered(self, status: str, reason: str = "") -> None:
        with self._lock:
            if status not in BLOCK_STATUSES:
                self.streak = 0
                return
            self.streak += 1
            self.last_status, self.last_reason = status, reason
            if self.stop_after and self.streak >= self.stop_after and not self.tripped:
                self.tripped = True
                self.pacer.stop()
