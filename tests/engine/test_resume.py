"""Kill-and-resume: a run stopped by SIGTERM and started again ends with the same weights as an uninterrupted one."""

import pytest
import torch

from ctm.cli import main
from ctm.config import load_config
from ctm.data.splits import load_split
from ctm.engine.run import resolve_run
from ctm.engine.train import EXIT_PREEMPTED, Preempted, train
from ctm.engine.train_epoch import epoch_batches

EXPERIMENT = "mk200_r50_ctm_res4x1"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_training_dir):
    base = tmp_path_factory.mktemp("resume")
    tiny_training_dir(base, epochs=3, batch_size=2, lr_milestones=[2])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = load_config(base / "params.yaml")
    videos = len(load_split("mini_kinetics_200", base / "data", "train")[0].videos)
    yield base, cfg, len(epoch_batches(videos, 2, seed=0, epoch=0))
    torch.set_num_threads(threads)


def weights(path):
    return torch.load(path, weights_only=False)["model"]


@pytest.fixture(scope="module")
def uninterrupted(setup):
    base, cfg, num_batches = setup
    train(resolve_run(cfg, EXPERIMENT, folder=base / "straight"), base / "data", progress=False)
    return weights(base / "straight" / "checkpoint.pt")


@pytest.mark.parametrize("epoch, batch", [(1, 3), (0, -1)])  # mid-epoch, and on an epoch's last batch
def test_killed_run_resumes_to_identical_weights(setup, uninterrupted, monkeypatch, tmp_path, sigterm_at, epoch,
                                                 batch):
    base, cfg, num_batches = setup
    out = tmp_path / "run"
    last = batch == -1
    batch = num_batches if last else batch
    with monkeypatch.context() as m:
        sigterm_at(m, epoch, batch)
        with pytest.raises(Preempted, match="resume"):
            train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)
    assert (out / "resume.pt").exists() and not (out / "checkpoint.pt").exists()
    assert len((out / "log.jsonl").read_text().splitlines()) == epoch + last
    train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)
    resumed = weights(out / "checkpoint.pt")
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)
    assert not (out / "resume.pt").exists()
    assert len((out / "log.jsonl").read_text().splitlines()) == 3


def preempted_run(setup, monkeypatch, sigterm_at, out):
    """A run stopped by SIGTERM in its second epoch (resume.pt written)."""
    base, cfg, _ = setup
    with monkeypatch.context() as m:
        sigterm_at(m, 1, 2)
        with pytest.raises(Preempted):
            train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)


def test_resume_restores_the_finished_epochs_records_that_a_retry_deleted(setup, monkeypatch, tmp_path, sigterm_at):
    """Snakemake removes a failed job's outputs (log.jsonl) before its retry; the records come back from resume.pt."""
    base, cfg, _ = setup
    out = tmp_path / "run"
    preempted_run(setup, monkeypatch, sigterm_at, out)
    first = (out / "log.jsonl").read_text().splitlines()
    (out / "log.jsonl").unlink()
    train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)
    lines = (out / "log.jsonl").read_text().splitlines()
    assert len(first) == 1 and len(lines) == 3 and lines[0] == first[0]


def test_resume_state_from_other_params_is_ignored(setup, uninterrupted, monkeypatch, tmp_path, sigterm_at):
    base, cfg, _ = setup
    out = tmp_path / "run"
    preempted_run(setup, monkeypatch, sigterm_at, out)
    state = torch.load(out / "resume.pt", weights_only=False)
    state["params"]["recipe"]["lr"] = 123.0  # as if params.yaml had changed since
    torch.save(state, out / "resume.pt")
    train(resolve_run(cfg, EXPERIMENT, folder=out), base / "data", progress=False)
    resumed = weights(out / "checkpoint.pt")
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)  # trained from scratch, not resumed


def test_cli_exits_with_the_retry_code(setup, monkeypatch, tmp_path, sigterm_at):
    base, _, _ = setup
    sigterm_at(monkeypatch, 0, 2)
    code = main(["train", "--experiment", EXPERIMENT, "--params", str(base / "params.yaml"), "--root",
                 str(base / "data"), "--out", str(tmp_path / "run"), "--threads", "1", "--no-progress"])
    assert code == EXIT_PREEMPTED

