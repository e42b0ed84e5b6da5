"""Throughput benchmarks of training and inference steps: clips/s, step time, peak memory, achieved FLOP/s.

`ctm bench train|eval --experiment NAME ...` runs these on the device at hand. Inputs are either synthetic tensors
already on the device (the model's own speed) or batches from the real loader (`--root`: the dataset's videos or
decoded store), so the gap between the two is the input pipeline's cost. FLOPs per clip come from ctm.models.cost
(forward); a training step counts three times the forward (forward, and backward for inputs and weights).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ctm.config import Config
from ctm.engine.build import build_model, experiment_cost
from ctm.engine.forward import model_forward, to_device
from ctm.models import tcc_ops
from ctm.models.ctm_block import DEFAULT_TCC_IMPL, TCC
from ctm.models.folded import fold_for_inference


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_tflops(device: torch.device, size: int = 8192, repeats: int = 20) -> float:
    """Measured dense bf16 (CUDA) or float32 (CPU) matmul rate in TFLOP/s: the denominator of MFU."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if device.type == "cpu":
        size, repeats = 1024, 5
    a, b = torch.randn(size, size, device=device, dtype=dtype), torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12


def synthetic_batches(cfg: Config, batch: int, num_classes: int, device: torch.device):
    """An endless stream of the same uint8 (B, T, 3, S, S) batch on the device (no input cost)."""
    i = cfg.preset.input
    g = torch.Generator().manual_seed(0)
    clips = torch.randint(0, 256, (batch, i.num_segments, 3, i.crop_size, i.crop_size), generator=g,
                          dtype=torch.uint8).to(device)
    labels = torch.randint(0, num_classes, (batch,), generator=g).to(device)
    return itertools.repeat((clips, labels))


def loader_batches(cfg: Config, experiment: str, root: str | Path, batch: int, workers: int, device: torch.device,
                   store: str | Path | None = None):
    """Batches of real training clips of the experiment's dataset (annotations under `root`; frames from the decoded
    `store`, or the raw videos), through a DataLoader, as `ctm train` reads them."""
    from ctm.data.splits import load_split
    from ctm.data.store import open_store
    from ctm.data.video_clips import VideoClips

    exp = cfg.experiment(experiment)
    opened = open_store(store) if store is not None else None
    split, _ = load_split(exp.dataset, root, "train", opened, exp.split)
    dataset = VideoClips(root, split.videos, cfg.preset.input, "train", seed=0, store=opened, uint8=opened is not None)
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=10**9)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers,
                                         pin_memory=device.type == "cuda", drop_last=True,
                                         persistent_workers=workers > 0, prefetch_factor=4 if workers else None)
    return iter(loader)


def build_step(cfg: Config, experiment: str, mode: str, batch: int, root: str | Path | None = None,
               workers: int = 8, compile_model: bool | None = None, tcc_impl: str | None = None,
               store: str | Path | None = None, cudnn_benchmark: bool = True, compile_mode: str | None = None,
               fold_bn: bool | None = None):
    """(step, info): `step()` runs one training (`mode="train"`) or inference (`"eval"`) step of `batch` clips, as
    `ctm train` / `ctm evaluate` do on this device; `info` describes the settings. `compile_model`, `compile_mode`,
    `tcc_impl` (ctm.models.tcc_ops) and `fold_bn` (inference on CUDA: ctm.models.folded) override the recipe's, the
    model's and the test protocol's defaults."""
    if mode not in ("train", "eval"):
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    exp, recipe = cfg.experiment(experiment), cfg.recipe(cfg.experiment(experiment))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda and cudnn_benchmark
    num_classes = cfg.num_classes(exp.dataset)
    model = build_model(cfg, exp, num_classes).to(device)
    for module in model.modules():
        if isinstance(module, TCC) and tcc_impl is not None:
            module.impl = tcc_impl
    if cuda and recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train(mode == "train")
    folded = cuda and mode == "eval" and (cfg.preset.test.fold_bn if fold_bn is None else fold_bn)
    if folded:
        model = fold_for_inference(model)
    use_compile = recipe.compile if compile_model is None else compile_model
    graph_mode = compile_mode or recipe.compile_mode
    forward = model_forward(model, cuda and use_compile, graph_mode)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4, fused=cuda or None)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and recipe.amp)
    source = synthetic_batches(cfg, batch, num_classes, device) if root is None else \
        loader_batches(cfg, experiment, root, batch, workers, device, store)

    def step() -> None:
        clips, labels = next(source)
        clips, labels = to_device(clips, device), labels.to(device, non_blocking=True)
        if mode == "eval":
            with torch.no_grad(), autocast:
                forward(clips)
            return
        with autocast:
            loss = F.cross_entropy(forward(clips).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step.model = model  # what the step trains or runs, for inspection
    info = {
        "experiment": experiment, "mode": mode, "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "input": ("store" if store else "raw videos") if root is not None else "synthetic tensors",
        "loader_workers": workers if root is not None else 0, "batch": batch,
        "amp_bf16": cuda and recipe.amp, "channels_last": cuda and recipe.channels_last,
        "compile": cuda and use_compile, "compile_mode": graph_mode if cuda and use_compile else None,
        "cudnn_benchmark": cuda and cudnn_benchmark, "fold_bn": folded,
        "tcc_impl": tcc_ops.pick_implementation(tcc_impl or DEFAULT_TCC_IMPL, device), "num_classes": num_classes,
    }
    return step, info


def bench(cfg: Config, experiment: str, mode: str, batch: int, steps: int = 30, warmup: int = 10,
          root: str | Path | None = None, workers: int = 8, compile_model: bool | None = None,
          tcc_impl: str | None = None, store: str | Path | None = None, cudnn_benchmark: bool = True,
          compile_mode: str | None = None, fold_bn: bool | None = None) -> dict:
    """Time `steps` steps of `build_step(...)` after `warmup` steps: clips/s, step ms, achieved TFLOP/s, peak memory."""
    step, info = build_step(cfg, experiment, mode, batch, root, workers, compile_model, tcc_impl, store,
                            cudnn_benchmark, compile_mode, fold_bn)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    if cuda:  # the peak includes the warm-up, where CUDA graphs allocate their memory pools
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - start
    num_classes = info.pop("num_classes")
    gflops = experiment_cost(cfg, experiment, num_classes)["gflops"] * (3 if mode == "train" else 1)
    clips_per_s = batch * steps / seconds
    return {
        **info, "steps": steps,
        "clips_per_s": clips_per_s, "step_ms": 1000 * seconds / steps,
        "achieved_tflops": clips_per_s * gflops / 1000, "gflops_per_clip": gflops,
        "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None,
    }
