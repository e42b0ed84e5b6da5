"""ImageNet initialisation from torchvision checkpoints: by weight name, URL or local path.

Downloads go to $CTM_CACHE (default ~/.cache/ctm), resume after an interruption, and are verified against the
sha256 prefix that torchvision puts in the file name (`resnet50-0676ba61.pth`); a mismatch is an error and the file
is kept aside, never loaded. Loading is strict except for the classifier (`fc.*`, a new head) and the CTM blocks
(`ctm_blocks.*`, new modules).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import torch
from torch import nn

from ctm.progress import progress_bar

TORCHVISION_URL = "https://download.pytorch.org/models/"
TORCHVISION_WEIGHTS = {  # ../shared/notes/datasets.md: torchvision's ImageNet weights (top-1 76.13/80.86/77.37/81.89)
    "resnet50_v1": "resnet50-0676ba61.pth",
    "resnet50_v2": "resnet50-11ad3fa6.pth",
    "resnet101_v1": "resnet101-63fe2227.pth",
    "resnet101_v2": "resnet101-cd907fc2.pth",
}
NEW_MODULES = ("fc.", "ctm_blocks.")


class PretrainedError(RuntimeError):
    """Weights could not be fetched, verified or loaded; the message says which and what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("CTM_CACHE", Path.home() / ".cache" / "ctm"))


def sha256_prefix(path: Path) -> str | None:
    """The 8+ hex digits torchvision appends to a file name (`name-<sha256 prefix>.pth`), if any."""
    match = re.search(r"-([0-9a-f]{8,64})\.pth?$", path.name)
    return match.group(1) if match else None


def verify(path: Path) -> None:
    prefix = sha256_prefix(path)
    if prefix is None:
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(prefix):
        bad = path.with_name(path.name + ".bad")
        shutil.move(path, bad)
        raise PretrainedError(f"{path}: sha256 {digest[:12]}... does not start with {prefix} (from the file name); "
                              f"moved aside to {bad}. Delete it and download again.")


def _download(url: str, part: Path, timeout: float) -> None:
    """Append the rest of `url` to `part` (an HTTP Range request when part already holds bytes)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:  # the server ignored the range: start again
            have = 0
        total = response.headers.get("Content-Length")
        total = int(total) + have if total is not None else None
        with open(part, "ab" if have else "wb") as f, progress_bar(
            total=total, initial=have, unit="B", unit_scale=True, desc=Path(url).name
        ) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
        if total is not None and part.stat().st_size < total:
            raise ConnectionError(f"connection closed after {part.stat().st_size} of {total} bytes")


def fetch(url: str, dest_dir: Path | None = None, retries: int = 4, backoff_s: float = 1.0,
          timeout: float = 60.0) -> Path:
    """Download `url` into the cache unless a verified copy is there; return the local path.

    Bytes go to `<name>.part`, which survives an interruption: the next try (in this call, after a back-off, or in a
    later run) resumes it with a Range request. The finished file is renamed into place, then verified.
    """
    dest = (dest_dir or cache_dir()) / Path(url).name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        for attempt in range(retries + 1):
            try:
                _download(url, part, timeout)
                break
            except (OSError, ConnectionError) as err:
                if attempt == retries:
                    raise PretrainedError(f"cannot download {url} after {retries + 1} tries: {err}; the partial "
                                          f"file {part} resumes next time, or put the file at {dest} by hand") from None
                time.sleep(backoff_s * 2**attempt)
        os.replace(part, dest)
    verify(dest)
    return dest


def resolve(spec: str) -> Path:
    """A torchvision weight name (resnet50_v1, ...), an http(s) URL, or a local path -> a verified local file."""
    if spec in TORCHVISION_WEIGHTS:
        return fetch(TORCHVISION_URL + TORCHVISION_WEIGHTS[spec])
    if spec.startswith(("http://", "https://")):
        return fetch(spec)
    path = Path(spec)
    if not path.is_file():
        raise PretrainedError(f"pretrained weights {spec!r}: not a known name ({', '.join(TORCHVISION_WEIGHTS)}), "
                              "a URL or an existing file")
    verify(path)
    return path


def load_pretrained(model: nn.Module, spec: str) -> list[str]:
    """Load ImageNet weights into `model`'s backbone; return the keys left at their initialisation (new modules)."""
    path = resolve(spec)
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = model.state_dict()
    shapes = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
              if k in own and v.shape != own[k].shape]
    if shapes:
        raise PretrainedError(f"{path} does not match the model: {len(shapes)} shape mismatches "
                              f"(checkpoint vs model), first: {shapes[:3]}")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]  # older checkpoints lack the counters
    wrong = [k for k in missing if not k.startswith(NEW_MODULES)]
    if wrong or unexpected:
        raise PretrainedError(f"{path} does not match the model: missing {wrong}, unexpected {list(unexpected)}")
    return missing
