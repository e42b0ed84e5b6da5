"""Where each stage's files live; the CLI's defaults, the Snakemake rules and dvc.yaml all follow these."""

from __future__ import annotations

from pathlib import Path


def dataset_root(preset: str, dataset: str) -> Path:
    """The dataset in its official on-disk layout (what read_annotations reads)."""
    return Path("resources") / preset / dataset


def remote_dir(preset: str, dataset: str) -> Path:
    """A synthetic preset's stand-in of the dataset's hosts: the files as they are published (`ctm synth`)."""
    return Path("resources") / preset / "remote" / dataset


def weights_dir(preset: str) -> Path:
    """The preset's ImageNet weights, downloaded and verified (`fetch_weights`); training loads them from here."""
    return Path("resources") / preset / "weights"


def weights_remote_dir(preset: str) -> Path:
    """A synthetic preset's stand-in of the weights' host (`{remote}` in model.pretrained; `ctm standin-weights`)."""
    return remote_dir(preset, "imagenet")


def downloads_dir(preset: str, dataset: str) -> Path:
    """The downloaded (verified) files of a dataset, before extraction."""
    return Path("resources") / preset / "downloads" / dataset


def store_dir(preset: str, dataset: str) -> Path:
    """The decoded store of a dataset and its manifest.csv (`ctm decode`): what training reads."""
    return Path("results") / preset / "data" / dataset


def run_dir(preset: str, experiment: str) -> Path:
    """checkpoint.pt, log.jsonl, metrics.json, predictions.csv of one experiment."""
    return Path("results") / preset / "runs" / experiment


def runs_dir(preset: str) -> Path:
    return Path("results") / preset / "runs"


def tables_dir(preset: str) -> Path:
    """Each preset's own copy of the generated tables; `reports/` holds those of the last preset run."""
    return Path("results") / preset / "tables"


REPORTS = Path("reports")
