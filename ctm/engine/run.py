"""A training run resolved from params.yaml once per command: everything the engine reads about it, typed.

`ctm train` resolves the run of (experiment, seed) with `resolve_run`; `ctm evaluate --experiment` resolves the run
that a checkpoint was trained as with `resolve_tested_run` (the seed it records, params.yaml's settings), while
`ctm predict` and `ctm evaluate --checkpoint` rebuild it from the checkpoint alone
(ctm.engine.checkpoint_run.resolve_checkpoint_run). The engine's functions take the `Run` and never read the Config
themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ctm import paths
from ctm.acquire.prepare import fill_remote
from ctm.config import Config, DatasetSpec, EvalSpec, Experiment, InputSpec, Limits, ModelSpec, Recipe
from ctm.engine.checkpoints import TRAINED_KEYS, StaleCheckpointError, load_checkpoint
from ctm.errors import MissingInputError


@dataclass(frozen=True)
class Run:
    """One experiment's run of one seed under one preset, with the preset's settings that the run uses."""

    preset: str  # the preset's name
    experiment: str  # the experiment's name
    spec: Experiment  # its dataset, split, backbone, CTM blocks and parent (`init`)
    seed: int  # one of the preset's seeds
    recipe: Recipe  # the experiment's recipe, its `seed` set to this run's
    model: ModelSpec
    pretrained: str | None  # the backbone's ImageNet weights (`model.pretrained`, `{remote}` filled in), or None
    weights_dir: Path  # where those weights are fetched to (or found)
    input: InputSpec
    test: EvalSpec
    limits: Limits | None  # a rehearsal's caps (epochs, steps per epoch, test videos), None for none
    dataset: DatasetSpec  # the experiment's dataset under the preset
    min_coverage: float  # the least fraction of a subset's videos that training and testing accept
    device: str  # the preset's device: "cpu" (also where CUDA is available) or "cuda"
    params: dict[str, Any]  # everything that determines the run's result, as recorded in checkpoint.pt and resume.pt
    folder: Path  # the run folder: checkpoint.pt, log.jsonl, resume.pt, metrics.json, ...
    checkpoint: Path  # the run's checkpoint: written by training, read by testing
    parent_checkpoint: Path | None  # the parent's checkpoint when the experiment fine-tunes another, else None


def resolve_run(cfg: Config, experiment: str, seed: int | None = None, folder: str | Path | None = None,
                parent_checkpoint: str | Path | None = None) -> Run:
    """The run of `experiment` with `seed` (one of the preset's seeds; None: the first) in `folder` (default
    results/<preset>/runs/<experiment>/seed<seed>). `parent_checkpoint` of a fine-tuning experiment defaults to its
    parent's run of the same seed under the preset."""
    exp = cfg.experiment(experiment)
    seed = cfg.seed(seed)
    preset = cfg.preset_name
    folder = Path(folder) if folder is not None else paths.run_dir(preset, paths.run_name(experiment, seed))
    if not parent_checkpoint:
        parent_checkpoint = paths.checkpoint(preset, paths.run_name(exp.init, seed)) if exp.init is not None else None
    weights = cfg.pretrained(exp)
    return Run(
        preset=preset,
        experiment=experiment,
        spec=exp,
        seed=seed,
        recipe=cfg.recipe(exp, seed),
        model=cfg.preset.model,
        pretrained=None if weights is None else fill_remote(weights, paths.weights_remote_dir(preset)),
        weights_dir=paths.weights_dir(preset),
        input=cfg.preset.input,
        test=cfg.preset.test,
        limits=cfg.preset.limits,
        dataset=cfg.dataset(exp.dataset),
        min_coverage=cfg.preset.min_coverage,
        device=cfg.preset.device,
        params=cfg.experiment_params(experiment, seed),
        folder=folder,
        checkpoint=paths.checkpoint_in(folder),
        parent_checkpoint=None if parent_checkpoint is None else Path(parent_checkpoint),
    )


def resolve_tested_run(cfg: Config, experiment: str, checkpoint: str | Path) -> tuple[Run, dict]:
    """(the run that `checkpoint` was trained as, the checkpoint's contents: model, classes, params, summary).

    The run is `experiment`'s under params.yaml now, with the seed the checkpoint records (which must still be one of
    the preset's seeds), in the checkpoint's folder; ctm.engine.evaluate.testing_network checks its other params."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise MissingInputError(f"{checkpoint}: no checkpoint; train first "
                                f"(ctm train --experiment {experiment}, or snakemake all_tables)")
    trained = load_checkpoint(checkpoint, "checkpoint", TRAINED_KEYS)
    seed = trained["params"].get("recipe", {}).get("seed")  # the run's seed: which of the preset's runs it is
    if seed not in cfg.seeds:
        raise StaleCheckpointError(f"{checkpoint} was trained with seed {seed}, which is not one of preset "
                                   f"{cfg.preset_name!r}'s seeds {cfg.seeds} now; retrain it")
    # `ctm predict --checkpoint` may name the file otherwise than checkpoint.pt
    return replace(resolve_run(cfg, experiment, seed, checkpoint.parent), checkpoint=checkpoint), trained
