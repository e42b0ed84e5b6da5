"""TSN-style 2D ResNet with CTM blocks inserted after chosen bottlenecks (paper section 3.3, Fig. 5).

The network keeps torchvision's state-dict keys for the backbone (`conv1.*`, `layerL.i.*`, `fc.*`); the CTM blocks
live in `ctm_blocks.<stage>_<k>` (k = the 1-based bottleneck they follow), so ImageNet weights load by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ctm.models.ctm_block import CTMBlock
from ctm.models.resnet import DEPTHS, PAPER_STAGE_NAMES, STAGE_NAMES, ResNet
from ctm.vocabulary import PATH_NAMES

STAGE_STRIDE_STEPS = {"layer1": 2, "layer2": 3, "layer3": 4, "layer4": 5}  # stride-2 steps before the stage's output


def stage_name(stage: str) -> str:
    """'res4' or 'layer3' -> 'layer3'."""
    name = PAPER_STAGE_NAMES.get(stage.lower(), stage)
    if name not in STAGE_NAMES:
        raise ValueError(f"unknown stage {stage!r}: use one of {sorted(PAPER_STAGE_NAMES)} or {list(STAGE_NAMES)}")
    return name


def feature_size(input_size: int, stage: str) -> int:
    """Side of a stage's output for a square input: each stride-2 conv/pool (k3 p1 or k7 p3) maps s -> (s-1)//2+1."""
    size = input_size
    for _ in range(STAGE_STRIDE_STEPS[stage_name(stage)]):
        size = (size - 1) // 2 + 1
    return size


class CTMNet(ResNet):
    """TSN with average consensus over segments, optionally with CTM blocks.

    Args:
        depth: 50 or 101.
        num_classes: classifier outputs.
        num_segments: T frames per clip.
        input_size: crop side; fixes the feature-map size that TCC's per-position filters are built for.
        width: channel multiplier of the backbone (1.0 = the real ResNet).
        ctm_stage: stage holding the CTM blocks ('res2'..'res5' or 'layer1'..'layer4'); None for the TSN baseline.
        ctm_after: 1-based indices of the bottlenecks that a CTM block follows, e.g. (1, 3, 5).
        reduction: C1 / C2 of the CTM paths.
        paths: CTM paths besides the identity.
        dropout: dropout before the classifier.
        zero_init_residual: start every bottleneck as the identity (training from scratch).
        path_gamma_init: gamma of each CTM path's last BN at initialisation (0: the block starts as the identity).
    Input (N, T, 3, H, W) -> logits (N, num_classes), the mean of the T per-frame logits.
    """

    def __init__(
        self,
        depth: int = 50,
        num_classes: int = 200,
        num_segments: int = 8,
        input_size: int = 224,
        width: float = 1.0,
        ctm_stage: str | None = None,
        ctm_after: Iterable[int] = (),
        reduction: int = 4,
        paths: Sequence[str] = PATH_NAMES,
        dropout: float = 0.5,
        zero_init_residual: bool = False,
        path_gamma_init: float = 0.0,
    ):
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth}")
        super().__init__(DEPTHS[depth], num_classes, width, zero_init_residual)
        self.num_segments = num_segments
        self.dropout = nn.Dropout(dropout)
        self.ctm_blocks = nn.ModuleDict()
        ctm_after = sorted(set(ctm_after))
        if ctm_after and ctm_stage is None:
            raise ValueError("ctm_after is given but ctm_stage is not")
        if ctm_stage is not None:
            stage = stage_name(ctm_stage)
            layer: nn.Sequential = getattr(self, stage)
            bad = [k for k in ctm_after if not 1 <= k <= len(layer)]
            if bad:
                raise ValueError(f"{stage} has {len(layer)} bottlenecks; cannot insert a CTM block after {bad}")
            channels = layer[-1].conv3.out_channels
            side = feature_size(input_size, stage)
            for k in ctm_after:
                self.ctm_blocks[f"{stage}_{k}"] = CTMBlock(
                    channels, num_segments, (side, side), reduction, paths, path_gamma_init
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        if t != self.num_segments:
            raise ValueError(f"expected {self.num_segments} segments per clip, got input of shape {tuple(x.shape)}")
        x = self.stem(x.flatten(0, 1))
        for stage in STAGE_NAMES:
            for k, block in enumerate(getattr(self, stage), start=1):
                x = block(x)
                key = f"{stage}_{k}"
                if key in self.ctm_blocks:
                    x = self.ctm_blocks[key](x)
        features = torch.flatten(self.avgpool(x), 1)
        logits = self.fc(self.dropout(features))
        return logits.view(n, t, -1).mean(dim=1)
