"""The rehearsal preset's DAG, run by Snakemake on CPU at tiny size: every rule runs, stand-in weights are published,
fetched, verified and loaded, and the caps of `limits` hold (docs/rehearsal.md). The same DAG at full size is what
benchmarks/gpu_host/rehearsal_run.sh runs on a GPU host (docs/rehearsal_run.md)."""

import copy
import json
import re

import pandas as pd
import pytest
from workflow_project import make_project, run

from ctm.standins.imagenet_weights import standin_bytes, standin_name

WIDTH = 0.0625


def tiny_rehearsal(tiny_params: dict) -> dict:
    """params.yaml with preset=rehearsal shrunk to seconds per job: the embedded tiny data and network, the paper
    recipes' structure (global batch split into micro-batches) at batch 4, and stand-in weights at that width."""
    params = copy.deepcopy(tiny_params)
    params["preset"] = "rehearsal"
    tiny, rehearsal = params["presets"]["embedded"], params["presets"]["rehearsal"]
    for name, spec in rehearsal["datasets"].items():
        spec["synthetic"] = copy.deepcopy(tiny["datasets"][name]["synthetic"])
    names = {b: standin_name(b, standin_bytes(b, WIDTH)) for b in ("resnet50", "resnet101")}
    rehearsal["model"] = {"width": WIDTH, "pretrained": {b: f"file://{{remote}}/{n}" for b, n in names.items()}}
    rehearsal["input"] = copy.deepcopy(tiny["input"])
    rehearsal["test"] = {"num_clips": 2, "num_crops": 3, "batch_views": 4}  # 6 views: chunks of 4 and 2
    rehearsal["recipes"] = {r: {"gpus": 1, "batch_size": 4, "per_device_batch": 2, "num_workers": 0}
                            for r in rehearsal["recipes"]}
    rehearsal["limits"] = {"epochs": 2, "steps_per_epoch": 1, "test_videos": 3}
    rehearsal["min_coverage"] = tiny["min_coverage"]  # the tiny stand-ins miss 1 of their few videos
    return params


@pytest.fixture(scope="module")
def rehearsal_project(tmp_path_factory, tiny_params):
    params = tiny_rehearsal(tiny_params)
    root = make_project(tmp_path_factory.mktemp("rehearsal") / "project", params)
    run(["snakemake", "--cores", "2", "all_tables"], root)
    return root, params


def test_every_rule_of_the_paper_dag_runs(rehearsal_project):
    root, params = rehearsal_project
    logs = root / "logs" / "rehearsal"
    for rule in ("publish_synthetic", "publish_weights", "download", "fetch_weights", "extract", "shard_list",
                 "fetch_shard", "clips_manifest", "decode", "train", "evaluate", "aggregate", "report"):
        assert (logs / rule).is_dir(), rule
    experiments = list(params["experiments"]) + list(params["finetuned"])
    # one run per experiment: the rehearsal has the default single seed (logs/<preset>/train/<experiment>/seed0.log)
    assert sorted(p.parent.name for p in (logs / "train").glob("*/seed0.log")) == sorted(experiments)
    assert sorted(p.parent.name for p in (logs / "evaluate").glob("*/seed0.log")) == sorted(experiments)
    for table in params["tables"]:
        frame = pd.read_csv(root / "reports" / f"{table}.csv")
        assert (frame[frame["kind"] == "reproduced"]["preset"] == "rehearsal").all()


def test_standin_weights_are_fetched_verified_and_loaded(rehearsal_project):
    root, params = rehearsal_project
    for url in params["presets"]["rehearsal"]["model"]["pretrained"].values():
        name = url.rsplit("/", 1)[-1]
        fetched = root / "resources" / "rehearsal" / "weights" / name
        record = json.loads(fetched.with_name(name + ".verified").read_text())
        assert record["sha256"].startswith(re.search(r"-([0-9a-f]{8})\.pth$", name).group(1))
        assert fetched.read_bytes() == (root / "resources" / "rehearsal" / "remote" / "imagenet" / name).read_bytes()


def test_limits_cap_epochs_steps_and_test_videos(rehearsal_project):
    root, params = rehearsal_project
    runs = root / "results" / "rehearsal" / "runs"
    run = runs / "mk200_r50_ctm_res4x1" / "seed0"
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    # 60 epochs with milestones [30, 50] compressed into 2: the lr decays once, after the first epoch
    assert [r["epoch"] for r in log] == [1, 2] and log[1]["lr"] == pytest.approx(0.1 * log[0]["lr"])
    assert all(r["accumulation"] == 2 and r["per_device_batch"] == 2 for r in log)
    assert all(r["clips_per_s"] > 0 for r in log)
    metrics = json.loads((runs / "ucf101_s2_r101_ctm_res4x3" / "seed0" / "metrics.json").read_text())
    assert metrics["num_videos"] + metrics["num_val_skipped"] == 3 and metrics["num_val_capped"] > 0
