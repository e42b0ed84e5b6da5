"""Training and inference throughput of the paper-scale networks: runs `ctm.engine.bench` over a grid, one JSON line
per measurement, so that reports/performance.md can be regenerated from the lines (benchmarks/render_performance.py).

    python benchmarks/performance.py --out perf.jsonl [--experiments A B] [--modes train eval] [--compile both]
                                     [--compile-modes default reduce-overhead]
                                     [--tcc-impls grouped_conv shifted_sum triton] [--batch 24] [--root DIR]

Defaults: the paper preset, batch 24 per GPU, bf16 autocast and channels_last (the recipe's), TSN and CTM (3 blocks)
on ResNet-50, synthetic on-device inputs; `--root` feeds real clips through the loader instead.
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

from ctm.config import load_config
from ctm.engine.bench import bench, matmul_tflops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--experiments", nargs="+", default=["mk200_r50_tsn", "mk200_r50_ctm_res4x3"])
    ap.add_argument("--modes", nargs="+", default=["train", "eval"])
    ap.add_argument("--compile", choices=["no", "yes", "both"], default="both")
    ap.add_argument("--compile-modes", nargs="+", default=[None], help="torch.compile modes (default: the recipe's)")
    ap.add_argument("--tcc-impls", nargs="+", default=[None])
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--eval-batch", type=int, help="clips per inference step (default: --batch)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--root", help="dataset root or decoded store: measure through the real loader")
    ap.add_argument("--workers", type=int, default=15)
    ap.add_argument("--cudnn-benchmark", choices=["no", "yes", "both"], default="yes")
    args = ap.parse_args()
    cfg = load_config(args.params, args.preset)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    header = {"kind": "host", "torch": torch.__version__, "python": platform.python_version(),
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
              "matmul_tflops": matmul_tflops(device), "preset": args.preset}
    lines = [header]
    print(json.dumps(header), flush=True)
    compiles = {"no": [False], "yes": [True], "both": [False, True]}[args.compile]
    benches = {"no": [False], "yes": [True], "both": [False, True]}[args.cudnn_benchmark]
    grid = [(c, m, b) for c in compiles for m in (args.compile_modes if c else [None]) for b in benches]
    for compiled, compile_mode, cudnn_benchmark in grid:
        for impl in args.tcc_impls:
            for name in args.experiments:
                for mode in args.modes:
                    batch = args.eval_batch if mode == "eval" and args.eval_batch else args.batch
                    row = {"kind": "bench", **bench(cfg, name, mode, batch, args.steps, args.warmup, root=args.root,
                                                    workers=args.workers, compile_model=compiled, tcc_impl=impl,
                                                    cudnn_benchmark=cudnn_benchmark, compile_mode=compile_mode)}
                    row["mfu"] = row["achieved_tflops"] / header["matmul_tflops"]
                    lines.append(row)
                    print(json.dumps(row), flush=True)
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
    with open(args.out, "a") as f:
        f.write(json.dumps(header) + "\n")


if __name__ == "__main__":
    main()
