"""Every TCC implementation computes Eq. 1: compared with the float64 tap-by-tap reference, forward and backward."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from ctm.models import tcc_ops
from ctm.models.ctm_block import TCC

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def test_reference_is_eq1_on_a_hand_computed_case():
    # one position, T=3, C=3, only the centre-right tap K[1, 2] = 2 set: O[t, c] = 2 * F[t, c + 1]
    x = torch.arange(9.0).view(1, 3, 3, 1, 1)
    k = torch.zeros(1, 1, 3, 3)
    k[0, 0, 1, 2] = 2.0
    out = tcc_ops.reference(x, k).view(3, 3)
    expected = torch.tensor([[2.0, 4.0, 0.0], [8.0, 10.0, 0.0], [14.0, 16.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl", sorted(tcc_ops.IMPLEMENTATIONS))
@pytest.mark.parametrize("channels_last", [False, True])
def test_implementation_matches_reference(impl, device, channels_last):
    if impl == "triton" and device == "cpu":
        pytest.skip("the Triton kernels run on CUDA (and on CPU only under TRITON_INTERPRET=1: see below)")
    g = torch.Generator().manual_seed(0)
    n, t, c, h, w = 2, 8, 12, 5, 7
    x = torch.randn(n * t, c, h, w, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x = x.to(device).requires_grad_(True)
    weight = torch.randn(h * w, 1, 3, 3, generator=g).to(device).requires_grad_(True)
    out = tcc_ops.IMPLEMENTATIONS[impl](x.view(n, t, c, h, w) if not channels_last else x.unflatten(0, (n, t)),
                                        weight)
    ref_x, ref_w = x.detach().double().cpu().requires_grad_(True), weight.detach().double().cpu().requires_grad_(True)
    ref = tcc_ops.reference(ref_x.unflatten(0, (n, t)), ref_w)
    torch.testing.assert_close(out.double().cpu(), ref.detach(), rtol=1e-5, atol=1e-5)
    grad = torch.randn(out.shape, generator=g)
    out.backward(grad.to(device))
    ref.backward(grad.double())
    torch.testing.assert_close(x.grad.double().cpu(), ref_x.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(weight.grad.double().cpu(), ref_w.grad, rtol=1e-5, atol=1e-4)


def test_module_impls_agree_and_share_state_dict():
    a, b = TCC(8, (4, 4), impl="grouped_conv"), TCC(8, (4, 4), impl="shifted_sum")
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 8, 8, 4, 4)
    torch.testing.assert_close(a(x), b(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown TCC impl"):
        TCC(8, 4, impl="nope")


INTERPRETED_CHECK = textwrap.dedent("""
    import torch
    from ctm.models import tcc_ops, tcc_triton
    g = torch.Generator().manual_seed(1)
    n, t, c, h, w = 2, 6, 20, 3, 5  # C not a multiple of the kernel's channel block; odd H*W
    for kt, kc in [(3, 3), (1, 5), (5, 3)]:
        x = torch.randn(n * t, c, h, w, generator=g).contiguous(memory_format=torch.channels_last)
        x.requires_grad_(True)
        k = torch.randn(h * w, 1, kt, kc, generator=g, requires_grad=True)
        out = tcc_triton.tcc(x, k, t)
        assert out.is_contiguous(memory_format=torch.channels_last)
        rx, rk = x.detach().double().requires_grad_(True), k.detach().double().requires_grad_(True)
        ref = tcc_ops.reference(rx.unflatten(0, (n, t)), rk).flatten(0, 1)
        torch.testing.assert_close(out.double(), ref.detach(), rtol=1e-5, atol=1e-5)
        grad = torch.randn(out.shape, generator=g)
        out.backward(grad)
        ref.backward(grad.double())
        torch.testing.assert_close(x.grad.double(), rx.grad, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(k.grad.double(), rk.grad, rtol=1e-5, atol=1e-4)
    # strides of the real outputs = the fake (meta) kernels' (what torch.compile plans with), also for a weight that
    # model.to(memory_format=torch.channels_last) has restrided
    k_cl = k.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    torch.library.opcheck(torch.ops.ctm.tcc.default, (x.detach().requires_grad_(True), k_cl, t))
    torch.library.opcheck(torch.ops.ctm.tcc_backward.default, (grad, x.detach(), k_cl.detach(), t))
    print("ok")
""")


def test_triton_kernels_match_reference_in_the_interpreter():
    """The Triton kernels (the CUDA default) run on CPU tensors under TRITON_INTERPRET=1, set before Triton loads."""
    triton = pytest.importorskip("triton")
    if tuple(int(v) for v in triton.__version__.split(".")[:2]) < (3, 9):
        # Triton 3.6's interpreter fails on these kernels (numpy scalar conversion) that compile and pass on CUDA
        pytest.skip(f"the Triton {triton.__version__} interpreter; the CUDA parametrisations above test the kernels")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run([sys.executable, "-c", INTERPRETED_CHECK], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_auto_picks_triton_only_on_cuda():
    assert tcc_ops.pick_implementation("auto", torch.device("cpu")) == "grouped_conv"
    expected = "triton" if "triton" in tcc_ops.IMPLEMENTATIONS else "grouped_conv"
    assert tcc_ops.pick_implementation("auto", torch.device("cuda")) == expected
    assert tcc_ops.pick_implementation("shifted_sum", torch.device("cuda")) == "shifted_sum"
