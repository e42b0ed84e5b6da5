"""2D ResNet-50/101 with torchvision's exact state-dict key names.

torchvision has no CPU build that installs beside the CPU torch used here, so the network is written out:
`conv1`, `bn1`, `layer{1..4}.{i}.conv{1,2,3}`, `layer{1..4}.{i}.bn{1,2,3}`, `layer{1..4}.0.downsample.{0,1}`, `fc`.
A torchvision checkpoint therefore loads with `load_state_dict(..., strict=True)`.

`width` scales every stage's channel count (1.0 = the real network); the embedded CPU preset uses a narrow one.
The paper calls the stages Res2..Res5; torchvision calls them layer1..layer4.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ctm.vocabulary import STAGES

STAGE_NAMES = ("layer1", "layer2", "layer3", "layer4")
PAPER_STAGE_NAMES = dict(zip(STAGES, STAGE_NAMES, strict=True))  # res2 -> layer1, ..., res5 -> layer4
DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (stride on the 3x3 conv, "ResNet v1.5"). (N, C_in, H, W) -> (N, 4*planes, H/s, W/s)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Bottleneck ResNet. Input (N, 3, H, W) -> logits (N, num_classes); any H, W >= 32."""

    def __init__(
        self, depths: Sequence[int], num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False
    ):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        base = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.inplanes = base[0]
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(base[0], depths[0], stride=1)
        self.layer2 = self._make_layer(base[1], depths[1], stride=2)
        self.layer3 = self._make_layer(base[2], depths[2], stride=2)
        self.layer4 = self._make_layer(base[3], depths[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = base[3] * Bottleneck.expansion
        self.fc = nn.Linear(self.num_features, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # torchvision's initialisation. zero_init_residual (Goyal et al. 2017) starts every bottleneck as the
        # identity; it matters only when training from scratch (the embedded preset), not from ImageNet weights.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, C, H/4, W/4)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for name in STAGE_NAMES:
            x = getattr(self, name)(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50 (3, 4, 6, 3 bottlenecks); `width` scales all channel counts."""
    return ResNet(DEPTHS[50], num_classes, width, zero_init_residual)


def resnet101(num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101 (3, 4, 23, 3 bottlenecks); `width` scales all channel counts."""
    return ResNet(DEPTHS[101], num_classes, width, zero_init_residual)
