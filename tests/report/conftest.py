"""Hand-made run folders for the report tests: metrics.json and log.jsonl as ctm evaluate / ctm train write them
(with Wilson intervals from ctm.engine.metrics), and each group's metrics.json written by the real `ctm aggregate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ctm.config import Config, load_config
from ctm.engine.aggregate import aggregate
from ctm.engine.metrics import top1_summary

NUM_VIDEOS = 200


def write_experiment(runs: Path, cfg: Config, name: str, correct: int, total: int = NUM_VIDEOS,
                     epochs: int = 3) -> dict:
    """runs/<name>/{metrics.json, log.jsonl}: `correct` of `total` test videos right."""
    run = runs / name
    run.mkdir(parents=True, exist_ok=True)
    metrics = {
        "experiment": name, "preset": cfg.preset_name, **top1_summary(correct, total), "top5": 100.0,
        "top1_bootstrap_ci": [0.0, 100.0], "per_class_top1": {}, "num_val_missing": 2, "num_val_skipped": 0,
        "skipped": [], "num_train_videos": 3 * total, "num_train_missing": 5, "views_per_video": 3,
        "averaging": "softmax_mean", "reduction": 4,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    with open(run / "log.jsonl", "w") as f:
        for epoch in range(1, epochs + 1):
            f.write(json.dumps({"epoch": epoch, "loss": 2.0 / epoch, "top1": 30.0 + 10 * epoch, "lr": 0.1,
                                "clips_per_s": 10.0 * epoch, "data_time_s": 0.1, "epoch_time_s": 1.0,
                                "peak_gpu_mem_mb": 0.0}) + "\n")
    return metrics


def write_runs(runs: Path, cfg: Config, correct: dict[str, int]) -> None:
    """Every experiment of `cfg` (those absent from `correct` get half right), then every group aggregated."""
    for name in cfg.experiments:
        write_experiment(runs, cfg, name, correct.get(name, NUM_VIDEOS // 2))
    for group, members in cfg.groups.items():
        aggregate([runs / m / "metrics.json" for m in members], runs / group / "metrics.json")


# Hand-made accuracies (correct of NUM_VIDEOS): CTM variants clearly above the baseline, Res5 below Res2-4,
# the 3-split groups with distinct values per split.
CORRECT = {
    "mk200_r50_tsn": 100, "mk200_r50_tccm_res4x1": 140, "mk200_r50_path2_res4x1": 145, "mk200_r50_ctm_res4x1": 150,
    "mk200_r50_ctm_res2x1": 150, "mk200_r50_ctm_res3x1": 148, "mk200_r50_ctm_res5x1": 110,
    "mk200_r50_ctm_res4x3": 152, "mk200_r50_ctm_res4x6": 151, "k600_r101_tsn": 90, "k600_r101_ctm_res4x3": 130,
    "ucf101_s1_r101_tsn": 150, "ucf101_s2_r101_tsn": 154, "ucf101_s3_r101_tsn": 146,
    "ucf101_s1_r101_ctm_res4x3": 180, "ucf101_s2_r101_ctm_res4x3": 184, "ucf101_s3_r101_ctm_res4x3": 182,
    "hmdb51_s1_r101_tsn": 100, "hmdb51_s2_r101_tsn": 104, "hmdb51_s3_r101_tsn": 96,
    "hmdb51_s1_r101_ctm_res4x3": 130, "hmdb51_s2_r101_ctm_res4x3": 126, "hmdb51_s3_r101_ctm_res4x3": 128,
}


@pytest.fixture(scope="session")
def tiny_cfg(tiny_params, tmp_path_factory) -> tuple[Config, Path]:
    """(config, params.yaml path) of the repository's params shrunk (tests/conftest.py)."""
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_params))
    return load_config(path), path


@pytest.fixture(scope="session")
def runs(tiny_cfg, tmp_path_factory) -> Path:
    """A runs folder with every experiment and group of the tiny config (CORRECT)."""
    cfg, _ = tiny_cfg
    runs = tmp_path_factory.mktemp("runs")
    write_runs(runs, cfg, CORRECT)
    return runs


@pytest.fixture(scope="session")
def cost(tiny_cfg):
    """The networks' params and GFLOPs as `ctm report --table` passes them to ctm.report (ctm.commands.report)."""
    from ctm.commands.report import model_costs

    return model_costs(tiny_cfg[0])


@pytest.fixture(scope="session")
def written(tiny_cfg, runs, cost, tmp_path_factory):
    """Every table written once by write_table: ({table: frame}, the folder of <table>.csv/.md)."""
    from ctm.report.tables import write_table

    cfg, _ = tiny_cfg
    out = tmp_path_factory.mktemp("tables")
    return {t: write_table(cfg, t, runs, out, cost) for t in cfg.tables}, out
