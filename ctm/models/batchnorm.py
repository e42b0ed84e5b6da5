"""BatchNorm2d that can run training-mode BN (+ residual) (+ ReLU) as one Triton op (ctm.models.bn_triton).

`BatchNorm2d` is nn.BatchNorm2d (same parameters, buffers and state-dict keys) plus `act(x, relu, residual)`, the
`act(BN(x) [+ residual])` that ResNet bottlenecks and CTM paths apply after their convolutions. With `fused` set
(`set_fused`, the recipes' `fused_bn`), a CUDA channels_last input in training mode goes through the Triton op, and the
running statistics are updated exactly as nn.BatchNorm2d does (momentum, unbiased variance, num_batches_tracked).
Anything else (CPU, eval mode, frozen BN, no Triton) is the plain module followed by the add and the ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from ctm.models import bn_triton


class BatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d with `act`; `fused` (not part of the state dict) picks the Triton training op on CUDA."""

    fused: bool = False

    def _triton_ok(self, x: torch.Tensor) -> bool:
        return (self.fused and self.training and x.is_cuda and x.dim() == 4 and self.affine
                and self.track_running_stats and self.momentum is not None and bn_triton.available())

    def act(self, x: torch.Tensor, relu: bool = True, residual: torch.Tensor | None = None) -> torch.Tensor:
        """relu(BN(x) + residual), each part optional; x and residual (N, C, H, W), output the same shape."""
        if not self._triton_ok(x):
            y = self(x)
            if residual is not None:
                y = y + residual
            return torch.relu(y) if relu else y
        y, mean, _, var = bn_triton.bn_act_train(x, self.weight, self.bias, residual, self.eps, relu)
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
            self.num_batches_tracked.add_(1)
        return y


def set_fused(net: nn.Module, fused: bool) -> int:
    """Switch every ctm BatchNorm2d of `net` to the Triton training op (or back); returns how many there are."""
    norms = [m for m in net.modules() if isinstance(m, BatchNorm2d)]
    for m in norms:
        m.fused = fused
    return len(norms)
