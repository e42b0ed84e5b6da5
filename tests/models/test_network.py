import pytest
import torch

from ctm.models import CTMNet, feature_size, resnet50, resnet101


def torchvision_keys(depths):
    """The state-dict keys torchvision's resnet50/101 have (written out from torchvision's layout)."""
    keys = ["conv1.weight"] + [f"bn1.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                                     "num_batches_tracked")]
    for stage, n in enumerate(depths, start=1):
        for i in range(n):
            for k in (1, 2, 3):
                keys.append(f"layer{stage}.{i}.conv{k}.weight")
                keys += [f"layer{stage}.{i}.bn{k}.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                                                  "num_batches_tracked")]
        keys.append(f"layer{stage}.0.downsample.0.weight")
        keys += [f"layer{stage}.0.downsample.1.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                                               "num_batches_tracked")]
    return set(keys + ["fc.weight", "fc.bias"])


@pytest.mark.parametrize("build, depths", [(resnet50, (3, 4, 6, 3)), (resnet101, (3, 4, 23, 3))])
def test_resnet_keys_are_torchvisions(build, depths):
    assert set(build(width=0.0625).state_dict()) == torchvision_keys(depths)


def test_full_width_resnet50_has_torchvisions_parameter_count():
    assert sum(p.numel() for p in resnet50().parameters()) == 25_557_032  # torchvision's resnet50


def test_feature_sizes():
    assert [feature_size(224, s) for s in ("res2", "res3", "res4", "res5")] == [56, 28, 14, 7]
    assert [feature_size(64, s) for s in ("layer1", "layer2", "layer3", "layer4")] == [16, 8, 4, 2]


@pytest.mark.parametrize(
    "depth, stage, after",
    [(50, None, ()), (50, "res4", (5,)), (50, "res2", (2,)), (50, "res3", (3,)), (50, "res5", (2,)),
     (50, "res4", (1, 3, 5)), (50, "res4", (1, 2, 3, 4, 5, 6)), (101, "res4", (6, 12, 18))],
)
def test_forward_backward_and_placement(depth, stage, after):
    torch.manual_seed(0)
    net = CTMNet(depth, num_classes=7, num_segments=4, input_size=64, width=0.0625, ctm_stage=stage, ctm_after=after)
    layer = {"res2": "layer1", "res3": "layer2", "res4": "layer3", "res5": "layer4"}.get(stage)
    assert sorted(net.ctm_blocks) == sorted(f"{layer}_{k}" for k in after)
    x = torch.randn(2, 4, 3, 64, 64)
    out = net(x)
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_ctm_network_equals_tsn_at_init():
    kwargs = dict(num_classes=5, num_segments=4, input_size=64, width=0.0625)
    torch.manual_seed(0)
    tsn = CTMNet(50, **kwargs).eval()
    ctm = CTMNet(50, ctm_stage="res4", ctm_after=(1, 3, 5), **kwargs).eval()
    missing, unexpected = ctm.load_state_dict(tsn.state_dict(), strict=False)
    assert all(k.startswith("ctm_blocks.") for k in missing) and not unexpected
    x = torch.randn(2, 4, 3, 64, 64)
    assert torch.equal(ctm(x), tsn(x))


def test_tsn_consensus_is_frame_order_invariant():
    torch.manual_seed(0)
    net = CTMNet(50, num_classes=3, num_segments=4, input_size=64, width=0.0625).eval()
    x = torch.randn(1, 4, 3, 64, 64)
    assert torch.allclose(net(x), net(x.flip(1)), atol=1e-5)


def test_bad_placements_are_refused():
    with pytest.raises(ValueError, match="layer3 has 6 bottlenecks"):
        CTMNet(50, input_size=64, width=0.0625, ctm_stage="res4", ctm_after=(7,))
    with pytest.raises(ValueError, match="unknown stage"):
        CTMNet(50, input_size=64, width=0.0625, ctm_stage="res6", ctm_after=(1,))
    with pytest.raises(ValueError, match="segments"):
        CTMNet(50, num_segments=8, input_size=64, width=0.0625)(torch.randn(1, 4, 3, 64, 64))
