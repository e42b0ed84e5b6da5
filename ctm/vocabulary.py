"""Every closed list of names that params.yaml, the command line, the model code and the reports share, once.

params.schema.yaml (ctm.config) repeats these lists as enums, checked equal by tests/config/test_schema.py; every other
module imports them from here. Light enough for every `ctm` command (and Snakemake) to import: no torch, no numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MINI_KINETICS_200 = "mini_kinetics_200"
KINETICS_600 = "kinetics_600"
UCF101 = "ucf101"
HMDB51 = "hmdb51"

SPLITS = (1, 2, 3)  # the official train/test splits of UCF-101 and HMDB-51 (Kinetics has one: 1)
SUBSETS = ("train", "val")  # the subsets a Kinetics dataset's clips are fetched for (its test subset is unused)


@dataclass(frozen=True)
class DatasetInfo:
    """What the code needs to know of a dataset besides its params.yaml entry."""

    key: str  # its name in params.yaml, paths and the command line
    classes: int  # the real dataset's classes (a synthetic stand-in has two per pair)
    display_name: str  # as the paper writes it, in table headings and plots
    splits: tuple[int, ...]  # the official splits whose union is every listed video
    youtube_clips: bool  # Kinetics: clips of YouTube videos (params.yaml `clips`: cvdf, youtube or local)


DATASET_INFO: dict[str, DatasetInfo] = {d.key: d for d in (
    DatasetInfo(MINI_KINETICS_200, 200, "Mini-Kinetics-200", (1,), youtube_clips=True),
    DatasetInfo(KINETICS_600, 600, "Kinetics-600", (1,), youtube_clips=True),
    DatasetInfo(UCF101, 101, "UCF-101", SPLITS, youtube_clips=False),
    DatasetInfo(HMDB51, 51, "HMDB51", SPLITS, youtube_clips=False),
)}
DATASETS = tuple(DATASET_INFO)  # every dataset key (ctm.data.annotations.READERS' keys), in the paper's order
KINETICS_DATASETS = tuple(k for k, d in DATASET_INFO.items() if d.youtube_clips)
DATASET_DISPLAY_NAMES = {k: d.display_name for k, d in DATASET_INFO.items()}
DATASET_SOURCES = ("synthetic", "download", "local")  # params.yaml `datasets.<name>.source`
CLIPS_SOURCES = ("cvdf", "youtube", "local")  # params.yaml `datasets.<name>.clips.source` (docs/kinetics_clips.md)

BACKBONES = {"resnet50": 50, "resnet101": 101}  # backbone name -> ResNet depth
STAGES = ("res2", "res3", "res4", "res5")  # the paper's names of the ResNet stages (torchvision's layer1..layer4)
PATH_NAMES = ("tccm", "temporal")  # a CTM block's paths besides the identity: Path 1 (TCCM) and Path 2 (temporal)

DEVICES = ("cpu", "cuda")  # a preset's `device`: one CPU core per job, or GPUs
AVERAGING = ("softmax_mean", "logit_mean", "softmax_sum")  # how a test video's view scores become one (ctm.engine)
TEST_CROPS = (1, 3)  # spatial crops per test clip: the centre; or start, centre, end (ctm.data.sampling)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")  # torch.compile's

# A `pretrained` value (params.yaml `model.pretrained`): one of torchvision's ImageNet weight names, a URL or a path
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
