"""The same arithmetic on every x86-64 CPU: the kernel settings that make CPU training bit-identical across machines.

torch picks its CPU code paths by the instructions the CPU has: ATen's vectorised kernels by ATEN_CPU_CAPABILITY
(default / avx2 / avx512), oneDNN's convolutions by its own ISA and cache heuristics, MKL's GEMMs by the CPU's
vendor and model. The small networks of the CPU presets are chaotic, so a last-bit difference in any of them ends in
a different model (one Table 1 cell moved 23 points between an AVX-512 and an AVX2 machine). The pinned setting,
chosen by measurement on emulated CPUs (docs/determinism.md):

- ATEN_CPU_CAPABILITY=avx2: every x86-64 machine with AVX2 takes the same ATen kernels, AVX-512 ones included;
- oneDNN off for CPU tensors (torch.backends.mkldnn.enabled = False): even with ONEDNN_MAX_CPU_ISA=AVX2 its
  convolutions differ between an AMD and an Intel AVX2 CPU; without it, convolutions are im2col + MKL GEMM;
- MKL_CBWR=COMPATIBLE: MKL's conditional numerical reproducibility on its one code branch that gives the same GEMM
  and GEMV results on Intel and AMD (AVX2 and AVX2,STRICT do not, for small matrices);
- one thread (torch, OpenMP, MKL): reductions are split by thread count.

`pin()` must run before torch is imported (ctm/cli.py calls it for every verb of a CPU preset, so Snakemake, DVC and
a hand-typed command agree); `state()` reads back what is in force, for the logs and provenance. This module does
not import torch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PINNED_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
PINNED_THREADS = 1
PINNED = {**PINNED_ENV, "mkldnn": False, "threads": PINNED_THREADS}
# The instruction sets recorded in provenance: which of these the CPU has decides what it could run unpinned.
REPORTED_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                  "amx_tile")


class PinningError(RuntimeError):
    """torch was imported before the CPU kernels could be pinned: a bug in the caller's order (not the user's)."""


def pin() -> dict:
    """Pin the CPU kernels for this process (and the processes it starts): environment first, then torch's switches.
    Returns the setting in force (state())."""
    os.environ.update(PINNED_ENV)
    if sys.modules.get("torch") is not None:
        apply_to_torch()
    return PINNED


def apply_to_torch() -> None:
    """The settings that live in torch itself (call after importing it; pin() does when torch is already loaded)."""
    import torch

    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(PINNED_THREADS)


def state() -> dict:
    """What is in force now: torch's CPU capability, oneDNN's switch and threads, and the pinned variables."""
    import torch

    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "mkldnn": torch.backends.mkldnn.enabled,
            "threads": torch.get_num_threads(), **{k: os.environ.get(k) for k in PINNED_ENV}}


def is_pinned(current: dict) -> bool:
    """Whether `current` (state()) is the pinned setting: ATen on AVX2, oneDNN off, one thread, MKL compatible."""
    return (current.get("cpu_capability") == "AVX2" and current.get("mkldnn") is False
            and current.get("threads") == PINNED_THREADS and current.get("MKL_CBWR") == PINNED_ENV["MKL_CBWR"])


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> dict:
    """The CPU's vendor, model and which of REPORTED_FLAGS it has (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
        if not line.strip() and fields:
            break  # the first processor's block is enough
    flags = set(fields.get("flags", "").split())
    return {"vendor": fields.get("vendor_id", ""), "model": fields.get("model name", ""),
            "instruction_sets": [f for f in REPORTED_FLAGS if f in flags]}
