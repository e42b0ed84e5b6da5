"""Every experiment of the paper preset builds at full size from its weights and trains a step, on CPU.

The paper preset's weights are torchvision's files, which no test can download; stand-ins at full size
(ctm.standins.imagenet_weights: torchvision's keys, shapes, format and kind of name) take their place behind file://
URLs, through the same download, verification and loading code. Pre-trained experiments load their backbone's weights
strictly except the new head and CTM blocks; fine-tuned ones load their parent's checkpoint (built the same way) and
freeze BatchNorm as their recipe says. Each then runs one forward and backward on one 8x224 clip.
"""

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from ctm.config import load_config
from ctm.engine.build import build_model
from ctm.engine.finetune import init_from_checkpoint, partial_bn, train_mode
from ctm.standins.imagenet_weights import standin_state_dict, write_standin

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
PAPER = load_config(PARAMS, "paper")


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """(config, stand-in state dicts): the paper preset with model.pretrained pointing at stand-ins, run in a
    folder of its own (the weights are fetched into resources/paper/weights there)."""
    base = tmp_path_factory.mktemp("paper")
    raw = yaml.safe_load(PARAMS.read_text())
    files = {b: write_standin(b, base / "host") for b in PAPER.weights()}
    raw["presets"]["paper"]["model"]["pretrained"] = {b: f"file://{path}" for b, path in files.items()}
    (base / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.MonkeyPatch.context() as m:
        m.chdir(base)
        yield load_config(base / "params.yaml", "paper"), {b: standin_state_dict(b) for b in files}


def one_step(model: torch.nn.Module, num_classes: int) -> None:
    """One forward and backward on one clip (1, 8, 3, 224, 224); every trainable parameter gets a finite gradient."""
    torch.manual_seed(0)
    clip = torch.randn(1, 8, 3, 224, 224)
    logits = model(clip)
    assert logits.shape == (1, num_classes)
    F.cross_entropy(logits, torch.tensor([num_classes - 1])).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None and torch.isfinite(p.grad).all() for _, p in trainable)


@pytest.mark.parametrize("name", [n for n, e in PAPER.experiments.items() if e.init is None])
def test_pretrained_experiment_loads_its_backbones_weights_and_trains_a_step(paper, name):
    cfg, standins = paper
    exp = cfg.experiment(name)
    classes = cfg.num_classes(exp.dataset)
    model = build_model(cfg, exp, classes, pretrained=True)
    weights = standins[exp.backbone]
    own = model.state_dict()
    backbone = [k for k in weights if not k.startswith("fc.")]
    assert all(torch.equal(own[k], weights[k]) for k in backbone)  # every backbone tensor is the file's
    new = sorted(k for k in own if k not in weights and not k.endswith("num_batches_tracked"))
    assert all(k.startswith(("fc.", "ctm_blocks.")) for k in new)
    assert any(k.startswith("ctm_blocks.") for k in new) == (exp.ctm is not None)
    model.train()
    one_step(model, classes)


@pytest.mark.parametrize("name", [n for n, e in PAPER.experiments.items() if e.init is not None])
def test_finetuned_experiment_starts_from_its_parent_and_trains_a_step(paper, name, tmp_path):
    cfg, _ = paper
    exp = cfg.experiment(name)
    parent_exp = cfg.experiment(exp.init)
    parent = build_model(cfg, parent_exp, cfg.num_classes(parent_exp.dataset), pretrained=True)
    torch.save({"model": parent.state_dict()}, tmp_path / "checkpoint.pt")
    classes = cfg.num_classes(exp.dataset)
    model = build_model(cfg, exp, classes, pretrained=exp.init is None)
    fresh = init_from_checkpoint(model, tmp_path / "checkpoint.pt")
    assert fresh == []  # the parent has the same CTM blocks
    parent_state = parent.state_dict()
    assert all(torch.equal(v, parent_state[k]) for k, v in model.state_dict().items() if not k.startswith("fc."))
    frozen = partial_bn(model, fresh) if cfg.recipe(exp).freeze_bn else []
    assert len(frozen) > 0 and model.bn1 not in frozen
    train_mode(model, frozen)
    before = copy.deepcopy(model.layer1[0].bn1.running_mean)
    one_step(model, classes)
    assert torch.equal(model.layer1[0].bn1.running_mean, before)  # partial BN: frozen statistics
    assert all(p.grad is None for m in frozen for p in m.parameters())
