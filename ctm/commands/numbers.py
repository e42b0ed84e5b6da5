"""The command line's number types, one per kind of value, so every verb refuses an out-of-range number in one line
(argparse prints `ctm <verb>: error: argument --workers: ...` and exits 2) instead of failing later in a traceback."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            span = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {span}")
        return value

    return parse


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def nonnegative_seconds(text: str) -> float:
    """Seconds, 0 or more and finite (argparse type)."""
    value = _finite(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def positive(text: str) -> float:
    """A finite number over 0 (argparse type)."""
    value = _finite(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number over 0")
    return value


count = whole(0)  # 0 or more
at_least_one = whole(1)
