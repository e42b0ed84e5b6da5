"""Hand-made run folders for the report tests, in the pipeline's layout: every run (experiment, seed) has
runs/<experiment>/seed<k>/{metrics.json, log.jsonl, predictions.csv} as ctm evaluate / ctm train write them (Wilson
intervals from ctm.engine.metrics), and every cell (an experiment, or a 3-split group) its runs/<cell>/metrics.json
written by the real `ctm aggregate` (ctm.engine.aggregate.aggregate_cell).

The seeds' runs of an experiment get different accuracies whose mean is the experiment's CORRECT: seed i of n gets
CORRECT + step * (2 ((i - 1) mod n) - (n - 1)) right (step SPREAD, default 1: +2, -2, 0 videos with 3 seeds: the first
seed is neither the mean nor the minimum), the order reversed on split 2, so a group's splits do not move together
over seeds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ctm import paths
from ctm.config import Config, load_config
from ctm.engine.aggregate import aggregate_cell
from ctm.engine.metrics import top1_summary

NUM_VIDEOS = 200
NUM_CLASSES = 10
SEED_ROTATION = 37  # seed k's run gets videos (j - 37 k) mod N < correct right: the seeds differ on which videos
# Videos between consecutive seeds' correct counts (step); Res5's seeds spread widely, so that its cell's t interval
# over seeds is wider than Wilson's.
SPREAD = {"mk200_r50_ctm_res5x1": 5}


def video_ids(dataset: str, split: int, total: int = NUM_VIDEOS) -> list[str]:
    """The test videos of a dataset's split: the same for every experiment and seed tested on it."""
    return [f"{dataset}_s{split}_{j:04d}" for j in range(total)]


def seed_correct(cfg: Config, experiment: str, correct: int) -> list[int]:
    """Correct videos of each of cfg.seeds' runs of `experiment`; their mean is `correct` (module docstring)."""
    n, step = len(cfg.seeds), SPREAD.get(experiment, 1)
    offsets = [step * (2 * ((i - 1) % n) - (n - 1)) for i in range(n)]
    if cfg.experiment(experiment).split == 2:
        offsets.reverse()
    return [correct + o for o in offsets]


def write_run(runs: Path, cfg: Config, experiment: str, seed: int, correct: int, total: int = NUM_VIDEOS,
              epochs: int = 3) -> dict:
    """runs/<experiment>/seed<seed>/{metrics.json, log.jsonl, predictions.csv}: `correct` of `total` videos right."""
    run = runs / paths.run_name(experiment, seed)
    run.mkdir(parents=True, exist_ok=True)
    exp = cfg.experiment(experiment)
    rows = []
    for j, video in enumerate(video_ids(exp.dataset, exp.split, total)):
        label = j % NUM_CLASSES
        right = (j - SEED_ROTATION * seed) % total < correct
        rows.append({"video": video, "label": label, "pred": label if right else (label + 1) % NUM_CLASSES,
                     "correct": int(right), "score": 0.9 if right else 0.6})
    pd.DataFrame(rows).to_csv(run / paths.PREDICTIONS, index=False, float_format="%.6f")
    metrics = {
        "experiment": experiment, "seed": seed, "preset": cfg.preset_name, **top1_summary(correct, total),
        "top5": 100.0, "top1_bootstrap_ci": [0.0, 100.0], "per_class_top1": {}, "num_val_missing": 2,
        "num_val_skipped": 0, "skipped": [], "num_train_videos": 3 * total, "num_train_missing": 5,
        "views_per_video": 3, "averaging": "softmax_mean", "reduction": 4,
    }
    (run / paths.METRICS).write_text(json.dumps(metrics))
    with open(run / paths.TRAIN_LOG, "w") as f:
        for epoch in range(1, epochs + 1):  # clips/s 10, 20, 30 (+ the seed): a mean of 20 + seed per run
            f.write(json.dumps({"epoch": epoch, "loss": 2.0 / epoch + 0.1 * seed, "top1": 30.0 + 10 * epoch + seed,
                                "lr": 0.1, "clips_per_s": 10.0 * epoch + seed, "data_time_s": 0.1,
                                "epoch_time_s": 1.0, "peak_gpu_mem_mb": 0.0, "processes": 1,
                                "per_device_batch": 4, "accumulation": 1, "cpu_kernels": "pinned"}) + "\n")
    return metrics


def write_experiment(runs: Path, cfg: Config, name: str, correct: int, total: int = NUM_VIDEOS,
                     epochs: int = 3) -> list[dict]:
    """Every seed's run of experiment `name` (seed_correct: a mean of `correct` of `total` right); not its cell."""
    return [write_run(runs, cfg, name, seed, c, total, epochs)
            for seed, c in zip(cfg.seeds, seed_correct(cfg, name, correct), strict=True)]


def write_runs(runs: Path, cfg: Config, correct: dict[str, int]) -> None:
    """Every run of every experiment of `cfg` (those absent from `correct` get half right), then every cell
    (experiment and group) aggregated by ctm aggregate."""
    for name in cfg.experiments:
        write_experiment(runs, cfg, name, correct.get(name, NUM_VIDEOS // 2))
    for cell in [*cfg.experiments, *cfg.groups]:
        aggregate_cell(cfg, cell, runs)


# Hand-made accuracies (mean correct of NUM_VIDEOS over the seeds): CTM variants clearly above the baseline, Res5
# below Res2-4, the 3-split groups with distinct values per split.
CORRECT = {
    "mk200_r50_tsn": 100, "mk200_r50_tccm_res4x1": 140, "mk200_r50_path2_res4x1": 145, "mk200_r50_ctm_res4x1": 150,
    "mk200_r50_ctm_res2x1": 150, "mk200_r50_ctm_res3x1": 148, "mk200_r50_ctm_res5x1": 110,
    "mk200_r50_ctm_res4x3": 152, "mk200_r50_ctm_res4x6": 151, "k600_r101_tsn": 90, "k600_r101_ctm_res4x3": 130,
    "ucf101_s1_r101_tsn": 150, "ucf101_s2_r101_tsn": 154, "ucf101_s3_r101_tsn": 146,
    "ucf101_s1_r101_ctm_res4x3": 180, "ucf101_s2_r101_ctm_res4x3": 184, "ucf101_s3_r101_ctm_res4x3": 182,
    "hmdb51_s1_r101_tsn": 100, "hmdb51_s2_r101_tsn": 104, "hmdb51_s3_r101_tsn": 96,
    "hmdb51_s1_r101_ctm_res4x3": 130, "hmdb51_s2_r101_ctm_res4x3": 126, "hmdb51_s3_r101_ctm_res4x3": 128,
}


SEEDS = [0, 1, 2]  # the embedded preset's; the tests' hand-computed values (3 runs a model) assume them


@pytest.fixture(scope="session")
def tiny_cfg(tiny_params, tmp_path_factory) -> tuple[Config, Path]:
    """(config, params.yaml path) of the repository's params shrunk (tests/conftest.py), with SEEDS."""
    params = copy.deepcopy(tiny_params)
    params["presets"]["embedded"]["seeds"] = SEEDS
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    cfg = load_config(path)
    assert cfg.seeds == SEEDS, cfg.seeds
    return cfg, path


@pytest.fixture(scope="session")
def runs(tiny_cfg, tmp_path_factory) -> Path:
    """A runs folder with every run and cell of the tiny config (CORRECT)."""
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
