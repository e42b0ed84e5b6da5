"""A self-contained checkpoint: what `ctm train` records in checkpoint.pt about its run, and the run rebuilt from it.

checkpoint.pt (format 2) holds, besides the weights (`model`), the class names in label order (`classes`), the
no-retrain comparison record (`params`) and the run's summary (`summary`):

    format  2
    run     {preset, experiment, seed, spec, recipe, model, input, test, limits, dataset, min_coverage, device,
             params_hash}: the resolved ctm.engine.run.Run as plain data (each spec a dataclass as a dict)

so `ctm predict` and `ctm evaluate --checkpoint` build the network, sample the test views and check the dataset from
the checkpoint alone, from any folder, whatever params.yaml says now. A format-1 checkpoint (written before the run
was recorded) is tested only under the params.yaml that trained it (`ctm.engine.run.resolve_tested_run`);
`self_contained` gives its contents with the record added (what a bundle of it carries), without retraining.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from ctm import paths
from ctm.acquire.prepare import fill_remote
from ctm.config import ConfigError, DatasetSpec, EvalSpec, Experiment, InputSpec, Limits, ModelSpec, Recipe
from ctm.config.params_file import build
from ctm.engine.checkpoints import TRAINED_KEYS, CheckpointError, StaleCheckpointError, load_checkpoint
from ctm.engine.run import Run
from ctm.errors import MissingInputError, UserError

CHECKPOINT_FORMAT = 2  # 1: weights, classes, params, summary; 2: + format, run
RUN_SPECS = {"spec": Experiment, "recipe": Recipe, "model": ModelSpec, "input": InputSpec, "test": EvalSpec,
             "dataset": DatasetSpec}  # the run record's dataclass fields; `limits` is a Limits or None


def params_hash(params: dict[str, Any]) -> str:
    """12 hex digits of the SHA-256 of a run's `params` (the no-retrain record) as sorted JSON: two checkpoints with
    the same hash were trained with the same parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def run_record(run: Run) -> dict[str, Any]:
    """The `run` entry of a checkpoint: everything testing reads of `run`, as plain data (torch's weights_only load
    reads it back)."""
    record: dict[str, Any] = {key: dataclasses.asdict(getattr(run, key)) for key in RUN_SPECS}
    del record["spec"]["name"]  # the experiment's name is `experiment`
    return {"preset": run.preset, "experiment": run.experiment, "seed": run.seed, **record,
            "limits": None if run.limits is None else dataclasses.asdict(run.limits),
            "min_coverage": run.min_coverage, "device": run.device, "params_hash": params_hash(run.params)}


def checkpoint_format(trained: dict) -> int:
    """The format of a loaded checkpoint (1 where it records none)."""
    return int(trained.get("format", 1))


def run_of_checkpoint(trained: dict, checkpoint: Path, folder: Path | None = None) -> Run:
    """The run that a format-2 checkpoint (`trained`: its contents, read from `checkpoint`) was trained as, from its
    `run` record alone, in `folder` (default: the checkpoint's). The record is checked as params.yaml is (types,
    keys) and against the checkpoint's `params` (its hash)."""
    record = trained.get("run")
    if not isinstance(record, dict):
        raise CheckpointError(f"{checkpoint}: format {checkpoint_format(trained)} but no `run` record; it was not "
                              "written by `ctm train`: retrain it")
    where = f"{checkpoint}: run"
    try:
        specs = {key: build(cls, record[key], f"{where}.{key}") for key, cls in RUN_SPECS.items()}
        limits = None if record["limits"] is None else build(Limits, record["limits"], f"{where}.limits")
        preset, experiment, seed = record["preset"], record["experiment"], record["seed"]
        min_coverage, device, recorded_hash = record["min_coverage"], record["device"], record["params_hash"]
    except KeyError as err:
        raise CheckpointError(f"{where}: no {err.args[0]!r}; the checkpoint is damaged: retrain it") from None
    except ConfigError as err:
        raise CheckpointError(f"{err}; the checkpoint is damaged: retrain it") from None
    if params_hash(trained["params"]) != recorded_hash:
        raise CheckpointError(f"{checkpoint}: its `params` (hash {params_hash(trained['params'])}) are not those its "
                              f"run was recorded with ({recorded_hash}); the file was edited: retrain it")
    spec = dataclasses.replace(specs["spec"], name=experiment)
    weights = None if specs["model"].pretrained is None else specs["model"].pretrained.get(spec.backbone)
    folder = checkpoint.parent if folder is None else Path(folder)
    return Run(
        preset=preset, experiment=experiment, spec=spec, seed=seed, recipe=specs["recipe"], model=specs["model"],
        pretrained=None if weights is None else fill_remote(weights, paths.weights_remote_dir(preset)),
        weights_dir=paths.weights_dir(preset), input=specs["input"], test=specs["test"], limits=limits,
        dataset=specs["dataset"], min_coverage=min_coverage, device=device, params=trained["params"], folder=folder,
        checkpoint=checkpoint, parent_checkpoint=None,
    )


def resolve_checkpoint_run(checkpoint: str | Path, params: str | Path | None = None, preset: str | None = None,
                           folder: str | Path | None = None) -> tuple[Run, dict]:
    """(the run that `checkpoint` was trained as, the checkpoint's contents), for testing it in `folder` (default:
    the checkpoint's).

    A format-2 checkpoint is self-contained: the run comes from it alone, `params` and `preset` are not read. A
    format-1 checkpoint needs `params` (the params.yaml that trained it; `preset`: default the one it records),
    checked unchanged as `ctm evaluate --experiment` checks it."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise MissingInputError(f"{checkpoint}: no checkpoint there (a run folder's checkpoint.pt, written by "
                                "`ctm train`)")
    trained = load_checkpoint(checkpoint, "checkpoint", TRAINED_KEYS)
    version = checkpoint_format(trained)
    if version > CHECKPOINT_FORMAT:
        raise CheckpointError(f"{checkpoint}: checkpoint format {version}, newer than this ctm reads "
                              f"({CHECKPOINT_FORMAT}); update ctm")
    if version == CHECKPOINT_FORMAT:
        return run_of_checkpoint(trained, checkpoint, None if folder is None else Path(folder)), trained
    return _format1_run(trained, checkpoint, params, preset, folder)


def _format1_run(trained: dict, checkpoint: Path, params: str | Path | None, preset: str | None,
                 folder: str | Path | None) -> tuple[Run, dict]:
    """A format-1 checkpoint's run under the params.yaml that trained it (ctm.engine.run.resolve_tested_run)."""
    from ctm.config import load_config
    from ctm.engine.run import resolve_tested_run

    if params is None or not Path(params).is_file():
        raise CheckpointError(
            f"{checkpoint}: an older checkpoint (format 1, from before checkpoints carried their run), so it is "
            f"tested only under the params.yaml that trained it, and there is no {params or 'params.yaml'} here: run "
            "from the project's folder or give --params, or retrain it (ctm train --force) for a self-contained one")
    recorded = trained["params"]
    try:
        experiment, recorded_preset = recorded["experiment"]["name"], recorded["preset"]
    except (KeyError, TypeError):
        raise CheckpointError(f"{checkpoint}: its params name no experiment and preset; retrain it") from None
    cfg = load_config(params, preset or recorded_preset)
    run, trained = resolve_tested_run(cfg, experiment, checkpoint)
    if folder is not None:
        run = dataclasses.replace(run, folder=Path(folder))
    return run, trained


def self_contained(checkpoint: str | Path, params: str | Path, preset: str | None = None) -> dict:
    """The contents of `checkpoint` as a format-2 checkpoint holds them, for a bundle or a copy to carry: a format-1
    checkpoint gets the run record that training writes now, from `params` (the params.yaml that trained it; its
    training parameters are checked unchanged, as testing checks them); a format-2 one is returned as it is."""
    run, trained = resolve_checkpoint_run(checkpoint, params, preset)
    if checkpoint_format(trained) == CHECKPOINT_FORMAT:
        return trained
    if {k: v for k, v in trained["params"].items() if k != "test"} != {
            k: v for k, v in run.params.items() if k != "test"}:
        raise StaleCheckpointError(f"{checkpoint} was trained with other parameters than {params} gives for "
                                   f"{run.experiment!r} now; give the params.yaml that trained it, or retrain it")
    record = run_record(dataclasses.replace(run, params=trained["params"]))
    return {**trained, "format": CHECKPOINT_FORMAT, "run": record}


def check_asked(run: Run, experiment: str | None, seed: int | None) -> None:
    """Refuse an --experiment or --seed given beside --checkpoint that is not the checkpoint's."""
    for flag, asked, recorded in (("--experiment", experiment, run.experiment), ("--seed", seed, run.seed)):
        if asked is not None and asked != recorded:
            raise UserError(f"{flag} {asked}: {run.checkpoint} was trained as {run.experiment!r} with seed "
                            f"{run.seed}; drop {flag} (the checkpoint says which run it is)")
