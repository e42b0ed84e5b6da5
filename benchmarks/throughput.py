"""The throughput harness: training and inference throughput of the paper-scale networks, `ctm.bench.steps` run over
a grid, one JSON line per measurement, so that docs/performance.md can be rendered from the lines
(benchmarks/render/performance.py).

    python -m benchmarks.throughput --out perf.jsonl [--experiments A B] [--modes train eval] [--compile both]
                                     [--compile-modes default reduce-overhead]
                                     [--tcc-impls grouped_conv shifted_sum triton] [--batch 24] [--root DIR]
                                     [--fold-bn no|yes|both] [--inductor KEY=VALUE ...]

Defaults: the paper preset, batch 24 per GPU, bf16 autocast and channels_last (the recipe's), TSN and CTM (3 blocks)
on ResNet-50, synthetic on-device inputs; `--root` feeds real clips through the loader instead.
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

from ctm.bench.steps import bench, matmul_tflops
from ctm.config import load_config


def apply_inductor_config(settings: list[str]) -> dict:
    """Set `KEY=VALUE` entries (dotted keys, Python literal values) on torch._inductor.config; returns them."""
    import ast

    import torch._inductor.config as inductor_config

    applied = {}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"--inductor {item!r}: expected KEY=VALUE")
        owner, *path = inductor_config, *key.split(".")
        for part in path[:-1]:
            owner = getattr(owner, part)
        if not hasattr(owner, path[-1]):
            raise SystemExit(f"--inductor {item!r}: torch._inductor.config has no {key!r}")
        value = ast.literal_eval(text)
        setattr(owner, path[-1], value)
        applied[key] = value
    return applied


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
    ap.add_argument("--fold-bn", choices=["no", "yes", "both"], help="inference with BN folded into fused cuDNN "
                    "conv+bias+ReLU kernels (default: the preset's test.fold_bn)")
    ap.add_argument("--inductor", nargs="+", default=[], metavar="KEY=VALUE",
                    help="torch._inductor.config settings for every compiled run, e.g. conv_1x1_as_mm=True")
    args = ap.parse_args()
    inductor = apply_inductor_config(args.inductor)
    cfg = load_config(args.params, args.preset)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    header = {"kind": "host", "torch": torch.__version__, "python": platform.python_version(),
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
              "matmul_tflops": matmul_tflops(device), "preset": args.preset, "inductor_config": inductor}
    lines = [header]
    print(json.dumps(header), flush=True)
    compiles = {"no": [False], "yes": [True], "both": [False, True]}[args.compile]
    benches = {"no": [False], "yes": [True], "both": [False, True]}[args.cudnn_benchmark]
    folds = {None: [None], "no": [False], "yes": [True], "both": [False, True]}[args.fold_bn]
    grid = [(c, m, b, f) for c in compiles for m in (args.compile_modes if c else [None]) for b in benches
            for f in folds]
    for compiled, compile_mode, cudnn_benchmark, fold_bn in grid:
        for impl in args.tcc_impls:
            for name in args.experiments:
                for mode in args.modes:
                    if fold_bn and mode == "train":
                        continue
                    batch = args.eval_batch if mode == "eval" and args.eval_batch else args.batch
                    row = {"kind": "bench", **bench(cfg, name, mode, batch, args.steps, args.warmup, root=args.root,
                                                    workers=args.workers, compile_model=compiled, tcc_impl=impl,
                                                    cudnn_benchmark=cudnn_benchmark, compile_mode=compile_mode,
                                                    fold_bn=fold_bn)}
                    row["mfu"] = row["achieved_tflops"] / header["matmul_tflops"]
                    row["inductor_config"] = inductor
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
