"""Names shared by the model code and the config, in a module light enough for every `ctm` command to import."""

from __future__ import annotations

import re

DATASET_NAMES = ("mini_kinetics_200", "kinetics_600", "ucf101", "hmdb51")  # ctm.data.annotations.READERS' keys

PATH_NAMES = ("tccm", "temporal")  # a CTM block's paths besides the identity: Path 1 (TCCM) and Path 2 (temporal)

TORCHVISION_URL = "https://download.pytorch.org/models/"
TORCHVISION_WEIGHTS = {  # docs/downloads.md, "Where checksums come from" (ImageNet top-1 76.13/80.86/77.37/81.89)
    "resnet50_v1": "resnet50-0676ba61.pth",
    "resnet50_v2": "resnet50-11ad3fa6.pth",
    "resnet101_v1": "resnet101-63fe2227.pth",
    "resnet101_v2": "resnet101-cd907fc2.pth",
}


def weights_file_name(spec: str) -> str:
    """The file name behind a `pretrained` value: a torchvision weight name's file, or a URL's or path's last part."""
    return TORCHVISION_WEIGHTS.get(spec, spec.rstrip("/").rsplit("/", 1)[-1])


def sha256_prefix(name: str) -> str | None:
    """The 8+ hex digits torchvision appends to a weight file's name (`name-<sha256 prefix>.pth`), if any."""
    match = re.search(r"-([0-9a-f]{8,64})\.pth?$", name)
    return match.group(1) if match else None


def weights_url(spec: str) -> str | None:
    """The URL a `pretrained` value is downloaded from (torchvision's for a weight name), or None for a local path."""
    if spec in TORCHVISION_WEIGHTS:
        return TORCHVISION_URL + TORCHVISION_WEIGHTS[spec]
    return spec if spec.startswith(("http://", "https://", "file://")) else None


def weights_architecture(spec: str) -> str | None:
    """The backbone that a `pretrained` value holds weights for (`resnet50`, `resnet101`, ...), read from its file
    name as torchvision names them (`resnet101-63fe2227.pth`); None when the name does not say."""
    match = re.match(r"(resnet\d+)(?=[-_.])", weights_file_name(spec))
    return match.group(1) if match else None


def looks_like_weights_location(spec: str) -> bool:
    """A URL or a file path, as opposed to a bare (mistyped) weight name."""
    return "/" in spec or spec.endswith((".pth", ".pt"))
