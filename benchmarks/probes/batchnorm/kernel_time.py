"""GPU time of a step of CUDA work, shared by the BatchNorm probes (bn_kernels.py, cudnn_fusion.py) so that their
rows compare: the wall time per step and the sum of the step's kernel durations (what a CUDA-graphed network pays).
"""

from __future__ import annotations

import torch


def gpu_step_time(fn, iters: int) -> tuple[float, float, dict[str, float]]:
    """(wall seconds per step, kernel seconds per step, {kernel name: ms per step}) of `fn`, a step of CUDA work:
    5 warm-up calls, then `iters` calls timed by CUDA events (wall) and `iters` more under torch.profiler (kernels)."""
    for _ in range(5):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    wall = start.elapsed_time(end) / iters / 1e3
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
    kernels: dict[str, float] = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            name = e.name[:60]
            kernels[name] = kernels.get(name, 0.0) + e.time_range.elapsed_us() / iters / 1e3
    return wall, sum(kernels.values()) / 1e3, kernels
