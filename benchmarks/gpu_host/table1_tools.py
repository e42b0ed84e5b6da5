"""Helpers of benchmarks/gpu_host/table1_run.sh and its report (run from the code root, ctm importable):

  tcc-check             the operator: the TCC that CUDA runs ('auto' -> Triton) against the float64 reference of Eq. 1,
                        forward and both gradients, at the Res4 CTM path's shape (4 clips, T=8, C=256, 14x14),
                        channels_last, float32 and bf16 (as under autocast); one JSON line per dtype.
  inspect RUN...        initialisation / optimisation: each run's CTM paths at the end of training: mean |gamma| of the
                        path's last BN (0 at initialisation: how much the path adds), the temporal operator's weight
                        norm, and the Res4 bottlenecks' last-BN mean |gamma| for scale; one JSON line per run.
  salvage --experiment E --run-dir D --root R --store S [--params P]
                        a run stopped by the watchdog (SIGTERM: resume.pt at the current step) -> checkpoint.pt of
                        that state, so that it can still be tested; its summary says where it stopped.
  erf                   (CPU, no data) the input pixels that one Res4 feature at the CTM block's input (after the 5th
                        bottleneck of layer3, centre of the 14x14 map) depends on, in the full-width ResNet-50 at 224,
                        eval mode, with the last BN gamma of every Res2-Res4 bottleneck set to 0 (zero-initialised
                        residuals: the network at the start), 0.005 (about the Res4 values measured after the run), 0.05
                        and 1: the input gradient's support and the share of its mass within centred windows.
  motion [--params P]   (no data) how far the synthetic objects move between two sampled frames (8 frames apart), in
                        pixels of the network input, for presets gpu_synthetic and embedded, from the generator's
                        constants (ctm.standins.motion), next to the object sizes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def tcc_check() -> None:
    from ctm.models import tcc_ops

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    impl = tcc_ops.pick_implementation("auto", dev)
    torch.manual_seed(0)
    n, t, c, h, w = 4, 8, 256, 14, 14
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(n * t, c, h, w, device=dev).to(memory_format=torch.channels_last).to(dtype)
        x5 = x.detach().view(n, t, c, h, w).requires_grad_(True)
        k = (torch.randn(h * w, 1, 3, 3, device=dev) / 3).requires_grad_(True)
        g = torch.randn(n, t, c, h, w, device=dev, dtype=dtype)
        out = tcc_ops.IMPLEMENTATIONS[impl](x5, k.to(dtype) if impl == "grouped_conv" else k)
        (out.float() * g.float()).sum().backward()
        xr = x5.detach().double().requires_grad_(True)
        kr = k.detach().double().requires_grad_(True)
        ref = tcc_ops.reference(xr, kr)
        (ref * g.double()).sum().backward()

        def rel(a: torch.Tensor, b: torch.Tensor) -> float:
            return float((a.detach().double() - b.detach()).abs().max() / b.detach().abs().max())

        print(json.dumps({"check": "tcc", "impl": impl, "dtype": str(dtype).replace("torch.", ""), "device": str(dev),
                          "forward_rel_err": rel(out, ref), "grad_input_rel_err": rel(x5.grad, xr.grad),
                          "grad_weight_rel_err": rel(k.grad, kr.grad)}), flush=True)


def inspect(runs: list[str]) -> None:
    for run in runs:
        path = Path(run) / "checkpoint.pt"
        if not path.exists():
            continue
        sd = torch.load(path, map_location="cpu", weights_only=True)["model"]
        row: dict = {"check": "paths", "run": Path(run).name}
        for key, v in sd.items():
            if not key.startswith("ctm_blocks."):
                continue
            name = key.removeprefix("ctm_blocks.")
            if key.endswith("expand.1.weight"):
                row[name.replace(".expand.1.weight", ".last_bn_gamma_abs_mean")] = float(v.abs().mean())
            elif key.endswith("temporal.weight") or key.endswith("temporal.conv.weight"):
                row[name.replace(".weight", ".weight_norm")] = float(v.norm())
        row["layer3_bn3_gamma_abs_mean"] = [round(float(v.abs().mean()), 5) for k, v in sd.items()
                                            if k.startswith("layer3.") and k.endswith("bn3.weight")]
        print(json.dumps(row), flush=True)


def salvage(args: argparse.Namespace) -> None:
    from ctm.config import load_config
    from ctm.data.splits import load_split
    from ctm.data.store import open_store
    from ctm.fileio import save_torch

    cfg = load_config(args.params, "gpu_synthetic")
    exp = cfg.experiment(args.experiment)
    run = Path(args.run_dir)
    state = torch.load(run / "resume.pt", map_location="cpu", weights_only=True)
    split, classes = load_split(exp.dataset, args.root, "train", open_store(args.store), exp.split)
    summary = {"experiment": args.experiment, "preset": cfg.preset_name, "num_classes": len(classes),
               "num_train_videos": len(split.videos), "num_train_missing": split.num_missing,
               "epochs": state["epoch"], "stopped_at": {"epoch": state["epoch"], "step": state["batch"]},
               "fresh_modules": [], "frozen_bn": 0}
    save_torch({"model": state["model"], "classes": classes, "params": state["params"], "summary": summary},
               run / "checkpoint.pt")
    print(json.dumps({"check": "salvaged", "run": run.name, **summary["stopped_at"]}), flush=True)


def erf() -> None:
    from ctm.models.network import CTMNet

    torch.manual_seed(0)
    net = CTMNet(depth=50, num_classes=6, num_segments=1, input_size=224, width=1.0, zero_init_residual=True).eval()
    for gamma in (0.0, 0.005, 0.05, 1.0):
        for name, module in net.named_modules():
            if name.endswith("bn3") and name.split(".")[0] in ("layer1", "layer2", "layer3"):
                with torch.no_grad():
                    module.weight.fill_(gamma)
        x = torch.randn(1, 3, 224, 224, requires_grad=True)
        h = net.stem(x)
        for stage in ("layer1", "layer2", "layer3"):
            for k, block in enumerate(getattr(net, stage), start=1):
                h = block(h)
                if stage == "layer3" and k == 5:
                    feature = h
        centre = feature.shape[-1] // 2
        feature[0, :, centre, centre].sum().backward()
        g = x.grad[0].abs().sum(0)
        ys, xs = torch.nonzero(g > g.max() * 1e-6, as_tuple=True)
        y0, x0 = int(ys.float().mean().round()), int(xs.float().mean().round())
        row = {"check": "erf", "bottleneck_gamma": gamma, "map": list(feature.shape[-2:]),
               "support_px": [int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)]}
        for side in (13, 25, 49):
            window = g[max(0, y0 - side // 2): y0 + side // 2 + 1, max(0, x0 - side // 2): x0 + side // 2 + 1]
            row[f"mass_within_{side}px"] = round(float(window.sum() / g.sum()), 4)
        print(json.dumps(row), flush=True)


def motion(params: str) -> None:
    import math

    from ctm.config import load_config
    from ctm.standins import motion as sm

    for preset in ("gpu_synthetic", "embedded"):
        cfg = load_config(params, preset)
        s, spec = cfg.dataset("mini_kinetics_200").synthetic, cfg.preset.input
        scale = spec.resize_short / min(s.height, s.width)  # frames -> network input pixels (crops do not scale)
        size = min(s.height, s.width) * scale

        def span(lo: float, hi: float) -> list[float]:
            return [round(lo, 1), round(hi, 1)]

        chord = [2 * f * size * math.sin(math.radians(a) / 2) for f, a in ((0.28, sm.HAND_STEP_DEGREES[0]),
                                                                            (0.36, sm.HAND_STEP_DEGREES[1]))]
        print(json.dumps({
            "check": "motion", "preset": preset, "frame": [s.height, s.width], "resize_short": spec.resize_short,
            "crop": spec.crop_size, "res4_map": -(-spec.crop_size // 16),
            "step_px": {"square": span(*(v * s.width / 96 * scale for v in sm.SQUARE_STEP_PX)),
                        "ball": span(*(v * s.height * scale for v in sm.BALL_STEP)),
                        "hand_tip": span(*chord)},
            "object_px": {"square_side": span(0.16 * s.height * scale, 0.26 * s.height * scale),
                          "ball_diameter": span(0.16 * s.height * scale, 0.24 * s.height * scale),
                          "hand_knob_diameter": span(0.10 * size, 0.14 * size)},
        }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("tcc-check")
    p = sub.add_parser("inspect")
    p.add_argument("runs", nargs="*")
    p = sub.add_parser("salvage")
    for name in ("--experiment", "--run-dir", "--root", "--store"):
        p.add_argument(name, required=True)
    p.add_argument("--params", default="params.yaml")
    sub.add_parser("erf")
    p = sub.add_parser("motion")
    p.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    if args.cmd == "tcc-check":
        tcc_check()
    elif args.cmd == "inspect":
        inspect(args.runs)
    elif args.cmd == "salvage":
        salvage(args)
    elif args.cmd == "erf":
        erf()
    else:
        motion(args.params)


if __name__ == "__main__":
    main()
