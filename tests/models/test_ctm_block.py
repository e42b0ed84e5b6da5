import itertools

import pytest
import torch
import torch.nn.functional as F

from ctm.models import TCC, CTMBlock


def eq1_reference(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Eq. 1 written out with loops, in float64: O[t,c,h,w] = sum_ij K[h,w,i,j] F[t+i-pT, c+j-pC, h, w] (zero pad)."""
    n, t_len, c_len, h_len, w_len = x.shape
    k_t, k_c = weight.shape[-2:]
    x, weight = x.double(), weight.double().view(h_len, w_len, k_t, k_c)
    out = torch.zeros_like(x)
    for t, c, i, j in itertools.product(range(t_len), range(c_len), range(k_t), range(k_c)):
        ts, cs = t + i - k_t // 2, c + j - k_c // 2
        if 0 <= ts < t_len and 0 <= cs < c_len:
            out[:, t, c] += weight[:, :, i, j] * x[:, ts, cs]
    return out


@pytest.mark.parametrize("kernel", [(3, 3), (3, 5), (1, 3)])
def test_tcc_matches_eq1_in_float64(kernel):
    torch.manual_seed(0)
    tcc = TCC(channels=6, spatial_size=(3, 4), kernel_size=kernel).double()
    torch.nn.init.normal_(tcc.weight)
    x = torch.randn(2, 5, 6, 3, 4, dtype=torch.float64)
    out = tcc(x)
    ref = eq1_reference(x, tcc.weight)
    assert out.shape == x.shape
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_tcc_float32_close_to_reference():
    torch.manual_seed(1)
    tcc = TCC(8, 4)
    x = torch.randn(3, 8, 8, 4, 4)
    ref = eq1_reference(x, tcc.weight)
    assert (tcc(x).double() - ref).norm() / ref.norm() < 1e-5


def test_tcc_weight_shape_is_the_papers():
    assert TCC(16, (14, 14)).weight.shape == (196, 1, 3, 3)


def test_tcc_filters_are_unshared_per_position():
    tcc = TCC(4, (2, 2))
    with torch.no_grad():
        tcc.weight.zero_()
        tcc.weight[1, 0, 1, 1] = 1.0  # identity at position (0, 1) only
    x = torch.randn(1, 3, 4, 2, 2)
    out = tcc(x)
    assert torch.equal(out[..., 0, 1], x[..., 0, 1])
    assert out[..., 0, 0].abs().max() == 0 and out[..., 1, :].abs().max() == 0


def test_tcc_rejects_other_spatial_size():
    tcc = TCC(4, (4, 4))
    with pytest.raises(ValueError, match=r"built for a 4x4 feature map but got 5x5"):
        tcc(torch.randn(1, 8, 4, 5, 5))


def test_tcc_rejects_even_kernel_and_wrong_rank():
    with pytest.raises(ValueError, match="odd"):
        TCC(4, 4, kernel_size=(2, 3))
    with pytest.raises(ValueError, match=r"\(N, T, C, H, W\)"):
        TCC(4, 4)(torch.randn(8, 4, 4, 4))


@pytest.mark.parametrize("paths", [("tccm",), ("temporal",), ("tccm", "temporal")])
def test_ctm_block_is_identity_at_init_and_learns(paths):
    torch.manual_seed(0)
    block = CTMBlock(in_channels=16, num_segments=4, spatial_size=(5, 5), reduction=4, paths=paths)
    x = torch.randn(2 * 4, 16, 5, 5, requires_grad=True)
    for mode in (block.train, block.eval):
        mode()
        assert torch.equal(block(x), x)
    block.train()
    block(x).square().sum().backward()
    for path in block.paths.values():
        assert path.expand[1].weight.grad.abs().sum() > 0  # the zero-initialised BN receives gradient
    assert set(block.paths) == set(paths)


def test_ctm_block_mixes_time_once_trained():
    torch.manual_seed(0)
    block = CTMBlock(8, num_segments=4, spatial_size=3, reduction=2, paths=("temporal",)).eval()
    torch.nn.init.ones_(block.paths["temporal"].expand[1].weight)
    x = torch.randn(4, 8, 3, 3)
    y0 = block(x)
    x2 = x.clone()
    x2[0] += 1.0  # change frame 0 only
    changed = (block(x2) - y0).abs().flatten(1).sum(1)
    assert changed[1] > 0  # frame 1 sees frame 0 through the 3x1x1 temporal conv
    assert changed[3] == 0  # frame 3 is beyond the kernel's reach


def test_ctm_block_validates_arguments():
    with pytest.raises(ValueError, match="paths"):
        CTMBlock(8, 4, 3, paths=("spatial",))
    with pytest.raises(ValueError, match="divisible"):
        CTMBlock(10, 4, 3, reduction=4)
    with pytest.raises(ValueError, match="num_segments"):
        CTMBlock(8, 4, 3, reduction=2)(torch.randn(6, 8, 3, 3))


def test_temporal_conv_is_a_3x1x1_conv3d():
    from ctm.models.ctm_block import TemporalConv

    conv = TemporalConv(6)
    x = torch.randn(2, 8, 6, 5, 7)
    expected = F.conv3d(x.transpose(1, 2), conv.conv.weight.unsqueeze(-1), padding=(1, 0, 0)).transpose(1, 2)
    torch.testing.assert_close(conv(x), expected)


def test_network_runs_channels_last_with_the_same_output():
    from ctm.models import CTMNet

    torch.manual_seed(0)
    net = CTMNet(depth=50, num_classes=5, num_segments=8, input_size=64, width=0.0625, ctm_stage="res4",
                 ctm_after=[1, 3, 5], paths=["tccm", "temporal"]).eval()
    for m in net.modules():  # non-zero last BNs, so the paths contribute
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
    x = torch.randn(2, 8, 3, 64, 64)
    with torch.no_grad():
        expected = net(x)
        out = net.to(memory_format=torch.channels_last)(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
