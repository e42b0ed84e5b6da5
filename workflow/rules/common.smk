# Helpers shared by the rules. The typed config and the path conventions come from the package itself,
# so the rules, the CLI and dvc.yaml cannot disagree about where files live.
import os

from ctm import paths
from ctm.config import load_config

CFG = load_config("params.yaml", config["preset"])
PRESET = CFG.preset_name
TABLES = list(CFG.tables)
SYNTHETIC = [name for name, spec in CFG.preset.datasets.items() if spec.source == "synthetic"]


def cores_per_cpu_job():
    """Cores a single-threaded CPU job claims so that at most one runs per physical core.

    Jobs run with --threads 1 (bit-identical to dvc repro), so `threads` here only paces the scheduler: with
    `--cores 8` on a 2-core machine each job claims 4 and two run at once; more at once only adds contention
    (measured: 4 concurrent trainings on 2 cores ran 1.7x slower per step than 2).
    """
    return max(1, workflow.cores // (os.cpu_count() or 1))


def dataset_root(dataset):
    return str(paths.dataset_root(PRESET, dataset))


TABLES_DIR = str(paths.tables_dir(PRESET))


def run_dir(experiment):
    return str(paths.run_dir(PRESET, experiment))


def experiment_root(wildcards):
    return dataset_root(CFG.experiment(wildcards.experiment).dataset)


def table_metrics(wildcards):
    return [f"{run_dir(e)}/metrics.json" for e in CFG.tables[wildcards.table].rows.values()]


def training_params(wildcards):
    """What decides a checkpoint: a change reruns training (Snakemake's params rerun trigger)."""
    params = CFG.experiment_params(wildcards.experiment)
    params.pop("test")
    return params
