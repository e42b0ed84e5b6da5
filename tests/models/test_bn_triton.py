"""Training BN (+ residual) (+ ReLU) as Triton ops: the same function, gradients and running statistics as
nn.BatchNorm2d followed by the add and the ReLU."""

import copy
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ctm.models import CTMNet, bn_triton
from ctm.models.batchnorm import BatchNorm2d, set_fused

CUDA = torch.cuda.is_available()

# Run on CPU tensors under TRITON_INTERPRET=1 (set before Triton loads), and as is on CUDA.
OP_CHECK = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    from ctm.models import bn_triton
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(0)

    def check(shape, relu, has_z, offset=5.0):
        n, c, h, w = shape
        def make(*s, scale=1.0, shift=0.0):
            t = torch.randn(*s, generator=g) * scale + shift
            return t.to(device).contiguous(memory_format=torch.channels_last) if len(s) == 4 else t.to(device)
        x = make(n, c, h, w, scale=3.0, shift=offset).requires_grad_(True)
        z = make(n, c, h, w).requires_grad_(True) if has_z else None
        weight = (torch.rand(c, generator=g) + 0.5).to(device).requires_grad_(True)
        bias = make(c).requires_grad_(True)
        y, mean, invstd, var = bn_triton.bn_act_train(x, weight, bias, z, 1e-5, relu)
        assert y.is_contiguous(memory_format=torch.channels_last) and y.dtype == x.dtype
        leaves = [x, weight, bias] + ([z] if has_z else [])
        ref_leaves = [t.detach().double().requires_grad_(True) for t in leaves]
        rx, rw, rb = ref_leaves[:3]
        rm, rv = torch.zeros(c, dtype=torch.float64, device=device), torch.ones(c, dtype=torch.float64, device=device)
        ref = F.batch_norm(rx, rm, rv, rw, rb, True, 1.0, 1e-5)  # momentum 1: running stats = batch stats
        ref = ref + ref_leaves[3] if has_z else ref
        ref = torch.relu(ref) if relu else ref
        scale = ref.detach().abs().max().item()
        torch.testing.assert_close(y.double(), ref.detach(), rtol=0, atol=1e-5 * scale)
        torch.testing.assert_close(mean.double(), rm, rtol=1e-5, atol=1e-5 * abs(offset))
        torch.testing.assert_close(var.double(), rv, rtol=1e-4, atol=1e-5)
        grad = make(n, c, h, w)
        y.backward(grad)
        ref.backward(grad.double())
        for got, want in zip(leaves, ref_leaves):
            torch.testing.assert_close(got.grad.double(), want.grad, rtol=1e-4,
                                       atol=1e-5 * want.grad.abs().max().item())

    for relu in (False, True):
        for has_z in (False, True):
            check((3, 20, 5, 7), relu, has_z)  # C not a multiple of the channel block, odd H*W
            check((2, 72, 4, 4), relu, has_z)  # two channel blocks
    bn_triton.PROGRAMS_TARGET = 3  # a few programs, each looping over several row tiles (the merge of partials)
    check((4, 8, 17, 9), True, True)
    check((4, 8, 17, 9), True, False, offset=300.0)  # a large mean against unit-scale deviations
    x = torch.randn(2, 8, 5, 5, device=device).contiguous(memory_format=torch.channels_last)
    w, b = torch.rand(8, device=device) + 0.5, torch.randn(8, device=device)
    for z, relu in [(None, True), (torch.randn_like(x), True), (torch.randn_like(x), False)]:
        # real outputs' strides = the fake kernels' (what torch.compile plans with); autograd formula registered
        torch.library.opcheck(torch.ops.ctm.bn_act_train.default, (x.requires_grad_(True), w.requires_grad_(True),
                                                                 b.requires_grad_(True), z, 1e-5, relu))
        out = bn_triton.bn_act_train(x.detach(), w.detach(), b.detach(), z, 1e-5, relu)
        y = out[0] if (relu and z is not None) else None
        torch.library.opcheck(torch.ops.ctm.bn_act_train_backward.default,
                              (torch.randn_like(x), x.detach(), y, w.detach(), b.detach(), out[1], out[2], relu))
    print("ok")
""")


def _run_op_check(env: dict) -> None:
    result = subprocess.run([sys.executable, "-c", OP_CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_op_matches_float64_batchnorm_in_the_interpreter():
    triton = pytest.importorskip("triton")
    if tuple(int(v) for v in triton.__version__.split(".")[:2]) < (3, 9):
        pytest.skip(f"the Triton {triton.__version__} interpreter; the CUDA test below runs the same check")
    _run_op_check({**os.environ, "TRITON_INTERPRET": "1"})


@pytest.mark.skipif(not CUDA or not bn_triton.available(), reason="needs CUDA and Triton")
def test_op_matches_float64_batchnorm_on_cuda():
    _run_op_check({k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"})


def test_act_without_the_triton_op_is_bn_add_relu():
    """CPU, eval mode or `fused` off: `act` is the module, the add and the ReLU (the embedded runs' arithmetic)."""
    bn = BatchNorm2d(6)
    bn.fused = True  # no effect on CPU
    ref = nn.BatchNorm2d(6)
    ref.load_state_dict(bn.state_dict())
    x, z = torch.randn(2, 6, 4, 4), torch.randn(2, 6, 4, 4)
    torch.testing.assert_close(bn.act(x, residual=z), F.relu(ref(x) + z), rtol=0, atol=0)
    torch.testing.assert_close(bn.act(x, relu=False), ref(x), rtol=0, atol=0)
    torch.testing.assert_close(bn.running_mean, ref.running_mean)
    assert int(bn.num_batches_tracked) == int(ref.num_batches_tracked) == 2


def test_set_fused_reaches_every_batchnorm_and_keeps_the_state_dict():
    net = CTMNet(depth=50, num_classes=5, num_segments=4, input_size=64, width=0.125, ctm_stage="res4",
                 ctm_after=(1,), paths=("tccm", "temporal"))
    keys = list(net.state_dict())
    count = set_fused(net, True)
    assert count == sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) > 53
    assert all(m.fused for m in net.modules() if isinstance(m, BatchNorm2d))
    assert list(net.state_dict()) == keys


def _train_step(net: nn.Module, x: torch.Tensor, labels: torch.Tensor, fused: bool, compiled: bool = False):
    """(loss, {name: grad}, {name: buffer}) of one forward + backward, float64 copies."""
    set_fused(net, fused)
    forward = torch.compile(net, mode="reduce-overhead") if compiled else net
    for p in net.parameters():
        p.grad = None
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=x.dtype == torch.bfloat16):
        loss = F.cross_entropy(forward(x.to(next(net.parameters()).dtype)).float(), labels)
    loss.backward()
    grads = {n: p.grad.double().clone() for n, p in net.named_parameters()}
    buffers = {n: b.double().clone() for n, b in net.named_buffers()}
    return loss.detach().double().clone(), grads, buffers


@pytest.mark.skipif(not CUDA or not bn_triton.available(), reason="needs CUDA and Triton")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_network_trains_like_the_native_one_on_cuda(dtype):
    """A CTM-R50 training step (narrow; float32 with TF32 off, or bf16 autocast; channels_last; eager and compiled
    with CUDA graphs): the loss, every gradient and every running statistic with the Triton BN are as close to a
    float64 step as nn.BatchNorm2d's (within 3x its error, plus a small floor)."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    net = CTMNet(depth=50, num_classes=6, num_segments=4, input_size=64, width=0.25, ctm_stage="res4",
                 ctm_after=(1, 3), paths=("tccm", "temporal"), dropout=0.0)  # no dropout: the runs must agree
    for m in net.modules():  # non-zero last BNs so that every path carries gradient
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(4, 4, 3, 64, 64, device="cuda")
    labels = torch.randint(0, 6, (4,), device="cuda")
    reference = copy.deepcopy(net).double().cuda()
    for m in reference.modules():
        if hasattr(m, "impl"):
            m.impl = "grouped_conv"  # the float64 TCC
    want = _train_step(reference, x.double(), labels, fused=False)
    net = net.cuda().to(memory_format=torch.channels_last)
    for m in net.modules():
        if hasattr(m, "impl"):
            m.impl = "auto"
    runs = {}
    for name, fused, compiled in [("native", False, False), ("fused", True, False), ("fused compiled", True, True)]:
        net.load_state_dict(state)
        runs[name] = _train_step(net, x.to(dtype), labels, fused=fused, compiled=compiled)
    floor = 1e-4 if dtype == torch.float32 else 1e-2
    for name in ("fused", "fused compiled"):
        for got, base, ref in zip(runs[name], runs["native"], want, strict=True):
            got, base, ref = (v if isinstance(v, dict) else {"loss": v} for v in (got, base, ref))
            for key, r in ref.items():
                scale = r.abs().max().item() + 1e-12
                err, native_err = (got[key] - r).abs().max().item(), (base[key] - r).abs().max().item()
                assert err <= 3 * native_err + floor * scale, (name, key, err, native_err, scale)
