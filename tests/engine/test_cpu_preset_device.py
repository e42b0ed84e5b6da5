"""A CPU preset trains and tests on the CPU even where CUDA is available: its tables must be the same bytes on a
machine that has a GPU (the recipe study once trained the embedded networks on an H100 by accident)."""

import pytest
import torch

from ctm.config import load_config
from ctm.engine import distributed
from ctm.engine.evaluate import evaluate
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train


@pytest.fixture
def gpu_reported(monkeypatch):
    """CUDA says it is there; anything that then reaches for a GPU fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a CPU preset reached for the GPU")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", refuse)
    monkeypatch.setattr(torch.Tensor, "cuda", refuse)
    monkeypatch.setattr(torch.nn.Module, "cuda", refuse)


def test_a_cpu_world_ignores_an_available_gpu(gpu_reported):
    assert distributed.init_world(use_cuda=False).device == torch.device("cpu")


def test_an_embedded_run_trains_and_tests_on_the_cpu(gpu_reported, tmp_path, tiny_training_dir, monkeypatch):
    params = tiny_training_dir(tmp_path, epochs=1, batch_size=2, lr_milestones=[1])
    cfg = load_config(params)
    moved = []
    original = torch.nn.Module.to

    def to(self, *args, **kwargs):
        moved.append(str(args[0]) if args else str(kwargs.get("device")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", to)
    train(resolve_run(cfg, "mk200_r50_tsn", folder=tmp_path / "run"), tmp_path / "data", progress=False)
    metrics = evaluate(*resolve_tested_run(cfg, "mk200_r50_tsn", tmp_path / "run" / "checkpoint.pt"), tmp_path / "data",
                       progress=False)
    assert metrics["num_videos"] > 0
    assert moved and not [d for d in moved if "cuda" in d]
