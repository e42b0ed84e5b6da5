"""The training step's BatchNorm against its memory floor: a section of docs/performance.md
(benchmarks/render/performance.py).

Reads, in one GPU's results folder, bn_kernels.jsonl (benchmarks/probes/batchnorm/bn_kernels.py: GPU kernel time of one
BN fwd+bwd per R50 shape, eager, Inductor and, at commit 02afbe4, a hand-written Triton op), train_fused_bn.jsonl (the
whole network with that op: the throughput harness's `--fused-bn both` at 02afbe4) and step_profile.jsonl (where the
CTM step's time goes). Sums the per-BN times over TSN-R50's 53 BatchNorms and bounds the training throughput of any
implementation that keeps cuDNN's convolutions and BatchNorm as separate passes over memory.
"""

from __future__ import annotations

import json
from pathlib import Path

# TSN-R50's BatchNorms at 224: ((channels, map size), variant, count). Bottleneck k of a stage: bn1 and bn2 + ReLU
# (the stage width; block 0's bn1 is at the previous resolution), bn3 + residual + ReLU (4x width), and block 0's
# downsample BN (4x width, no ReLU). Block 0's bn1 of layers 2-4 is measured as the same-size map of the stage
# before: 128@56 as 512@28, 256@28 as 1024@14, 512@14 as 2048@7 (equal element counts, same variant).
R50_BATCHNORMS = [
    ((64, 112), "bn_relu", 1),
    ((64, 56), "bn_relu", 6), ((256, 56), "bn_add_relu", 3), ((256, 56), "bn", 1),
    ((512, 28), "bn_relu", 1), ((128, 28), "bn_relu", 7), ((512, 28), "bn_add_relu", 4), ((512, 28), "bn", 1),
    ((1024, 14), "bn_relu", 1), ((256, 14), "bn_relu", 11), ((1024, 14), "bn_add_relu", 6), ((1024, 14), "bn", 1),
    ((2048, 7), "bn_relu", 1), ((512, 7), "bn_relu", 5), ((2048, 7), "bn_add_relu", 3), ((2048, 7), "bn", 1),
]
# Three CTM blocks at res4 (14x14, C1 = 1024, C2 = 256), two paths each: reduce BN + ReLU and the BN + ReLU after
# the temporal operator (C2), and the expand BN whose output is added to the block's sum (C1, no ReLU).
CTM_BLOCK_BATCHNORMS = [((256, 14), 8, 2 * 2 * 3), ((1024, 14), 9, 2 * 3)]  # (shape, minimal passes, count)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def floor_parts(results: Path) -> dict | None:
    """The measurements and the bound below: per-BN times summed over TSN-R50, the floors (bytes), the profiled
    step's convolution and other time (ms), and `bound_ms` for `clips` clips per step."""
    rows = _read(results / "bn_kernels.jsonl")
    host = next((r for r in rows if r.get("kind") == "host"), None)
    timed = {(r["channels"], r["size"], r["variant"], r["impl"]): r for r in rows if r.get("kind") == "bn"}
    profile = _read(results / "step_profile.jsonl")
    if not host or not timed or not profile:
        return None
    impls = [i for i in ("eager", "inductor", "triton") if any(k[3] == i for k in timed)]
    frames = next(iter(timed.values()))["frames"]
    prof = profile[0]["by_category_ms"]
    p = {"host": host, "timed": timed, "impls": impls, "clips": profile[0]["batch"],
         "total": {i: sum(timed[(c, s, v, i)]["ms"] * k for (c, s), v, k in R50_BATCHNORMS) for i in impls},
         "floor_tsn": sum(timed[(c, s, v, "inductor")]["min_bytes"] * k for (c, s), v, k in R50_BATCHNORMS),
         "floor_blocks": sum(frames * c * s * s * 2 * passes * k for (c, s), passes, k in CTM_BLOCK_BATCHNORMS),
         "to_ms": 1e3 / (host["copy_gbps"] * 1e9), "conv": prof["conv_gemm"],
         "rest": sum(v for k, v in prof.items() if k not in ("conv_gemm", "triton_pointwise", "triton_reduction")),
         "pointwise": prof["triton_pointwise"] + prof["triton_reduction"]}
    p["bound_ms"] = p["conv"] + p["rest"] + (p["floor_tsn"] + p["floor_blocks"]) * p["to_ms"]
    return p


def bn_section(results: Path) -> list[str]:
    p = floor_parts(results)
    if p is None:
        return []
    host, timed, impls, total, to_ms = p["host"], p["timed"], p["impls"], p["total"], p["to_ms"]
    floor_tsn, floor_blocks, conv, rest = p["floor_tsn"], p["floor_blocks"], p["conv"], p["rest"]
    bound_ms, clips, pointwise = p["bound_ms"], p["clips"], p["pointwise"]
    out = ["## BatchNorm in the training step against its memory floor "
           "(`benchmarks/probes/batchnorm/bn_kernels.py`)", "",
           f"One BN forward + backward on a bf16 channels_last map of 192 frames (24 clips x 8), GPU kernel time per "
           f"step (profiler), {host['device']}. `floor` is the formula's minimal traffic (statistics pass, apply "
           f"pass, gradient-reduction pass, input-gradient pass) at the {host['copy_gbps']:.0f} GB/s this GPU "
           "copies memory at. `triton` is a hand-written op (two column reductions with per-program partials, "
           "two elementwise passes, the ReLU mask recomputed from x) measured at commit 02afbe4.", "",
           "| BN | map | " + " | ".join(f"{i} ms" for i in impls) + " | floor ms | Inductor GB/s |",
           "|---|---|" + "---:|" * (len(impls) + 2)]
    for (c, s, variant, impl), r in timed.items():
        if impl != "inductor":
            continue
        times = " | ".join(f"{timed[(c, s, variant, i)]['ms']:.3f}" for i in impls)
        out.append(f"| {variant} | {c}@{s}x{s} | {times} | {r['min_bytes'] / host['copy_gbps'] / 1e6:.3f} | "
                   f"{r['gbps']:.0f} |")
    out += ["", "Summed over TSN-R50's 53 BatchNorms: " + ", ".join(f"{i} {t:.1f} ms" for i, t in total.items())
            + f"; floor {floor_tsn * to_ms:.1f} ms. Inductor's kernels already run the minimal passes at "
            f"{floor_tsn * to_ms / total['inductor']:.0%} of the copy bandwidth.", ""]
    fused = [r for r in _read(results / "train_fused_bn.jsonl") if r.get("kind") == "bench"]
    if fused:
        tsn_ms = {bool(r["fused_bn"]): r["step_ms"] for r in fused if r["experiment"].endswith("_tsn")}
        out += ["| network | Inductor's BN (clips/s) | Triton BN op (clips/s) |", "|---|---:|---:|"]
        for name in dict.fromkeys(r["experiment"] for r in fused):
            got = {bool(r["fused_bn"]): r["clips_per_s"] for r in fused if r["experiment"] == name}
            out.append(f"| {name} | {got.get(False, float('nan')):.0f} | {got.get(True, float('nan')):.0f} |")
        out += ["", "Training step, compiled with CUDA graphs, one process (train_fused_bn.jsonl). The "
                f"TSN step got {tsn_ms[True] - tsn_ms[False]:.1f} ms slower, more than the "
                f"{total.get('triton', 0) - total['inductor']:.1f} ms the op loses over the summed BNs; probably (not "
                "profiled) because the op is opaque to Inductor, so the sum of a "
                "bottleneck's residual gradient and its shortcut's gradient becomes one more pass instead of riding "
                "in Inductor's BN-backward kernels. Not adopted."
                if "triton" in total else "", ""]
    out += [f"A bound for CTM-R50 x3 training at batch {clips} with cuDNN's convolutions and unfused BatchNorm: "
            f"convolutions {conv:.1f} ms (step profile) + TCC, optimizer and the rest {rest:.1f} ms + the BN floor "
            f"{floor_tsn * to_ms:.1f} ms (backbone) + {floor_blocks * to_ms:.1f} ms (the blocks' 18 BNs) = "
            f"{bound_ms:.1f} ms per step, at most {clips / bound_ms * 1e3:.0f} clips/s. The #7 target (800) lies "
            f"beyond it: only BN folded into the convolutions' prologues and epilogues (fused conv-BN training "
            f"kernels, which neither cuDNN through PyTorch nor Inductor offer) removes those passes. The #5 target "
            f"(650 clips/s, {clips / 650 * 1e3:.1f} ms) leaves {clips / 650 * 1e3 - conv - rest:.1f} ms for the "
            f"BatchNorms and the other pointwise work, against {pointwise:.1f} ms of Triton reductions and pointwise "
            f"kernels in the profiled step (which also hold the max-pool, pooling, loss and input normalisation). "
            f"Inductor's isolated BN times ({total['inductor']:.1f} ms for the backbone) would about fit; the "
            "network's graph does not reach them.", ""]
    return out
