"""`ctm`: every verb lives in ctm/commands, an expected error (a ctm.errors.UserError) is one line and exit status 2,
and anything else (a bug) keeps its traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ctm import cli
from ctm.commands import COMMAND_MODULES
from ctm.errors import MissingInputError, UserError

REPO = Path(__file__).resolve().parents[1]


def ctm(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """`python -m ctm.cli ARGS` in the repository root, or `python -c CODE ARGS`."""
    head = ["-c", code] if code else ["-m", "ctm.cli"]
    return subprocess.run([sys.executable, *head, *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_every_verb_is_a_command_module():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "verb")
    assert len(sub.choices) >= 14
    for verb, parser in sub.choices.items():
        func = parser.get_default("func")
        if func is None:  # a verb with verbs of its own (ctm bench)
            inner = next(a for a in parser._actions if a.choices and a.dest != "help")
            func = next(iter(inner.choices.values())).get_default("func")
        assert func.__module__ in COMMAND_MODULES, verb


def test_the_parser_needs_no_torch():
    result = ctm("--help", code="import sys; sys.modules['torch'] = None; from ctm.cli import main; main()")
    assert result.returncode == 0 and "train" in result.stdout, result.stderr[-2000:]


def test_a_user_error_is_one_line_and_exit_2():
    result = ctm("train", "--experiment", "nope")  # a ConfigError
    assert result.returncode == 2
    assert result.stderr.startswith("ctm train: error: unknown experiment 'nope'; params.yaml defines: ")
    assert "Traceback" not in result.stderr


def test_a_missing_input_is_a_user_error(tmp_path):
    result = ctm("aggregate", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(tmp_path / "x.json"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"ctm aggregate: error: {tmp_path / 'a.json'}: no metrics; evaluate that run first\n"
    result = ctm("download", (tmp_path / "a").as_uri(), "--out", str(tmp_path / "o"), "--checksums",
                 str(tmp_path / "sums"))
    assert result.returncode == 2 and "no such checksums file" in result.stderr and "Traceback" not in result.stderr


# The verb `aggregate` with its handler replaced by one that raises `error`.
RAISING = """
import sys
import ctm.commands.aggregate
def handler(args):
    raise {error}
ctm.commands.aggregate._aggregate = handler
from ctm.cli import main
sys.exit(main(["aggregate"]))
"""


@pytest.mark.parametrize("error", ["KeyError('a bug')", "FileNotFoundError('a bug')", "ValueError('a bug')"])
def test_other_errors_are_bugs_with_a_traceback(error):
    result = ctm(code=RAISING.format(error=error))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and f"{error.split('(')[0]}: " in result.stderr
    assert "error: " not in result.stderr.splitlines()[0] and "ctm aggregate: error" not in result.stderr


def test_a_user_error_subclass_from_a_handler(monkeypatch, capsys):
    class Mine(UserError):
        pass

    def handler(args):
        raise Mine("fix this input")

    import ctm.commands.aggregate

    monkeypatch.setattr(ctm.commands.aggregate, "_aggregate", handler)
    assert cli.main(["aggregate"]) == 2
    assert capsys.readouterr().err == "ctm aggregate: error: fix this input\n"

    def buggy(args):
        raise KeyError("a bug")

    monkeypatch.setattr(ctm.commands.aggregate, "_aggregate", buggy)
    with pytest.raises(KeyError):
        cli.main(["aggregate"])


def test_expected_errors_keep_their_old_bases():
    from ctm.acquire.download import DownloadError
    from ctm.acquire.extract import ExtractError
    from ctm.config import ConfigError
    from ctm.data.store import NotInStoreError, StoreError
    from ctm.engine.aggregate import AggregateError
    from ctm.engine.checkpoints import CheckpointError, StaleCheckpointError
    from ctm.report.cells import ReportError

    for error, base in [(ConfigError, ValueError), (DownloadError, RuntimeError), (ExtractError, RuntimeError),
                        (StoreError, ValueError), (NotInStoreError, KeyError), (AggregateError, ValueError),
                        (ReportError, ValueError), (MissingInputError, FileNotFoundError),
                        (CheckpointError, RuntimeError), (StaleCheckpointError, RuntimeError)]:
        assert issubclass(error, UserError) and issubclass(error, base), error
    assert str(NotInStoreError("'a.mp4' is not in the store")) == "'a.mp4' is not in the store"  # not repr'd


def test_model_info_prints_json_only_when_asked(capsys):
    params = ["--params", str(REPO / "params.yaml")]
    assert cli.main(["model-info", "--experiment", "mk200_r50_tsn", "--json", *params]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["experiment"] == "mk200_r50_tsn" and rows[0]["params_m"] > 0
    assert cli.main(["model-info", "--experiment", "mk200_r50_tsn", *params]) == 0
    out = capsys.readouterr().out
    assert out.startswith("experiment") and "null" not in out and "mk200_r50_tsn" in out


def engine_calls(monkeypatch, module: str, name: str) -> list[tuple]:
    """Replace ctm.engine.<module>.<name> by a recorder of its arguments (the verbs import it when they run)."""
    import importlib

    calls = []
    monkeypatch.setattr(importlib.import_module(f"ctm.engine.{module}"), name,
                        lambda *args, **kwargs: calls.append((args, kwargs)) or {})
    return calls


def test_train_hands_the_engine_the_run_of_its_flags(monkeypatch, tmp_path):
    from ctm import paths

    calls = engine_calls(monkeypatch, "train", "train")
    params = ["--params", str(REPO / "params.yaml"), "--no-progress"]
    assert cli.main(["train", "--experiment", "ucf101_s2_r101_tsn", "--seed", "1", "--store", "s", *params]) == 0
    (run, root), kwargs = calls[-1]
    assert (run.experiment, run.seed, run.recipe.seed, run.preset) == ("ucf101_s2_r101_tsn", 1, 1, "embedded")
    assert run.folder == paths.run_dir("embedded", "ucf101_s2_r101_tsn/seed1")
    assert run.parent_checkpoint == paths.checkpoint("embedded", "k600_r101_tsn/seed1")
    assert root == paths.dataset_root("embedded", "ucf101")
    assert kwargs == {"progress": False, "store": "s", "force": False}
    assert cli.main(["train", "--experiment", "ucf101_s2_r101_tsn", "--out", str(tmp_path), "--init-checkpoint",
                     "p.pt", "--root", "r", "--force", *params]) == 0
    (run, root), kwargs = calls[-1]
    assert (run.seed, run.folder, run.parent_checkpoint, root, kwargs["force"]) == (0, tmp_path, Path("p.pt"),
                                                                                    Path("r"), True)


def test_evaluate_tests_the_run_its_checkpoint_was_trained_as(monkeypatch, tmp_path):
    """--run-dir holding seed 1's checkpoint, no --seed: the run of seed 1 (the checkpoint's), not of the first."""
    import torch

    from ctm.config import load_config

    cfg = load_config(REPO / "params.yaml")
    torch.save({"model": {}, "classes": [], "params": cfg.experiment_params("mk200_r50_tsn", 1), "summary": {}},
               tmp_path / "checkpoint.pt")
    calls = engine_calls(monkeypatch, "evaluate", "evaluate")
    assert cli.main(["evaluate", "--experiment", "mk200_r50_tsn", "--run-dir", str(tmp_path), "--root", "r",
                     "--params", str(REPO / "params.yaml"), "--no-progress"]) == 0
    (run, trained, root), kwargs = calls[-1]
    assert (run.seed, run.folder, run.checkpoint, root) == (1, tmp_path, tmp_path / "checkpoint.pt", Path("r"))
    assert trained["params"] == run.params and kwargs == {"progress": False, "store": None, "device": None}
