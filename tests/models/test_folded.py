"""BN folding for inference: the folded network computes what the eval-mode network computes."""

import pytest
import torch
from torch import nn

from ctm.models import CTMNet
from ctm.models.folded import FoldedBottleneck, FoldedConv, conv_bias_add_relu, conv_bias_relu, fold_for_inference

CUDA = torch.cuda.is_available()


def _randomise_bn(net: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affines (fresh BNs are the identity, and zero-init BNs output zeros)."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.2)


def _net(paths, tcc_impl="grouped_conv", depth=50):
    net = CTMNet(depth=depth, num_classes=6, num_segments=4, input_size=64, width=0.125,
                 ctm_stage=None if not paths else "res4", ctm_after=(1, 3) if paths else (), paths=paths or ("tccm",))
    for m in net.modules():
        if hasattr(m, "impl"):
            m.impl = tcc_impl
    _randomise_bn(net)
    return net.eval()


@pytest.mark.parametrize("paths", [(), ("tccm",), ("temporal",), ("tccm", "temporal")])
def test_folded_network_equals_eval_network_on_cpu(paths):
    net = _net(paths)
    folded = fold_for_inference(net)
    x = torch.randn(2, 4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-4)
    # the original is untouched (folding works on a copy)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) > 0
    assert all(isinstance(b, FoldedBottleneck) for b in folded.layer1)


def test_only_tcc_paths_keep_a_batchnorm():
    folded = fold_for_inference(_net(("tccm", "temporal")))
    kept = [name for name, m in folded.named_modules() if isinstance(m, nn.BatchNorm2d)]
    assert kept and all(name.endswith("paths.tccm.bn") for name in kept)


def test_folding_needs_eval_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_for_inference(_net(()).train())


def test_downsample_bias_joins_the_last_conv():
    block = _net(()).layer2[0]
    folded = FoldedBottleneck(block)
    assert folded.downsample.bias is None and folded.conv3.bias is not None
    x = torch.randn(2, block.conv1.in_channels, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), block(x), rtol=1e-4, atol=1e-5)


def test_fused_ops_pass_opcheck_and_match_conv_relu():
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(2, 4, 9, 9, generator=g), torch.randn(6, 4, 3, 3, generator=g), torch.randn(6, generator=g)
    z = torch.randn(2, 6, 5, 5, generator=g)
    expected = torch.relu(torch.nn.functional.conv2d(x, w, b, 2, 1))
    torch.testing.assert_close(conv_bias_relu(x, w, b, [2, 2], [1, 1]), expected)
    torch.testing.assert_close(conv_bias_add_relu(x, w, z, b, [2, 2], [1, 1]),
                               torch.relu(torch.nn.functional.conv2d(x, w, b, 2, 1) + z))
    for xx, ww, zz in [(x, w, z), (x.contiguous(memory_format=torch.channels_last),
                                   w.contiguous(memory_format=torch.channels_last),
                                   z.contiguous(memory_format=torch.channels_last))]:
        torch.library.opcheck(conv_bias_relu, (xx, ww, b, [2, 2], [1, 1]))
        torch.library.opcheck(conv_bias_add_relu, (xx, ww, zz, b, [2, 2], [1, 1]))


def test_folded_conv_rejects_grouped_convs():
    with pytest.raises(ValueError, match="ungrouped"):
        FoldedConv(nn.Conv2d(4, 4, 3, groups=2), nn.BatchNorm2d(4))


@pytest.mark.skipif(not CUDA, reason="the fused cuDNN conv+bias(+add)+ReLU kernels need CUDA")
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("paths", [(), ("tccm", "temporal")])
def test_folded_network_on_cuda_bf16_channels_last(paths, compiled, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    net = _net(paths, tcc_impl="auto").cuda().to(memory_format=torch.channels_last)
    folded = fold_for_inference(net)
    x = torch.randn(2, 4, 3, 64, 64, device="cuda")
    run = torch.compile(folded, mode="reduce-overhead") if compiled else folded
    with torch.no_grad():
        ref = net.double()(x.double()).float()
        scale = ref.abs().max()
        # float32: the fused cuDNN kernels compute the folded network exactly (up to float32 rounding)
        torch.testing.assert_close(folded(x), ref, rtol=0, atol=1e-4 * scale)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for _ in range(3):  # CUDA graphs record on the second call and replay on the third
                out = run(x).float()
            unfolded = net.float()(x).float()
    assert torch.isfinite(out).all()
    # bf16: the folded network rounds its biases (beta - mean * s, which may nearly cancel the conv's output) to
    # bf16 where the unfolded one keeps BN in float32; measured up to 2.3x the unfolded network's error
    assert (out - ref).abs().max() <= 4 * (unfolded - ref).abs().max() + 1e-3 * scale
