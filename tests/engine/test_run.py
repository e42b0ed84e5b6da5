"""A run resolved once from params.yaml: its seed, recipe, params and files; and the run that a checkpoint was trained
as (the seed it records, refused when the preset no longer has it)."""

import copy
from pathlib import Path

import pytest
import torch

from ctm import paths
from ctm.config import ConfigError, parse_config
from ctm.engine.checkpoints import StaleCheckpointError
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.errors import MissingInputError


@pytest.fixture
def cfg(tiny_params):
    return parse_config(copy.deepcopy(tiny_params))


def test_a_run_carries_what_the_config_gives_for_its_seed(cfg):
    run = resolve_run(cfg, "mk200_r50_ctm_res4x1", seed=1)
    assert (run.preset, run.experiment, run.seed) == ("embedded", "mk200_r50_ctm_res4x1", 1)
    assert run.spec == cfg.experiment("mk200_r50_ctm_res4x1")
    assert run.recipe == cfg.recipe(run.spec, 1) and run.recipe.seed == 1
    assert run.params == cfg.experiment_params("mk200_r50_ctm_res4x1", 1)
    assert (run.model, run.input, run.test, run.limits) == (cfg.preset.model, cfg.preset.input, cfg.preset.test,
                                                            cfg.preset.limits)
    assert run.dataset == cfg.dataset("mini_kinetics_200") and run.device == cfg.preset.device == "cpu"
    assert run.min_coverage == cfg.preset.min_coverage
    assert run.folder == paths.run_dir("embedded", "mk200_r50_ctm_res4x1/seed1")
    assert run.checkpoint == run.folder / "checkpoint.pt" and run.parent_checkpoint is None
    assert resolve_run(cfg, "mk200_r50_ctm_res4x1").seed == cfg.seeds[0]
    with pytest.raises(ConfigError, match="seed 7 is not one of preset 'embedded'"):
        resolve_run(cfg, "mk200_r50_ctm_res4x1", seed=7)


def test_a_run_folder_names_its_files(tmp_path, cfg):
    run = resolve_run(cfg, "mk200_r50_tsn", folder=tmp_path)
    assert run.folder == tmp_path and run.checkpoint == tmp_path / "checkpoint.pt"
    assert [f(tmp_path).name for f in (paths.train_log_in, paths.resume_state_in, paths.metrics_in,
                                       paths.predictions_in, paths.confusion_in)] == [
        "log.jsonl", "resume.pt", "metrics.json", "predictions.csv", "confusion.csv"]


def test_a_fine_tuning_run_starts_from_its_parents_run_of_the_same_seed(cfg):
    run = resolve_run(cfg, "ucf101_s2_r101_tsn", seed=1)
    assert run.parent_checkpoint == paths.checkpoint("embedded", "k600_r101_tsn/seed1")
    given = resolve_run(cfg, "ucf101_s2_r101_tsn", seed=1, parent_checkpoint="elsewhere/parent.pt")
    assert given.parent_checkpoint == Path("elsewhere/parent.pt")


def trained(cfg, tmp_path: Path, seed: int, name: str = "checkpoint.pt") -> Path:
    params = cfg.experiment_params("mk200_r50_tsn", 0)
    params["recipe"]["seed"] = seed
    path = tmp_path / name
    torch.save({"model": {}, "classes": ["a", "b"], "params": params, "summary": {}}, path)
    return path


def test_a_tested_run_is_the_seed_its_checkpoint_records(tmp_path, cfg):
    run, state = resolve_tested_run(cfg, "mk200_r50_tsn", trained(cfg, tmp_path, 1, "best.pt"))
    assert run.seed == 1 and run.params == cfg.experiment_params("mk200_r50_tsn", 1)
    assert run.folder == tmp_path and run.checkpoint == tmp_path / "best.pt" and state["classes"] == ["a", "b"]


def test_a_tested_run_needs_its_checkpoint_and_a_seed_of_the_preset(tmp_path, cfg):
    with pytest.raises(MissingInputError, match=r"checkpoint.pt: no checkpoint; train first \(ctm train "
                                                r"--experiment mk200_r50_tsn"):
        resolve_tested_run(cfg, "mk200_r50_tsn", tmp_path / "checkpoint.pt")
    with pytest.raises(StaleCheckpointError, match=r"trained with seed 5, which is not one of preset 'embedded'"):
        resolve_tested_run(cfg, "mk200_r50_tsn", trained(cfg, tmp_path, 5))
