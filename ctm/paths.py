"""Where each stage's files live; the CLI's defaults, the Snakemake rules and dvc.yaml all follow these.

Every function joins its arguments into a path and nothing else, so the rules pass Snakemake wildcards
(`run_dir(PRESET, "{experiment}")`) and ctm.pipeline passes DVC's templates (`run_dir("${preset}", "${key}")`).
"""

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


def run_name(experiment: str, seed: int | str) -> str:
    """One training run of an experiment: `<experiment>/seed<seed>` (a run folder under the experiment's)."""
    return f"{experiment}/seed{seed}"


def run_dir(preset: str, name: str) -> Path:
    """A run's checkpoint.pt, log.jsonl, metrics.json and predictions.csv (`name`: run_name(experiment, seed)), or
    a table cell's folder (`name`: an experiment or a group), which holds the cell's metrics.json over its runs."""
    return Path("results") / preset / "runs" / name


def runs_dir(preset: str) -> Path:
    return Path("results") / preset / "runs"


def tables_dir(preset: str) -> Path:
    """Each preset's own copy of the generated tables; `reports/` holds those of the last preset run."""
    return Path("results") / preset / "tables"


REPORTS = Path("reports")

# the files of a run directory
CHECKPOINT, TRAIN_LOG, RESUME_STATE, METRICS = "checkpoint.pt", "log.jsonl", "resume.pt", "metrics.json"
PREDICTIONS, CONFUSION = "predictions.csv", "confusion.csv"
CURVES = "curves.csv"


def checkpoint_in(folder: Path) -> Path:
    """A run folder's trained network: weights, classes, params and summary (`ctm train`)."""
    return Path(folder) / CHECKPOINT


def train_log_in(folder: Path) -> Path:
    """A run folder's training log: one JSON line per epoch (`ctm train`)."""
    return Path(folder) / TRAIN_LOG


def resume_state_in(folder: Path) -> Path:
    """A run folder's training state while the run is unfinished (ctm.engine.resume); gone once it finishes."""
    return Path(folder) / RESUME_STATE


def curves_in(folder: Path) -> Path:
    """A run folder's training curves: log.jsonl's per-epoch values as CSV, what DVC plots (`ctm curves`)."""
    return Path(folder) / CURVES


def metrics_in(folder: Path) -> Path:
    """A run folder's test metrics (`ctm evaluate`), or a cell folder's aggregate (`ctm aggregate`)."""
    return Path(folder) / METRICS


def predictions_in(folder: Path) -> Path:
    """A run folder's prediction per test video (`ctm evaluate`)."""
    return Path(folder) / PREDICTIONS


def confusion_in(folder: Path) -> Path:
    """A run folder's confusion matrix over the test videos (`ctm evaluate`)."""
    return Path(folder) / CONFUSION


def checkpoint(preset: str, experiment: str) -> Path:
    return checkpoint_in(run_dir(preset, experiment))


def train_log(preset: str, experiment: str) -> Path:
    """One JSON line per epoch (`ctm train`)."""
    return train_log_in(run_dir(preset, experiment))


def curves(preset: str, experiment: str) -> Path:
    """A run's per-epoch training values as CSV (`ctm curves`): DVC's plots."""
    return curves_in(run_dir(preset, experiment))


def metrics(preset: str, name: str) -> Path:
    """A run's test metrics (`ctm evaluate`), or a cell's mean over its seeds (and a group's over its 3 splits:
    `ctm aggregate`)."""
    return metrics_in(run_dir(preset, name))


def predictions(preset: str, experiment: str) -> Path:
    return predictions_in(run_dir(preset, experiment))


def confusion(preset: str, experiment: str) -> Path:
    return confusion_in(run_dir(preset, experiment))


def downloaded_file(preset: str, dataset: str, name: str) -> Path:
    return downloads_dir(preset, dataset) / name


def extracted_marker(preset: str, dataset: str, archive: str) -> Path:
    """Written by `ctm extract` once `archive` is extracted into the dataset root (ctm.acquire.extract)."""
    return dataset_root(preset, dataset) / f".extracted-{archive}.json"


def videos_manifest(preset: str, dataset: str) -> Path:
    """Every annotated clip with its status (ok, missing, ...): written by `ctm fetch-shards`, `ctm link-clips` or
    `ctm fetch-clips` (ctm.acquire.youtube.MANIFEST_NAME)."""
    return dataset_root(preset, dataset) / "videos_manifest.csv"


CVDF_RECORDS = ".cvdf"  # under a dataset root: one record per CVDF shard (ctm.acquire.cvdf_dataset)


def shard_list_in(downloads: Path, subset: str) -> Path:
    """A subset's CVDF shard list as downloaded, under a dataset's download folder."""
    return downloads / "cvdf" / f"{subset}_shards.txt"


def shard_archive_in(downloads: Path, subset: str, index: int | str) -> Path:
    """Shard `index` (its 0-based line in the list) while it is processed."""
    return downloads / "cvdf" / subset / f"shard_{index}.tar.gz"


def shard_record_in(root: Path, subset: str, index: int | str) -> Path:
    """What shard `index` held and which clips it gave (written once its clips are out)."""
    return root / CVDF_RECORDS / subset / f"shard_{index}.json"


def youtube_sources(preset: str) -> Path:
    """Whole YouTube source videos by id, shared by the Kinetics datasets (an id both list is downloaded once)."""
    return Path("resources") / preset / "youtube_sources"


def shard_list(preset: str, dataset: str, subset: str) -> Path:
    return shard_list_in(downloads_dir(preset, dataset), subset)


def shard_record(preset: str, dataset: str, subset: str, index: int | str) -> Path:
    return shard_record_in(dataset_root(preset, dataset), subset, index)


def weights_file(preset: str, name: str) -> Path:
    return weights_dir(preset) / name


def remote_weights(preset: str, name: str) -> Path:
    return weights_remote_dir(preset) / name


def logs_dir(preset: str) -> Path:
    return Path("logs") / preset


def job_log(preset: str, step: str, name: str) -> Path:
    """The log of one job of a rule (`step`): the command's stdout and stderr, progress lines included."""
    return logs_dir(preset) / step / f"{name}.log"


def job_benchmark(preset: str, step: str, name: str) -> Path:
    """Snakemake's `benchmark:` file of one job (wall time, memory)."""
    return logs_dir(preset) / "benchmarks" / step / f"{name}.tsv"


def report_file(table: str, ext: str) -> Path:
    """The committed copy of a table (`reports/table1.csv`), what reviewers read."""
    return REPORTS / f"{table}.{ext}"


def table_metrics() -> Path:
    """Every reproduced cell of the tables, committed: DVC's metrics (ctm.report.summary)."""
    return REPORTS / "metrics.json"


def other_seeds_claims(preset: str) -> Path:
    """claims.json of the same pipeline run with another seed set, committed: the report compares the verdicts
    (ctm.report.stability; docs/report.md)."""
    return Path("benchmarks") / "results" / "cpu-torch2.13" / f"claims_{preset}_other_seeds.json"


def table_archive(preset: str, table: str, ext: str) -> Path:
    return tables_dir(preset) / f"{table}.{ext}"
