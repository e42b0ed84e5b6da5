"""One reproduced table cell from the run folders: an experiment's metrics.json and log.jsonl, or a group's
(`ctm aggregate`'s 3-split mean) with its members' files.

A cell is a flat dict with the report's columns (ctm.report.tables.COLUMNS) that come from the runs, and the
network's size and cost, which a ModelCost function gives: ctm.report imports no torch, so the command layer
(ctm/commands/report.py) builds the networks and passes that function in.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping
from pathlib import Path

from ctm.config import Config
from ctm.errors import MissingInputError, UserError
from ctm.fileio import read_json_object
from ctm.intervals import wilson_interval
from ctm.report.paper import paper_videos
from ctm.report.stats import mean_interval

METRICS_KEYS = ("preset", "top1")  # an experiment's metrics.json or a group's (ctm aggregate)
EXPERIMENT_KEYS = ("ci_low", "ci_high", "num_train_videos", "num_videos", "num_train_missing", "num_val_missing",
                   "views_per_video", "averaging", "reduction")


class ReportError(UserError, ValueError):
    """The runs cannot be reported as they are; the message names the file and what to do."""


ModelCost = Callable[[str], Mapping[str, float]]
"""An experiment's name -> {"params_m": millions of parameters, "gflops": forward GFLOPs per clip, ...} of its network
at the preset's input (ctm.engine.build.experiment_cost; `ctm model-info` prints the same numbers)."""


def read_metrics(path: Path, cfg: Config) -> dict:
    """A metrics.json, checked to belong to the config's preset."""
    try:
        metrics = read_json_object(path, METRICS_KEYS, ReportError, "re-run its evaluation (or `ctm aggregate`)")
    except FileNotFoundError:
        raise MissingInputError(f"{path}: no metrics; evaluate the run first (`ctm evaluate`, `ctm aggregate` "
                               "for a 3-split group, or `snakemake all_tables`)") from None
    if metrics.get("preset") != cfg.preset_name:
        raise ReportError(f"{path}: metrics of preset {metrics.get('preset')!r}, but the report is for preset "
                          f"{cfg.preset_name!r}; pass that preset's runs (--runs-dir results/<preset>/runs)")
    return metrics


def read_log(path: Path) -> list[dict]:
    """The epochs of a log.jsonl (one JSON object per line); a resumed run's repeated epoch keeps its last record.
    [] if the file is absent."""
    if not path.is_file():
        return []
    epochs: dict[int, dict] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ReportError(f"{path}, line {number}: not valid JSON ({err})") from None
            epochs[int(record["epoch"])] = record
    return [epochs[e] for e in sorted(epochs)]


def mean_clips_per_s(runs_dir: Path, experiments: list[str]) -> float:
    """Training throughput: the mean of clips_per_s over every epoch of every experiment's log.jsonl (NaN: no log)."""
    values = [r["clips_per_s"] for e in experiments for r in read_log(runs_dir / e / "log.jsonl")
              if r.get("clips_per_s") is not None]
    return statistics.fmean(values) if values else math.nan


def _experiment_cell(cfg: Config, name: str, runs_dir: Path) -> dict:
    m = read_metrics(runs_dir / name / "metrics.json", cfg)
    missing = [k for k in EXPERIMENT_KEYS if k not in m]
    if missing:
        raise ReportError(f"{runs_dir / name / 'metrics.json'}: lacks {missing}; re-run its evaluation")
    exp = cfg.experiment(name)
    paper_train, paper_val = paper_videos(exp.dataset, [exp.split])
    return {
        "reproduced": m["top1"], "std": math.nan, "splits": 1, "ci_low": m["ci_low"], "ci_high": m["ci_high"],
        "preset": m["preset"], "train_videos": m["num_train_videos"], "val_videos": m["num_videos"],
        "train_missing": m["num_train_missing"], "val_missing": m["num_val_missing"],
        "paper_train_videos": paper_train, "paper_val_videos": paper_val,
        "views_per_video": m["views_per_video"], "averaging": m["averaging"], "reduction": m["reduction"],
    }


def _group_cell(cfg: Config, name: str, runs_dir: Path) -> dict:
    """A 3-split mean. Its interval is the wider of (a) the t interval of the mean over splits,
    mean +- t(n-1) * std / sqrt(n), and (b) Wilson's interval of all splits' test videos pooled: (a) alone is
    degenerate when the splits happen to agree (std 0), (b) alone ignores split-to-split variation."""
    agg = read_metrics(runs_dir / name / "metrics.json", cfg)
    members = cfg.members(name)
    if sorted(agg.get("runs", [])) != sorted(members):
        raise ReportError(f"{runs_dir / name / 'metrics.json'}: aggregates {agg.get('runs')}, but params.yaml's "
                          f"group {name!r} is {members}; re-run `ctm aggregate` (snakemake does it by itself)")
    if len(agg.get("top1_per_run", [])) < 2:
        raise ReportError(f"{runs_dir / name / 'metrics.json'}: no per-split top-1 (top1_per_run); re-run "
                          "`ctm aggregate` on the group's runs")
    runs = [read_metrics(runs_dir / e / "metrics.json", cfg) for e in members]
    mean, std, low, high = mean_interval(agg["top1_per_run"])
    if all("correct" in r for r in runs):
        pooled_low, pooled_high = wilson_interval(sum(r["correct"] for r in runs), sum(r["num_videos"] for r in runs))
        low, high = min(low, 100 * pooled_low), max(high, 100 * pooled_high)
    paper_train, paper_val = paper_videos(cfg.experiment(members[0]).dataset,
                                          [cfg.experiment(e).split for e in members])
    first = runs[0]
    return {
        "reproduced": agg["top1"], "std": std, "splits": len(agg["top1_per_run"]),
        "ci_low": max(0.0, low), "ci_high": min(100.0, high), "preset": agg["preset"],
        "train_videos": sum(r["num_train_videos"] for r in runs), "val_videos": sum(r["num_videos"] for r in runs),
        "train_missing": sum(r["num_train_missing"] for r in runs),
        "val_missing": sum(r["num_val_missing"] for r in runs),
        "paper_train_videos": paper_train, "paper_val_videos": paper_val,
        "views_per_video": first["views_per_video"], "averaging": first["averaging"], "reduction": first["reduction"],
    }


def read_cell(cfg: Config, name: str, runs_dir: str | Path, cost: ModelCost) -> dict:
    """The reproduced columns of a cell naming experiment or group `name`: top-1, interval, video counts (a group's
    summed over its splits, like the paper's counts beside them), params/GFLOPs (`cost` of its first experiment),
    training clips/s."""
    runs_dir = Path(runs_dir)
    cell = _group_cell(cfg, name, runs_dir) if name in cfg.groups else _experiment_cell(cfg, name, runs_dir)
    members = cfg.members(name)
    c = cost(members[0])
    return {**cell, "experiment": name, "params_m": c["params_m"], "gflops": c["gflops"],
            "clips_per_s": mean_clips_per_s(runs_dir, members)}
