"""Where a CTM block's time goes on the GPU: forward + backward of the block and of its parts at the real shape.

    python -m benchmarks.probes.step_time.ctm_block_profile [--batch 24] [--out results.jsonl]

Shape: Res4 of ResNet-50 at 224 crops: (N*T, 1024, 14, 14) with T = 8, C2 = 256, bf16 autocast, channels_last,
with cudnn.benchmark off and on. Each line: the part, its median fwd+bwd time in ms.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from ctm.models import tcc_ops
from ctm.models.ctm_block import TCC, CTMBlock, TemporalConv


def median_ms(fn, repeats: int = 30) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return sorted(times)[len(times) // 2]


def fwd_bwd(module: nn.Module, x: torch.Tensor):
    def run():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = module(x)
        out.float().sum().backward()
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--out")
    args = ap.parse_args()
    n, t, c1, c2, hw = args.batch, 8, 1024, 256, 14
    cl = torch.channels_last
    x1 = torch.randn(n * t, c1, hw, hw, device="cuda").to(memory_format=cl).requires_grad_(True)
    x2 = torch.randn(n * t, c2, hw, hw, device="cuda").to(memory_format=cl).requires_grad_(True)
    parts = {
        "ctm_block": (CTMBlock(c1, t, hw), x1),
        "tccm_path": (CTMBlock(c1, t, hw, paths=["tccm"]), x1),
        "temporal_path": (CTMBlock(c1, t, hw, paths=["temporal"]), x1),
        "reduce_1x1_bn_relu": (nn.Sequential(nn.Conv2d(c1, c2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU()), x1),
        "tcc_grouped_conv": (TCC(c2, hw, impl="grouped_conv"), x2),
        "tcc_shifted_sum": (TCC(c2, hw, impl="shifted_sum"), x2),
        **({"tcc_triton": (TCC(c2, hw, impl="triton"), x2)} if "triton" in tcc_ops.IMPLEMENTATIONS else {}),
        "temporal_conv_3x1": (TemporalConv(c2), x2),
        "bottleneck_ref_3x3": (nn.Conv2d(c2, c2, 3, padding=1, bias=False), x2),
    }
    rows = []
    for bench_mode in (False, True):
        torch.backends.cudnn.benchmark = bench_mode
        for name, (module, x) in parts.items():
            module = module.cuda().to(memory_format=cl)
            if isinstance(module, TCC | TemporalConv):
                def wrap(m=module):
                    return lambda y: m(y.unflatten(0, (n, t))).flatten(0, 1)
                fn = fwd_bwd(wrap(), x)
            else:
                fn = fwd_bwd(module, x)
            row = {"part": name, "cudnn_benchmark": bench_mode, "batch": n, "fwd_bwd_ms": round(median_ms(fn), 3)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
