"""Each pipeline stage's command line, written once: the Snakemake rules (workflow/rules/*.smk, `shell:`) and dvc.yaml
(ctm.pipeline.dvc_yaml) both build their commands with these functions, so the two cannot drift apart.

Every argument is put into the command as given: a rule passes Snakemake's quoted placeholders
(`"{wildcards.dataset:q}"`, `"{params.urls:q}"` for a list of arguments), dvc.yaml passes DVC's templates
(`"${item}"`) and paths. `log`, where given, is where the command's stdout and stderr go (a rule's `"{log:q}"`);
dvc.yaml gives none (DVC shows the output).
"""

from __future__ import annotations


def _logged(command: str, log: str | None) -> str:
    """`command`, its output sent to `log` when one is given."""
    return command if log is None else f"{command} > {log} 2>&1"


def synth(*, dataset: str, preset: str, out: str, workers: str, log: str | None = None) -> str:
    """Publish a synthetic dataset's stand-in into its host folder `out`."""
    return _logged(f"ctm synth --dataset {dataset} --preset {preset} --out {out} --workers {workers}", log)


def prepare(*, dataset: str, preset: str, log: str | None = None) -> str:
    """A dataset downloaded, extracted and its clips fetched in one command (dvc.yaml's per-dataset stage)."""
    return _logged(f"ctm prepare --dataset {dataset} --preset {preset}", log)


def download(*, urls: str, out: str, checks: str, log: str | None = None) -> str:
    """Fetch one file from the first of its mirrors `urls`; `checks`: the --sha256/--md5/--size/--checksums
    options (possibly none)."""
    return _logged(f"ctm download {urls} --out {out} {checks}", log)


def extract(*, archive: str, out: str, flags: str, log: str | None = None) -> str:
    """Extract `archive` into the dataset root `out`; `flags`: --strip-components/--inner-rars (possibly none)."""
    return _logged(f"ctm extract {archive} --out {out} {flags}", log)


def fetch_clips(*, dataset: str, root: str, url_template: str, workers: str, pace: str, source_cache: str,
                log: str | None = None) -> str:
    """A Kinetics dataset's clips downloaded from YouTube and trimmed; `pace`: --per-hour/--stop-after-blocks."""
    return _logged(f"ctm fetch-clips --dataset {dataset} --root {root} --url-template {url_template} "
                   f"--workers {workers} {pace} --source-cache {source_cache}", log)


def fetch_shard_list(*, dataset: str, preset: str, subset: str, log: str | None = None) -> str:
    """One subset's list of the CVDF mirror's shards."""
    return _logged(f"ctm fetch-shards --dataset {dataset} --preset {preset} --subset {subset} --list-only "
                   "--no-progress", log)


def fetch_shard(*, dataset: str, preset: str, subset: str, index: str, log: str | None = None) -> str:
    """One shard of a subset's list: its clips extracted, its record written."""
    return _logged(f"ctm fetch-shards --dataset {dataset} --preset {preset} --subset {subset} --index {index} "
                   "--no-progress", log)


def clips_manifest(*, dataset: str, preset: str, log: str | None = None) -> str:
    """A CVDF dataset's videos_manifest.csv from its shards' records (every shard fetched)."""
    return _logged(f"ctm fetch-shards --dataset {dataset} --preset {preset} --manifest-only --no-progress", log)


def link_clips(*, dataset: str, preset: str, log: str | None = None) -> str:
    """A Kinetics dataset's clips already on disk, linked into its root."""
    return _logged(f"ctm link-clips --dataset {dataset} --preset {preset} --no-progress", log)


def decode(*, dataset: str, preset: str, root: str, out: str, workers: str, log: str | None = None) -> str:
    """A dataset's videos decoded once into the store `out` that training reads."""
    return _logged(f"ctm decode --dataset {dataset} --preset {preset} --root {root} --out {out} --workers {workers}",
                   log)


def standin_weights(*, backbone: str, width: str, out: str, log: str | None = None) -> str:
    """Stand-in ImageNet weights of `backbone` (a synthetic preset's), published as the file `out`."""
    return _logged(f"ctm standin-weights --backbone {backbone} --width {width} --out {out}", log)


def train(*, experiment: str, seed: str, preset: str, root: str, store: str, out: str, init: str | None = None,
          launcher: str = "ctm", log: str | None = None) -> str:
    """One run (experiment x seed) trained into the run folder `out`, on one thread (bit-identical everywhere).

    init: the `--init-checkpoint PATH` option of a fine-tuning run (a rule's placeholder that may expand to nothing);
    None: none. launcher: `ctm`, or the torchrun command line of a multi-GPU job (ending in `-m ctm.cli`)."""
    init_option = f" {init}" if init is not None else ""
    return _logged(f"{launcher} train --experiment {experiment} --seed {seed} --preset {preset} --root {root} "
                   f"--store {store}{init_option} --out {out} --threads 1", log)


def evaluate(*, experiment: str, preset: str, root: str, store: str, run_dir: str, log: str | None = None) -> str:
    """A trained run's multi-view test: metrics.json, predictions.csv and confusion.csv in `run_dir`."""
    return _logged(f"ctm evaluate --experiment {experiment} --preset {preset} --root {root} --store {store} "
                   f"--run-dir {run_dir} --threads 1", log)


def curves(*, run_dirs: str, log: str | None = None) -> str:
    """The trained runs' log.jsonl rewritten as curves.csv in each of `run_dirs` (space-separated; DVC's plots of the
    training curves)."""
    return _logged(f"ctm curves --run-dir {run_dirs}", log)


def aggregate(*, cell: str, preset: str, log: str | None = None) -> str:
    """A table cell's metrics.json: the mean and spread over its runs."""
    return _logged(f"ctm aggregate --cell {cell} --preset {preset}", log)


def report_table(*, table: str, preset: str, out: str, archive: str, log: str | None = None) -> str:
    """One table, written to the reports folder `out` and to the preset's tables folder `archive`."""
    return _logged(f"ctm report --table {table} --preset {preset} --out {out} --archive {archive}", log)


def report_site(*, preset: str, out: str, tables: str, logs: str, figures: str, index: str,
                log: str | None = None) -> str:
    """The report site written to `out`, then its `figures` folder and `index` page copied into `tables` (the
    preset's tables folder); `log` takes only the `ctm report` part's output."""
    site = _logged(f"ctm report --site --preset {preset} --out {out} --tables {tables} --logs {logs}", log)
    return f"{site} && rm -rf {tables}/figures && cp -r {figures} {index} {tables}/"
