"""`ctm aggregate`: one number from several runs of the same model (UCF-101 and HMDB-51 report the mean over their
three official splits, paper section 4.2): mean and sample standard deviation of top-1 and top-5."""

from __future__ import annotations

import statistics
from pathlib import Path

from ctm.errors import MissingInputError, UserError
from ctm.fileio import read_json_object, save_json

AGGREGATED = ("top1", "top5")


class AggregateError(UserError, ValueError):
    """The runs cannot be aggregated; the message says why."""


def aggregate(metrics_files: list[str | Path], out: str | Path) -> dict:
    """Read each run's metrics.json; write `out` with mean, std and per-run values, and the video counts."""
    if len(metrics_files) < 2:
        raise AggregateError(f"aggregating needs at least two runs, got {len(metrics_files)}")
    runs = []
    for path in metrics_files:
        try:
            runs.append(read_json_object(path, ("experiment", "preset"), AggregateError,
                                         "re-run that run's evaluation (`ctm evaluate`)"))
        except FileNotFoundError:
            raise MissingInputError(f"{path}: no metrics; evaluate that run first") from None
    presets = {r["preset"] for r in runs}
    if len(presets) != 1:
        raise AggregateError(f"runs of different presets cannot be aggregated: {sorted(presets)}")
    result = {"runs": [r["experiment"] for r in runs], "preset": presets.pop(), "num_runs": len(runs)}
    for key in AGGREGATED:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        if len(values) == len(runs):
            result[key] = statistics.fmean(values)
            result[f"{key}_std"] = statistics.stdev(values)
            result[f"{key}_per_run"] = values
    for key in ("num_videos", "num_val_missing", "num_val_skipped", "num_train_videos"):
        result[key] = sum(r.get(key, 0) for r in runs)
    save_json(result, out)
    return result
