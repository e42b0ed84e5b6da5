"""Build a run's model and data from the typed config, identically for training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ctm.config import BACKBONES, Config, Experiment
from ctm.data.annotations import dataset_classes, read_annotations
from ctm.data.clips import IMAGENET_MEAN, IMAGENET_STD, split_available
from ctm.data.store import Store
from ctm.models import CTMNet
from ctm.models.cost import model_cost
from ctm.models.pretrained import load_pretrained


def build_model(cfg: Config, exp: Experiment, num_classes: int, pretrained: bool = False) -> CTMNet:
    """The experiment's network; with `pretrained`, its backbone starts from `model.pretrained` (if set)."""
    m, i = cfg.preset.model, cfg.preset.input
    model = CTMNet(
        depth=BACKBONES[exp.backbone],
        num_classes=num_classes,
        num_segments=i.num_segments,
        input_size=i.crop_size,
        width=m.width,
        ctm_stage=exp.ctm.stage if exp.ctm else None,
        ctm_after=exp.ctm.after if exp.ctm else (),
        reduction=m.reduction,
        paths=exp.ctm.paths if exp.ctm else (),
        dropout=m.dropout,
        zero_init_residual=m.zero_init_residual,
    )
    if pretrained and m.pretrained:
        load_pretrained(model, m.pretrained)
    return model


def experiment_cost(cfg: Config, name: str, num_classes: int) -> dict[str, float]:
    """Params and forward cost per clip of an experiment's network at the preset's input (ctm.models.cost)."""
    exp, i = cfg.experiment(name), cfg.preset.input
    return model_cost(lambda: build_model(cfg, exp, num_classes), (i.num_segments, 3, i.crop_size, i.crop_size))


@dataclass(frozen=True)
class Split:
    """The videos of one subset: those present (on disk, or decoded "ok" in the store), and how many listed ones are
    missing."""

    videos: pd.DataFrame
    num_missing: int


def load_split(dataset: str, root: str | Path, subset: str, store: Store | None = None,
               split: int = 1) -> tuple[Split, list[str]]:
    """(the subset's present videos and missing count, the class names in label order).

    `subset` "eval" is the dataset's evaluation subset: "val" (Kinetics) or "test" (UCF-101, HMDB-51 splits)."""
    ann = read_annotations(dataset, root, split)
    names = dataset_classes(dataset, root)
    if subset == "eval":
        subset = "val" if (ann["subset"] == "val").any() else "test"
    rows = ann[ann["subset"] == subset]
    present, missing = store.split(rows) if store is not None else split_available(root, rows)
    if present.empty:
        where = f"the store {store.root}" if store is not None else root
        raise FileNotFoundError(f"{where}: none of the {len(missing)} {subset} videos of {dataset} are available")
    return Split(present, len(missing)), names


def to_model_input(clips: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A loader batch on `device`, as the network takes it: float (..., 3, S, S) normalised with ImageNet statistics.
    uint8 batches (the fast loader path) are copied as bytes and converted and normalised on the device."""
    clips = clips.to(device, non_blocking=True)
    if clips.dtype != torch.uint8:
        return clips
    mean, std = IMAGENET_MEAN.to(device), IMAGENET_STD.to(device)  # (1, 3, 1, 1): broadcasts over (..., 3, H, W)
    return (clips.float().div_(255) - mean) / std
