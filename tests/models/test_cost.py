import pytest

from ctm.models import CTMNet
from ctm.models.cost import model_cost


def test_tsn_resnet50_matches_the_reference_cost():
    # Reference (issue 3): TSN-ResNet-50, 200 classes, 8x224: 65.4 GFLOPs (32.7 G multiply-adds), 23.9M params.
    cost = model_cost(lambda: CTMNet(50, num_classes=200, num_segments=8, input_size=224), (8, 3, 224, 224))
    assert cost["gflops"] == pytest.approx(65.4, rel=0.01)
    assert cost["gmacs"] == pytest.approx(32.7, rel=0.01)
    assert cost["params_m"] == pytest.approx(23.9, rel=0.01)


def test_ctm_block_parameters_follow_the_architecture():
    """Each Res4 block of ResNet-50 at 224 (C1 = 1024, C2 = 256, 14x14 positions) adds exactly its layers."""
    c1, c2, positions = 1024, 256, 14 * 14
    ends = c1 * c2 + 2 * c2 + 2 * c2 + c2 * c1 + 2 * c1  # reduce conv + BN, BN after the temporal op, expand conv + BN
    per_block = (ends + positions * 3 * 3) + (ends + c2 * c2 * 3)  # TCCM path (TCC) + Path 2 (3x1x1 conv)

    def build(after):
        return lambda: CTMNet(50, num_classes=200, num_segments=8, input_size=224, ctm_stage="res4" if after else None,
                              ctm_after=after)

    tsn = model_cost(build(()), (8, 3, 224, 224))
    ctm = model_cost(build((1, 3, 5)), (8, 3, 224, 224))
    assert (ctm["params_m"] - tsn["params_m"]) * 1e6 == pytest.approx(3 * per_block, abs=1)
    # multiply-adds per block and clip (8 frames): four 1x1 convs, the 3x1x1 conv, and TCC's 3x3 filter per position
    macs = 8 * positions * (4 * c1 * c2 + 3 * c2 * c2 + 9 * c2)
    assert (ctm["gflops"] - tsn["gflops"]) * 1e9 == pytest.approx(3 * 2 * macs, rel=1e-9)
