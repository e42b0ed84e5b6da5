"""Where a training or inference step's GPU time goes: torch.profiler over a few steps of `ctm.bench.steps`' step,
kernels grouped into categories, and how busy the GPU was.

    python -m benchmarks.probes.step_time.step_profile [--experiments A B] [--modes train eval] [--compile|--no-compile]
                                      [--compile-mode M] [--tcc-impls I ...] [--steps 5] [--top 25] [--out F]

One JSON line per (experiment, mode): wall ms per step, summed kernel ms per step (busy fraction = kernel / wall),
ms per step of each category, and the `--top` kernels by time. Comparing TSN with CTM shows what the CTM blocks cost.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import torch
from torch.profiler import ProfilerActivity, profile

from ctm.bench.steps import build_step
from ctm.config import load_config

# first match wins; names are CUDA kernel names as the profiler reports them
CATEGORIES = [
    ("triton_reduction", r"^triton_(red|per)_"),
    ("triton_pointwise", r"^triton_poi_"),
    ("tcc_kernels", r"_shifted_taps_kernel|_weight_grad_kernel"),
    ("conv_gemm", r"xmma|cutlass|gemm|sm90_|sm80_|cudnn|implicit_convolve|conv|wgrad|dgrad|nhwc|winograd"),
    ("optimizer", r"multi_tensor_apply|foreach|sgd|fused_sgd"),
    ("batch_norm", r"batch_norm|bn_|welford"),
    ("elementwise", r"elementwise|vectorized|unrolled|reduce_kernel|copy|fill"),
]


def category(name: str) -> str:
    low = name.lower()
    for label, pattern in CATEGORIES:
        if re.search(pattern, name if label.startswith("triton") else low):
            return label
    return "other"


def profile_step(step, steps: int) -> dict:
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        wall_ms = 1000 * (time.perf_counter() - start) / steps
    kernels: dict[str, float] = {}
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            kernels[event.name] = kernels.get(event.name, 0.0) + event.device_time / 1000 / steps
    by_category: dict[str, float] = {}
    for name, ms in kernels.items():
        label = category(name)
        by_category[label] = by_category.get(label, 0.0) + ms
    busy = sum(kernels.values())
    return {"wall_ms": wall_ms, "kernel_ms": busy, "busy_fraction": busy / wall_ms,
            "by_category_ms": dict(sorted(by_category.items(), key=lambda kv: -kv[1])), "kernels": kernels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--experiments", nargs="+", default=["mk200_r50_tsn", "mk200_r50_ctm_res4x3"])
    ap.add_argument("--modes", nargs="+", default=["train"])
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--tcc-impls", nargs="+", default=[None])
    ap.add_argument("--compile-mode")
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out")
    args = ap.parse_args()
    cfg = load_config(args.params, args.preset)
    for name, mode, impl in [(e, m, i) for e in args.experiments for m in args.modes for i in args.tcc_impls]:
        step, info = build_step(cfg, name, mode, args.batch, compile_model=args.compile, tcc_impl=impl,
                                compile_mode=args.compile_mode)
        result = profile_step(step, args.steps)
        top = sorted(result.pop("kernels").items(), key=lambda kv: -kv[1])[: args.top]
        row = {**info, **result, "top_kernels": [{"name": k[:160], "category": category(k), "ms": round(v, 4)}
                                                 for k, v in top]}
        print(json.dumps({k: v for k, v in row.items() if k != "top_kernels"}), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
        del step
        torch.cuda.empty_cache()

if __name__ == "__main__":
    main()
