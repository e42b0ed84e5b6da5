"""cuDNN's fused convolution + BatchNorm graphs for training: a section of docs/performance.md (issue 16;
benchmarks/render/performance.py).

Reads, in one GPU's results folder, cudnn_fusion_{bf16,fp16}.jsonl (benchmarks/probes/batchnorm/cudnn_fusion.py over
every ResNet-50 convolution, in the network's bf16 and in fp16) and cudnn_fusion_variants.jsonl (which graphs cuDNN
accepts for each choice of data types and heuristics, on four convolutions and the frontend's own test shape), and
turns them into what the fusion would save per training step, against the step times of the throughput table.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.render.bn_floor import floor_parts

COMMAND = ("PYTHONPATH=/tmp/site-cudnn python -m benchmarks.probes.batchnorm.cudnn_fusion --out fusion.jsonl "
           "[--io-dtype float16 --affine-dtype io] [--sample]")
GRAPHS = [  # (label, row key, which convolutions it applies to)
    ("conv + genstats", "fe_fused", "none"),
    ("scale-bias-ReLU prologue + conv + genstats", "fe_fused", "sbr"),
    ("scale-bias-ReLU prologue + weight gradient", "fe_wgrad", "sbr"),
]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _dtype(name: str) -> str:
    return name.removeprefix("torch.")


def _config(r: dict) -> tuple:
    return (_dtype(r["io_dtype"]), _dtype(r["affine_dtype"]), _dtype(r["intermediate_dtype"]),
            " ".join(r["heuristics"]))


def _why(error: str) -> str:
    if "ARCH_MISMATCH" in error:
        return "no engine for sm90 (ARCH_MISMATCH)"
    if "not found" in error:
        return "no engine (SCALE_BIAS_ADD_RELU_WGRAD not found)"
    return error.splitlines()[0][:80]


def support_table(rows: list[dict]) -> list[str]:
    """Which graphs cuDNN builds, per data-type configuration: accepted convolutions / tried (and why not)."""
    configs: dict[tuple, list[dict]] = {}
    for r in rows:
        if r.get("kind") == "conv":
            configs.setdefault(_config(r), []).append(r)
    out = ["| io | scale, bias | intermediate | heuristics | " + " | ".join(g for g, _, _ in GRAPHS) + " |",
           "|---|---|---|---|" + "---|" * len(GRAPHS)]
    for config, convs in configs.items():
        cells = []
        for _, key, prologue in GRAPHS:
            tried = {r["name"]: r for r in convs if r["prologue"] == prologue}
            ok = [n for n, r in tried.items() if f"{key}_ms" in r]
            whys = {_why(r[f"{key}_error"]) for r in tried.values() if f"{key}_error" in r}
            cells.append(f"{len(ok)} of {len(tried)}" + (f": {'; '.join(sorted(whys))}" if whys else ""))
        out.append("| " + " | ".join(config) + " | " + " | ".join(cells) + " |")
    return out


def saving(rows: list[dict]) -> dict | None:
    """Forward and weight-gradient milliseconds per ResNet-50 step that the fused graphs would save.

    A BatchNorm's statistics pass goes where the convolution before it emits genstats; a BN + ReLU's apply pass goes
    where the convolution after it takes the scale-bias-ReLU prologue; a block's last BN keeps one pass (scale,
    bias, shortcut, ReLU), measured as `rest_fwd_ms`. A refused stem convolution keeps the stem's BN as it is (the
    max-pool needs the activation anyway); any other refusal leaves no fused network to project."""
    convs = [r for r in rows if r.get("kind") == "conv" and r["count"] > 0]
    sites = [r for r in rows if r.get("kind") == "bn_site"]
    refused = {r["name"] for r in convs if "fe_fused_ms" not in r or "fe_wgrad_ms" not in r}
    if refused - {"stem"} or not sites:
        return None
    fused = [r for r in convs if r["name"] not in refused]
    kept = [s for s in sites if not (s["site"] == "stem" and "stem" in refused)]
    bn = sum(s["count"] * (s["inductor_fwd_ms"] - s["rest_fwd_ms"]) for s in kept)
    conv = sum(r["count"] * (r["fe_fused_ms"] - r["torch_fwd_ms"]) for r in fused)
    wgrad = sum(r["count"] * (r["fe_wgrad_ms"] - r["torch_wgrad_ms"]) for r in fused if r["prologue"] == "sbr")
    worst = max(max(r["fe_fused_err"], r["fe_wgrad_err"]) for r in fused)
    return {"bn_ms": bn, "conv_ms": conv, "wgrad_ms": wgrad, "net_ms": bn - conv - wgrad, "refused": refused,
            "inductor_bn_fwd_ms": sum(s["count"] * s["inductor_fwd_ms"] for s in sites), "worst_err": worst}


def conv_table(rows: list[dict]) -> list[str]:
    out = ["| convolution | input | count | PyTorch fwd | fused fwd | PyTorch wgrad | fused wgrad | rel. error |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("kind") != "conv" or r["count"] == 0:
            continue
        fwd = f"{r['fe_fused_ms']:.3f}" if "fe_fused_ms" in r else "refused"
        wgrad = (f"{r['fe_wgrad_ms']:.3f}" if "fe_wgrad_ms" in r else "refused") if r["prologue"] == "sbr" else "-"
        errs = [r[k] for k in ("fe_fused_err", "fe_wgrad_err" if r["prologue"] == "sbr" else "") if k in r]
        err = f"{max(errs):.1e}" if errs else "-"
        shape = f"{r['cin']}@{r['size']}, {r['k']}x{r['k']}/{r['stride']}"
        source = "BN + ReLU (prologue)" if r["prologue"] == "sbr" else "block output"
        out.append(f"| {r['name']} ({shape}) | {source} | {r['count']} | {r['torch_fwd_ms']:.3f} | {fwd} | "
                   f"{r['torch_wgrad_ms']:.3f} | {wgrad} | {err} |")
    return out


def fusion_section(results: Path, ctm: dict | None, tsn: dict | None) -> list[str]:
    """`ctm`, `tsn`: the best compiled training rows of the throughput table, from one run."""
    bf16, fp16 = _read(results / "cudnn_fusion_bf16.jsonl"), _read(results / "cudnn_fusion_fp16.jsonl")
    variants = _read(results / "cudnn_fusion_variants.jsonl")
    env = next((r for r in bf16 + fp16 if r.get("kind") == "env" and "error" not in r), None)
    if not env or not fp16:
        return []
    out = ["## Fused convolution + BatchNorm training graphs (cuDNN frontend; "
           "`benchmarks/probes/batchnorm/cudnn_fusion.py`)", "",
           f"{env['device']}, torch {env['torch']}, cuDNN {env['backend']}, nvidia-cudnn-frontend {env['frontend']} "
           f"(its wheel carried to the GPU host; 1.22.1 is the newest without required dependencies). Measure: "
           f"`{COMMAND}`. Every convolution of ResNet-50 at 24 clips x 8 frames, channels_last; GPU kernel time "
           "per call (profiler). What cuDNN builds:", "",
           *support_table(bf16 + fp16 + variants), "",
           "In bf16, the data type the networks train in, cuDNN 9.19 built none of the three graphs on the H100, "
           "for ResNet-50's shapes and for the frontend's own test shape alike, with float32 or bf16 scale, bias "
           "and intermediates and with heuristics A, B and FALLBACK: every candidate engine was refused, the last "
           "with ARCH_MISMATCH. In fp16 with fp16 scale and bias (as the frontend's tests use them) all three "
           "build for ResNet-50's shapes except the 3-channel stem; with float32 scale and bias only the plain "
           "conv + genstats does. The backward fusions "
           "(dgrad + dReLU + dBN, `dbn_weight`, `bn_finalize`) that MLPerf's ResNet-50 uses are not bound in the "
           "Python package, so only the forward passes and the prologue of the weight gradient can be fused.", "",
           "fp16 (`cudnn_fusion_fp16.jsonl`), ms per call; `rel. error` is against float32 PyTorch on the "
           "same fp16 inputs (plain cuDNN through PyTorch: the same order):", "", *conv_table(fp16), ""]
    s = saving(fp16)
    if s is None:
        return out
    floor = floor_parts(results)
    blocks_ms = floor["floor_blocks"] * floor["to_ms"] if floor else 0.0
    out += [f"Per ResNet-50 training step: the BatchNorms' forward passes take {s['inductor_bn_fwd_ms']:.2f} ms as "
            f"Inductor compiles them; the fused design drops {s['bn_ms']:.2f} ms of them (stem kept), its "
            f"convolutions cost {s['conv_ms']:.2f} ms more (the genstats epilogue and the prologue slow the "
            f"kernels, most on the 14x14 and 7x7 maps) and its weight gradients {s['wgrad_ms']:.2f} ms more "
            f"(they recompute the activation), a net {s['net_ms']:.2f} ms (summed from the kernel times above; "
            "no fused network was built). The backward BN passes stay as they are. Numerics: relative error at "
            f"most {s['worst_err']:.1e} against float32, as plain cuDNN.", ""]
    if ctm and tsn:
        clips = ctm["batch"]
        ctm_ms = ctm["step_ms"] - s["net_ms"]
        ctm_best = ctm_ms - blocks_ms
        tsn_ms = tsn["step_ms"] - s["net_ms"]
        h200_ms = clips / 687 * 1e3  # issue 16's CTM-R50 x3 training on its H200
        out += [f"Against the training step of the throughput table ({ctm['run']}, {ctm['compile_mode']}): "
                f"CTM-R50 x3 {ctm['step_ms']:.1f} ms ({ctm['clips_per_s']:.0f} clips/s) would become "
                f"{ctm_ms:.1f} ms ({clips / ctm_ms * 1e3:.0f} clips/s), and TSN {tsn['step_ms']:.1f} -> "
                f"{tsn_ms:.1f} ms. Even if the fusion also removed the whole memory floor of the CTM blocks' 18 "
                f"BatchNorms ({blocks_ms:.1f} ms, forward and backward: more than a forward fusion can reach), CTM "
                f"would run {clips / ctm_best * 1e3:.0f} clips/s and CTM / TSN {tsn_ms / ctm_best:.2f}. 800 "
                f"clips/s needs {ctm['step_ms'] - clips / 800 * 1e3:.1f} ms off this step; on the H200 of issue 16 "
                f"(687 clips/s, {h200_ms:.1f} ms) it needs {h200_ms - clips / 800 * 1e3:.1f} ms, against "
                f"{s['net_ms']:.1f} ms measured here plus at most {blocks_ms:.1f} ms from the blocks (less on the "
                "H200, whose faster memory makes the removed BN passes cheaper to begin with)."]
        if floor:
            fused_bound = floor["bound_ms"] - s["net_ms"]
            out += ["", f"The bound of the section above ({floor['bound_ms']:.1f} ms, "
                    f"{floor['clips'] / floor['bound_ms'] * 1e3:.0f} clips/s: convolutions plus BN at its memory "
                    f"floor) would move to {fused_bound:.1f} ms, {floor['clips'] / fused_bound * 1e3:.0f} clips/s, "
                    f"but the measured step is {ctm['step_ms'] - floor['bound_ms']:.1f} ms above the bound it has "
                    "now: the fusion removes passes that Inductor already runs near the copy bandwidth, while the "
                    "gap lies in what the bound leaves out (the backward's passes above their floor, launch gaps, "
                    "the residual, pooling and loss work)."]
        out += ["", "Not adopted: the fused graphs cannot reach the targets (800 clips/s, CTM / TSN >= 0.92), "
                "they speed up TSN as much as CTM, and using them means training in fp16 with loss scaling instead "
                "of bf16, replacing every bottleneck's forward and backward with custom autograd functions that "
                "Inductor cannot fuse into (the cost that made the Triton BN op slower above), and capturing cuDNN "
                "frontend plans in CUDA graphs. The unfused network stays the only training path.", ""]
    return out
