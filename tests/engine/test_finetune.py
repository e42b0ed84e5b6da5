"""Fine-tuning: a child experiment starts from its parent's checkpoint with a new classifier and partial BN."""

import copy

import pytest
import torch
import yaml

from ctm.config import load_config
from ctm.engine.build import build_model
from ctm.engine.finetune import InitError, init_from_checkpoint, partial_bn
from ctm.engine.run import resolve_run
from ctm.engine.train import train
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory, tiny_params):
    """A TSN parent trained 1 epoch, and a CTM child fine-tuned from it for 1 epoch with freeze_bn."""
    base = tmp_path_factory.mktemp("finetune")
    params = copy.deepcopy(tiny_params)
    recipes = params["presets"]["embedded"]["recipes"]
    recipes["finetune"] = {**recipes["mini_kinetics_200"], "lr": 0.05, "freeze_bn": True}
    params["finetuned"]["child_ctm"] = {"dataset": "mini_kinetics_200", "backbone": "resnet50",
                                          "recipe": "finetune", "init": "mk200_r50_tsn",
                                          "ctm": {"stage": "res4", "after": [5], "paths": ["tccm", "temporal"]}}
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    cfg = load_config(base / "params.yaml")
    train(resolve_run(cfg, "mk200_r50_tsn", folder=base / "parent"), base / "data", progress=False)
    child_run = resolve_run(cfg, "child_ctm", folder=base / "child",
                            parent_checkpoint=base / "parent" / "checkpoint.pt")
    summary = train(child_run, base / "data", progress=False)
    parent = torch.load(base / "parent" / "checkpoint.pt", weights_only=False)["model"]
    child = torch.load(base / "child" / "checkpoint.pt", weights_only=False)["model"]
    return cfg, summary, parent, child


def test_frozen_bn_keeps_parameters_and_statistics(finetuned):
    _, summary, parent, child = finetuned
    bn_keys = [k for k in parent if ".bn" in k or "downsample.1" in k]
    assert bn_keys and summary["frozen_bn"] > 0
    for key in bn_keys:
        torch.testing.assert_close(child[key], parent[key], rtol=0, atol=0, msg=key)


def test_first_bn_conv_and_fresh_ctm_block_train(finetuned):
    _, summary, parent, child = finetuned
    assert summary["fresh_modules"] == ["ctm_blocks.layer3_5"]
    assert not torch.equal(child["bn1.weight"], parent["bn1.weight"])
    assert not torch.equal(child["bn1.running_mean"], parent["bn1.running_mean"])
    assert not torch.equal(child["layer1.0.conv1.weight"], parent["layer1.0.conv1.weight"])
    # the zero-initialised last BN of each path has learnt: frozen, the paths would stay at zero forever
    cfg = finetuned[0]
    fresh = build_model(cfg, cfg.experiment("child_ctm"), 6).state_dict()
    zero_init = [k for k, v in fresh.items() if k.startswith("ctm_blocks.") and v.dim() == 1 and k.endswith("weight")
                 and not v.any()]
    assert len(zero_init) == 2  # one per path
    assert all(child[k].any() for k in zero_init)


def test_new_classifier_and_wrong_parent_is_an_error(finetuned, tiny_params, tmp_path):
    cfg, _, parent, child = finetuned
    assert child["fc.weight"].shape == parent["fc.weight"].shape  # same classes here, but a fresh head:
    assert not torch.equal(child["fc.weight"], parent["fc.weight"])
    wide = copy.deepcopy(tiny_params)
    wide["presets"]["embedded"]["model"]["width"] = 0.125
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(wide))
    wide_cfg = load_config(tmp_path / "params.yaml")
    model = build_model(wide_cfg, wide_cfg.experiment("mk200_r50_tsn"), 6)
    torch.save({"model": parent}, tmp_path / "parent.pt")
    with pytest.raises(InitError, match="same backbone and width"):
        init_from_checkpoint(model, tmp_path / "parent.pt")
    with pytest.raises(InitError, match="no parent checkpoint"):
        init_from_checkpoint(model, tmp_path / "missing.pt")


def test_partial_bn_spares_the_first_bn_and_fresh_blocks(finetuned):
    cfg = finetuned[0]
    model = build_model(cfg, cfg.experiment("child_ctm"), 6)
    frozen = partial_bn(model, ["ctm_blocks.layer3_5"])
    names = {m: n for n, m in model.named_modules()}
    frozen_names = {names[m] for m in frozen}
    assert "bn1" not in frozen_names and "layer1.0.bn1" in frozen_names and "layer1.0.downsample.1" in frozen_names
    assert not any(n.startswith("ctm_blocks.") for n in frozen_names)
    assert model.bn1.weight.requires_grad and not model.layer1[0].bn1.weight.requires_grad
