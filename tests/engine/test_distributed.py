"""Data parallelism: 2 gloo processes under torchrun take the same steps as 1 process accumulating 2 micro-batches."""

import copy
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import yaml

from ctm.engine.distributed import accumulation_steps, micro_batch_seed, micro_batches
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

EXPERIMENT = "mk200_r50_ctm_res4x1"


def test_accumulation_keeps_the_global_batch():
    assert accumulation_steps(96, 4, None) == (24, 1)
    assert accumulation_steps(96, 1, 24) == (24, 4)
    assert accumulation_steps(96, 2, 24) == (24, 2)
    assert accumulation_steps(128, 8, None) == (16, 1)
    with pytest.raises(ValueError, match="does not split"):
        accumulation_steps(96, 5, None)
    with pytest.raises(ValueError, match="does not split"):
        accumulation_steps(96, 4, 16)


def test_micro_batches_group_the_same_clips_whatever_the_layout():
    batch = list(range(100, 112))  # 12 clips, micro-batches of 3
    one_process = micro_batches(batch, world_size=1, rank=0, accumulation=4)
    two_processes = [micro_batches(batch, 2, r, 2) for r in (0, 1)]
    four_processes = [micro_batches(batch, 4, r, 1)[0] for r in range(4)]
    assert one_process == [[100, 101, 102], [103, 104, 105], [106, 107, 108], [109, 110, 111]]
    # micro-batch a of rank r is position a * W + r: the same position holds the same clips
    assert [two_processes[r][a] for a in (0, 1) for r in (0, 1)] == one_process
    assert four_processes == one_process
    assert micro_batch_seed(0, 1, 2, 3) != micro_batch_seed(0, 1, 3, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_params):
    """The same experiment trained by 1 process (per-device batch 2, accumulation 2) and by torchrun with 2 gloo
    processes (per-device batch 2, no accumulation): global batch 4 in both."""
    base = tmp_path_factory.mktemp("ddp")
    params = copy.deepcopy(tiny_params)
    params["presets"]["embedded"]["recipes"]["mini_kinetics_200"].update(
        epochs=2, batch_size=4, per_device_batch=2, lr_milestones=[1])
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    common = ["-m", "ctm.cli", "train", "--experiment", EXPERIMENT, "--params", str(base / "params.yaml"),
              "--root", str(base / "data"), "--threads", "1", "--no-progress"]
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    assert os.path.exists(torchrun), "torch installs torchrun beside python"
    # CPU and gloo on any machine: the claim is about the arithmetic of the layouts, not about a device
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    for cmd in ([sys.executable, *common, "--out", str(base / "one")],
                [torchrun, "--nproc_per_node=2", f"--master_port={free_port()}", "--master_addr=127.0.0.1",
                 *common, "--out", str(base / "two")]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    return base


def test_two_gloo_processes_match_one_process_with_accumulation(runs):
    one = torch.load(runs / "one" / "checkpoint.pt", weights_only=False)["model"]
    two = torch.load(runs / "two" / "checkpoint.pt", weights_only=False)["model"]
    assert one.keys() == two.keys()
    start = None
    for key in one:
        if "running_" in key or "num_batches_tracked" in key:
            continue  # BN statistics are per process under DDP (rank 0's are saved): not part of the claim
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5, msg=key)
        start = key
    assert start is not None


def test_logs_record_the_layout_and_agree(runs):
    one = [json.loads(x) for x in (runs / "one" / "log.jsonl").read_text().splitlines()]
    two = [json.loads(x) for x in (runs / "two" / "log.jsonl").read_text().splitlines()]
    assert [(r["processes"], r["per_device_batch"], r["accumulation"]) for r in one] == [(1, 2, 2)] * 2
    assert [(r["processes"], r["per_device_batch"], r["accumulation"]) for r in two] == [(2, 2, 1)] * 2
    for a, b in zip(one, two, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
        assert b["top1"] == pytest.approx(a["top1"])
