import hashlib

import pytest
import torch

from ctm.models import CTMNet, resnet50
from ctm.models.pretrained import PretrainedError, load_pretrained


def write_checkpoint(tmp_path, with_counters: bool, name_hash: bool = True):
    """A state dict in torchvision's layout (written by our resnet50, whose keys are torchvision's)."""
    state = resnet50(num_classes=1000, width=0.0625).state_dict()
    if not with_counters:
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    raw = tmp_path / "raw.pth"
    torch.save(state, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    path = tmp_path / (f"resnet50-{digest[:8]}.pth" if name_hash else "resnet50.pth")
    raw.rename(path)
    return path, state


@pytest.mark.parametrize("with_counters", [True, False])
def test_backbone_loads_strictly_except_head_and_ctm_blocks(tmp_path, with_counters):
    path, state = write_checkpoint(tmp_path, with_counters)
    model = CTMNet(50, num_classes=7, num_segments=4, input_size=64, width=0.0625, ctm_stage="res4", ctm_after=(5,))
    left = load_pretrained(model, str(path))
    assert left and all(k.startswith(("fc.", "ctm_blocks.")) for k in left)
    assert torch.equal(model.layer3[2].conv2.weight, state["layer3.2.conv2.weight"])


def test_hash_mismatch_is_refused_and_kept_aside(tmp_path):
    path, _ = write_checkpoint(tmp_path, True)
    bad = path.with_name("resnet50-00000000.pth")
    path.rename(bad)
    with pytest.raises(PretrainedError, match="does not start with 00000000"):
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(bad))
    assert not bad.exists() and bad.with_name(bad.name + ".bad").exists()


def test_other_architecture_is_an_error_listing_keys(tmp_path):
    path, _ = write_checkpoint(tmp_path, True, name_hash=False)
    shapes = r"does not match the model: \d+ shape mismatches .*conv1.weight \(4, 3, 7, 7\) vs \(8, 3, 7, 7\)"
    with pytest.raises(PretrainedError, match=shapes):
        load_pretrained(CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.125), str(path))
    with pytest.raises(PretrainedError, match=r"missing \['layer3.6.conv1.weight"):
        load_pretrained(CTMNet(101, num_classes=3, num_segments=4, input_size=64, width=0.0625), str(path))


def test_unknown_spec(tmp_path):
    with pytest.raises(PretrainedError, match="not a known name"):
        load_pretrained(CTMNet(50, width=0.0625, input_size=64), str(tmp_path / "nope.pth"))
