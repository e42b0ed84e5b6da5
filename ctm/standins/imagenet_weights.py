"""Stand-in ImageNet weights: torchvision's ResNet-50/101 checkpoints in form, not in content.

A rehearsal of the paper preset (docs/rehearsal.md) and the CPU test of every paper experiment need weights that go
through the same code as torchvision's: downloaded by ctm.acquire.download, verified against the sha256 prefix in the
file name, loaded strictly except for the head and the CTM blocks. This module writes such files:

- the keys, shapes and dtypes of torchvision's `resnet50`/`resnet101` state dict (1000-class `fc`, no
  `num_batches_tracked`, as torchvision's published files), in an OrderedDict;
- torch.save's format, written through a buffer (the archive's inner folder is then `archive`, not the file's name),
  so the bytes depend only on the values (checked across processes; a torch whose writer differs is caught by
  `write_standin`, which refuses a name that is not the bytes' own);
- values from a counter-based hash (splitmix64), so the file is the same, byte for byte, on every machine: He-uniform
  convolutions, BatchNorm near identity (the last BN of each bottleneck at 0.2 so that 33 residual blocks keep the
  activations' scale), small running statistics;
- the name torchvision gives its files: `<arch>-<first 8 hex digits of the file's sha256>.pth`.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from ctm.errors import UserError
from ctm.fileio import atomic_write
from ctm.models.resnet import resnet50, resnet101

ARCHITECTURES = {"resnet50": resnet50, "resnet101": resnet101}


class StandinNameError(UserError, ValueError):
    """The file name asked for is not the stand-in's own (its sha256 prefix differs)."""


def _uniform(count: int, stream: int) -> np.ndarray:
    """`count` floats in [0, 1) from splitmix64 over (stream, index): exact integer arithmetic, the same anywhere."""
    with np.errstate(over="ignore"):
        z = np.arange(count, dtype=np.uint64) + np.uint64(stream) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)  # 24 bits: exact in float32


def _values(key: str, shape: tuple[int, ...], stream: int) -> torch.Tensor:
    u = _uniform(math.prod(shape), stream).reshape(shape)
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) == 4:  # convolutions: He-uniform for ReLU
        bound = math.sqrt(3.0) * math.sqrt(2.0 / math.prod(shape[1:]))
        v = (2 * u - 1) * bound
    elif key.startswith("fc."):
        v = (2 * u - 1) / math.sqrt(shape[-1] if leaf == "weight" else 2048)
    elif leaf == "weight":  # BatchNorm scale
        v = (0.9 + 0.2 * u) * (0.2 if key.endswith("bn3.weight") else 1.0)
    elif leaf == "bias":
        v = 0.05 * (2 * u - 1)
    elif leaf == "running_mean":
        v = 0.1 * (2 * u - 1)
    elif leaf == "running_var":
        v = 0.9 + 0.2 * u
    else:
        raise ValueError(f"no stand-in rule for {key!r}")
    return torch.from_numpy(v.astype(np.float32))


def standin_state_dict(arch: str, width: float = 1.0) -> OrderedDict[str, torch.Tensor]:
    """torchvision's state dict of `arch` (1000 classes) with stand-in values; key i draws from hash stream i.
    `width` < 1 gives the narrow network a small preset builds (ctm.models.resnet), for CPU tests of the workflow."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"no stand-in for {arch!r}; one of {sorted(ARCHITECTURES)}")
    template = ARCHITECTURES[arch](num_classes=1000, width=width).state_dict()
    keys = [k for k in template if not k.endswith("num_batches_tracked")]
    return OrderedDict((k, _values(k, tuple(template[k].shape), i)) for i, k in enumerate(keys))


def standin_bytes(arch: str, width: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    torch.save(standin_state_dict(arch, width), buffer)
    return buffer.getvalue()


def standin_name(arch: str, data: bytes) -> str:
    return f"{arch}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def write_standin(arch: str, out: str | Path, width: float = 1.0) -> Path:
    """Write the stand-in of `arch` as `out` (a file name that must be the stand-in's own, or a folder to put it in,
    under its own name). Returns the file's path. A file name other than the stand-in's is an error: params.yaml
    names the file, and these bytes would not verify against that name's sha256 prefix."""
    data = standin_bytes(arch, width)
    name = standin_name(arch, data)
    out = Path(out)
    path = out / name if out.is_dir() or not out.suffix else out
    if path.name != name:
        raise StandinNameError(f"{path}: the {arch} stand-in written by this torch ({torch.__version__}) is {name}; "
                         f"name that file in params.yaml (model.pretrained.{arch}) instead of {path.name}")
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path
