"""Our ResNets against torchvision's own (where torchvision is installed, e.g. the GPU host; skipped here, where
torchvision has no CPU build): the same state dict loads strictly both ways and gives the same outputs."""

import pytest
import torch

from ctm.models import resnet50, resnet101

torchvision = pytest.importorskip("torchvision")


@pytest.mark.parametrize("name, ours", [("resnet50", resnet50), ("resnet101", resnet101)])
def test_same_keys_shapes_and_outputs_as_torchvision(name, ours):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None).eval()
    for m in theirs.modules():  # non-trivial BN statistics, so eval-mode BN is really exercised
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    mine = ours().eval()
    state = theirs.state_dict()
    assert {k: v.shape for k, v in mine.state_dict().items()} == {k: v.shape for k, v in state.items()}
    mine.load_state_dict(state, strict=True)
    theirs.load_state_dict(mine.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(mine(x), theirs(x), rtol=1e-4, atol=1e-4)
