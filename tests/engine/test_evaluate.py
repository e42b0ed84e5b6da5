"""Evaluation end to end on a tiny trained model: metrics fields, confusion matrix, undecodable videos skipped; the
same metrics from the checkpoint alone (`ctm evaluate --checkpoint`) in another folder."""

import copy
import json
import shutil

import pandas as pd
import pytest
import torch
import yaml

from ctm.cli import main
from ctm.config import load_config
from ctm.data.annotations import read_annotations
from ctm.engine.evaluate import evaluate
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

EXPERIMENT = "mk200_r50_tsn"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_params):
    base = tmp_path_factory.mktemp("eval")
    params = copy.deepcopy(tiny_params)
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    cfg = load_config(base / "params.yaml")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train(resolve_run(cfg, EXPERIMENT, folder=base / "run"), base / "data", progress=False)
    ann = read_annotations("mini_kinetics_200", base / "data")
    val = [v for v in ann[ann["subset"] == "val"]["video"] if (base / "data" / v).exists()]
    (base / "data" / val[0]).write_bytes((base / "data" / val[0]).read_bytes()[:300])  # truncated file
    metrics = evaluate(*resolve_tested_run(cfg, EXPERIMENT, base / "run" / "checkpoint.pt"), base / "data",
                       progress=False)
    torch.set_num_threads(threads)
    return base, metrics, val


def test_undecodable_video_is_skipped_and_counted(evaluated):
    base, metrics, val = evaluated
    assert metrics["num_val_skipped"] == 1 and metrics["skipped"][0]["video"] == val[0]
    assert val[0] in metrics["skipped"][0]["reason"]
    assert metrics["num_videos"] == len(val) - 1
    assert json.loads((base / "run" / "metrics.json").read_text()) == metrics


def test_metrics_agree_with_predictions_and_confusion(evaluated):
    base, metrics, _ = evaluated
    pred = pd.read_csv(base / "run" / "predictions.csv")
    confusion = pd.read_csv(base / "run" / "confusion.csv", index_col=0)
    assert int(confusion.values.sum()) == len(pred) == metrics["num_videos"]
    assert int(confusion.values.trace()) == int(pred["correct"].sum()) == metrics["correct"]
    assert metrics["top1"] <= metrics["top5"] <= 100.0
    low, high = metrics["top1_bootstrap_ci"]
    assert low <= metrics["top1"] <= high
    assert set(metrics["per_class_top1"]) == set(confusion.index)


def test_a_checkpoint_evaluates_from_any_folder_without_params_yaml(evaluated, tmp_path, monkeypatch, capsys):
    base, metrics, _ = evaluated
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(base / "run" / "checkpoint.pt", bundle / "checkpoint.pt")
    monkeypatch.chdir(tmp_path)  # no params.yaml here
    ctm = ["evaluate", "--checkpoint", str(bundle / "checkpoint.pt"), "--root", str(base / "data"), "--threads", "1",
           "--no-progress"]
    assert main(ctm) == 0
    assert json.loads(capsys.readouterr().out) == metrics == json.loads((bundle / "metrics.json").read_text())
    for name in ("predictions.csv", "confusion.csv"):
        assert (bundle / name).read_bytes() == (base / "run" / name).read_bytes()
    assert main([*ctm, "--run-dir", str(tmp_path / "out"), "--experiment", EXPERIMENT, "--seed", "0"]) == 0
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == metrics
    capsys.readouterr()
    assert main([*ctm, "--experiment", "mk200_r50_ctm_res4x1"]) == 2
    assert f"--experiment mk200_r50_ctm_res4x1: {bundle / 'checkpoint.pt'} was trained as {EXPERIMENT!r}" in (
        capsys.readouterr().err)
    assert main(["evaluate", "--root", str(base / "data")]) == 2
    assert "say what to test: --experiment NAME (a run of params.yaml) or --checkpoint PATH" in capsys.readouterr().err
