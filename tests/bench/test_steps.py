"""`ctm bench train|eval` on CPU: a training step updates the weights, an inference step leaves them alone, and the
command reports one row per experiment with its throughput relative to the first."""

import json

import torch
import yaml

from ctm.bench.steps import build_step
from ctm.cli import main
from ctm.config import load_config
from ctm.models import tcc_ops


def _config(tmp_path, tiny_params):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    return load_config(tmp_path / "params.yaml")


def _weights(step) -> list[torch.Tensor]:
    return [p.detach().clone() for p in step.model.parameters()]


def test_train_step_changes_weights_and_eval_step_does_not(tmp_path, tiny_params):
    cfg = _config(tmp_path, tiny_params)
    for mode, changes in (("train", True), ("eval", False)):
        step, info = build_step(cfg, "mk200_r50_ctm_res4x1", mode, batch=2)
        assert info["mode"] == mode and info["compile_mode"] is None  # the embedded recipes do not compile
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        assert info["tcc_impl"] == tcc_ops.pick_implementation("auto", device)
        before = _weights(step)
        step()
        after = _weights(step)
        changed = any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
        assert changed is changes, mode


def test_bench_command_rows(tmp_path, tiny_params, capsys):
    _config(tmp_path, tiny_params)
    main(["bench", "eval", "--params", str(tmp_path / "params.yaml"), "--experiment", "mk200_r50_tsn",
          "mk200_r50_ctm_res4x1", "--batch", "2", "--steps", "2", "--warmup", "1"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["experiment"] for r in rows] == ["mk200_r50_tsn", "mk200_r50_ctm_res4x1"]
    assert all(r["mode"] == "eval" and r["clips_per_s"] > 0 and r["steps"] == 2 for r in rows)
    assert rows[0]["relative_to_first"] == 1.0
    assert rows[1]["relative_to_first"] == rows[1]["clips_per_s"] / rows[0]["clips_per_s"]
