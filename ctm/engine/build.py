"""Build a run's model and data from its resolved `Run`, identically for training and evaluation."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ctm import cpu_kernels
from ctm.config import Config, Experiment
from ctm.data.annotations import dataset_classes, read_annotations
from ctm.data.store import Store
from ctm.data.video_clips import normalise_uint8, split_available
from ctm.engine.run import Run, resolve_run
from ctm.errors import MissingInputError
from ctm.models import CTMNet
from ctm.models.cost import model_cost
from ctm.models.pretrained import load_pretrained
from ctm.vocabulary import BACKBONES, COMPILE_MODES


def build_run_model(run: Run, num_classes: int, pretrained: bool = False) -> CTMNet:
    """The run's network; with `pretrained`, its backbone starts from the ImageNet weights that `model.pretrained`
    names for it (if any), fetched into (or found in) the preset's weights folder. On a CPU preset torch's side of the
    pinned CPU kernels is applied first (oneDNN off, one thread: ctm.cpu_kernels)."""
    if run.device == "cpu":
        cpu_kernels.apply_to_torch()
    m, i, exp = run.model, run.input, run.spec
    model = CTMNet(
        depth=BACKBONES[exp.backbone],
        num_classes=num_classes,
        num_segments=i.num_segments,
        input_size=i.crop_size,
        width=m.width,
        ctm_stage=exp.ctm.stage if exp.ctm else None,
        ctm_after=exp.ctm.after if exp.ctm else (),
        reduction=m.reduction,
        paths=exp.ctm.paths if exp.ctm else (),
        dropout=m.dropout,
        zero_init_residual=m.zero_init_residual,
        path_gamma_init=m.path_gamma_init,
    )
    if pretrained and run.pretrained is not None:
        load_pretrained(model, run.pretrained, cache=run.weights_dir)
    return model


def build_model(cfg: Config, exp: Experiment, num_classes: int, pretrained: bool = False) -> CTMNet:
    """The experiment's network under `cfg` (for those holding a Config: the cost tables, the benchmarks): that of
    its run, `build_run_model`."""
    return build_run_model(resolve_run(cfg, exp.name), num_classes, pretrained)


def experiment_cost(cfg: Config, name: str, num_classes: int) -> dict[str, float]:
    """Params and forward cost per clip of an experiment's network at the preset's input (ctm.models.cost)."""
    exp, i = cfg.experiment(name), cfg.preset.input
    return model_cost(lambda: build_model(cfg, exp, num_classes), (i.num_segments, 3, i.crop_size, i.crop_size))


@dataclass(frozen=True)
class Split:
    """The videos of one subset: those present (on disk, or decoded "ok" in the store), and how many listed ones are
    missing."""

    videos: pd.DataFrame
    num_missing: int


def load_split(dataset: str, root: str | Path, subset: str, store: Store | None = None,
               split: int = 1) -> tuple[Split, list[str]]:
    """(the subset's present videos and missing count, the class names in label order).

    `subset` "eval" is the dataset's evaluation subset: "val" (Kinetics) or "test" (UCF-101, HMDB-51 splits)."""
    ann = read_annotations(dataset, root, split)
    names = dataset_classes(dataset, root)
    if subset == "eval":
        subset = "val" if (ann["subset"] == "val").any() else "test"
    rows = ann[ann["subset"] == subset]
    present, missing = store.split(rows) if store is not None else split_available(root, rows)
    if present.empty:
        where = f"the store {store.root}" if store is not None else root
        raise MissingInputError(f"{where}: none of the {len(missing)} {subset} videos of {dataset} are available")
    return Split(present, len(missing)), names


def why_missing(run: Run, root: str | Path, store: Store | None) -> Path:
    """The file that says why a video is missing: the clips manifest of a Kinetics dataset, else the store's."""
    if run.dataset.clips is not None:
        return Path(root) / "videos_manifest.csv"
    return Path(store.root) / "manifest.csv" if store is not None else Path(root)


def check_coverage(run: Run, subset: str, split: Split, manifest: Path) -> None:
    """Refuse a subset holding fewer videos than `min_coverage` of the paper's count (of those listed, on a
    synthetic stand-in or where the paper gives none): the error names the counts and the manifest that says why
    each missing video is missing."""
    from ctm.report.paper import paper_videos

    exp = run.spec
    listed = len(split.videos) + split.num_missing
    reference, of = listed, "listed"
    if run.dataset.source != "synthetic":
        train, evaluation = paper_videos(exp.dataset, [exp.split])
        paper = train if subset == "train" else evaluation
        if paper:
            reference, of = paper, "the paper's"
    need = math.ceil(run.min_coverage * reference)
    if len(split.videos) < need:
        raise MissingInputError(
            f"{exp.dataset} {subset}: {len(split.videos):,} videos present of {listed:,} listed, fewer than "
            f"presets.{run.preset}.min_coverage = {run.min_coverage:g} of {of} {reference:,} ({need:,}); "
            f"{manifest} says why each is missing: fetch the missing ones again, or lower min_coverage in params.yaml")


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
    that formatting (reports/rehearsal.md). The patch names the arguments' types instead; only the message changes."""
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
    (Inductor's weight freezing for inference made testing slower on the H100: reports/performance.md.)"""
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
