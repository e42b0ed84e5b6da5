"""Training BatchNorm (+ residual) (+ ReLU), forward + backward, on ResNet-50's feature-map shapes: nn.BatchNorm2d
eager (cuDNN / ATen) and the same under torch.compile (Inductor's Triton kernels, what the compiled network runs).
One JSON line per (shape, variant, implementation).

    python -m benchmarks.probes.batchnorm.bn_kernels --out bn.jsonl [--frames 192] [--iters 20] [--impls eager inductor]

The `triton` rows of benchmarks/results/h100-torch2.11/bn_kernels.jsonl come from this script at commit 02afbe4,
which also had a hand-written Triton BN op (ctm/models/bn_triton.py there; not adopted, docs/performance_changes.md
says why).

Times are GPU kernel time (kernel_time.gpu_step_time: the sum of the kernels' durations per step), what a
CUDA-graphed network pays; `wall_ms` is the eager step's wall time, which for the small maps is mostly kernel-launch
overhead. `min_bytes` counts the passes the formula needs (forward: read x for the statistics, read x [+ z] and
write y; backward: read dy and x [and y] for the reductions, read them again and write dx [+ dz]); `gbps` is min_bytes
over the kernel time, a lower bound of the bandwidth an implementation reached. `kernels` gives each kernel's time
per step.
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.probes.batchnorm.kernel_time import gpu_step_time

# (channels, size) of R50's BNs at 224: the stem, then each stage's (width, width, 4 x width) at its resolution
SHAPES = [(64, 112), (64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7)]
VARIANTS = {"bn_relu": (True, False), "bn_add_relu": (True, True), "bn": (False, False)}


def _passes(relu: bool, has_z: bool) -> int:
    forward = 3 + has_z
    backward = 5 + 2 * (relu and has_z)  # the ReLU mask comes from y with a residual (read twice), and dz is written
    return forward + backward


def copy_gbps(nbytes: int = 2**30) -> float:
    """Read + write bandwidth of a 1 GiB device copy: what a memory-bound kernel can reach on this GPU."""
    big = torch.empty(nbytes, device="cuda", dtype=torch.uint8)
    _, seconds, _ = gpu_step_time(big.clone, 20)
    return 2 * nbytes / seconds / 1e9


def measure(c: int, size: int, frames: int, relu: bool, has_z: bool, impl: str, iters: int) -> dict:
    bn = nn.BatchNorm2d(c).cuda()

    def layer(x, z):
        y = bn(x) if z is None else bn(x) + z
        return F.relu(y) if relu else y

    torch._dynamo.reset()  # a fresh static-shape graph per shape, as in the compiled network
    fn = torch.compile(layer, dynamic=False) if impl == "inductor" else layer
    shape = (frames, c, size, size)
    x = torch.randn(shape, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    z = torch.randn_like(x).requires_grad_(True) if has_z else None
    grad = torch.randn_like(x)

    inputs = [x] + ([z] if has_z else []) + [bn.weight, bn.bias]

    def step():  # autograd.grad: no accumulation into .grad, which would add a pass
        torch.autograd.grad(fn(x, z), inputs, grad)

    wall, seconds, kernels = gpu_step_time(step, iters)
    min_bytes = _passes(relu, has_z) * x.numel() * x.element_size()
    return {"channels": c, "size": size, "frames": frames, "relu": relu, "residual": has_z, "impl": impl,
            "ms": seconds * 1e3, "wall_ms": wall * 1e3, "min_bytes": min_bytes, "gbps": min_bytes / seconds / 1e9,
            "kernels": kernels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=192, help="N*T: 24 clips of 8 frames")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--impls", nargs="+", default=["eager", "inductor"], choices=["eager", "inductor"])
    args = ap.parse_args()
    header = {"kind": "host", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "copy_gbps": copy_gbps()}
    print(json.dumps(header), flush=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(header) + "\n")
    for c, size in SHAPES:
        for variant, (relu, has_z) in VARIANTS.items():
            for impl in args.impls:
                row = {"kind": "bn", "variant": variant, **measure(c, size, args.frames, relu, has_z, impl,
                                                                   args.iters)}
                print(json.dumps(row), flush=True)
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
