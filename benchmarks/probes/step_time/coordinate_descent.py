"""Probe: Inductor's coordinate-descent tuning of its Triton kernels (BN reductions and pointwise) on the training step.

    python -m benchmarks.probes.step_time.coordinate_descent --out probe.jsonl

Runs `ctm.bench.steps.bench` (paper preset, batch 24, compiled with CUDA graphs) with
torch._inductor.config.coordinate_descent_tuning on, CTM first; one JSON line per experiment, with the compile time.
"""

from __future__ import annotations

import argparse
import json
import time

import torch._inductor.config as inductor_config

from ctm.bench.steps import bench
from ctm.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--experiments", nargs="+", default=["mk200_r50_ctm_res4x3", "mk200_r50_tsn"])
    args = ap.parse_args()
    inductor_config.coordinate_descent_tuning = True
    cfg = load_config("params.yaml", "paper")
    for name in args.experiments:
        start = time.perf_counter()
        row = bench(cfg, name, "train", 24, steps=30, warmup=10, compile_model=True, compile_mode="reduce-overhead")
        row.update(coordinate_descent_tuning=True, total_s=time.perf_counter() - start)
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
