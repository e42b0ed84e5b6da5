"""The checks of a typed params.yaml that its schema (params.schema.yaml) cannot express: references between
experiments, presets, recipes, groups and tables, weights that match their backbone, and fields that one another's
values require. The schema has already checked every key, type and closed list (ctm.vocabulary) when these run.
"""

from __future__ import annotations

from ctm.config.params_file import ConfigError
from ctm.config.specs import ClipsSpec, Config
from ctm.vocabulary import DATASET_INFO, TORCHVISION_WEIGHTS, looks_like_weights_location, weights_architecture


def check_config(cfg: Config) -> None:
    """Raise a ConfigError naming the key's path in params.yaml for the first inconsistency of `cfg`."""
    p = cfg.preset
    _check_pretrained(cfg)
    for name, spec in p.datasets.items():
        if spec.source != "local" and not spec.files:
            raise ConfigError(f"presets.{cfg.preset_name}.datasets.{name}.files: a {spec.source} dataset needs the "
                              "list of files to download")
        if spec.source == "synthetic" and spec.synthetic is None:
            raise ConfigError(f"presets.{cfg.preset_name}.datasets.{name}.synthetic: missing")
        _check_clips(f"presets.{cfg.preset_name}.datasets.{name}.clips", name, spec.clips)
    if p.input.crop_size > p.input.resize_short:
        raise ConfigError(f"presets.{cfg.preset_name}.input: crop_size exceeds resize_short")
    for name, exp in cfg.experiments.items():
        where = f"experiments.{name}"
        if exp.dataset not in p.datasets:
            raise ConfigError(f"{where}.dataset: {exp.dataset!r} is not a dataset of preset {cfg.preset_name!r}")
        if exp.recipe not in p.recipes:
            raise ConfigError(f"{where}.recipe: {exp.recipe!r} is not a recipe of preset {cfg.preset_name!r}")
        if exp.init is not None and (exp.init not in cfg.experiments or exp.init == name):
            raise ConfigError(f"{where}.init: {exp.init!r} is not another experiment of params.yaml")
        seen, parent = {name}, exp.init
        while parent is not None:
            if parent in seen:
                raise ConfigError(f"{where}.init: the chain of `init` experiments loops back to {parent!r}")
            seen.add(parent)
            parent = cfg.experiments[parent].init if parent in cfg.experiments else None
    for rname, recipe in p.recipes.items():
        pdb = recipe.per_device_batch
        if pdb is not None and recipe.batch_size % pdb:
            raise ConfigError(f"presets.{cfg.preset_name}.recipes.{rname}.per_device_batch: {pdb} must divide "
                              f"batch_size {recipe.batch_size}")
    for gname, members in cfg.groups.items():
        if gname in cfg.experiments:
            raise ConfigError(f"groups.{gname}: the name is also an experiment's")
        for m in members:
            if m not in cfg.experiments:
                raise ConfigError(f"groups.{gname}: unknown experiment {m!r}")
    for tname, table in cfg.tables.items():
        for row, cols in table.rows.items():
            for col, name in (cols.items() if isinstance(cols, dict) else [("", cols)]):
                where = f"tables.{tname}.rows.{row}" + (f".{col}" if col else "")
                if not isinstance(name, str) or (name not in cfg.experiments and name not in cfg.groups):
                    raise ConfigError(f"{where}: {name!r} is neither an experiment nor a group")


def _check_pretrained(cfg: Config) -> None:
    """Every backbone that starts from ImageNet has weights, and they are that backbone's: a ResNet-50 file named for
    ResNet-101 fails here, when params.yaml is loaded, not after hours of data preparation."""
    where = f"presets.{cfg.preset_name}.model.pretrained"
    weights = cfg.preset.model.pretrained
    if weights is None:
        return
    for backbone, spec in weights.items():
        if spec not in TORCHVISION_WEIGHTS and not looks_like_weights_location(spec):
            raise ConfigError(f"{where}.{backbone}: {spec!r} is neither a torchvision weight name "
                              f"({', '.join(TORCHVISION_WEIGHTS)}) nor a URL or a path")
        arch = weights_architecture(spec)
        if arch is not None and arch != backbone:
            raise ConfigError(f"{where}.{backbone}: {spec!r} holds {arch} weights, not {backbone}'s; name the "
                              f"{backbone} weights (e.g. {backbone}_v1)")
    needed = sorted({e.backbone for e in cfg.experiments.values() if e.init is None})
    lacking = [b for b in needed if b not in weights]
    if lacking:
        users = [n for n, e in cfg.experiments.items() if e.init is None and e.backbone in lacking]
        raise ConfigError(f"{where}: no weights for {lacking}, which {users[:3]} start from; add "
                          f"`{lacking[0]}: {lacking[0]}_v1` (or set pretrained: null to train from scratch)")


def _check_clips(where: str, dataset: str, clips: ClipsSpec | None) -> None:
    """A Kinetics dataset names where its clips come from, with what that source needs; no other dataset does."""
    kinetics = DATASET_INFO[dataset].youtube_clips
    if (clips is not None) != kinetics:
        raise ConfigError(f"{where}: " + ("a Kinetics dataset needs `clips` (source cvdf, youtube or local)" if kinetics
                                          else "only the Kinetics datasets fetch clips; remove it"))
    if clips is None:
        return
    need = {"cvdf": ("shard_lists", clips.shard_lists), "youtube": ("url", clips.url),
            "local": ("folders", clips.folders)}[clips.source]
    if not need[1]:
        raise ConfigError(f"{where}.{need[0]}: needed by source {clips.source!r}")
