"""cuDNN's fused convolution + BatchNorm graphs (nvidia-cudnn-frontend) against what the compiled network runs now,
on every convolution of ResNet-50 at batch 24 x 8 frames (bf16 or fp16, channels_last). One JSON line per measurement.

    python -m benchmarks.probes.batchnorm.cudnn_fusion --out fusion.jsonl [--frames 192] [--iters 20]
    python -m benchmarks.probes.batchnorm.cudnn_fusion --out fusion.jsonl --io-dtype float16 --affine-dtype io --sample

On the H100 with cuDNN 9.19 none of the fused graphs builds in bf16; in fp16 with fp16 scale and bias they do
(docs/performance.md, "Fused convolution + BatchNorm training graphs", renders these rows).

The GPU host has no network: carry the package's wheel (1.22.1 has no required dependencies; 1.32 needs
nvidia-cutlass-dsl) and install it beside the preinstalled torch:

    pip download nvidia-cudnn-frontend==1.22.1 --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_28_x86_64 -d .whl/extra                       # here
    pip install --no-index --no-deps --upgrade --target /tmp/site-cudnn .whl/extra/*.whl  # there
    PYTHONPATH=/tmp/site-cudnn LD_LIBRARY_PATH=<torch's nvidia/cudnn/lib> \
        python -m benchmarks.probes.batchnorm.cudnn_fusion ...

(outside the checkout: a warm device machine's tree is re-synced from this one, which has no such folder).

The fusion MLPerf's ResNet-50 training uses: a convolution whose prologue applies the previous BatchNorm's scale, bias
and ReLU to its input as it loads it, and whose epilogue emits the per-channel sum and sum of squares of its output
(`genstats`), so the next BatchNorm's statistics pass and apply pass disappear from the forward. The backward keeps
its passes (cuDNN's dgrad + dReLU + dBN fusion, `dbn_weight`, is not bound in the Python package), except that the
weight gradient of a fused convolution must recompute relu(x * scale + bias) in its own prologue (`sbr_wgrad`), the
activation no longer being in memory.

Rows:
- kind=env: the package's and cuDNN's versions, or why the package does not load.
- kind=conv: one convolution of ResNet-50 (`count` = how many the network has of this shape). `torch_fwd_ms`,
  `torch_wgrad_ms`, `torch_dgrad_ms`: cuDNN through PyTorch; `fe_plain_ms`: the bare convolution through the frontend;
  `fe_fused_ms`: the fused forward (conv + genstats, with the scale-bias-ReLU prologue where the input is a
  BatchNorm + ReLU output); `fe_wgrad_ms`: weight gradient with that prologue; `*_err`: relative L2 error against
  float32 PyTorch on the same bf16 inputs; `*_error`: why a graph was refused.
- kind=bn_site: forward kernel time of each BatchNorm site as Inductor compiles it (`inductor_fwd_ms`) and of what the
  fused design leaves of it (`rest_fwd_ms`: nothing for BN + ReLU before a fused convolution; the scale + bias
  (+ shortcut's scale + bias) + add + ReLU pass at a block's end).
The whole-network saving is computed from these rows by benchmarks/render/cudnn_fusion.py (`saving`), which renders
them into docs/performance.md; rows of kind=projection in older files are the probe's own earlier sum, no longer
written.
Times are GPU kernel time per call (kernel_time.gpu_step_time, as bn_kernels.py measures), `wall_ms` the wall time.
"""

from __future__ import annotations

import argparse
import json
import traceback

import torch
import torch.nn.functional as F

from benchmarks.probes.batchnorm.kernel_time import gpu_step_time  # the timing of the BN measurements (bn_kernels.py)

# ResNet-50 (torchvision v1.5: stride in the 3x3) at 224: (name, cin, cout, kernel, stride, input size, prologue,
# count). prologue "sbr": the input is BN + ReLU of the previous convolution; "none": a block's output or the image.
CONVS = [
    ("stem", 3, 64, 7, 2, 224, "none", 1),
    ("l1.b0.conv1", 64, 64, 1, 1, 56, "none", 1),
    ("l1.conv1", 256, 64, 1, 1, 56, "none", 2),
    ("l1.conv2", 64, 64, 3, 1, 56, "sbr", 3),
    ("l1.conv3", 64, 256, 1, 1, 56, "sbr", 3),
    ("l1.ds", 64, 256, 1, 1, 56, "none", 1),
    ("l2.b0.conv1", 256, 128, 1, 1, 56, "none", 1),
    ("l2.b0.conv2", 128, 128, 3, 2, 56, "sbr", 1),
    ("l2.conv1", 512, 128, 1, 1, 28, "none", 3),
    ("l2.conv2", 128, 128, 3, 1, 28, "sbr", 3),
    ("l2.conv3", 128, 512, 1, 1, 28, "sbr", 4),
    ("l2.ds", 256, 512, 1, 2, 56, "none", 1),
    ("l3.b0.conv1", 512, 256, 1, 1, 28, "none", 1),
    ("l3.b0.conv2", 256, 256, 3, 2, 28, "sbr", 1),
    ("l3.conv1", 1024, 256, 1, 1, 14, "none", 5),
    ("l3.conv2", 256, 256, 3, 1, 14, "sbr", 5),
    ("l3.conv3", 256, 1024, 1, 1, 14, "sbr", 6),
    ("l3.ds", 512, 1024, 1, 2, 28, "none", 1),
    ("l4.b0.conv1", 1024, 512, 1, 1, 14, "none", 1),
    ("l4.b0.conv2", 512, 512, 3, 2, 14, "sbr", 1),
    ("l4.conv1", 2048, 512, 1, 1, 7, "none", 2),
    ("l4.conv2", 512, 512, 3, 1, 7, "sbr", 2),
    ("l4.conv3", 512, 2048, 1, 1, 7, "sbr", 3),
    ("l4.ds", 1024, 2048, 1, 2, 14, "none", 1),
]
# The shape of cudnn-frontend's own test of this fusion (test/python/conv/graph/test_conv_genstats.py: N=4, C=32,
# K=64, 3x3 at 32x32), to tell "this GPU has no engine for the pattern" from "not for ResNet-50's shapes".
SAMPLE = ("frontend_test_shape", 32, 64, 3, 1, 32, "sbr", 0)
# BatchNorm sites of ResNet-50: (kind, channels, size, count). bn_relu: bn1/bn2 of a block; stem: the stem's BN +
# ReLU, whose max-pool keeps an apply pass (max-pool does not commute with a negative scale); add_relu: bn3 +
# identity shortcut; ds_add_relu: bn3 + the downsample's BN.
BN_SITES = [
    ("stem", 64, 112, 1),
    ("bn_relu", 64, 56, 6), ("ds_add_relu", 256, 56, 1), ("add_relu", 256, 56, 2),
    ("bn_relu", 128, 28, 7), ("bn_relu", 128, 56, 1), ("ds_add_relu", 512, 28, 1), ("add_relu", 512, 28, 3),
    ("bn_relu", 256, 14, 11), ("bn_relu", 256, 28, 1), ("ds_add_relu", 1024, 14, 1), ("add_relu", 1024, 14, 5),
    ("bn_relu", 512, 7, 5), ("bn_relu", 512, 14, 1), ("ds_add_relu", 2048, 7, 1), ("add_relu", 2048, 7, 2),
]


def _nhwc(shape, dtype=torch.bfloat16, scale=1.0):
    return (torch.randn(shape, device="cuda", dtype=torch.float32) * scale).to(dtype).contiguous(
        memory_format=torch.channels_last)


def _rel(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a.float() - ref).norm() / ref.norm().clamp_min(1e-30))


class FusedConv:
    """One cuDNN frontend graph: [relu(x * s + b) ->] conv_fprop -> (y, genstats sum, sum of squares), or the
    weight gradient [relu(x * s + b) ->] conv_wgrad(dy) -> dw, or the bare conv_fprop.

    x: (N, Cin, H, W) bf16 or fp16 channels_last; w, dw: (Cout, Cin, k, k) as x; s, b: (1, Cin, 1, 1).
    """

    def __init__(self, cudnn, handle, kind: str, x, w, dy, stride: int, pad: int, prologue: bool, affine_dtype,
                 intermediate_dtype=torch.float32, heuristics=("A", "FALLBACK")):
        self.cudnn, self.handle, self.kind = cudnn, handle, kind
        dt = {torch.bfloat16: cudnn.data_type.BFLOAT16, torch.float16: cudnn.data_type.HALF,
              torch.float32: cudnn.data_type.FLOAT}
        g = cudnn.pygraph(io_data_type=dt[x.dtype], intermediate_data_type=dt[intermediate_dtype],
                          compute_data_type=cudnn.data_type.FLOAT, handle=handle)

        def tensor(name, t):
            return g.tensor(name=name, dim=list(t.size()), stride=list(t.stride()), data_type=dt[t.dtype])

        c = x.shape[1]
        self.s = torch.rand((1, c, 1, 1), device="cuda").add(0.5).to(affine_dtype).contiguous(
            memory_format=torch.channels_last)
        self.b = torch.randn((1, c, 1, 1), device="cuda").mul(0.2).to(affine_dtype).contiguous(
            memory_format=torch.channels_last)
        X, S, B = tensor("x", x), tensor("s", self.s), tensor("b", self.b)
        inp = g.relu(name="relu", input=g.bias(name="bias", input=g.scale(name="scale", input=X, scale=S), bias=B)) \
            if prologue else X
        conv = dict(padding=[pad, pad], stride=[stride, stride], dilation=[1, 1])
        self.bind = {X: x, S: self.s, B: self.b} if prologue else {X: x}
        if kind == "wgrad":
            DY = tensor("dy", dy)
            self.dw = torch.empty_like(w)
            DW = g.conv_wgrad(image=inp, loss=DY, **conv)
            DW.set_output(True).set_dim(list(w.size())).set_stride(list(w.stride())).set_data_type(dt[w.dtype])
            self.bind.update({DY: dy, DW: self.dw})
        else:
            W = tensor("w", w)
            Y = g.conv_fprop(image=inp, weight=W, **conv)
            y_shape = (x.shape[0], w.shape[0], (x.shape[2] + 2 * pad - w.shape[2]) // stride + 1,
                       (x.shape[3] + 2 * pad - w.shape[3]) // stride + 1)
            self.y = torch.empty(y_shape, device="cuda", dtype=x.dtype).contiguous(memory_format=torch.channels_last)
            Y.set_output(True).set_dim(list(self.y.size())).set_stride(list(self.y.stride())).set_data_type(
                dt[x.dtype])
            self.bind.update({W: w, Y: self.y})
            if kind == "fused":
                SUM, SQ = g.genstats(name="genstats", input=Y)
                self.sum = torch.empty((1, w.shape[0], 1, 1), device="cuda", dtype=torch.float32)
                self.sq = torch.empty_like(self.sum)
                SUM.set_output(True).set_data_type(cudnn.data_type.FLOAT)
                SQ.set_output(True).set_data_type(cudnn.data_type.FLOAT)
                self.bind.update({SUM: self.sum, SQ: self.sq})
        g.validate()
        g.build_operation_graph()
        g.create_execution_plans([getattr(cudnn.heur_mode, h) for h in heuristics])
        g.check_support()
        g.build_plans()
        self.graph = g
        self.workspace = torch.empty(g.get_workspace_size(), device="cuda", dtype=torch.uint8)

    def __call__(self) -> None:
        self.graph.execute(self.bind, self.workspace, handle=self.handle)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x.float() * self.s.float() + self.b.float())


def _torch_conv_times(x, w, dy, stride, pad, iters):
    fwd = gpu_step_time(lambda: F.conv2d(x, w, stride=stride, padding=pad), iters)
    conv_bwd = torch.ops.aten.convolution_backward
    args = (dy, x, w, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1)
    wgrad = gpu_step_time(lambda: conv_bwd(*args, [False, True, False]), iters)
    dgrad = gpu_step_time(lambda: conv_bwd(*args, [True, False, False]), iters) if x.shape[1] > 3 else (0.0, 0.0, {})
    return fwd, wgrad, dgrad


def measure_conv(cudnn, handle, spec, frames, iters, affine_dtype, io_dtype=torch.bfloat16,
                 intermediate_dtype=torch.float32, heuristics=("A", "FALLBACK")) -> dict:
    name, cin, cout, k, stride, size, prologue, count = spec
    pad = k // 2
    x = _nhwc((frames, cin, size, size), io_dtype)
    w = _nhwc((cout, cin, k, k), io_dtype, scale=(2.0 / (cin * k * k)) ** 0.5)
    out = (size + 2 * pad - k) // stride + 1
    dy = _nhwc((frames, cout, out, out), io_dtype, scale=1e-2)
    row = {"kind": "conv", "name": name, "cin": cin, "cout": cout, "k": k, "stride": stride, "size": size,
           "prologue": prologue, "count": count, "frames": frames, "affine_dtype": str(affine_dtype),
           "io_dtype": str(io_dtype), "intermediate_dtype": str(intermediate_dtype), "heuristics": list(heuristics)}
    (fw, row["torch_fwd_ms"], _), (_, row["torch_wgrad_ms"], _), (_, row["torch_dgrad_ms"], _) = [
        (a * 1e3, b * 1e3, c) for a, b, c in _torch_conv_times(x, w, dy, stride, pad, iters)]
    row["torch_fwd_wall_ms"] = fw
    use_sbr = prologue == "sbr"
    for key, kind, pro in (("fe_plain", "plain", False), ("fe_fused", "fused", use_sbr),
                           ("fe_wgrad", "wgrad", use_sbr)):
        try:
            op = FusedConv(cudnn, handle, kind, x, w, dy, stride, pad, pro, affine_dtype, intermediate_dtype,
                           heuristics)
            wall, kernel, kernels = gpu_step_time(op, iters)
            row[f"{key}_ms"], row[f"{key}_wall_ms"] = kernel * 1e3, wall * 1e3
            row[f"{key}_kernels"] = {n: round(t, 4) for n, t in kernels.items()}
            act = op.activation(x) if pro else x.float()
            if kind == "wgrad":
                ref = torch.ops.aten.convolution_backward(dy.float(), act, w.float(), None, [stride] * 2, [pad] * 2,
                                                          [1, 1], False, [0, 0], 1, [False, True, False])[1]
                row[f"{key}_err"] = _rel(op.dw, ref)
            else:
                ref = F.conv2d(act, w.float(), stride=stride, padding=pad)
                row[f"{key}_err"] = _rel(op.y, ref)
                if kind == "fused":
                    yf = op.y.float()
                    row["fe_sum_err"] = _rel(op.sum.flatten(), yf.sum(dim=(0, 2, 3)))
                    row["fe_sq_err"] = _rel(op.sq.flatten(), (yf * yf).sum(dim=(0, 2, 3)))
            del op
        except Exception as e:  # a refused graph is a result, not a crash
            row[f"{key}_error"] = f"{type(e).__name__}: {str(e)[:700]}"
    return row


def measure_bn_site(kind, c, size, count, frames, iters) -> dict:
    """Inductor's forward of the BN site in training mode, and the fused design's remaining pass."""
    shape = (frames, c, size, size)
    y, z = _nhwc(shape).requires_grad_(True), _nhwc(shape).requires_grad_(True)
    w1, b1, w2, b2 = (torch.randn(c, device="cuda").requires_grad_(True) for _ in range(4))
    s1, t1, s2, t2 = (torch.randn(1, c, 1, 1, device="cuda") for _ in range(4))

    def bn(v, w, b):
        return F.batch_norm(v, None, None, w, b, training=True)

    base = {"bn_relu": lambda: F.relu(bn(y, w1, b1)), "stem": lambda: F.relu(bn(y, w1, b1)),
            "add_relu": lambda: F.relu(bn(y, w1, b1) + z),
            "ds_add_relu": lambda: F.relu(bn(y, w1, b1) + bn(z, w2, b2))}[kind]
    bf16 = torch.bfloat16  # the fused design's block output stays bf16, as the network's does
    rest = {"bn_relu": None,
            "stem": lambda: F.relu(y * s1 + t1).to(bf16),
            "add_relu": lambda: F.relu(y * s1 + t1 + z).to(bf16),
            "ds_add_relu": lambda: F.relu(y * s1 + t1 + z * s2 + t2).to(bf16)}[kind]
    row = {"kind": "bn_site", "site": kind, "channels": c, "size": size, "count": count, "frames": frames}
    torch._dynamo.reset()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        _, row["inductor_fwd_ms"], _ = gpu_step_time(torch.compile(base, dynamic=False), iters)
        row["rest_fwd_ms"] = 0.0
        if rest is not None:
            torch._dynamo.reset()
            _, row["rest_fwd_ms"], _ = gpu_step_time(torch.compile(rest, dynamic=False), iters)
    row["inductor_fwd_ms"] *= 1e3
    row["rest_fwd_ms"] *= 1e3
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=192)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--io-dtype", choices=["bfloat16", "float16"], default="bfloat16",
                    help="dtype of the activations, weights and gradients (the network trains in bfloat16)")
    ap.add_argument("--intermediate-dtype", choices=["float32", "io"], default="float32")
    ap.add_argument("--heuristics", nargs="+", default=["A", "FALLBACK"], help="cudnn.heur_mode names, in order")
    ap.add_argument("--affine-dtype", choices=["float32", "bfloat16", "float16", "io"], default="float32",
                    help="dtype of the prologue's scale and bias")
    ap.add_argument("--only", nargs="*", help="convolution names to measure (default: all)")
    ap.add_argument("--no-bn-sites", action="store_true")
    ap.add_argument("--sample", action="store_true", help="also the frontend test's shape (4 frames)")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False  # the float32 references must be float32 (the timed convs are bf16)

    def emit(row):
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")

    env = {"kind": "env", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "torch_cudnn": torch.backends.cudnn.version()}
    try:
        import cudnn
        env.update(frontend=getattr(cudnn, "__version__", "?"), backend=cudnn.backend_version())
        handle = cudnn.create_handle()
        cudnn.set_stream(handle=handle, stream=torch.cuda.current_stream().cuda_stream)
    except Exception as e:
        env["error"] = "".join(traceback.format_exception_only(e)).strip()
        emit(env)
        raise SystemExit(1) from e
    emit(env)
    io = getattr(torch, args.io_dtype)
    affine = io if args.affine_dtype == "io" else getattr(torch, args.affine_dtype)
    intermediate = io if args.intermediate_dtype == "io" else torch.float32
    if args.sample:
        emit(measure_conv(cudnn, handle, SAMPLE, 4, args.iters, affine, io, intermediate, args.heuristics))
    for spec in CONVS:
        if not args.only or spec[0] in args.only:
            emit(measure_conv(cudnn, handle, spec, args.frames, args.iters, affine, io, intermediate,
                              args.heuristics))
    if not args.no_bn_sites:
        for kind, c, size, count in BN_SITES:
            emit(measure_bn_site(kind, c, size, count, args.frames, args.iters))


if __name__ == "__main__":
    main()
