"""TCC (paper Eq. 1) as Triton kernels that read the channels_last feature map in place.

The paper's formulation (ctm.models.tcc_ops.grouped_conv) permutes (N, T, C, H, W) to (N, H*W, T, C), runs a depth-wise
conv2d with H*W groups and permutes back: two copies of the feature map each way and a convolution kernel that is slow
for 196 groups of 8 x 256 planes. A CTM path's feature map is channels_last, i.e. laid out as (N, T, P = H*W, C) with C
contiguous, and Eq. 1 only mixes neighbours along T and C at a fixed position p, so each output row O[n, t, p, :] is a
weighted sum of kT * kC shifted rows of F at the same p. One Triton program computes T rows for one (n, p), reading
the kT * kC taps of K[p] once:

    forward:      O[n, t, p, c]  = sum_{i,j} K[p, i, j] * F[n, t + i - pT, p, c + j - pC]
    input grad:  dF[n, t, p, c]  = sum_{i,j} K[p, i, j] * dO[n, t - i + pT, p, c - j + pC]   (the same kernel, taps
                                                                                                mirrored)
    weight grad: dK[p, i, j]     = sum_{n,t,c} dO[n, t, p, c] * F[n, t + i - pT, p, c + j - pC]  (per-n partial sums)

Accumulation is float32; outputs take the input's dtype (bf16 under autocast), the weight gradient the weight's.
`tcc` is a torch.library custom op with an autograd formula, so torch.compile keeps it in the graph. Checked against
the float64 reference in tests/models/test_tcc_ops.py (on CUDA, or on CPU under TRITON_INTERPRET=1).
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the op is simply not offered (tcc_ops falls back to grouped_conv)
    triton = None


def available() -> bool:
    """Whether the Triton TCC can run here (Triton installed; CUDA tensors, or TRITON_INTERPRET=1 for CPU tests)."""
    return triton is not None


if triton is not None:

    @triton.jit
    def _shifted_taps_kernel(src, weight, out, T, P, C, KT: tl.constexpr, KC: tl.constexpr, KK: tl.constexpr,
                             MIRROR: tl.constexpr, BLOCK_C: tl.constexpr):
        """out[n, t, p, c] = sum_k K[p, k] * src[n, t +- (i - pT), p, c +- (j - pC)] for all t; one (n, p), C block."""
        n_p = tl.program_id(0)
        n = n_p // P
        p = n_p % P
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        k = tl.arange(0, KK)
        di = k // KC - KT // 2
        dj = k % KC - KC // 2
        if MIRROR:
            di = -di
            dj = -dj
        tap_ok = k < KT * KC
        w = tl.load(weight + p * KT * KC + k, mask=tap_ok, other=0.0).to(tl.float32)
        cc = c[None, :] + dj[:, None]
        c_ok = tap_ok[:, None] & (cc >= 0) & (cc < C)
        for t in range(T):
            tt = t + di
            ok = c_ok & ((tt >= 0) & (tt < T))[:, None]
            rows = ((n * T + tt) * P + p).to(tl.int64)
            x = tl.load(src + rows[:, None] * C + cc, mask=ok, other=0.0).to(tl.float32)
            y = tl.sum(x * w[:, None], axis=0)
            dst = ((n * T + t) * P + p).to(tl.int64) * C + c
            tl.store(out + dst, y.to(out.dtype.element_ty), mask=c < C)

    @triton.jit
    def _weight_grad_kernel(grad, src, partial, T, P, C, KT: tl.constexpr, KC: tl.constexpr, KK: tl.constexpr,
                            BLOCK_C: tl.constexpr):
        """partial[n, p, k] = sum_{t, c} grad[n, t, p, c] * src[n, t + i - pT, p, c + j - pC]; one (n, p)."""
        n_p = tl.program_id(0)
        n = n_p // P
        p = n_p % P
        k = tl.arange(0, KK)
        di = k // KC - KT // 2
        dj = k % KC - KC // 2
        tap_ok = k < KT * KC
        acc = tl.zeros((KK, BLOCK_C), dtype=tl.float32)
        for c0 in range(0, C, BLOCK_C):
            c = c0 + tl.arange(0, BLOCK_C)
            cc = c[None, :] + dj[:, None]
            c_ok = tap_ok[:, None] & (cc >= 0) & (cc < C) & (c < C)[None, :]
            for t in range(T):
                g = tl.load(grad + ((n * T + t) * P + p).to(tl.int64) * C + c, mask=c < C, other=0.0)
                tt = t + di
                ok = c_ok & ((tt >= 0) & (tt < T))[:, None]
                rows = ((n * T + tt) * P + p).to(tl.int64)
                x = tl.load(src + rows[:, None] * C + cc, mask=ok, other=0.0)
                acc += x.to(tl.float32) * g.to(tl.float32)[None, :]
        tl.store(partial + (n * P + p) * KK + k, tl.sum(acc, axis=1))


def _geometry(x: torch.Tensor, weight: torch.Tensor, segments: int) -> tuple[int, int, int, int, int, int, int]:
    nt, c, h, w = x.shape
    kt, kc = weight.shape[-2:]
    return nt // segments, segments, h * w, c, kt, kc, triton.next_power_of_2(kt * kc)


def _block_c(channels: int) -> int:
    return min(triton.next_power_of_2(channels), 128)


def shifted_taps(src: torch.Tensor, weight: torch.Tensor, segments: int, mirror: bool) -> torch.Tensor:
    """The forward (mirror=False) or input-gradient (mirror=True) pass on a channels_last (N*T, C, H, W) tensor."""
    n, t, p, c, kt, kc, kk = _geometry(src, weight, segments)
    out = torch.empty_like(src, memory_format=torch.channels_last)
    block = _block_c(c)
    _shifted_taps_kernel[(n * p, triton.cdiv(c, block))](src, weight, out, t, p, c, KT=kt, KC=kc, KK=kk,
                                                          MIRROR=mirror, BLOCK_C=block)
    return out


def weight_grad(grad: torch.Tensor, src: torch.Tensor, weight: torch.Tensor, segments: int) -> torch.Tensor:
    """dK, shaped, typed and strided like `weight` (P, 1, kT, kC)."""
    n, t, p, c, kt, kc, kk = _geometry(src, weight, segments)
    partial = torch.empty(n, p, kk, device=src.device, dtype=torch.float32)
    _weight_grad_kernel[(n * p,)](grad, src, partial, t, p, c, KT=kt, KC=kc, KK=kk, BLOCK_C=_block_c(c))
    return torch.empty_like(weight).copy_(partial.sum(0)[:, : kt * kc].view(weight.shape))


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


@torch.library.custom_op("ctm::tcc", mutates_args=())
def tcc(x: torch.Tensor, weight: torch.Tensor, segments: int) -> torch.Tensor:
    """Eq. 1 on x (N*T, C, H, W) (clips of `segments` adjacent frames) with K (H*W, 1, kT, kC); channels_last out."""
    return shifted_taps(_channels_last(x), weight.contiguous(), segments, mirror=False)


@tcc.register_fake
def _tcc_fake(x: torch.Tensor, weight: torch.Tensor, segments: int) -> torch.Tensor:
    return torch.empty_like(x, memory_format=torch.channels_last)


@torch.library.custom_op("ctm::tcc_backward", mutates_args=())
def tcc_backward(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                 segments: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dx, dL/dK) of `tcc` given dL/dO."""
    grad, x, weight = _channels_last(grad), _channels_last(x), weight.contiguous()
    return shifted_taps(grad, weight, segments, mirror=True), weight_grad(grad, x, weight, segments)


@tcc_backward.register_fake
def _tcc_backward_fake(grad, x, weight, segments):
    return torch.empty_like(x, memory_format=torch.channels_last), torch.empty_like(weight)


def _setup_context(ctx, inputs, output) -> None:
    x, weight, segments = inputs
    ctx.save_for_backward(x, weight)
    ctx.segments = segments


def _backward(ctx, grad):
    x, weight = ctx.saved_tensors
    dx, dw = tcc_backward(grad, x, weight, ctx.segments)
    return dx, dw, None


tcc.register_autograd(_backward, setup_context=_setup_context)
