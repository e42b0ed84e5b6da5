"""Hostile or unlucky run folders and params (issue 19): crafted pickles in checkpoint.pt, resume.pt and the parent
checkpoint, cut or foreign files, a finished run started again, a stale resume.pt, out-of-range params and
metrics.json files of the wrong shape."""

import copy
import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml

from ctm.cli import main
from ctm.config import ConfigError, load_config
from ctm.engine.aggregate import AggregateError, aggregate
from ctm.engine.checkpoints import CheckpointError
from ctm.engine.evaluate import evaluate
from ctm.engine.finetune import init_from_checkpoint
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train
from ctm.models import CTMNet
from ctm.report.cells import ReportError, read_metrics
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

EXPERIMENT = "mk200_r50_tsn"


class Payload:
    """Unpickling this writes a file: what a crafted checkpoint could do with weights_only=False."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "pwned")


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_params):
    base = tmp_path_factory.mktemp("hostile_runs")
    params = copy.deepcopy(tiny_params)
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    cfg = load_config(base / "params.yaml")
    train(resolve_run(cfg, EXPERIMENT, folder=base / "done"), base / "data", progress=False)
    return base, cfg


def crafted(path: Path, marker: Path) -> Path:
    torch.save({"model": {}, "params": {}, "payload": Payload(marker)}, path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- 2. files from elsewhere are never unpickled ----------------------------------------------------------------

def test_crafted_resume_state_is_not_run(run, tmp_path):
    base, cfg = run
    marker = tmp_path / "marker"
    (tmp_path / "out").mkdir()
    crafted(tmp_path / "out" / "resume.pt", marker)
    with pytest.raises(CheckpointError, match=r"resume.pt: not a readable resume state"):
        train(resolve_run(cfg, EXPERIMENT, folder=tmp_path / "out"), base / "data", progress=False)
    assert not marker.exists()


def test_crafted_checkpoint_is_not_run_by_evaluate(run, tmp_path):
    base, cfg = run
    marker = tmp_path / "marker"
    crafted(tmp_path / "checkpoint.pt", marker)
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: not a readable checkpoint"):
        evaluate(*resolve_tested_run(cfg, EXPERIMENT, tmp_path / "checkpoint.pt"), base / "data", progress=False)
    assert not marker.exists()


def test_crafted_parent_checkpoint_is_not_run_by_finetuning(tmp_path):
    marker = tmp_path / "marker"
    model = CTMNet(50, num_classes=3, num_segments=4, input_size=32, width=0.0625)
    with pytest.raises(CheckpointError, match=r"parent.pt: not a readable parent checkpoint"):
        init_from_checkpoint(model, crafted(tmp_path / "parent.pt", marker))
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["cut", "json", "list", "keys"])
def test_cut_or_foreign_checkpoint_is_a_sentence_naming_it(run, tmp_path, damage, capsys):
    base, cfg = run
    good = (base / "done" / "checkpoint.pt").read_bytes()
    path = tmp_path / "checkpoint.pt"
    if damage == "cut":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "json":
        path.write_text('{"model": {}}')
    elif damage == "list":
        torch.save([1, 2, 3], path)
    else:
        torch.save({"model": {}}, path)
    with pytest.raises(CheckpointError, match=rf"{path}: not a"):
        evaluate(*resolve_tested_run(cfg, EXPERIMENT, tmp_path / "checkpoint.pt"), base / "data", progress=False)
    code = main(["evaluate", "--experiment", EXPERIMENT, "--params", str(base / "params.yaml"), "--root",
                 str(base / "data"), "--run-dir", str(tmp_path), "--no-progress"])
    assert code == 2 and f"{path}: not a" in capsys.readouterr().err


# --- 5. records are not lost --------------------------------------------------------------------------------------

def test_a_finished_run_started_again_is_a_no_op(run, capsys):
    base, cfg = run
    done = base / "done"
    before = {p.name: digest(p) for p in (done / "checkpoint.pt", done / "log.jsonl")}
    summary = train(resolve_run(cfg, EXPERIMENT, folder=done), base / "data", progress=False)
    assert summary["experiment"] == EXPERIMENT and "nothing to do" in capsys.readouterr().err
    assert {p.name: digest(p) for p in (done / "checkpoint.pt", done / "log.jsonl")} == before


def test_force_trains_again_and_keeps_the_old_run_aside(run, tmp_path):
    base, cfg = run
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.pt", "log.jsonl"):
        (out / name).write_bytes((base / "done" / name).read_bytes())
    train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False, force=True)
    assert (out / "checkpoint.pt.stale-1").read_bytes() == (base / "done" / "checkpoint.pt").read_bytes()
    assert (out / "log.jsonl.stale-1").exists() and (out / "checkpoint.pt").exists()


def test_resume_state_of_other_params_is_kept_aside_and_said(run, tmp_path, capsys):
    base, cfg = run
    out = tmp_path / "run"
    out.mkdir()
    state = {"params": {"other": 1}, "model": {}, "optimizer": {}, "scheduler": {}, "epoch": 1, "batch": 0,
             "stats": [{}]}
    torch.save(state, out / "resume.pt")
    train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)
    assert (out / "resume.pt.stale-1").exists() and not (out / "resume.pt").exists()
    assert "resume.pt was written with other params" in capsys.readouterr().err


@pytest.mark.parametrize("where, key, value, message", [
    ("recipes", "epochs", 0, "epochs: 0 is less than the minimum of 1"),
    ("recipes", "lr", float("nan"), "lr: expected a finite number, got nan"),
    ("recipes", "lr", 0, "lr: 0 is less than or equal to the minimum of 0"),
    ("recipes", "batch_size", 0, "batch_size: 0 is less than the minimum of 1"),
    ("model", "width", 0, "width: 0 is less than or equal to the minimum of 0"),
])
def test_out_of_range_params_are_refused_when_they_load(tmp_path, tiny_params, where, key, value, message):
    params = copy.deepcopy(tiny_params)
    preset = params["presets"]["embedded"]
    (preset["recipes"]["mini_kinetics_200"] if where == "recipes" else preset["model"])[key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "params.yaml")


# --- 6. metrics.json of the wrong shape -------------------------------------------------------------------------

@pytest.mark.parametrize("content", ["[1, 2]", '{"top1": 50}', "not json"])
def test_metrics_of_the_wrong_shape_are_sentences(run, tmp_path, content):
    base, cfg = run
    bad = tmp_path / "bad" / "metrics.json"
    bad.parent.mkdir()
    bad.write_text(content)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"experiment": "a", "preset": "embedded", "top1": 50.0, "top5": 90.0}))
    with pytest.raises(AggregateError, match=rf"{bad}: (holds a JSON list|lacks|not valid JSON)"):
        aggregate([good, bad], tmp_path / "out.json")
    with pytest.raises(ReportError, match=rf"{bad}: (holds a JSON list|lacks|not valid JSON)"):
        read_metrics(bad, cfg)
