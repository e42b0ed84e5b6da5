"""`ctm predict` on one video file gives the class and score that `ctm evaluate` gives the same video."""

import copy
import json

import pandas as pd
import pytest
import torch
import yaml

from ctm.cli import main
from ctm.config import load_config
from ctm.engine.evaluate import evaluate
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

EXPERIMENT = "mk200_r50_tsn"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_params):
    base = tmp_path_factory.mktemp("predict")
    params = copy.deepcopy(tiny_params)
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    cfg = load_config(base / "params.yaml")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train(resolve_run(cfg, EXPERIMENT, folder=base / "run"), base / "data", progress=False)
    evaluate(*resolve_tested_run(cfg, EXPERIMENT, base / "run" / "checkpoint.pt"), base / "data", progress=False)
    torch.set_num_threads(threads)
    return base


def ctm_predict(base, video, capsys, *extra) -> tuple[int, str, str]:
    code = main(["predict", str(video), "--checkpoint", str(base / "run" / "checkpoint.pt"),
                 "--params", str(base / "params.yaml"), "--threads", "1", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def result_views(base) -> int:
    metrics = json.loads((base / "run" / "metrics.json").read_text())
    return metrics["views_per_video"]


def test_predict_gives_the_evaluated_class_and_score_first(run, capsys):
    predictions = pd.read_csv(run / "run" / "predictions.csv")
    classes = torch.load(run / "run" / "checkpoint.pt", map_location="cpu", weights_only=False)["classes"]
    row = predictions.iloc[1]
    code, out, _ = ctm_predict(run, run / "data" / row["video"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["experiment"] == EXPERIMENT and len(result["top"]) == min(5, len(classes))
    assert result["views"] == result_views(run)
    scores = [t["score"] for t in result["top"]]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-5
    assert result["top"][0]["class"] == classes[int(row["pred"])]
    assert result["top"][0]["score"] == pytest.approx(row["score"], abs=1e-5)


def test_predict_names_a_missing_or_broken_video(run, capsys, tmp_path):
    code, _, err = ctm_predict(run, tmp_path / "nope.mp4", capsys)
    assert code == 2 and "nope.mp4: no such video file" in err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    code, _, err = ctm_predict(run, broken, capsys)
    assert code == 2 and "broken.mp4" in err and "Traceback" not in err
