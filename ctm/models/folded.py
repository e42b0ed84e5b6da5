"""Inference networks with every BatchNorm folded into the convolution before it (eval mode only).

In eval mode a BatchNorm is a per-channel affine map, so conv -> BN is one conv with weight W * s and bias
beta - mean * s (s = gamma / sqrt(var + eps)). The folded conv, its bias, the bottleneck's residual add and the
ReLU then run as one fused cuDNN call on CUDA (`torch.cudnn_convolution_relu` / `torch.cudnn_convolution_add_relu`),
instead of a convolution plus a separate pass that reads and writes the whole feature map again (BN apply + ReLU),
which Inductor cannot fuse into cuDNN's kernel. Elsewhere the same ops run as conv2d + bias (+ z) + ReLU.

`fold_for_inference(net)` returns a folded copy of a CTMNet (the TSN baseline included); `net` is left untouched.
Outputs equal the eval-mode network's up to float rounding (tests/models/test_folded.py).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ctm.models.ctm_block import CTMBlock, TemporalConv, TemporalPath
from ctm.models.network import CTMNet
from ctm.models.resnet import STAGE_NAMES, Bottleneck


def _conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _memory_format(x: torch.Tensor, weight: torch.Tensor) -> torch.memory_format:
    """channels_last when the input or the weight is (cuDNN's rule for its output), else contiguous."""
    def channels_last(t: torch.Tensor) -> bool:
        return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()

    return torch.channels_last if channels_last(x) or channels_last(weight) else torch.contiguous_format


def _empty_output(x, weight, stride, padding):
    n, _, h, w = x.shape
    kh, kw = weight.shape[-2:]
    shape = (n, weight.shape[0], _conv_out_size(h, kh, stride[0], padding[0]),
             _conv_out_size(w, kw, stride[1], padding[1]))
    return x.new_empty(shape).contiguous(memory_format=_memory_format(x, weight))


@torch.library.custom_op("ctm::conv_bias_relu", mutates_args=())
def conv_bias_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: list[int],
                   padding: list[int]) -> torch.Tensor:
    """relu(conv2d(x, weight) + bias): (N, Cin, H, W) -> (N, Cout, H', W'), one cuDNN kernel on CUDA."""
    fmt = _memory_format(x, weight)
    if x.is_cuda:
        out = torch.cudnn_convolution_relu(x, weight, bias, stride, padding, [1, 1], 1)
    else:
        out = F.relu(F.conv2d(x, weight, bias, stride, padding))
    return out.contiguous(memory_format=fmt)


@conv_bias_relu.register_fake
def _conv_bias_relu_fake(x, weight, bias, stride, padding):
    return _empty_output(x, weight, stride, padding)


@torch.library.custom_op("ctm::conv_bias_add_relu", mutates_args=())
def conv_bias_add_relu(x: torch.Tensor, weight: torch.Tensor, z: torch.Tensor, bias: torch.Tensor,
                       stride: list[int], padding: list[int]) -> torch.Tensor:
    """relu(conv2d(x, weight) + bias + z), z shaped like the output: a bottleneck's end, one cuDNN kernel on CUDA."""
    fmt = _memory_format(x, weight)
    if x.is_cuda:
        out = torch.cudnn_convolution_add_relu(x, weight, z.contiguous(memory_format=fmt), 1.0, bias, stride,
                                               padding, [1, 1], 1)
    else:
        out = F.relu(F.conv2d(x, weight, bias, stride, padding) + z)
    return out.contiguous(memory_format=fmt)


@conv_bias_add_relu.register_fake
def _conv_bias_add_relu_fake(x, weight, z, bias, stride, padding):
    return _empty_output(x, weight, stride, padding)


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the one conv equal to bn(conv(x)) in eval mode, computed in float64, returned as float32."""
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    bias = bn.bias.double() - bn.running_mean.double() * scale
    if conv.bias is not None:
        bias = bias + conv.bias.double() * scale
    return weight.float(), bias.float()


class FoldedConv(nn.Module):
    """A conv with its BatchNorm folded in: (N, Cin, H, W) [, z (N, Cout, H', W')] -> (N, Cout, H', W').

    activation "relu": relu(conv + b); "add_relu": relu(conv + b + z) (a bottleneck's end); "none": conv + b.
    `with_bias=False` (activation "none" only) drops the bias: the downsample, whose bias is added to its bottleneck's
    last conv.
    Under CUDA autocast the conv runs in the autocast dtype, as the unfolded conv would.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, activation: str = "relu", with_bias: bool = True):
        super().__init__()
        if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding_mode != "zeros":
            raise ValueError(f"only ungrouped, undilated, zero-padded convs are folded, got {conv}")
        if activation not in ("relu", "add_relu", "none"):
            raise ValueError(f"activation must be 'relu', 'add_relu' or 'none', got {activation!r}")
        if not with_bias and activation != "none":
            raise ValueError("the fused conv+bias(+add)+ReLU ops need the bias: with_bias=False is for 'none'")
        weight, bias = fold_conv_bn(conv, bn)
        self.register_buffer("weight", weight.contiguous(memory_format=_memory_format(conv.weight, conv.weight)))
        self.register_buffer("bias", bias if with_bias else None)
        self.stride, self.padding, self.activation = list(conv.stride), list(conv.padding), activation

    def _dtype(self, x: torch.Tensor) -> torch.dtype:
        return torch.get_autocast_dtype("cuda") if x.is_cuda and torch.is_autocast_enabled("cuda") else x.dtype

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        dtype = self._dtype(x)
        x, weight = x.to(dtype), self.weight.to(dtype)
        bias = None if self.bias is None else self.bias.to(dtype)
        if self.activation == "none":
            out = F.conv2d(x, weight, None, self.stride, self.padding)
            return out if bias is None else out + bias.view(1, -1, 1, 1)
        if self.activation == "relu":
            return conv_bias_relu(x, weight, bias, self.stride, self.padding)
        if z is None:
            raise ValueError("activation 'add_relu' needs the residual z")
        return conv_bias_add_relu(x, weight, z.to(dtype), bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.weight.shape[1]}, {self.weight.shape[0]}, kernel_size={tuple(self.weight.shape[-2:])}, "
                f"stride={tuple(self.stride)}, padding={tuple(self.padding)}, activation={self.activation}")


class FoldedBottleneck(nn.Module):
    """A Bottleneck with its four BNs folded: relu(conv3'(relu(conv2'(relu(conv1'(x))))) + b + identity')."""

    def __init__(self, block: Bottleneck):
        super().__init__()
        self.conv1 = FoldedConv(block.conv1, block.bn1, "relu")
        self.conv2 = FoldedConv(block.conv2, block.bn2, "relu")
        self.conv3 = FoldedConv(block.conv3, block.bn3, "add_relu")
        self.downsample = None
        if block.downsample is not None:
            conv, bn = block.downsample
            self.downsample = FoldedConv(conv, bn, "none", with_bias=False)
            self.conv3.bias += fold_conv_bn(conv, bn)[1]  # the shortcut's bias joins the last conv's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x)), identity)


def _fold_path(path: TemporalPath) -> None:
    """In place: reduce (conv, BN, ReLU) and expand (conv, BN) become FoldedConvs; a temporal conv also takes the
    BN + ReLU after it. TCC keeps its BN, which Inductor applies in one pass with the ReLU."""
    conv, bn, _ = path.reduce
    path.reduce = FoldedConv(conv, bn, "relu")
    conv, bn = path.expand
    path.expand = FoldedConv(conv, bn, "none")
    if isinstance(path.temporal, TemporalConv):
        path.temporal.conv = FoldedConv(path.temporal.conv, path.bn, "relu")
        path.bn, path.relu = nn.Identity(), nn.Identity()


@torch.no_grad()
def fold_for_inference(net: CTMNet) -> CTMNet:
    """A copy of `net` in eval mode with every BatchNorm folded into its convolution (see the module docstring)."""
    if net.training:
        raise ValueError("fold_for_inference needs a network in eval mode (call .eval()): BN folding uses its "
                         "running statistics")
    folded = copy.deepcopy(net).eval()
    folded.conv1 = FoldedConv(net.conv1, net.bn1, "relu")
    folded.bn1, folded.relu = nn.Identity(), nn.Identity()
    for stage in STAGE_NAMES:
        layer = getattr(folded, stage)
        for i, block in enumerate(layer):
            layer[i] = FoldedBottleneck(block)
    for block in folded.ctm_blocks.values():
        assert isinstance(block, CTMBlock)
        for path in block.paths.values():
            _fold_path(path)
    return folded
