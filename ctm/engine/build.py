"""A run's network, built from its resolved `Run` identically for training, evaluation and the cost tables."""

from __future__ import annotations

from ctm import cpu_kernels
from ctm.config import Config, Experiment
from ctm.engine.run import Run, resolve_run
from ctm.models import CTMNet
from ctm.models.cost import model_cost
from ctm.models.pretrained import load_pretrained
from ctm.vocabulary import BACKBONES


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
