"""Parameters and forward FLOPs of a network, measured with torch's FLOP counter.

FLOPs count each multiply-add of a convolution or matrix product as 2 (torch.utils.flop_counter's convention);
multiply-adds (what many papers quote as "FLOPs") are half of it. Batch norm, ReLU and pooling are not counted.
The forward runs on the meta device: shapes only, no memory and no arithmetic, so paper-size networks cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def forward_flops(build: Callable[[], nn.Module], input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward of the module `build()` returns, for an input of `input_shape` (batch included)."""
    with torch.device("meta"):
        model = build().eval()
        x = torch.empty(input_shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops()


def model_cost(build: Callable[[], nn.Module], clip_shape: tuple[int, ...]) -> dict[str, float]:
    """Params (millions) and per-clip GFLOPs and G multiply-adds for a clip of `clip_shape` (T, 3, H, W)."""
    flops = forward_flops(build, (1, *clip_shape))
    with torch.device("meta"):
        params = count_params(build())
    return {"params_m": params / 1e6, "gflops": flops / 1e9, "gmacs": flops / 2e9}
