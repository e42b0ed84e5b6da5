"""The CTM block (paper section 3): identity + Path 1 (TCCM, spatial-aware) + Path 2 (temporal conv, spatial-unaware).

Shapes: N clips, T segments (frames) per clip, C channels, H x W positions. Blocks of a 2D CNN see (N*T, C, H, W);
the temporal operators see (N, T, C, H, W).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ctm.models import tcc_ops
from ctm.vocabulary import PATH_NAMES

DEFAULT_TCC_IMPL = tcc_ops.AUTO  # Triton on CUDA, grouped conv elsewhere; docs/performance_changes.md says why


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


class TCC(nn.Module):
    """Temporal-Channel Convolution (Eq. 1): a kT x kC filter over (time, channel), one filter per position (h, w).

    O[t, c, h, w] = sum_{i, j} K[h, w, i, j] * F[t + i, c + j, h, w], zero padding, output the size of the input.
    The weight is the paper's depth-wise conv2d weight (H*W, 1, kT, kC) (one group per position); `impl` picks how
    it is applied (ctm.models.tcc_ops: "grouped_conv" as the paper says, or "shifted_sum"; same results). Because the
    weight has one filter per position, the input's H x W must be the `spatial_size` the module was built for.

    Args:
        channels: C, the number of channels the input must have.
        spatial_size: (H, W) of the feature map (an int means square).
        kernel_size: (kT, kC), both odd; the paper uses (3, 3).
        impl: a key of ctm.models.tcc_ops.IMPLEMENTATIONS, or "auto" (tcc_ops.pick_implementation; not part of the
            state dict).
    Input and output: (N, T, C, H, W).
    """

    def __init__(self, channels: int, spatial_size: int | Sequence[int], kernel_size: int | Sequence[int] = (3, 3),
                 impl: str = DEFAULT_TCC_IMPL):
        super().__init__()
        if impl != tcc_ops.AUTO and impl not in tcc_ops.IMPLEMENTATIONS:
            raise ValueError(f"unknown TCC impl {impl!r}; one of {sorted(tcc_ops.IMPLEMENTATIONS)} or 'auto'")
        self.impl = impl
        self.channels = channels
        self.spatial_size = _pair(spatial_size)
        self.kernel_size = _pair(kernel_size)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"TCC kernel_size must be odd to keep the input size, got {self.kernel_size}")
        positions = self.spatial_size[0] * self.spatial_size[1]
        self.weight = nn.Parameter(torch.empty(positions, 1, *self.kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv2d's default for the same weight shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"TCC expects (N, T, C, H, W), got shape {tuple(x.shape)}")
        n, t, c, h, w = x.shape
        if (h, w) != self.spatial_size:
            raise ValueError(
                f"TCC was built for a {self.spatial_size[0]}x{self.spatial_size[1]} feature map but got {h}x{w}: "
                "its weight holds one filter per position, so train and test crops must give the same feature-map "
                "size (set the crop size, or build the network for this input size)"
            )
        if c != self.channels:
            raise ValueError(f"TCC was built for {self.channels} channels but got {c}")
        return tcc_ops.IMPLEMENTATIONS[tcc_ops.pick_implementation(self.impl, x.device)](x, self.weight)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, spatial_size={self.spatial_size}, kernel_size={self.kernel_size}, "
                f"impl={self.impl}")


class TemporalConv(nn.Module):
    """Path 2's 3x1x1 temporal convolution, shared over positions. Input and output (N, T, C, H, W).

    Computed as a (kT, 1) conv2d over (N, C, T, H*W): the same operation as a (kT, 1, 1) Conv3d, but with a 4D weight
    (C, C, kT, 1), so the whole network can be channels_last; on a channels_last feature map the reshapes are views.
    """

    def __init__(self, channels: int, kernel_t: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, (kernel_t, 1), padding=(kernel_t // 2, 0), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = x.shape
        y = self.conv(x.permute(0, 2, 1, 3, 4).reshape(n, c, t, h * w))
        return y.view(n, c, t, h, w).permute(0, 2, 1, 3, 4)


def _conv_bn(in_channels: int, out_channels: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class TemporalPath(nn.Module):
    """1x1 conv C1->C2 + BN + ReLU, a temporal operator on (N, T, C2, H, W) + BN + ReLU, 1x1 conv C2->C1 + BN.

    The last BN starts with gamma = `gamma_init`; 0 (the paper's choice) makes the path output zeros at
    initialisation. Input and output (N*T, C1, H, W).
    """

    def __init__(self, in_channels: int, mid_channels: int, num_segments: int, temporal: nn.Module,
                 gamma_init: float = 0.0):
        super().__init__()
        self.num_segments = num_segments
        self.reduce = _conv_bn(in_channels, mid_channels, relu=True)
        self.temporal = temporal
        self.bn = nn.BatchNorm2d(mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.expand = _conv_bn(mid_channels, in_channels, relu=False)
        nn.init.constant_(self.expand[1].weight, gamma_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.reduce(x)
        nt, c, h, w = y.shape
        y = self.temporal(y.view(nt // self.num_segments, self.num_segments, c, h, w))
        y = self.relu(self.bn(y.reshape(nt, c, h, w)))
        return self.expand(y)


class CTMBlock(nn.Module):
    """Collaborative Temporal Modeling block: x + TCCM(x) + TemporalConvPath(x) (paper Fig. 1).

    Args:
        in_channels: C1, the channels of the feature map the block is inserted into.
        num_segments: T, the frames per clip; the batch dimension is N*T with the T frames of a clip adjacent.
        spatial_size: (H, W) of the feature map, needed by TCC's per-position filters.
        reduction: C1 / C2, the channel reduction of both paths (the paper does not give C2).
        paths: which paths besides the identity: ("tccm",), ("temporal",) or both (Table 1's ablations).
        gamma_init: gamma of each path's last BN at initialisation; 0, the paper's choice for pretrained backbones,
            makes the block the identity at initialisation.
    Input and output: (N*T, C1, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        num_segments: int,
        spatial_size: int | Sequence[int],
        reduction: int = 4,
        paths: Sequence[str] = PATH_NAMES,
        gamma_init: float = 0.0,
    ):
        super().__init__()
        paths = tuple(paths)
        unknown = [p for p in paths if p not in PATH_NAMES]
        if unknown or not paths or len(set(paths)) != len(paths):
            raise ValueError(f"paths must be a non-empty subset of {PATH_NAMES}, got {paths}")
        if in_channels % reduction:
            raise ValueError(f"in_channels={in_channels} is not divisible by reduction={reduction}")
        self.num_segments = num_segments
        mid = in_channels // reduction
        operators = {"tccm": lambda: TCC(mid, spatial_size), "temporal": lambda: TemporalConv(mid)}
        self.paths = nn.ModuleDict(
            {name: TemporalPath(in_channels, mid, num_segments, operators[name](), gamma_init) for name in paths}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.num_segments:
            raise ValueError(f"batch {x.shape[0]} is not a multiple of num_segments={self.num_segments}")
        out = x
        for path in self.paths.values():
            out = out + path(x)
        return out
