"""The pinned CPU kernels (ctm.cpu_kernels): `ctm train` ends with the same weights whatever CPU it emulates, while
without the pin the same emulation changes them (so the check below can fail).

An AVX2-only machine is emulated on this one by capping each library's dispatch: ATen (ATEN_CPU_CAPABILITY), oneDNN
(ONEDNN_MAX_CPU_ISA) and MKL (MKL_ENABLE_INSTRUCTIONS). docs/determinism.md has the wider measurement, under QEMU's
Intel Haswell and AMD EPYC-Rome CPU models, that chose the setting.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from ctm import cpu_kernels
from ctm.cli import main

EXPERIMENT = "mk200_r50_ctm_res4x1"
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
DEFAULT_ONLY = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}


def _env(**emulated) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {*cpu_kernels.PINNED_ENV, *AVX2_ONLY}}
    return {**env, **emulated}


def _train(base, out, **emulated) -> dict:
    cmd = [sys.executable, "-m", "ctm.cli", "train", "--experiment", EXPERIMENT, "--params", str(base / "params.yaml"),
           "--root", str(base / "data"), "--out", str(out), "--no-progress"]
    subprocess.run(cmd, env=_env(**emulated), check=True, capture_output=True, cwd=base)
    return torch.load(out / "checkpoint.pt", weights_only=True)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_training_dir):
    base = tmp_path_factory.mktemp("kernels")
    tiny_training_dir(base, epochs=2, lr_milestones=[1])
    return base


def test_training_is_the_same_on_an_emulated_avx2_only_cpu(tiny_run):
    here = _train(tiny_run, tiny_run / "here")
    avx2 = _train(tiny_run, tiny_run / "avx2", **AVX2_ONLY)
    assert here["summary"]["cpu_kernels"]["cpu_capability"] == "AVX2"
    assert here["summary"]["cpu_kernels"]["mkldnn"] is False and here["summary"]["cpu_kernels"]["threads"] == 1
    assert here["model"].keys() == avx2["model"].keys()
    assert all(torch.equal(here["model"][k], avx2["model"][k]) for k in here["model"])


UNPINNED_STEPS = textwrap.dedent("""
    import hashlib, sys, torch
    torch.set_num_threads(1)
    from ctm.models import CTMNet
    torch.manual_seed(0)
    net = CTMNet(depth=50, num_classes=6, num_segments=8, input_size=48, width=0.0625, ctm_stage="res4",
                 ctm_after=[5], paths=["tccm", "temporal"])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 8, 3, 48, 48, generator=g), torch.randint(0, 6, (8,), generator=g)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    h = hashlib.sha256()
    for v in net.state_dict().values():
        h.update(v.contiguous().numpy().tobytes())
    print(h.hexdigest())
""")


def test_without_the_pin_the_emulated_cpu_changes_the_weights():
    """The control: the same training steps outside `ctm` (nothing pinned) differ between two emulated CPUs."""
    runs = [subprocess.run([sys.executable, "-c", UNPINNED_STEPS], env=_env(**emulated), check=True,
                           capture_output=True, text=True).stdout.strip() for emulated in (AVX2_ONLY, DEFAULT_ONLY)]
    assert runs[0] != runs[1]


def test_threads_other_than_one_are_refused_on_a_cpu_preset(tiny_run, capsys):
    code = main(["train", "--experiment", EXPERIMENT, "--params", str(tiny_run / "params.yaml"), "--root",
                 str(tiny_run / "data"), "--out", str(tiny_run / "threads"), "--threads", "2", "--no-progress"])
    assert code == 2
    assert "--threads 2: a CPU preset runs with 1 thread" in capsys.readouterr().err


def test_cpu_flags_reads_the_first_processor(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx "
                    "avx2 fma avx512f\n\nprocessor\t: 1\nvendor_id\t: other\n")
    assert cpu_kernels.cpu_flags(info) == {"vendor": "AuthenticAMD", "model": "AMD EPYC",
                                           "instruction_sets": ["sse4_2", "avx", "avx2", "fma", "avx512f"]}
    assert cpu_kernels.cpu_flags(tmp_path / "absent") == {}


def test_is_pinned():
    state = {"cpu_capability": "AVX2", "mkldnn": False, "threads": 1, "MKL_CBWR": "COMPATIBLE"}
    assert cpu_kernels.is_pinned(state)
    assert not cpu_kernels.is_pinned({**state, "cpu_capability": "AVX512"})
    assert not cpu_kernels.is_pinned({**state, "mkldnn": True})
