"""The forward that training and testing call on loader batches: uint8 clips normalised on the device, optionally as
one torch.compile graph (with Inductor kept from formatting whole IR graphs into log messages)."""

from __future__ import annotations

import functools

import torch

from ctm.data.video_clips import normalise_uint8
from ctm.vocabulary import COMPILE_MODES


def to_device(clips: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A loader batch on `device`: uint8 batches (the store's fast path) travel as bytes and are normalised by the
    forward of `model_forward`, float batches arrive normalised already."""
    return clips.to(device, non_blocking=True)


@functools.cache  # the check reads Inductor's source: once per process
def shallow_fallback_messages() -> bool:
    """Keep Inductor from formatting whole IR graphs into a log message; True if it had to be patched.

    Before the log call became lazy (torch 2.13 has `LazyString(error.operator_str, ...)`), Inductor formatted
    "Creating implicit fallback for: <op> <args>" for every custom op without a lowering (ctm::tcc_*, the folded
    convolutions) whether or not the message is logged, and an argument's string is its whole upstream IR printed as
    a tree: minutes for an op deep in ResNet-101. Every test compile interrupted in the rehearsal on torch 2.11 was in
    that formatting (docs/rehearsal_run.md). The patch names the arguments' types instead; only the message changes."""
    import inspect

    from torch._inductor import exc, graph

    if "LazyString(error.operator_str" in inspect.getsource(graph.GraphLowering.call_function):
        return False

    def operator_str(target, args, kwargs) -> str:
        return f"  target: {target}\n  args: {[type(a).__name__ for a in args]}, kwargs: {sorted(kwargs or {})}"

    exc.OperatorIssue.operator_str = staticmethod(operator_str)
    return True


def model_forward(net: torch.nn.Module, compile_model: bool = False, mode: str = "default"):
    """`forward(clips) -> logits` for loader batches on the device: normalises uint8 clips (ImageNet statistics),
    then runs `net`. With `compile_model`, the whole function is one torch.compile graph in `mode`, so the uint8 ->
    float conversion and normalisation fuse with the first layer's input cast ("reduce-overhead" adds CUDA graphs).
    (Inductor's weight freezing for inference made testing slower on the H100: docs/performance.md.)"""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {mode!r}")

    def forward(clips: torch.Tensor) -> torch.Tensor:
        return net(normalise_uint8(clips) if clips.dtype == torch.uint8 else clips)

    if not compile_model:
        return forward
    shallow_fallback_messages()
    # Static shapes only (docs/protocol.md, "Compiled steps and batch shapes"): training batches are always full, and
    # any other shape (the last chunk of a video's test views, a set smaller than one batch) compiles a graph of its
    # own instead of one with a symbolic batch size, whose stride guesses broke cuDNN's weight gradients on an H200.
    return torch.compile(forward, mode=None if mode == "default" else mode, dynamic=False)
