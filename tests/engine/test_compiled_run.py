"""On CUDA, a recipe with `compile: true, compile_mode: reduce-overhead` (the GPU presets') trains and tests end to
end: CUDA graphs in training (one process, no accumulation), finite losses, and test metrics; testing with BN folded
into the fused cuDNN kernels (`test.fold_bn`) predicts what the unfolded network predicts."""

import copy
import json

import pandas as pd
import pytest
import torch
import yaml

from ctm.config import load_config
from ctm.engine.evaluate import evaluate
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="compiled CUDA-graph runs need a GPU")


def test_compiled_cuda_graph_run_trains_and_tests(tmp_path, tiny_params):
    params = copy.deepcopy(tiny_params)
    recipe = params["presets"]["embedded"]["recipes"]["mini_kinetics_200"]
    recipe.update(epochs=3, batch_size=4, lr_milestones=[3], compile=True, compile_mode="reduce-overhead")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(tmp_path / "data", **synth, progress=False)
    cfg = load_config(tmp_path / "params.yaml")
    train(resolve_run(cfg, "mk200_r50_ctm_res4x1", folder=tmp_path / "run"), tmp_path / "data", progress=False)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["compile_mode"] for r in log] == ["reduce-overhead"] * 3
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in log)
    metrics = evaluate(*resolve_tested_run(cfg, "mk200_r50_ctm_res4x1", tmp_path / "run" / "checkpoint.pt"),
                       tmp_path / "data", progress=False)
    assert metrics["num_videos"] + metrics["num_val_skipped"] > 0 and 0 <= metrics["top1"] <= 100
    unfolded = pd.read_csv(tmp_path / "run" / "predictions.csv")

    params["presets"]["embedded"]["test"]["fold_bn"] = True
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    folded_cfg = load_config(tmp_path / "params.yaml")
    evaluate(*resolve_tested_run(folded_cfg, "mk200_r50_ctm_res4x1", tmp_path / "run" / "checkpoint.pt"),
             tmp_path / "data", progress=False)
    folded = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(folded["video"]) == list(unfolded["video"])
    # bf16 either way: a near-tie may flip, nothing more
    assert (folded["pred"] != unfolded["pred"]).sum() <= max(1, len(folded) // 10)
    same = folded["pred"] == unfolded["pred"]
    assert (folded["score"][same] - unfolded["score"][same]).abs().max() < 0.05
