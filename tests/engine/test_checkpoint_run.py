"""A self-contained checkpoint: the run it records is the run params.yaml gave, rebuilt without params.yaml; an older
checkpoint (format 1) needs the params.yaml that trained it; a damaged or newer one is refused naming the file."""

import copy
import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from ctm.config import parse_config
from ctm.engine.checkpoint_run import (
    CHECKPOINT_FORMAT,
    check_asked,
    params_hash,
    resolve_checkpoint_run,
    run_record,
    self_contained,
)
from ctm.engine.checkpoints import CheckpointError, StaleCheckpointError
from ctm.engine.run import resolve_run
from ctm.errors import MissingInputError, UserError


@pytest.fixture
def cfg(tiny_params):
    return parse_config(copy.deepcopy(tiny_params))


def saved(of, path: Path, **changes) -> Path:
    """A checkpoint of run `of` as `ctm train` writes it (no weights), with `changes` to its keys (None: removed)."""
    state = {"model": {}, "classes": ["a", "b"], "params": of.params, "summary": {}, "format": CHECKPOINT_FORMAT,
             "run": run_record(of)}
    state.update(changes)
    torch.save({k: v for k, v in state.items() if v is not None}, path)
    return path


@pytest.mark.parametrize("experiment", ["mk200_r50_tsn", "mk200_r50_ctm_res4x1", "ucf101_s2_r101_tsn"])
def test_the_recorded_run_is_the_run_params_yaml_gave(tmp_path, cfg, experiment):
    run = resolve_run(cfg, experiment, seed=1, folder=tmp_path)
    path = saved(run, tmp_path / "best.pt")
    rebuilt, state = resolve_checkpoint_run(path)  # no params.yaml
    assert rebuilt == dataclasses.replace(run, checkpoint=path, parent_checkpoint=None)
    assert state["classes"] == ["a", "b"] and state["run"]["params_hash"] == params_hash(run.params)
    elsewhere, _ = resolve_checkpoint_run(path, folder=tmp_path / "results")
    assert elsewhere.folder == tmp_path / "results" and elsewhere.checkpoint == path


def test_the_record_outlives_a_changed_params_yaml(tmp_path, cfg, tiny_params):
    run = resolve_run(cfg, "mk200_r50_tsn", folder=tmp_path)
    path = saved(run, tmp_path / "checkpoint.pt")
    changed = copy.deepcopy(tiny_params)
    changed["presets"]["embedded"]["recipes"]["mini_kinetics_200"]["epochs"] += 1
    changed["presets"]["embedded"]["test"]["num_clips"] = 2
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(changed))
    rebuilt, _ = resolve_checkpoint_run(path, tmp_path / "params.yaml")
    assert rebuilt.recipe == run.recipe and rebuilt.test == run.test and rebuilt.params == run.params


def test_an_older_checkpoint_needs_the_params_yaml_that_trained_it(tmp_path, cfg, tiny_params):
    run = resolve_run(cfg, "mk200_r50_tsn", folder=tmp_path)
    path = saved(run, tmp_path / "checkpoint.pt", format=None, run=None)
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: an older checkpoint \(format 1.*there is no params.yaml "
                                              r"here: run from the project's folder or give --params"):
        resolve_checkpoint_run(path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    old, _ = resolve_checkpoint_run(path, tmp_path / "params.yaml")
    assert old == dataclasses.replace(run, checkpoint=path)
    tiny_params = copy.deepcopy(tiny_params)
    tiny_params["presets"]["embedded"]["recipes"]["mini_kinetics_200"]["epochs"] += 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    with pytest.raises(StaleCheckpointError, match="trained with other parameters"):
        from ctm.engine.evaluate import testing_network

        testing_network(*resolve_checkpoint_run(path, tmp_path / "params.yaml"))


def test_a_damaged_newer_or_missing_checkpoint_is_refused_naming_it(tmp_path, cfg):
    run = resolve_run(cfg, "mk200_r50_tsn", folder=tmp_path)
    with pytest.raises(MissingInputError, match="nothing.pt: no checkpoint there"):
        resolve_checkpoint_run(tmp_path / "nothing.pt")
    with pytest.raises(CheckpointError, match=r"newer.pt: checkpoint format 3, newer than this ctm reads \(2\)"):
        resolve_checkpoint_run(saved(run, tmp_path / "newer.pt", format=3))
    edited = {**run.params, "recipe": {**run.params["recipe"], "epochs": 99}}
    with pytest.raises(CheckpointError, match=r"edited.pt: its `params` \(hash \w+\) are not those its run was"):
        resolve_checkpoint_run(saved(run, tmp_path / "edited.pt", params=edited))
    bad_input = {**run_record(run), "input": {**run_record(run)["input"], "crop_size": "big"}}
    with pytest.raises(CheckpointError, match=r"bad.pt: run.input.crop_size: expected int"):
        resolve_checkpoint_run(saved(run, tmp_path / "bad.pt", run=bad_input))
    no_device = {k: v for k, v in run_record(run).items() if k != "device"}
    with pytest.raises(CheckpointError, match=r"partial.pt: run: no 'device'"):
        resolve_checkpoint_run(saved(run, tmp_path / "partial.pt", run=no_device))


def test_an_experiment_or_seed_asked_must_be_the_checkpoints(tmp_path, cfg):
    run, _ = resolve_checkpoint_run(saved(resolve_run(cfg, "mk200_r50_tsn", seed=1), tmp_path / "checkpoint.pt"))
    check_asked(run, "mk200_r50_tsn", 1)
    check_asked(run, None, None)
    with pytest.raises(UserError, match="--seed 0: .* was trained as 'mk200_r50_tsn' with seed 1; drop --seed"):
        check_asked(run, None, 0)
    with pytest.raises(UserError, match="--experiment mk200_r50_ctm_res4x1: "):
        check_asked(run, "mk200_r50_ctm_res4x1", None)


def test_an_older_checkpoint_made_self_contained_under_its_params_yaml(tmp_path, cfg, tiny_params):
    run = resolve_run(cfg, "mk200_r50_tsn", seed=1, folder=tmp_path)
    older = saved(run, tmp_path / "older.pt", format=None, run=None)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    state = self_contained(older, tmp_path / "params.yaml")
    assert state["format"] == CHECKPOINT_FORMAT and state["run"] == run_record(run)
    torch.save(state, tmp_path / "upgraded.pt")
    (tmp_path / "params.yaml").unlink()
    assert resolve_checkpoint_run(tmp_path / "upgraded.pt")[0] == dataclasses.replace(
        run, checkpoint=tmp_path / "upgraded.pt")
    assert self_contained(tmp_path / "upgraded.pt", tmp_path / "nowhere.yaml") == state
    tiny_params = copy.deepcopy(tiny_params)
    tiny_params["presets"]["embedded"]["model"]["dropout"] = 0.25
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    with pytest.raises(StaleCheckpointError, match=r"older.pt was trained with other parameters than .*params.yaml"):
        self_contained(older, tmp_path / "params.yaml")
