"""How far a compiled training step's gradients are from exact ones, next to how far the eager step's are.

The CUDA test of a compiled step through a partial batch (tests/engine/test_compiled_partial_batch.py) compares
compiled gradients with eager float32 ones; on a network as ill-conditioned as the tests' (1/16 width, 32 pixels),
both carry rounding error. This measures each against float64 eager gradients of the same weights and batch, per
step, through the batch sizes the test uses, each mode in a fresh process (no compiled state shared):

    python -m benchmarks.probes.compiled_steps.compiled_gradients --out grads.jsonl \
        --modes eager eager-jitter default reduce-overhead --seeds 0 1 2 3

`eager-jitter` is the eager step at weights scaled by 1 + 1e-6 noise: how far a rounding-sized change of the weights
moves this network's gradients (its ReLU and max-pool decisions flip).

A record per (mode, step): `err_vs_fp64` = |g - g64| / |g64| for the mode's gradients, `eager_err_vs_fp64` the same
for eager float32, `vs_eager` = |g - g32| / |g32| (what the test bounds); then a record per (pair of modes, step) with
`rel_diff` between their gradients. TF32 is off throughout.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path


def run_one(mode: str, steps: list[int], device: str, seed: int, save: Path) -> list[dict]:
    import torch
    import torch.nn.functional as F

    from ctm.data.video_clips import normalise_uint8
    from ctm.engine.forward import model_forward
    from ctm.models import CTMNet

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(seed)
    net = CTMNet(50, num_classes=6, num_segments=8, input_size=32, width=0.0625, ctm_stage="res4",
                 ctm_after=(1, 3, 5), dropout=0.0).to(device).to(memory_format=torch.channels_last)
    ref32, ref64 = copy.deepcopy(net), copy.deepcopy(net).double()
    eager_mode = mode in ("eager", "eager-jitter")
    candidate = model_forward(net, not eager_mode, "default" if eager_mode else mode)
    jittered, noise = copy.deepcopy(net), torch.Generator(device).manual_seed(seed + 1)
    eager32 = model_forward(ref32, False)

    def eager64(clips):
        return ref64(normalise_uint8(clips).double())

    def gradients(forward, model, clips, labels):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(forward(clips).double(), labels).backward()
        return torch.cat([p.grad.double().flatten() for p in model.parameters()])

    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    data = torch.Generator(device).manual_seed(seed)  # its own: compilation may draw from the global generator
    records, saved = [], []
    for step, n in enumerate(steps):
        clips = torch.randint(0, 256, (n, 8, 3, 32, 32), dtype=torch.uint8, device=device, generator=data)
        labels = torch.randint(0, 6, (n,), device=device, generator=data)
        ref32.load_state_dict(net.state_dict())
        ref64.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in net.state_dict().items()})
        if mode == "eager-jitter":  # the eager step at weights scaled by 1 + 1e-6 noise: rounding-sized change
            jittered.load_state_dict(net.state_dict())
            with torch.no_grad():
                for w in jittered.parameters():
                    w.mul_(1 + 1e-6 * torch.randn(w.shape, generator=noise, device=device))
            got = gradients(model_forward(jittered, False), jittered, clips, labels)
            for w, j in zip(net.parameters(), jittered.parameters(), strict=True):
                w.grad = j.grad.clone()
        else:
            got = gradients(candidate, net, clips, labels)
        g32, g64 = gradients(eager32, ref32, clips, labels), gradients(eager64, ref64, clips, labels)
        records.append({"mode": mode, "step": step, "batch": n, "grad_norm": round(float(g64.norm()), 3),
                        "err_vs_fp64": float((got - g64).norm() / g64.norm()),
                        "eager_err_vs_fp64": float((g32 - g64).norm() / g64.norm()),
                        "vs_eager": float((got - g32).norm() / g32.norm())})
        saved.append(got.cpu())
        optimizer.step()
    torch.save(saved, save / f"{mode}_seed{seed}.pt")
    return records


def between_modes(modes: list[str], seeds: list[int], save: Path) -> list[dict]:
    """|g_a - g_b| / |g_b| per step for each pair of modes: the same weights, batches and steps in each."""
    import torch

    rows = []
    for seed in seeds:
        grads = {m: torch.load(save / f"{m}_seed{seed}.pt") for m in modes if (save / f"{m}_seed{seed}.pt").exists()}
        names = list(grads)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for step, (ga, gb) in enumerate(zip(grads[a], grads[b], strict=True)):
                    rows.append({"seed": seed, "step": step, "pair": f"{a} vs {b}",
                                 "rel_diff": float((ga - gb).norm() / gb.norm())})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--modes", nargs="+", default=["eager", "eager-jitter", "default", "reduce-overhead"])
    p.add_argument("--steps", nargs="+", type=int, default=[4, 3, 4, 3], help="batch size of each step")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--save", type=Path, default=Path("compiled_gradients"), help="folder for each mode's gradients")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.save.mkdir(parents=True, exist_ok=True)
    if args.one:
        for seed in args.seeds:
            for r in run_one(args.one, args.steps, args.device, seed, args.save):
                print(json.dumps({"seed": seed, **r}), flush=True)
        return
    with args.out.open("a") as out:
        for mode in args.modes:
            cmd = [sys.executable, __file__, "--out", str(args.out), "--one", mode, "--device", args.device,
                   "--steps", *map(str, args.steps), "--seeds", *map(str, args.seeds), "--save", str(args.save)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            for line in done.stdout.splitlines():
                if line.startswith("{"):
                    out.write(line + "\n")
                    print(line, flush=True)
            if done.returncode:
                print(json.dumps({"mode": mode, "error": done.stderr.strip().splitlines()[-1:]}), flush=True)
        for row in between_modes(args.modes, args.seeds, args.save):
            out.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
