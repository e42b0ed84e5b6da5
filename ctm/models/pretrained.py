"""ImageNet initialisation from torchvision checkpoints: by weight name, URL (http, https, file://) or local path.

Downloads (ctm.acquire.download) go to the folder the caller names (training: the preset's weights folder,
ctm.paths.weights_dir) or to $CTM_CACHE (default ~/.cache/ctm), resume after an interruption, and are
verified against the sha256 prefix that torchvision puts in the file name (`resnet50-0676ba61.pth`); a mismatch is an
error and the file is kept aside, never loaded. Loading is strict except for the classifier (`fc.*`, a new head) and
the CTM blocks (`ctm_blocks.*`, new modules). A weights file is loaded with `weights_only=True`: a pickle that asks for
anything but tensors and plain containers (a crafted file that would run code) is refused unexecuted, and a file that
is cut, not a torch file or not a state dict is a PretrainedError naming it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch
from torch import nn

from ctm.acquire.download import DownloadError, download, file_digests
from ctm.errors import UserError
from ctm.vocabulary import TORCHVISION_WEIGHTS, sha256_prefix, weights_url

NEW_MODULES = ("fc.", "ctm_blocks.")


class PretrainedError(UserError, RuntimeError):
    """Weights could not be fetched, verified or loaded; the message says which and what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("CTM_CACHE", Path.home() / ".cache" / "ctm"))


def verify(path: Path) -> None:
    """Check a local file against the sha256 prefix in its name; a mismatch moves it aside to `<name>.bad`."""
    prefix = sha256_prefix(path.name)
    if prefix is None:
        return
    digest = file_digests(path)["sha256"]
    if not digest.startswith(prefix):
        bad = path.with_name(path.name + ".bad")
        shutil.move(path, bad)
        raise PretrainedError(f"{path}: sha256 {digest[:12]}... does not start with {prefix} (from the file name); "
                              f"moved aside to {bad}. Delete it and download again.")


def fetch(url: str, dest_dir: Path | None = None, retries: int = 4, backoff_s: float = 1.0,
          timeout: float = 60.0) -> Path:
    """Download `url` into `dest_dir` (default: the cache) unless a verified copy is there; return the local path.

    ctm.acquire.download does the work: bytes go to `<name>.part`, which a later try resumes with a Range request;
    the finished file is checked against the sha256 prefix in its name (a mismatch is kept as `<name>.bad`).
    """
    dest = (dest_dir or cache_dir()) / Path(url).name
    try:
        return download(url, dest, sha256=sha256_prefix(dest.name), retries=retries, backoff_s=backoff_s,
                        timeout_s=timeout)
    except DownloadError as err:
        raise PretrainedError(str(err)) from None


def local_weights_file(spec: str, cache: Path | None = None) -> Path:
    """A torchvision weight name (resnet50_v1, ...), a URL (http, https, file://) or a local path -> a verified local
    file. Downloads go to `cache` (default $CTM_CACHE); the workflow passes the preset's weights folder, which its
    `fetch_weights` rule has filled, so concurrent training jobs never download the same file at once."""
    url = weights_url(spec)
    if url is not None:
        return fetch(url, cache)
    path = Path(spec)
    if not path.is_file():
        raise PretrainedError(f"pretrained weights {spec!r}: not a known name ({', '.join(TORCHVISION_WEIGHTS)}), "
                              "a URL or an existing file")
    verify(path)
    return path


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict saved at `path`, loaded with weights_only=True (nothing in the file is executed)."""
    fix = ("delete it and download it again, or set model.pretrained in params.yaml to torchvision's weights "
           f"({', '.join(TORCHVISION_WEIGHTS)}) or to a file written by torch.save(model.state_dict())")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a refused object, cut short, not a torch file: never a traceback
        text = str(err)
        wanted = re.search(r"GLOBAL ([\w.]+)", text)
        if wanted:
            raise PretrainedError(f"{path}: asks to load {wanted.group(1)}, not only tensors, and was refused "
                                  f"unexecuted (a pickle can run code; weights are loaded with weights_only=True); "
                                  f"{fix}") from None
        lines = [line.strip() for line in text.splitlines() if line.strip()] or [type(err).__name__]
        detail = next((line for line in lines if re.search(r"unsupported|operand", line, re.I)), lines[0])
        raise PretrainedError(f"{path}: not a readable PyTorch weights file ({type(err).__name__}: "
                              f"{detail[:160]}); it is cut short, a web page or not written by torch.save; "
                              f"{fix}") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        found = type(state).__name__ if not isinstance(state, dict) else "a dict of other values"
        raise PretrainedError(f"{path}: holds {found}, not a state dict (parameter names -> tensors); {fix}")
    return state


def load_pretrained(model: nn.Module, spec: str, cache: Path | None = None) -> list[str]:
    """Load ImageNet weights into `model`'s backbone; return the keys left at their initialisation (new modules)."""
    path = local_weights_file(spec, cache)
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("fc.")}
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
