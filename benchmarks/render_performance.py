"""Regenerate reports/performance.md from the measurement files under benchmarks/results/<gpu>/.

    python benchmarks/render_performance.py [--results benchmarks/results/h100] [--out reports/performance.md]

The measurements come from benchmarks/performance.py, benchmarks/tcc_impls.py, benchmarks/ctm_block_profile.py and
benchmarks/gpu_synthetic_run.sh, run on the GPU host (the commands are printed in the report).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TARGETS = [  # (issue, what, experiment, mode, compiled, minimum clips/s)
    ("#5", "CTM-R50 x3 training", "mk200_r50_ctm_res4x3", "train", True, 650),
    ("#5", "CTM-R50 x3 inference", "mk200_r50_ctm_res4x3", "eval", True, 2000),
    ("#7", "CTM-R50 x3 training", "mk200_r50_ctm_res4x3", "train", True, 800),
    ("#7", "CTM-R50 x3 inference", "mk200_r50_ctm_res4x3", "eval", True, 2500),
]
RATIO_TARGETS = [("#5", 0.90), ("#7", 0.92)]
# Each change: what was predicted, what was measured, and why they differed.
CHANGE_LOG = [
    ("TCC as a batched shifted sum instead of the paper's H*W-group depth-wise conv",
     "no permute copies, and torch.compile fuses the 9 taps into one kernel: faster than cuDNN's depth-wise conv",
     "eager 5x slower (9 separate elementwise kernels); compiled still 15% slower than the eager grouped conv",
     "cuDNN's depth-wise kernel on (N, 196, 8, 256) is already memory-bound and close to one pass; the two permute "
     "copies cost less than expected. grouped_conv stays the default."),
    ("Path 2's 3x1x1 Conv3d as a (3, 1) Conv2d over (N, C, T, H*W)",
     "the whole network can be channels_last (a 5D Conv3d weight made `model.to(channels_last)` fail)",
     "CTM-R50 x3 runs channels_last; same outputs as the Conv3d (tests/models/test_ctm_block.py)",
     "as predicted"),
    ("torch.compile (default mode) of the whole network",
     "+30-40% training, as the issue's reference (481 -> 668 clips/s for eager -> compiled TSN)",
     "TSN +27-30% (473 -> 602-615 train), CTM x3 +23-25% (389-392 -> 479-489)",
     "matches for TSN; CTM gains less: its blocks add BatchNorms and reshapes on small 14x14 maps that stay "
     "separate kernels around the cuDNN convolutions"),
    ("cudnn.benchmark = True",
     "a better algorithm for the odd CTM shapes ((3, 1) conv on (N, 256, 8, 196), 196-group conv)",
     "no gain: block fwd+bwd 5.04 -> 5.36 ms; whole network within noise",
     "cuDNN's heuristics already pick the fastest kernels for these shapes"),
]


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def bench_rows(results: Path) -> list[dict]:
    rows = []
    for name in ("performance.jsonl", "performance_cudnn_benchmark.jsonl"):
        rows += [r for r in read_lines(results / name) if r.get("kind") == "bench"]
    return rows


def best(rows: list[dict], experiment: str, mode: str, compiled: bool) -> dict | None:
    hits = [r for r in rows if r["experiment"] == experiment and r["mode"] == mode and r["compile"] == compiled
            and r["input"] == "synthetic tensors"]
    return max(hits, key=lambda r: r["clips_per_s"]) if hits else None


def render(results: Path) -> str:
    rows = bench_rows(results)
    hosts = [r for r in read_lines(results / "performance.jsonl") if r.get("kind") == "host"]
    host = hosts[0] if hosts else {}
    out = [
        "# Performance: paper-scale networks on one GPU",
        "",
        f"Measured on {host.get('device', '?')} (torch {host.get('torch', '?')}), bf16 autocast, channels_last, "
        f"8x224 clips, batch 24 per GPU, SGD step included in training. Dense bf16 matmul rate measured on the same "
        f"GPU: {host.get('matmul_tflops', 0):.0f} TFLOP/s (the MFU denominator). Regenerate: "
        "`python benchmarks/render_performance.py`; measure: `python benchmarks/performance.py --out ...` on the GPU.",
        "",
        "## Throughput (synthetic on-device inputs)",
        "",
        "| network | mode | compiled | clips/s | step (ms) | MFU | peak memory (MB) | CTM / TSN (same run) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    by_run: dict[tuple, dict] = {}
    for r in rows:
        by_run.setdefault((r["mode"], r["compile"], r.get("cudnn_benchmark", False), r["experiment"][:8]), {})
        by_run[(r["mode"], r["compile"], r.get("cudnn_benchmark", False), r["experiment"][:8])][r["experiment"]] = r
    for r in rows:
        peers = by_run[(r["mode"], r["compile"], r.get("cudnn_benchmark", False), r["experiment"][:8])]
        base = next((p for name, p in peers.items() if name.endswith("_tsn")), None)
        ratio = f"{r['clips_per_s'] / base['clips_per_s']:.2f}" if base and "ctm" in r["experiment"] else ""
        out.append(f"| {r['experiment']} | {r['mode']} | {'yes' if r['compile'] else 'no'} | {r['clips_per_s']:.0f} "
                   f"| {r['step_ms']:.1f} | {100 * r.get('mfu', 0):.1f}% | {r['peak_mem_mb']:.0f} | {ratio} |")
    out += ["", "## Against the issues' targets", "", "| issue | target | best measured | met |", "|---|---|---:|---|"]
    for issue, what, exp, mode, compiled, minimum in TARGETS:
        r = best(rows, exp, mode, compiled)
        got = r["clips_per_s"] if r else float("nan")
        out.append(f"| {issue} | {what} >= {minimum} clips/s | {got:.0f} | {'yes' if got >= minimum else 'no'} |")
    for issue, minimum in RATIO_TARGETS:
        ratios = []
        for mode in ("train", "eval"):
            c, t = best(rows, "mk200_r50_ctm_res4x3", mode, True), best(rows, "mk200_r50_tsn", mode, True)
            if c and t:
                ratios.append(f"{mode} {c['clips_per_s'] / t['clips_per_s']:.2f}")
        out.append(f"| {issue} | CTM / TSN >= {minimum} (compiled) | {', '.join(ratios)} | "
                   f"{'yes' if all(float(x.split()[1]) >= minimum for x in ratios) else 'no'} |")
    out += ["", "CTM-R50 x3 has 18% more FLOPs than TSN-R50 (77.1 vs 65.4 GFLOPs per clip, `ctm model-info`), so a "
            "compute-bound CTM/TSN ratio would be 0.85; reaching 0.9 needs the added blocks to run more efficiently "
            "than the backbone itself.", ""]
    tcc = read_lines(results / "tcc_impls.jsonl")
    if tcc:
        out += ["## TCC implementations (Eq. 1), Res4 shape (24x8, 256, 14, 14), fwd + bwd", "",
                "| implementation | compiled | ms | max abs error vs float64 Eq. 1 (bf16) |", "|---|---|---:|---:|"]
        out += [f"| {r['impl']} | {'yes' if r['compiled'] else 'no'} | {r['fwd_bwd_ms']:.2f} | "
                f"{r['max_abs_err_vs_eq1']:.3f} (of max {r['ref_max_abs']:.1f}) |" for r in tcc]
        out.append("")
    block = read_lines(results / "ctm_block_profile.jsonl")
    if block:
        out += ["## Where a CTM block's time goes (fwd + bwd, ms, cudnn.benchmark off / on)", "",
                "| part | off | on |", "|---|---:|---:|"]
        parts = dict.fromkeys(r["part"] for r in block)
        for p in parts:
            v = {r["cudnn_benchmark"]: r["fwd_bwd_ms"] for r in block if r["part"] == p}
            out.append(f"| {p} | {v.get(False, float('nan')):.2f} | {v.get(True, float('nan')):.2f} |")
        out.append("")
    run = results / "gpu_synthetic_run"
    if run.exists():
        out += gpu_run_section(run)
    out += ["## Change log", "", "| change | prediction | outcome | why they differed |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in CHANGE_LOG]
    return "\n".join(out) + "\n"


def gpu_run_section(run: Path) -> list[str]:
    out = ["## Full-size synthetic Mini-Kinetics run (preset `gpu_synthetic`, `benchmarks/gpu_synthetic_run.sh`)", ""]
    sources = (("bench_synthetic.json", "synthetic tensors"), ("bench_loader.json", "decoded store, 15 workers"))
    for name, label in sources:
        if (run / name).exists():
            for r in json.loads((run / name).read_text()):
                out.append(f"- {r['experiment']}, eager, {label}: {r['clips_per_s']:.0f} clips/s")
    syn = {r["experiment"]: r for r in json.loads((run / "bench_synthetic.json").read_text())}
    loa = {r["experiment"]: r for r in json.loads((run / "bench_loader.json").read_text())}
    for e in syn:
        if e in loa:
            out.append(f"- loader-fed / synthetic for {e}: {loa[e]['clips_per_s'] / syn[e]['clips_per_s']:.0%}")
    out += ["", "| network | final train top-1 | test top-1 (95% CI) | val videos |", "|---|---:|---:|---:|"]
    for log in sorted(run.glob("log_*.jsonl")):
        e = log.stem[len("log_"):]
        last = read_lines(log)[-1]
        m = json.loads((run / f"evaluate_{e}.json").read_text())
        out.append(f"| {e} | {last['top1']:.1f} | {m['top1']:.1f} ({m['ci_low']:.1f}-{m['ci_high']:.1f}) "
                   f"| {m['num_videos']} |")
    out += ["", "Both full-width networks, trained from scratch for 30 epochs on 588 clips, stay near 50%: the "
            "accuracy of telling each pair apart and guessing within it. At this size and budget the temporal "
            "classes do not separate CTM from the baseline; the 1/16-width embedded networks do (reports/table1.md).",
            ""]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results/h100")
    ap.add_argument("--out", default="reports/performance.md")
    args = ap.parse_args()
    Path(args.out).write_text(render(Path(args.results)))


if __name__ == "__main__":
    main()
