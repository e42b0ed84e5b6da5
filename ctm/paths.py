"""Where each stage's files live; the CLI's defaults, the Snakemake rules and dvc.yaml all follow these."""

from __future__ import annotations

from pathlib import Path


def dataset_root(preset: str, dataset: str) -> Path:
    """The dataset in its official on-disk layout (what read_annotations reads)."""
    return Path("resources") / preset / dataset


def run_dir(preset: str, experiment: str) -> Path:
    """checkpoint.pt, log.jsonl, metrics.json, predictions.csv of one experiment."""
    return Path("results") / preset / "runs" / experiment


def runs_dir(preset: str) -> Path:
    return Path("results") / preset / "runs"


def tables_dir(preset: str) -> Path:
    """Each preset's own copy of the generated tables; `reports/` holds those of the last preset run."""
    return Path("results") / preset / "tables"


REPORTS = Path("reports")
