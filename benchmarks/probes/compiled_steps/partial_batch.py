"""Compiled training steps when the batch size changes: the time of every step and whether it crashes.

Measures the designs of issue 15 for torch.compile's training step (docs/protocol.md, "Compiled steps and batch
shapes"): `--dynamic auto` is torch.compile's default (a second shape recompiles with a symbolic batch size),
`--dynamic static` is `dynamic=False` (each shape gets a static graph of its own, what ctm.engine.forward.model_forward
does). Each (size, mode, dynamic) runs in a fresh process, so no compiled state is shared between them.

    python -m benchmarks.probes.compiled_steps.partial_batch --out partial.jsonl --sizes full \
        --modes default reduce-overhead --dynamic auto static --batches 24 24 10 24

A step's time includes any compilation it triggers (forward and backward), synchronised; `error` is the exception of
the first failing step, if any.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SIZES = {"full": (224, 1.0), "tiny": (32, 0.0625)}  # (crop, width): the paper's network; the CUDA tests' network


def run_one(size: str, mode: str, dynamic: str, batches: list[int]) -> dict:
    import torch
    import torch.nn.functional as F

    from ctm.data.video_clips import normalise_uint8
    from ctm.models import CTMNet

    crop, width = SIZES[size]
    torch.manual_seed(0)
    net = CTMNet(50, num_classes=200, num_segments=8, input_size=crop, width=width, ctm_stage="res4",
                 ctm_after=(1, 3, 5), dropout=0.0).cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, fused=True)

    def forward(clips: torch.Tensor) -> torch.Tensor:
        return net(normalise_uint8(clips))

    step_fn = torch.compile(forward, mode=None if mode == "default" else mode,
                            dynamic=None if dynamic == "auto" else False)
    row = {"size": size, "mode": mode, "dynamic": dynamic, "device": torch.cuda.get_device_name(),
           "torch": torch.__version__, "steps": [], "error": None}
    for n in batches:
        clips = torch.randint(0, 256, (n, 8, 3, crop, crop), dtype=torch.uint8, device="cuda")
        labels = torch.randint(0, 200, (n,), device="cuda")
        torch.cuda.synchronize()
        start = time.perf_counter()
        try:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(step_fn(clips).float(), labels)
            loss.backward()
            optimizer.step()
            torch.cuda.synchronize()
        except Exception as err:  # the measurement is whether and where it fails
            first_line = str(err).splitlines()[0][:300] if str(err) else ""
            row["error"] = f"step {len(row['steps']) + 1} (batch {n}): {type(err).__name__}: {first_line}"
            break
        row["steps"].append({"batch": n, "seconds": round(time.perf_counter() - start, 3),
                             "loss": round(float(loss), 4)})
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="JSON lines, one per (size, mode, dynamic)")
    p.add_argument("--sizes", nargs="+", default=["full"], choices=sorted(SIZES))
    p.add_argument("--modes", nargs="+", default=["default", "reduce-overhead"])
    p.add_argument("--dynamic", nargs="+", default=["auto", "static"], choices=["auto", "static"])
    p.add_argument("--batches", nargs="+", type=int, default=[24, 24, 10, 24])
    p.add_argument("--parallel", action="store_true", help="run the processes at once (shorter, noisier timings)")
    p.add_argument("--one", nargs=3, metavar=("SIZE", "MODE", "DYNAMIC"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, args.batches)))
        return
    configs = [(s, m, d) for s in args.sizes for m in args.modes for d in args.dynamic]
    base = [sys.executable, __file__, "--batches", *map(str, args.batches), "--out", args.out, "--one"]
    procs = []
    for config in configs:
        procs.append((config, subprocess.Popen(base + list(config), stdout=subprocess.PIPE, text=True)))
        if not args.parallel:
            procs[-1][1].wait()
    with Path(args.out).open("a") as f:
        for (size, mode, dynamic), proc in procs:
            out, _ = proc.communicate()
            lines = [line for line in out.splitlines() if line.startswith("{")]
            row = json.loads(lines[-1]) if lines else {"size": size, "mode": mode, "dynamic": dynamic,
                                                       "error": f"process exited {proc.returncode}", "steps": []}
            row["parallel"] = args.parallel
            f.write(json.dumps(row) + "\n")
            steps = " ".join(f"{s['batch']}:{s['seconds']}s" for s in row["steps"])
            print(f"{size:5} {mode:16} {dynamic:6} {steps} {row['error'] or 'ok'}")


if __name__ == "__main__":
    main()
