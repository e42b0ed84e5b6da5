"""Training-mode BatchNorm (+ residual add) (+ ReLU) as Triton kernels on channels_last maps.

Under torch.compile, every training BN of a ResNet becomes Inductor reductions and pointwise kernels around cuDNN's
convolutions, and they took 23 of the 40 ms of a CTM-R50 training step (reports/performance.md). The function is

    y = act(gamma * (x - mean) * invstd + beta [+ z]),    mean, var over (N, H, W) of x (N, C, H, W), biased var

and a channels_last x is a row-major (M = N*H*W, C) matrix, so the statistics are column reductions. The kernels here
make the fewest passes over memory that the formula allows:

    forward:  stats  (read x)           -> per-program partial (mean, M2), merged with Chan et al.'s formula
              apply  (read x [, z], write y)
    backward: reduce (read dy, x [, y]) -> per-channel sum(dy') and sum(dy' * (x - mean)), dy' = dy * [y > 0]
              dx     (read dy, x [, y], write dx [, dz])  dx = A * dy' + B * x + C per channel

The ReLU mask is recomputed from x where there is no residual (no extra read); with a residual it is read from y.
Statistics and all arithmetic are float32; y, dx and dz take x's dtype (bf16 under autocast), dgamma and dbeta the
weight's. `bn_act_train` is a torch.library custom op with an autograd formula, so torch.compile and CUDA graphs keep
it as one node; it returns the batch mean and unbiased variance for the running-statistics update, which
`ctm.models.batchnorm` applies as nn.BatchNorm2d does. Checked against nn.BatchNorm2d in
tests/models/test_bn_triton.py (on CUDA, or on CPU under TRITON_INTERPRET=1).
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: ctm.models.batchnorm keeps nn.BatchNorm2d
    triton = None

BLOCK_M = 64  # rows (positions) per tile
PROGRAMS_TARGET = 1024  # programs for the column reductions: ~8 per SM on an H100, so every SM stays busy
BLOCK_P = 64  # partials merged per step by the finalize kernels


def available() -> bool:
    """Whether the Triton BN can run here (Triton installed; CUDA tensors, or TRITON_INTERPRET=1 for CPU tests)."""
    return triton is not None


if triton is not None:

    @triton.jit
    def _stats_kernel(x, part_mean, part_m2, M, C, ROWS, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
        """part_mean/part_m2[p, c]: mean and sum of squared deviations of x[p*ROWS:(p+1)*ROWS, c].

        Sums of (x - s) and (x - s)^2 with s the chunk's first row: s is a sample of the channel, a few standard
        deviations from its mean at most, so the float32 sums do not cancel catastrophically for a large mean."""
        p = tl.program_id(0)
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        c_ok = c < C
        row0 = p * ROWS
        shift = tl.load(x + row0.to(tl.int64) * C + c, mask=c_ok, other=0.0).to(tl.float32)
        s1 = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
        s2 = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
        for r0 in range(0, ROWS, BLOCK_M):
            rows = row0 + r0 + tl.arange(0, BLOCK_M)
            ok = ((rows < M) & (r0 + tl.arange(0, BLOCK_M) < ROWS))[:, None] & c_ok[None, :]
            v = tl.load(x + rows.to(tl.int64)[:, None] * C + c[None, :], mask=ok, other=0.0).to(tl.float32)
            d = tl.where(ok, v - shift[None, :], 0.0)
            s1 += d
            s2 += d * d
        n = tl.minimum(ROWS, M - row0).to(tl.float32)
        t1 = tl.sum(s1, axis=0)
        tl.store(part_mean + p * C + c, shift + t1 / n, mask=c_ok)
        tl.store(part_m2 + p * C + c, tl.maximum(tl.sum(s2, axis=0) - t1 * t1 / n, 0.0), mask=c_ok)

    @triton.jit
    def _stats_finalize_kernel(part_mean, part_m2, weight, bias, mean_out, invstd_out, var_out, scale_out, shift_out,
                               M, C, P, ROWS, eps, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
        """Merge the P partials (BLOCK_P at a time: the total mean first, then each partial's M2 plus its count
        times its squared offset from that mean); write mean, invstd, unbiased var and y = x*scale+shift's affine."""
        c = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
        c_ok = c < C
        total = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        for p0 in range(0, P, BLOCK_P):
            p = p0 + tl.arange(0, BLOCK_P)
            n = tl.maximum(tl.minimum(ROWS, M - p * ROWS), 0).to(tl.float32)
            ok = (p < P)[:, None] & c_ok[None, :]
            total += n[:, None] * tl.load(part_mean + p[:, None] * C + c[None, :], mask=ok, other=0.0)
        mean = tl.sum(total, axis=0) / M
        m2 = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        for p0 in range(0, P, BLOCK_P):
            p = p0 + tl.arange(0, BLOCK_P)
            n = tl.maximum(tl.minimum(ROWS, M - p * ROWS), 0).to(tl.float32)
            ok = (p < P)[:, None] & c_ok[None, :]
            offs = p[:, None] * C + c[None, :]
            delta = tl.load(part_mean + offs, mask=ok, other=0.0) - mean[None, :]
            m2 += tl.load(part_m2 + offs, mask=ok, other=0.0) + n[:, None] * delta * delta
        m2_c = tl.sum(m2, axis=0)
        var = m2_c / M
        invstd = 1.0 / tl.sqrt(var + eps)
        scale = tl.load(weight + c, mask=c_ok, other=1.0).to(tl.float32) * invstd
        shift = tl.load(bias + c, mask=c_ok, other=0.0).to(tl.float32) - mean * scale
        tl.store(mean_out + c, mean, mask=c_ok)
        tl.store(invstd_out + c, invstd, mask=c_ok)
        tl.store(var_out + c, m2_c / tl.maximum(M - 1.0, 1.0), mask=c_ok)
        tl.store(scale_out + c, scale, mask=c_ok)
        tl.store(shift_out + c, shift, mask=c_ok)

    @triton.jit
    def _apply_kernel(x, z, scale, shift, y, M, C, HAS_Z: tl.constexpr, RELU: tl.constexpr,
                      BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
        """y = act(x * scale + shift [+ z]) on one (BLOCK_M, BLOCK_C) tile."""
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        ok = (rows < M)[:, None] & (c < C)[None, :]
        offs = rows.to(tl.int64)[:, None] * C + c[None, :]
        out = tl.load(x + offs, mask=ok, other=0.0).to(tl.float32) * tl.load(scale + c, mask=c < C)[None, :]
        out += tl.load(shift + c, mask=c < C)[None, :]
        if HAS_Z:
            out += tl.load(z + offs, mask=ok, other=0.0).to(tl.float32)
        if RELU:
            out = tl.maximum(out, 0.0)
        tl.store(y + offs, out.to(y.dtype.element_ty), mask=ok)

    @triton.jit
    def _grad_reduce_kernel(dy, x, y, weight, bias, mean, invstd, dz, part_g, part_gx, M, C, ROWS,
                            HAS_Z: tl.constexpr, RELU: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
        """part_g[p, c] = sum dy', part_gx[p, c] = sum dy' * (x - mean) over this program's ROWS rows, where
        dy' = dy masked by the ReLU (recomputed from x, or read from y with a residual, in which case dy' is also
        dL/dz and is written to dz for the dx pass to read instead of dy and y)."""
        p = tl.program_id(0)
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        c_ok = c < C
        mu = tl.load(mean + c, mask=c_ok, other=0.0)
        a = tl.load(weight + c, mask=c_ok, other=0.0).to(tl.float32) * tl.load(invstd + c, mask=c_ok, other=0.0)
        b = tl.load(bias + c, mask=c_ok, other=0.0).to(tl.float32) - mu * a
        acc_g = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
        acc_gx = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
        for r0 in range(0, ROWS, BLOCK_M):
            rows = p * ROWS + r0 + tl.arange(0, BLOCK_M)
            ok = ((rows < M) & (r0 + tl.arange(0, BLOCK_M) < ROWS))[:, None] & c_ok[None, :]
            offs = rows.to(tl.int64)[:, None] * C + c[None, :]
            g = tl.load(dy + offs, mask=ok, other=0.0).to(tl.float32)
            v = tl.load(x + offs, mask=ok, other=0.0).to(tl.float32)
            if RELU:
                if HAS_Z:
                    g = tl.where(tl.load(y + offs, mask=ok, other=0.0).to(tl.float32) > 0.0, g, 0.0)
                    tl.store(dz + offs, g.to(dz.dtype.element_ty), mask=ok)
                else:
                    g = tl.where(v * a[None, :] + b[None, :] > 0.0, g, 0.0)
            acc_g += g
            acc_gx += tl.where(ok, g * (v - mu[None, :]), 0.0)
        tl.store(part_g + p * C + c, tl.sum(acc_g, axis=0), mask=c_ok)
        tl.store(part_gx + p * C + c, tl.sum(acc_gx, axis=0), mask=c_ok)

    @triton.jit
    def _grad_finalize_kernel(part_g, part_gx, weight, mean, invstd, dweight, dbias, coef_a, coef_b, coef_c, M, C, P,
                              BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
        """dgamma, dbeta and the per-channel (A, B, C) of dx = A * dy' + B * x + C."""
        c = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
        c_ok = c < C
        acc_g = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        acc_gx = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        for p0 in range(0, P, BLOCK_P):
            p = p0 + tl.arange(0, BLOCK_P)
            ok = (p < P)[:, None] & c_ok[None, :]
            acc_g += tl.load(part_g + p[:, None] * C + c[None, :], mask=ok, other=0.0)
            acc_gx += tl.load(part_gx + p[:, None] * C + c[None, :], mask=ok, other=0.0)
        sum_g = tl.sum(acc_g, axis=0)
        sum_gx = tl.sum(acc_gx, axis=0)
        mu = tl.load(mean + c, mask=c_ok, other=0.0)
        istd = tl.load(invstd + c, mask=c_ok, other=0.0)
        a = tl.load(weight + c, mask=c_ok, other=0.0).to(tl.float32) * istd
        k1 = sum_g / M
        k2 = sum_gx * istd * istd / M  # mean of dy' * xhat, times invstd
        tl.store(dweight + c, (sum_gx * istd).to(dweight.dtype.element_ty), mask=c_ok)
        tl.store(dbias + c, sum_g.to(dbias.dtype.element_ty), mask=c_ok)
        tl.store(coef_a + c, a, mask=c_ok)
        tl.store(coef_b + c, -a * k2, mask=c_ok)
        tl.store(coef_c + c, a * (k2 * mu - k1), mask=c_ok)

    @triton.jit
    def _grad_input_kernel(dy, x, coef_a, coef_b, coef_c, scale_a, shift_b, dx, M, C, RELU: tl.constexpr,
                           BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
        """dx = A * dy' + B * x + C on one tile; dy is already masked (dz) or masked here by x*a+b > 0 (RELU)."""
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        c_ok = c < C
        ok = (rows < M)[:, None] & c_ok[None, :]
        offs = rows.to(tl.int64)[:, None] * C + c[None, :]
        g = tl.load(dy + offs, mask=ok, other=0.0).to(tl.float32)
        v = tl.load(x + offs, mask=ok, other=0.0).to(tl.float32)
        if RELU:
            a0 = tl.load(scale_a + c, mask=c_ok, other=0.0)
            b0 = tl.load(shift_b + c, mask=c_ok, other=0.0)
            g = tl.where(v * a0[None, :] + b0[None, :] > 0.0, g, 0.0)
        a = tl.load(coef_a + c, mask=c_ok, other=0.0)
        b = tl.load(coef_b + c, mask=c_ok, other=0.0)
        k = tl.load(coef_c + c, mask=c_ok, other=0.0)
        tl.store(dx + offs, (g * a[None, :] + v * b[None, :] + k[None, :]).to(dx.dtype.element_ty), mask=ok)


def _block_c(channels: int) -> int:
    return min(triton.next_power_of_2(channels), 64)


def _split(m: int, channel_blocks: int) -> tuple[int, int]:
    """(rows per program, programs along M) for the column reductions: ~PROGRAMS_TARGET programs in all."""
    programs = max(1, min(triton.cdiv(m, BLOCK_M), PROGRAMS_TARGET // channel_blocks))
    rows = triton.cdiv(triton.cdiv(m, programs), BLOCK_M) * BLOCK_M
    return rows, triton.cdiv(m, rows)


def _rows(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """A channels_last (N, C, H, W) tensor and its (M, C) matrix shape."""
    n, c, h, w = x.shape
    return x.contiguous(memory_format=torch.channels_last), n * h * w, c


def _stats_buffers(x: torch.Tensor, c: int, count: int) -> list[torch.Tensor]:
    return [torch.empty(c, device=x.device, dtype=torch.float32) for _ in range(count)]


@torch.library.custom_op("ctm::bn_act_train", mutates_args=())
def bn_act_train(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, residual: torch.Tensor | None, eps: float,
                 relu: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(y, batch mean, invstd, unbiased batch var) of y = act(BN_train(x) [+ residual]); x (N, C, H, W)."""
    x, m, c = _rows(x)
    z = None if residual is None else residual.contiguous(memory_format=torch.channels_last)
    block_c = _block_c(c)
    rows, programs = _split(m, triton.cdiv(c, block_c))
    part_mean = torch.empty(programs, c, device=x.device, dtype=torch.float32)
    part_m2 = torch.empty_like(part_mean)
    _stats_kernel[(programs, triton.cdiv(c, block_c))](x, part_mean, part_m2, m, c, rows, BLOCK_M=BLOCK_M,
                                                      BLOCK_C=block_c)
    mean, invstd, var, scale, shift = _stats_buffers(x, c, 5)
    _stats_finalize_kernel[(triton.cdiv(c, block_c),)](part_mean, part_m2, weight, bias, mean, invstd, var, scale,
                                                       shift, m, c, programs, rows, eps, BLOCK_P=BLOCK_P,
                                                       BLOCK_C=block_c)
    y = torch.empty_like(x, memory_format=torch.channels_last)
    _apply_kernel[(triton.cdiv(m, BLOCK_M), triton.cdiv(c, block_c))](
        x, x if z is None else z, scale, shift, y, m, c, HAS_Z=z is not None, RELU=relu, BLOCK_M=BLOCK_M,
        BLOCK_C=block_c)
    return y, mean, invstd, var


@bn_act_train.register_fake
def _bn_act_train_fake(x, weight, bias, residual, eps, relu):
    stats = x.new_empty(x.shape[1], dtype=torch.float32)
    return (torch.empty_like(x, memory_format=torch.channels_last), stats, torch.empty_like(stats),
            torch.empty_like(stats))


@torch.library.custom_op("ctm::bn_act_train_backward", mutates_args=())
def bn_act_train_backward(grad: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None, weight: torch.Tensor,
                          bias: torch.Tensor, mean: torch.Tensor, invstd: torch.Tensor,
                          relu: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx, dgamma, dbeta, dz) of `bn_act_train`; y is its output, passed exactly when there are a ReLU and a
    residual; dz is then dL/d(residual), else an empty tensor (without a ReLU the caller passes dy on)."""
    x, m, c = _rows(x)
    grad = grad.contiguous(memory_format=torch.channels_last)
    masked_by_y = y is not None  # ReLU after a residual: dy' (= dz) is computed and written by the reduction
    y = x if y is None else y.contiguous(memory_format=torch.channels_last)
    block_c = _block_c(c)
    channel_blocks = triton.cdiv(c, block_c)
    rows, programs = _split(m, channel_blocks)
    dz = torch.empty_like(x, memory_format=torch.channels_last) if masked_by_y else x.new_empty(0)
    part_g = torch.empty(programs, c, device=x.device, dtype=torch.float32)
    part_gx = torch.empty_like(part_g)
    _grad_reduce_kernel[(programs, channel_blocks)](grad, x, y, weight, bias, mean, invstd, dz if masked_by_y else x,
                                                   part_g, part_gx, m, c, rows, HAS_Z=masked_by_y, RELU=relu,
                                                   BLOCK_M=BLOCK_M, BLOCK_C=block_c)
    dweight, dbias = torch.empty_like(weight), torch.empty_like(bias)
    coef_a, coef_b, coef_c = _stats_buffers(x, c, 3)
    _grad_finalize_kernel[(channel_blocks,)](part_g, part_gx, weight, mean, invstd, dweight, dbias, coef_a, coef_b,
                                             coef_c, m, c, programs, BLOCK_P=BLOCK_P, BLOCK_C=block_c)
    # the ReLU mask of the dx pass: from x through the forward's affine (scale = gamma * invstd, shift)
    scale = weight.float() * invstd if relu and not masked_by_y else coef_a
    shift = bias.float() - mean * scale if relu and not masked_by_y else coef_a
    dx = torch.empty_like(x, memory_format=torch.channels_last)
    _grad_input_kernel[(triton.cdiv(m, BLOCK_M), channel_blocks)](
        dz if masked_by_y else grad, x, coef_a, coef_b, coef_c, scale, shift, dx, m, c,
        RELU=relu and not masked_by_y, BLOCK_M=BLOCK_M, BLOCK_C=block_c)
    return dx, dweight, dbias, dz


@bn_act_train_backward.register_fake
def _bn_act_train_backward_fake(grad, x, y, weight, bias, mean, invstd, relu):
    dx = torch.empty_like(x, memory_format=torch.channels_last)
    dz = torch.empty_like(dx) if y is not None else x.new_empty(0)
    return dx, torch.empty_like(weight), torch.empty_like(bias), dz


def _setup_context(ctx, inputs, output) -> None:
    x, weight, bias, residual, eps, relu = inputs
    y, mean, invstd, _ = output
    ctx.relu = relu
    ctx.has_residual = residual is not None
    ctx.mark_non_differentiable(mean, invstd, output[3])
    # With a residual the ReLU mask cannot be recomputed from x alone: keep y (alive anyway as the next layer's input).
    ctx.save_for_backward(x, y if relu and ctx.has_residual else None, weight, bias, mean, invstd)


def _backward(ctx, grad, _mean_grad, _invstd_grad, _var_grad):
    x, y, weight, bias, mean, invstd = ctx.saved_tensors
    dx, dweight, dbias, dz = bn_act_train_backward(grad, x, y, weight, bias, mean, invstd, ctx.relu)
    if ctx.has_residual and not ctx.relu:
        dz = grad
    return dx, dweight, dbias, dz if ctx.has_residual else None, None, None


bn_act_train.register_autograd(_backward, setup_context=_setup_context)
