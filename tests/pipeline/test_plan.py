"""ctm.pipeline.plan: the cost of a preset's run, and the Snakemake requests made from it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctm.config import load_config
from ctm.pipeline import plan_figures as fig
from ctm.pipeline.plan import decode_request_minutes, jobs, plan, split_videos, store_frames, ucf101_test_groups
from ctm.standins import ucf101 as ucf101_standin
from ctm.standins.hmdb51 import split_tags

REPO = Path(__file__).resolve().parents[2]
PARAMS = REPO / "params.yaml"


@pytest.fixture(scope="module")
def paper():
    return load_config(PARAMS, "paper")


def requested_gpu_hours(job_list) -> float:
    return sum(j.request_minutes * j.devices / 60 for j in job_list if j.gpu)


def test_paper_plan_is_what_the_measured_throughput_implies(paper):
    """~70-90 H100-hours, almost all of it training; not the thousands that 72-hour requests added up to."""
    result = plan(paper)
    rows = {r["stage"]: r for r in result["rows"]}
    assert 60 < result["total"]["gpu_h"] < 100
    assert rows["train kinetics_600"]["gpu_h"] > rows["train mini_kinetics_200"]["gpu_h"] > 10
    assert sum(r["gpu_h"] for s, r in rows.items() if s.startswith("evaluate")) < 2
    assert result["total"]["runs"] == 2 * 23  # 23 trainings and their tests, one seed


def test_paper_requests_add_up_to_the_plan_within_its_margin(paper):
    result, job_list = plan(paper), jobs(paper)
    requested = requested_gpu_hours(job_list)
    assert requested == pytest.approx(result["requested_gpu_h"])
    planned = result["total"]["gpu_h"] * fig.REQUEST_MARGIN
    rounding = sum(j.devices for j in job_list) / 60  # each request is rounded up to a whole minute
    assert planned <= requested <= planned + rounding


def test_paper_training_job_is_its_clips_over_the_measured_rate(paper):
    """Mini-Kinetics TSN: 74 000 videos in batches of 96 for 60 epochs at 675 clips/s on each of 4 GPUs."""
    job = next(j for j in jobs(paper) if j.run == "mk200_r50_tsn/seed0" and j.step == "train")
    assert job.devices == 4 and job.clips == 60 * (74_000 // 96) * 96
    assert job.wall_s == pytest.approx(job.clips / (675 * 4) + fig.STARTUP_S["train"])
    ctm6 = next(j for j in jobs(paper) if j.run == "mk200_r50_ctm_res4x6/seed0" and j.step == "train")
    assert ctm6.rate < 576 < job.rate  # six blocks cost more than the three measured


def test_paper_disk_and_download(paper):
    rows = {r["stage"]: r for r in plan(paper)["rows"]}
    assert rows["download mini_kinetics_200"]["download_gb"] == 440.0  # all of K400's shards
    assert rows["extract clips mini_kinetics_200"]["disk_gb"] == pytest.approx(440 * 85 / 300)
    assert rows["download kinetics_600"]["download_gb"] == 730.0
    assert rows["decode mini_kinetics_200"]["disk_gb"] == pytest.approx(600, rel=0.02)  # docs/decoded_store.md
    assert rows["decode ucf101"]["disk_gb"] == pytest.approx(62, rel=0.03)
    assert rows["decode hmdb51"]["disk_gb"] == pytest.approx(16, rel=0.06)


def test_decode_request_is_the_plans_cpu_hours_over_the_workers(paper):
    """common.smk's decode_runtime: the decode row's CPU-hours over the job's workers, x the margin (+1 min)."""
    cpu_h = next(r["cpu_h"] for r in plan(paper)["rows"] if r["stage"] == "decode kinetics_600")
    minutes = decode_request_minutes(paper, "kinetics_600", 16)
    assert minutes - 1 == pytest.approx(cpu_h * 60 / 16 * fig.REQUEST_MARGIN, abs=1)
    assert decode_request_minutes(paper, "kinetics_600", 4) > 3 * minutes


def test_embedded_plan_is_small():
    result = plan(load_config(PARAMS, "embedded"))
    total = result["total"]
    assert total["gpu_h"] == 0 and result["requested_gpu_h"] == 0 and total["download_gb"] == 0
    assert total["disk_gb"] < 1 and total["cpu_h"] < 5


def test_embedded_plan_matches_its_measured_runs():
    """The embedded preset's CPU figures come from its own runs (reports/provenance.json): the planned training time
    is within a fifth of the measured one, and its test views over the tests' CPU time give CPU_EVAL (their wall
    time also counts the wait for a CPU slot)."""
    cfg = load_config(PARAMS, "embedded")
    provenance = json.loads((REPO / fig.PROVENANCE).read_text())
    measured_train = sum(t["train_s"] for t in provenance["training"]) / 3600
    planned_train = sum(j.device_hours for j in jobs(cfg) if j.step == "train")
    assert planned_train == pytest.approx(measured_train, rel=0.2)
    views = sum(j.clips for j in jobs(cfg) if j.step == "evaluate")
    cpu = sum(j["cpu_s"] for j in provenance["jobs"] if j["rule"] == "evaluate")
    assert views / cpu == pytest.approx(fig.CPU_EVAL, rel=0.01)


def test_rehearsal_plan_is_capped():
    result = plan(load_config(PARAMS, "rehearsal"))
    assert 0 < result["total"]["gpu_h"] < 2  # 2 epochs of at most 2 steps, 12 test videos: start-up dominates


@pytest.mark.parametrize("groups", range(4, 30))
def test_synthetic_ucf101_split_matches_the_writer(groups):
    assert ucf101_test_groups(groups) == len(ucf101_standin.tested_groups(groups, 1))


def test_synthetic_split_sizes_match_the_writers():
    cfg = load_config(PARAMS, "embedded")
    s = cfg.dataset("hmdb51").synthetic
    tags = split_tags(np.random.default_rng(0), s.clips_per_class)
    classes = cfg.num_classes("hmdb51")
    assert split_videos(cfg, "hmdb51") == (int((tags == 1).sum()) * classes, int((tags == 2).sum()) * classes)
    videos, frames, _ = store_frames(cfg, "hmdb51")
    assert videos == s.clips_per_class * classes and frames == videos * s.num_frames


def test_dry_run_requests_are_the_plans(tmp_path):
    """`snakemake -n` of the paper preset: every train and evaluate job asks for the plan's runtime and GPUs."""
    for name in ("Snakefile", "workflow", "ctm", "params.yaml"):  # a copy: the dry run writes .snakemake/
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, tmp_path / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = ["snakemake", "-n", "--config", "preset=paper", "--cores", "64", "all_tables"]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    asked = {}
    for block in out.split("\nrule ")[1:]:
        step = block.split(":", 1)[0]
        wildcards = re.search(r"wildcards: experiment=(\S+), seed=(\d+)", block)
        if step in ("train", "evaluate") and wildcards:
            res = dict(kv.split("=", 1) for kv in re.search(r"resources: (.*)", block).group(1).split(", "))
            asked[(step, f"{wildcards[1]}/seed{wildcards[2]}")] = (int(res["runtime"]), int(res["gpu"]))
    expected = {(j.step, j.run): (j.request_minutes, j.devices) for j in jobs(load_config(PARAMS, "paper"))}
    assert asked == expected
