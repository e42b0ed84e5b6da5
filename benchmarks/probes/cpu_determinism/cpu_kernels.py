"""Which CPU-kernel settings make training bit-identical across x86-64 CPUs (issue 25; docs/determinism.md).

Runs 3 SGD steps of the embedded Table 1 CTM network (1/16-width ResNet-50, 8x48x48 clips, fixed inputs) and hashes
the weights, once per (setting x CPU): this machine as it is, and QEMU's user-mode emulation of an Intel Haswell
(AVX2, no AVX-512, Intel vendor and caches) and an AMD EPYC-Rome (AVX2). A setting is machine-independent when every
CPU gives the same hash. Also times each setting natively (ms per step, median of 5 runs of 5 steps).

    apt-get install qemu-user       # for the emulated CPUs (else only this machine is measured)
    python -m benchmarks.probes.cpu_determinism.cpu_kernels --out benchmarks/results/cpu-torch2.13/cpu_kernels.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap

SETTINGS = {
    "unpinned": {},
    "aten_default": {"ATEN_CPU_CAPABILITY": "default"},
    "onednn_avx2+mkl_avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "no_onednn+mkl_avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "NO_MKLDNN": "1"},
    "no_onednn+mkl_avx2_strict": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT", "NO_MKLDNN": "1"},
    "no_onednn+mkl_compatible (pinned)": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "NO_MKLDNN": "1"},
}
CPUS = ("native", "Haswell", "EPYC-Rome")

PROBE = textwrap.dedent("""
    import hashlib, json, os, sys, time, torch
    torch.set_num_threads(1)
    if os.environ.get("NO_MKLDNN"):
        torch.backends.mkldnn.enabled = False
    from ctm.models import CTMNet
    torch.manual_seed(0)
    net = CTMNet(depth=50, num_classes=6, num_segments=8, input_size=48, width=0.0625, ctm_stage="res4",
                 ctm_after=[5], paths=["tccm", "temporal"])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 8, 3, 48, 48, generator=g), torch.randint(0, 6, (8,), generator=g)
    steps = int(sys.argv[1])
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    elapsed = time.perf_counter() - start
    h = hashlib.sha256()
    for v in net.state_dict().values():
        h.update(v.contiguous().numpy().tobytes())
    print(json.dumps({"sha256": h.hexdigest()[:16], "ms_per_step": 1000 * elapsed / steps,
                      "capability": torch.backends.cpu.get_cpu_capability()}))
""")


def run(setting: dict, cpu: str, steps: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR"}}
    prefix = [] if cpu == "native" else ["qemu-x86_64", "-cpu", cpu]
    out = subprocess.run([*prefix, sys.executable, "-c", PROBE, str(steps)], env={**env, **setting},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cpus = CPUS if shutil.which("qemu-x86_64") else CPUS[:1]
    with open(args.out, "w") as f:
        for name, setting in SETTINGS.items():
            hashes = {cpu: run(setting, cpu, 3) for cpu in cpus}
            times = [run(setting, "native", 5)["ms_per_step"] for _ in range(args.repeats)]
            row = {"setting": name, "env": setting, **{f"sha256_{c}": h["sha256"] for c, h in hashes.items()},
                   "capability_native": hashes["native"]["capability"],
                   "identical_across_cpus": len({h["sha256"] for h in hashes.values()}) == 1,
                   "ms_per_step_median": round(statistics.median(times), 1), "cpus": list(cpus)}
            f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
