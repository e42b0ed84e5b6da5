"""Implementations of the Temporal-Channel Convolution (paper Eq. 1), interchangeable and checked against each other.

    O[n, t, c, h, w] = sum_{i, j} K[h, w, i, j] * F[n, t + i - pT, c + j - pC, h, w]     (zero padding, pT = kT // 2)

Every function takes F as (N, T, C, H, W) (any memory layout) and K as (H*W, 1, kT, kC) (the parameter of
ctm.models.ctm_block.TCC) and returns O as (N, T, C, H, W).

- `grouped_conv`: the paper's formulation, a depth-wise conv2d with H*W groups over (T, C) planes; needs the input
  permuted to (N, H*W, T, C) and the output permuted back (two copies of the feature map).
- `shifted_sum`: kT * kC shifted, per-position-weighted copies of F, summed; no permutes, and on a channels_last
  feature map every term is a contiguous elementwise op, which torch.compile fuses into one kernel.
- `triton`: ctm.models.tcc_triton, Triton kernels that read the channels_last map in place (CUDA; offered where
  Triton is installed).
- `reference`: the same sum in float64, written from Eq. 1 with explicit loops over the filter taps (tests only).
benchmarks/probes/step_time/tcc_impls.py measures them; docs/performance_changes.md records which is the default and
why.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ctm.models import tcc_triton


def grouped_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    n, t, c, h, w = x.shape
    kt, kc = weight.shape[-2:]
    y = x.permute(0, 3, 4, 1, 2).reshape(n, h * w, t, c)
    y = F.conv2d(y, weight, padding=(kt // 2, kc // 2), groups=h * w)
    return y.reshape(n, h, w, t, c).permute(0, 3, 4, 1, 2)


def shifted_sum(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    n, t, c, h, w = x.shape
    kt, kc = weight.shape[-2:]
    pt, pc = kt // 2, kc // 2
    k = weight.view(h, w, kt, kc).to(x.dtype)
    padded = F.pad(x, (0, 0, 0, 0, pc, pc, pt, pt))  # pad C and T: (N, T + 2pT, C + 2pC, H, W)
    out = None
    for i in range(kt):
        for j in range(kc):
            term = padded[:, i : i + t, j : j + c] * k[:, :, i, j]
            out = term if out is None else out + term
    return out


def reference(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Eq. 1 in float64, tap by tap (slow; for tests)."""
    x, weight = x.double(), weight.double()
    n, t, c, h, w = x.shape
    kt, kc = weight.shape[-2:]
    k = weight.view(h, w, kt, kc)
    out = torch.zeros_like(x)
    for i in range(kt):
        for j in range(kc):
            dt, dc = i - kt // 2, j - kc // 2
            src_t = slice(max(dt, 0), t + min(dt, 0))
            dst_t = slice(max(-dt, 0), t - max(dt, 0))
            src_c = slice(max(dc, 0), c + min(dc, 0))
            dst_c = slice(max(-dc, 0), c - max(dc, 0))
            out[:, dst_t, dst_c] += k[:, :, i, j] * x[:, src_t, src_c]
    return out


def triton_taps(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    n, t = x.shape[:2]
    return tcc_triton.tcc(x.flatten(0, 1), weight, t).unflatten(0, (n, t))


IMPLEMENTATIONS = {"grouped_conv": grouped_conv, "shifted_sum": shifted_sum}
if tcc_triton.available():
    IMPLEMENTATIONS["triton"] = triton_taps
AUTO = "auto"


def pick_implementation(impl: str, device: torch.device) -> str:
    """The implementation `impl` names for inputs on `device`: "auto" is the Triton kernels on CUDA where Triton is
    installed (the fastest there, benchmarks/probes/step_time/tcc_impls.py) and the paper's grouped conv elsewhere."""
    if impl != AUTO:
        return impl
    return "triton" if device.type == "cuda" and "triton" in IMPLEMENTATIONS else "grouped_conv"
