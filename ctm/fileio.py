"""Atomic file writes: a hidden temporary file in the target folder, then os.replace, so a killed job never
leaves half a file where a finished one is expected (Snakemake and DVC would take it as done)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def temporary_sibling(path: Path) -> Path:
    """A unique hidden temporary name in the folder of `path` (files get the usual umask permissions)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a temporary sibling of `path`, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save through a buffer: torch names the zip's inner folder after the file, and the temporary file's
    random name would make identical checkpoints differ byte for byte (and in DVC's hashes)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def save_text(text: str, path: str | os.PathLike) -> Path:
    """Write `text` with LF line endings."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def read_json_object(path: str | os.PathLike, keys: tuple[str, ...], error: type[Exception], fix: str) -> dict:
    """The JSON object in `path`, which must hold `keys`; otherwise `error` naming the file, what is wrong and `fix`.
    FileNotFoundError passes through."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise error(f"{path}: not valid JSON ({err}); {fix}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; {fix}") from None
    if not isinstance(value, dict):
        raise error(f"{path}: holds a JSON {type(value).__name__}, not an object; {fix}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise error(f"{path}: lacks {missing}; {fix}")
    return value
