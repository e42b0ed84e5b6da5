"""`ctm aggregate`: one table cell from its training runs: an experiment's runs over the preset's seeds, or a 3-split
group's (UCF-101 and HMDB-51 report the mean over their three official splits, paper section 4.2) over splits and
seeds. Writes the cell's metrics.json: the mean top-1 and top-5, the spread over seeds and over splits, and the video
counts of one seed's runs (every seed tests the same videos)."""

from __future__ import annotations

import statistics
from pathlib import Path

from ctm import paths
from ctm.config import Config
from ctm.errors import MissingInputError, UserError
from ctm.fileio import read_json_object, save_json

AGGREGATED = ("top1", "top5")
COUNTS = ("num_videos", "num_val_missing", "num_val_skipped", "num_train_videos", "num_train_missing")


class AggregateError(UserError, ValueError):
    """The runs cannot be aggregated; the message says why."""


def _read(path: Path) -> dict:
    try:
        return read_json_object(path, ("experiment", "preset"), AggregateError,
                                "re-run that run's evaluation (`ctm evaluate`)")
    except FileNotFoundError:
        raise MissingInputError(f"{path}: no metrics; evaluate that run first") from None


def _std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def aggregate(metrics_files: list[str | Path], out: str | Path) -> dict:
    """Mean, std and per-run values of top-1/top-5 over any runs' metrics.json files (at least two), and their summed
    video counts; written to `out`."""
    if len(metrics_files) < 2:
        raise AggregateError(f"aggregating needs at least two runs, got {len(metrics_files)}")
    runs = [_read(Path(p)) for p in metrics_files]
    presets = {r["preset"] for r in runs}
    if len(presets) != 1:
        raise AggregateError(f"runs of different presets cannot be aggregated: {sorted(presets)}")
    result = {"runs": [r["experiment"] for r in runs], "preset": presets.pop(), "num_runs": len(runs)}
    for key in AGGREGATED:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        if len(values) == len(runs):
            result.update({key: statistics.fmean(values), f"{key}_std": _std(values), f"{key}_per_run": values})
    for key in COUNTS:
        result[key] = sum(r.get(key, 0) for r in runs)
    save_json(result, out)
    return result


def aggregate_cell(cfg: Config, name: str, runs_dir: str | Path, out: str | Path | None = None) -> dict:
    """The cell `name` (an experiment, or a group of params.yaml) from runs_dir/<experiment>/seed<k>/metrics.json of
    each member and seed; written to `out` (default runs_dir/<name>/metrics.json).

    top1 is the mean over every run; top1_per_seed the mean over the members of each seed's runs (a group's 3-split
    mean per seed) and top1_seed_std their spread; top1_per_split the mean over seeds of each member and top1_std
    (groups only) their spread, as a 3-split mean reports it."""
    runs_dir = Path(runs_dir)
    members, seeds = cfg.members(name), cfg.seeds
    runs = {(m, s): _read(runs_dir / paths.run_name(m, s) / paths.METRICS) for m in members for s in seeds}
    for (member, seed), r in runs.items():
        if r["preset"] != cfg.preset_name or r["experiment"] != member or r.get("seed", seed) != seed:
            raise AggregateError(f"{runs_dir / paths.run_name(member, seed) / paths.METRICS}: metrics of "
                                 f"{r['experiment']!r} seed {r.get('seed')} of preset {r['preset']!r}, expected "
                                 f"{member!r} seed {seed} of {cfg.preset_name!r}; re-run its evaluation")
    result = {"cell": name, "experiment": name, "preset": cfg.preset_name, "members": members, "seeds": seeds,
              "runs": cfg.cell_runs(name), "num_runs": len(runs)}
    for key in AGGREGATED:
        per_seed = [statistics.fmean(runs[m, s][key] for m in members) for s in seeds]
        per_split = [statistics.fmean(runs[m, s][key] for s in seeds) for m in members]
        result.update({key: statistics.fmean(per_seed), f"{key}_per_seed": per_seed,
                       f"{key}_seed_std": _std(per_seed), f"{key}_per_split": per_split,
                       f"{key}_std": _std(per_split) if name in cfg.groups else None})
    first = [runs[m, seeds[0]] for m in members]
    for key in COUNTS:
        result[key] = sum(r.get(key, 0) for r in first)
    for key in ("views_per_video", "averaging", "reduction"):
        result[key] = first[0].get(key)
    save_json(result, out or runs_dir / name / paths.METRICS)
    return result
