"""One reproduced table cell from the run folders: the cell's metrics.json (`ctm aggregate`: the mean over the
preset's seeds of an experiment, or of a group's 3 splits) and its runs' predictions.csv and log.jsonl.

A cell is a flat dict with the report's columns (ctm.report.tables.COLUMNS) that come from the runs, and the
network's size and cost, which a ModelCost function gives: ctm.report imports no torch, so the command layer
(ctm/commands/report.py) builds the networks and passes that function in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from ctm import paths
from ctm.config import Config
from ctm.errors import MissingInputError, UserError
from ctm.fileio import read_json_object
from ctm.report.paired import cell_interval
from ctm.report.paper import paper_videos

METRICS_KEYS = ("preset", "top1")  # a cell's metrics.json (ctm aggregate)
CELL_KEYS = ("top1_per_seed", "top1_seed_std", "top1_per_split", "top1_std", "num_train_videos", "num_videos",
             "num_train_missing", "num_val_missing", "views_per_video", "averaging", "reduction")


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


def read_cell(cfg: Config, name: str, runs_dir: str | Path, cost: ModelCost) -> dict:
    """The reproduced columns of a cell naming experiment or group `name`, from its metrics.json (`ctm aggregate`:
    the mean over seeds, and over a group's splits): top-1, spread over seeds and splits, video counts (a group's
    summed over its splits, like the paper's counts beside them), params/GFLOPs (`cost` of its first experiment),
    and the 95% interval of the mean from its runs' predictions.csv: the hierarchical bootstrap over test videos and
    seeds (ctm.report.paired.cell_interval; a group's splits pooled), the claims' procedure for one cell."""
    runs_dir = Path(runs_dir)
    path = runs_dir / name / paths.METRICS
    m = read_metrics(path, cfg)
    members = cfg.members(name)
    if m.get("members") != members or m.get("seeds") != cfg.seeds:
        raise ReportError(f"{path}: aggregates {m.get('members')} over seeds {m.get('seeds')}, but params.yaml's cell "
                          f"{name!r} is {members} over seeds {cfg.seeds}; re-run `ctm aggregate --cell {name}` "
                          "(snakemake does it by itself)")
    missing = [k for k in CELL_KEYS if k not in m]
    if missing:
        raise ReportError(f"{path}: lacks {missing}; re-run `ctm aggregate --cell {name}`")
    exps = [cfg.experiment(e) for e in members]
    paper_train, paper_val = paper_videos(exps[0].dataset, [e.split for e in exps])
    low, high = cell_interval(cell_predictions(cfg, name, runs_dir), name=name)
    c = cost(members[0])
    return {
        "reproduced": m["top1"], "std": m["top1_std"] if m["top1_std"] is not None else math.nan,
        "splits": len(members), "seeds": len(cfg.seeds),
        "seed_std": m["top1_seed_std"] if m["top1_seed_std"] is not None else math.nan,
        "seed_min": min(m["top1_per_seed"]), "seed_max": max(m["top1_per_seed"]),
        "ci_low": low, "ci_high": high, "preset": m["preset"],
        "train_videos": m["num_train_videos"], "val_videos": m["num_videos"],
        "train_missing": m["num_train_missing"], "val_missing": m["num_val_missing"],
        "paper_train_videos": paper_train, "paper_val_videos": paper_val,
        "views_per_video": m["views_per_video"], "averaging": m["averaging"], "reduction": m["reduction"],
        "experiment": name, "params_m": c["params_m"], "gflops": c["gflops"],
    }


def cell_predictions(cfg: Config, name: str, runs_dir: str | Path) -> list[pd.Series]:
    """Per seed, the 0/1 correctness of every test video of a cell (predictions.csv), indexed by video; a group's
    splits are concatenated with keys `s<split>/<video>` (the claims' paired tests, ctm.report.claims)."""
    out = []
    for seed in cfg.seeds:
        parts = []
        for member in cfg.members(name):
            path = Path(runs_dir) / paths.run_name(member, seed) / paths.PREDICTIONS
            try:
                df = pd.read_csv(path, dtype={"video": str})
            except FileNotFoundError:
                raise MissingInputError(f"{path}: no predictions; evaluate that run first (`ctm evaluate`)") from None
            if not {"video", "correct"} <= set(df.columns):
                raise ReportError(f"{path}: lacks the columns video and correct; re-run its evaluation")
            prefix = f"s{cfg.experiment(member).split}/" if name in cfg.groups else ""
            parts.append(pd.Series(df["correct"].astype(int).values, index=prefix + df["video"], name=name))
        out.append(pd.concat(parts))
    return out
