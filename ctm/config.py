"""A typed, validated view of params.yaml: the preset, the experiments and the tables.

Every other module receives these dataclasses, never the raw dict. Unknown or missing keys are errors that name the
key's full path in params.yaml.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from ctm.models.ctm_block import PATH_NAMES

DATASETS = ("mini_kinetics_200", "kinetics_600", "ucf101", "hmdb51")
DATASET_CLASSES = {"mini_kinetics_200": 200, "kinetics_600": 600, "ucf101": 101, "hmdb51": 51}
BACKBONES = {"resnet50": 50, "resnet101": 101}
AVERAGING = ("softmax_mean", "logit_mean", "softmax_sum")


class ConfigError(ValueError):
    """params.yaml is malformed; the message names the key and the file."""


@dataclass(frozen=True)
class SyntheticSpec:
    pairs: list[str]  # class pairs by key (ctm.data.synthetic_motion.PAIR_KEYS): 2 classes each
    train_per_class: int
    val_per_class: int
    num_frames: int
    fps: int
    height: int
    width: int
    seed: int
    missing_fraction: float


@dataclass(frozen=True)
class DatasetSpec:
    source: str  # "synthetic": written by `ctm synth`; "local": the official files, extracted under the root
    synthetic: SyntheticSpec | None = None


@dataclass(frozen=True)
class ModelSpec:
    width: float
    pretrained: str | None
    dropout: float
    reduction: int
    zero_init_residual: bool


@dataclass(frozen=True)
class InputSpec:
    num_segments: int
    frame_interval: int
    resize_short: int
    crop_size: int
    hflip: bool


@dataclass(frozen=True)
class EvalSpec:
    num_clips: int
    num_crops: int
    averaging: str
    batch_views: int


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    lr_milestones: list[int]
    lr_gamma: float
    momentum: float
    weight_decay: float
    num_workers: int
    cache_videos: bool  # decode each training video once per run and keep its frames in RAM (same results, faster)
    seed: int
    # Clips per device per forward; None: batch_size / devices. Smaller values accumulate gradients over
    # batch_size / (devices * per_device_batch) micro-batches, so the global batch (and the lr) stays the paper's.
    per_device_batch: int | None = None
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU, where runs stay float32 and bit-reproducible)
    channels_last: bool = True  # NHWC weights and activations on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the model on CUDA
    # "Partial BN" for fine-tuning: every BatchNorm except the first (bn1) keeps its statistics and affine
    # parameters; BN layers of CTM blocks that the parent checkpoint does not have always train.
    freeze_bn: bool = False


@dataclass(frozen=True)
class Preset:
    description: str
    datasets: dict[str, DatasetSpec]
    model: ModelSpec
    input: InputSpec
    test: EvalSpec
    recipes: dict[str, Recipe]


@dataclass(frozen=True)
class CTMSpec:
    stage: str
    after: list[int]
    paths: list[str]


@dataclass(frozen=True)
class Experiment:
    dataset: str
    backbone: str
    recipe: str
    ctm: CTMSpec | None = None
    init: str | None = None  # experiment whose checkpoint initialises this one (fine-tuning); None: ImageNet/scratch
    name: str = ""


@dataclass(frozen=True)
class Table:
    rows: dict[str, str]  # row key (as in ctm.report.paper) -> experiment name


@dataclass(frozen=True)
class Config:
    preset_name: str
    preset: Preset
    experiments: dict[str, Experiment]
    tables: dict[str, Table]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def experiment(self, name: str) -> Experiment:
        if name not in self.experiments:
            raise ConfigError(f"unknown experiment {name!r}; params.yaml defines: {', '.join(self.experiments)}")
        return self.experiments[name]

    def recipe(self, experiment: Experiment) -> Recipe:
        return self.preset.recipes[experiment.recipe]

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.preset.datasets:
            raise ConfigError(f"preset {self.preset_name!r} defines no dataset {name!r}")
        return self.preset.datasets[name]

    def num_classes(self, dataset: str) -> int:
        """Classes of a dataset under this preset: the real count, or two per synthetic pair."""
        spec = self.dataset(dataset)
        return 2 * len(spec.synthetic.pairs) if spec.source == "synthetic" else DATASET_CLASSES[dataset]

    def experiment_params(self, name: str) -> dict[str, Any]:
        """Everything that determines an experiment's result, as plain data (recorded beside each run)."""
        exp = self.experiment(name)
        return {
            "preset": self.preset_name,
            "experiment": dataclasses.asdict(exp),
            "recipe": dataclasses.asdict(self.recipe(exp)),
            "model": dataclasses.asdict(self.preset.model),
            "input": dataclasses.asdict(self.preset.input),
            "test": dataclasses.asdict(self.preset.test),
            "dataset": dataclasses.asdict(self.dataset(exp.dataset)),
        }

    def params_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()[:12]


def _build(cls: Any, data: Any, where: str) -> Any:
    """Build dataclass/list/dict/scalar `cls` from YAML data, naming `where` in every error."""
    origin = get_origin(cls)
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {data!r}")
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "raw" and f.name != "name"}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
        kwargs = {}
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING:
                    raise ConfigError(f"{where}.{name}: missing")
                continue
            kwargs[name] = _build(hints[name], data[name], f"{where}.{name}")
        return cls(**kwargs)
    if origin is list:
        if not isinstance(data, list):
            raise ConfigError(f"{where}: expected a list, got {data!r}")
        (item,) = get_args(cls)
        return [_build(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {data!r}")
        _, value = get_args(cls)
        return {str(k): _build(value, v, f"{where}.{k}") for k, v in data.items()}
    args = get_args(cls)
    if args and type(None) in args:  # Optional[X]
        if data is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _build(inner, data, where)
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if cls in (int, float, str, bool) and not (isinstance(data, cls) and not (cls is int and isinstance(data, bool))):
        raise ConfigError(f"{where}: expected {cls.__name__}, got {data!r}")
    return data


def _check(cfg: Config) -> None:
    p = cfg.preset
    for name, spec in p.datasets.items():
        if name not in DATASETS:
            raise ConfigError(f"presets.{cfg.preset_name}.datasets.{name}: unknown dataset; known: {DATASETS}")
        if spec.source not in ("synthetic", "local"):
            raise ConfigError(f"presets.{cfg.preset_name}.datasets.{name}.source: 'synthetic' or 'local'")
        if spec.source == "synthetic" and spec.synthetic is None:
            raise ConfigError(f"presets.{cfg.preset_name}.datasets.{name}.synthetic: missing")
    if p.test.averaging not in AVERAGING:
        raise ConfigError(f"presets.{cfg.preset_name}.test.averaging: one of {AVERAGING}, got {p.test.averaging!r}")
    if p.input.crop_size > p.input.resize_short:
        raise ConfigError(f"presets.{cfg.preset_name}.input: crop_size exceeds resize_short")
    for name, exp in cfg.experiments.items():
        where = f"experiments.{name}"
        if exp.dataset not in p.datasets:
            raise ConfigError(f"{where}.dataset: {exp.dataset!r} is not a dataset of preset {cfg.preset_name!r}")
        if exp.backbone not in BACKBONES:
            raise ConfigError(f"{where}.backbone: one of {sorted(BACKBONES)}, got {exp.backbone!r}")
        if exp.recipe not in p.recipes:
            raise ConfigError(f"{where}.recipe: {exp.recipe!r} is not a recipe of preset {cfg.preset_name!r}")
        if exp.ctm is not None and (not exp.ctm.paths or set(exp.ctm.paths) - set(PATH_NAMES)):
            raise ConfigError(f"{where}.ctm.paths: a non-empty subset of {PATH_NAMES}, got {exp.ctm.paths}")
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
        if pdb is not None and (pdb < 1 or recipe.batch_size % pdb):
            raise ConfigError(f"presets.{cfg.preset_name}.recipes.{rname}.per_device_batch: {pdb} must divide "
                              f"batch_size {recipe.batch_size}")
    for tname, table in cfg.tables.items():
        for row, exp in table.rows.items():
            if exp not in cfg.experiments:
                raise ConfigError(f"tables.{tname}.rows.{row}: unknown experiment {exp!r}")


def load_config(path: str | Path = "params.yaml", preset: str | None = None) -> Config:
    """Read params.yaml; `preset` overrides its `preset` key (as `snakemake --config preset=...` does)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root or pass --params)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for key in ("preset", "presets", "experiments", "tables"):
        if key not in raw:
            raise ConfigError(f"{path}: missing top-level key {key!r}")
    name = preset or raw["preset"]
    if name not in raw["presets"]:
        raise ConfigError(f"{path}: preset {name!r} is not defined; defined: {', '.join(raw['presets'])}")
    try:
        experiments = {
            k: dataclasses.replace(_build(Experiment, v, f"experiments.{k}"), name=k)
            for k, v in raw["experiments"].items()
        }
        cfg = Config(
            preset_name=name,
            preset=_build(Preset, raw["presets"][name], f"presets.{name}"),
            experiments=experiments,
            tables=_build(dict[str, Table], raw["tables"], "tables"),
            raw=raw,
        )
        _check(cfg)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return cfg
