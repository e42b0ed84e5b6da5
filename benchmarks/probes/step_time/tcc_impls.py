"""Measure the TCC implementations of ctm.models.tcc_ops at a CTM block's real shape, forward + backward.

    python -m benchmarks.probes.step_time.tcc_impls [--batch 24] [--compile] [--out results.jsonl]

Shape: Res4 of ResNet-50 at 224 crops (14x14), C2 = 1024 / 4 = 256 channels, T = 8, bf16 autocast on CUDA, a
channels_last feature map (as the network produces it). Each implementation is also checked against the float64
reference of Eq. 1 on the same input (max abs error, in the compute dtype's precision).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ctm.models import tcc_ops


def measure(fn, x, weight, repeats: int) -> float:
    """Median ms of forward + backward."""
    times = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn(x.unflatten(0, (-1, 8)), weight)
        out.backward(torch.ones_like(out))
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=24, help="clips (N); the feature map is (N*8, 256, 14, 14)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd versions")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--out", help="append JSON lines here")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch * 8, 256, 14, 14, generator=g).to(device, dtype)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    weight = torch.randn(196, 1, 3, 3, generator=g).mul_(0.3).to(device).requires_grad_(True)
    ref = tcc_ops.reference(x.detach()[:16].float().unflatten(0, (-1, 8)), weight.detach().float())
    rows = []
    variants = [(name, fn, False) for name, fn in tcc_ops.IMPLEMENTATIONS.items()]
    if args.compile:
        variants += [(name, torch.compile(fn), True) for name, fn in tcc_ops.IMPLEMENTATIONS.items()]
    for name, fn, compiled in variants:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = fn(x.detach()[:16].unflatten(0, (-1, 8)), weight.detach())
            err = (out.double().cpu() - ref.cpu()).abs().max().item()
            for _ in range(3):
                measure(fn, x, weight, 1)
            ms = measure(fn, x, weight, args.repeats)
        row = {"impl": name, "compiled": compiled, "device": str(device), "dtype": str(dtype), "batch": args.batch,
               "fwd_bwd_ms": round(ms, 3), "max_abs_err_vs_eq1": err, "ref_max_abs": ref.abs().max().item()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
