"""The typed view of params.yaml: a preset's parts, the experiments and the tables, as frozen dataclasses.

ctm.config.load builds them (ctm.config.params_file.build) from a document checked against params.schema.yaml, and
ctm.config.checks checks what the schema cannot: cross-references between them. Every other module receives these
dataclasses, never the raw dict.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ctm.config.params_file import ConfigError
from ctm.paths import run_name
from ctm.vocabulary import DATASET_INFO


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes of a synthetic stand-in (ctm.standins.published); sizes a dataset does not use stay None."""

    pairs: list[str]  # class pairs by key (ctm.standins.motion.PAIR_KEYS): 2 classes each
    num_frames: int
    fps: int
    height: int
    width: int
    seed: int
    train_per_class: int | None = None  # Kinetics-style datasets
    val_per_class: int | None = None
    missing_fraction: float | None = None  # Kinetics: listed ids whose "YouTube" video is gone
    groups: int | None = None  # UCF-101: groups per class (split k tests a disjoint set of groups)
    clips_per_group: int | None = None
    clips_per_class: int | None = None  # HMDB-51

    def sizes(self) -> dict[str, float]:
        """The keyword arguments for ctm.standins.published.write_published (beside pairs and seed)."""
        skip = ("pairs", "seed")
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip and v is not None}


@dataclass(frozen=True)
class FileSpec:
    """One published file of a dataset: where it is downloaded from, how it is checked, where it goes."""

    # mirrors tried in order (ctm.acquire.mirrors); each may hold `{remote}`: the folder a synthetic preset publishes
    # its stand-in in (as a file:// URL)
    urls: list[str]
    size: int | None = None  # bytes, where known: a mirror announcing or sending another size is skipped
    sha256: str | None = None
    md5: str | None = None
    extract: bool = True  # an archive extracted into the dataset root; False: a plain file copied there
    strip_components: int = 0
    inner_rars: bool = False  # HMDB-51: the archive holds one RAR per class


@dataclass(frozen=True)
class ClipsSpec:
    """Where a Kinetics dataset's clips come from (docs/kinetics_clips.md). URLs may hold `{remote}`."""

    # "cvdf": the CVDF mirror's shards (the default: the way Kinetics is got today); "youtube": yt-dlp, paced, a
    # fallback; "local": clips already on disk, in `folders`
    source: str
    shard_lists: dict[str, str] = field(default_factory=dict)  # cvdf: subset (train, val) -> shard list URL
    keep_shards: bool = False  # cvdf: keep each downloaded shard (else deleted once its clips are out)
    url: str | None = None  # youtube: the video URL template, with {youtube_id}
    per_hour: int = 250  # youtube: downloads started per hour over all workers (a guest gets about 300)
    stop_after_blocks: int = 20  # youtube: stop after this many consecutive rate-limit or bot-check answers
    folders: list[str] = field(default_factory=list)  # local: CVDF's extraction, MMAction2's, or this project's


@dataclass(frozen=True)
class DatasetSpec:
    # "synthetic": a stand-in published by `ctm synth` and then downloaded like the real one; "download": the official
    # files; "local": the official layout already extracted under the root by hand (no download rules).
    source: str
    synthetic: SyntheticSpec | None = None
    files: dict[str, FileSpec] = field(default_factory=dict)
    clips: ClipsSpec | None = None  # Kinetics: where the clips come from
    checksums: str | None = None  # a sha256sum-format file at `{remote}/` that verifies the synthetic downloads


@dataclass(frozen=True)
class ModelSpec:
    width: float
    # ImageNet weights per backbone ({resnet50: resnet50_v1, resnet101: resnet101_v1}): a torchvision weight name, a
    # URL (`{remote}`: a synthetic preset's stand-in host folder) or a path; None: every network starts from scratch
    pretrained: dict[str, str] | None
    dropout: float
    reduction: int
    zero_init_residual: bool
    # gamma of each CTM path's last BN at initialisation: 0 starts the block as the identity (the paper, whose
    # backbones are pretrained); from scratch at full size the paths then never opened (docs/table1_full_size.md)
    path_gamma_init: float


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
    # CUDA only: test with every BatchNorm folded into its conv and fused cuDNN conv+bias(+add)+ReLU kernels
    # (ctm.models.folded); same outputs up to float rounding, one pass over each feature map fewer
    fold_bn: bool = False


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
    # linear lr warmup over the first warmup_epochs epochs (per SGD step, fractions allowed); 0: none (the paper's)
    warmup_epochs: float = 0.0
    seed: int = 0  # the run's seed: one of the preset's `seeds`, set by Config.recipe (not written in params.yaml)
    # Clips per device per forward; None: batch_size / devices. Smaller values accumulate gradients over
    # batch_size / (devices * per_device_batch) micro-batches, so the global batch (and the lr) stays the paper's.
    per_device_batch: int | None = None
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU, where runs stay float32 and bit-reproducible)
    channels_last: bool = True  # NHWC weights and activations on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the model on CUDA
    # torch.compile mode (ctm.vocabulary.COMPILE_MODES); "reduce-overhead" adds CUDA graphs, used for training only
    # in a single process without gradient accumulation (elsewhere training falls back to "default")
    compile_mode: str = "default"
    # "Partial BN" for fine-tuning: every BatchNorm except the first (bn1) keeps its statistics and affine
    # parameters; BN layers of CTM blocks that the parent checkpoint does not have always train.
    freeze_bn: bool = False
    # GPUs a cluster job asks for; `snakemake` launches one training process per GPU through torchrun. The global
    # batch stays batch_size whatever this is (ctm.engine.distributed).
    gpus: int = 1


@dataclass(frozen=True)
class Limits:
    """A rehearsal's caps (docs/rehearsal.md): every job of the DAG runs, each only this long; None: no cap.
    `epochs` also compresses the recipe's lr milestones into the capped epochs (ctm.engine.train.capped_schedule)."""

    epochs: int | None = None
    steps_per_epoch: int | None = None
    test_videos: int | None = None


@dataclass(frozen=True)
class Preset:
    description: str
    device: str  # where its training and testing jobs run: "cpu" (one core per job) or "cuda" (GPU resources)
    datasets: dict[str, DatasetSpec]
    model: ModelSpec
    input: InputSpec
    test: EvalSpec
    recipes: dict[str, Recipe]
    limits: Limits | None = None
    extends: str | None = None  # the preset this one was resolved from (complete_presets)
    seeds: list[int] = field(default_factory=lambda: [0])  # one training run of every experiment per seed
    # training and testing refuse a subset with fewer videos than this fraction of the paper's (a stand-in's: of
    # those listed); the tables show each cell's videos beside the paper's (docs/kinetics_mirror.md, "Coverage")
    min_coverage: float = 0.9

    @property
    def synthetic(self) -> bool:
        """Whether any dataset is a synthetic stand-in (reports then say the paper column is for reference only)."""
        return any(spec.source == "synthetic" for spec in self.datasets.values())


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
    split: int = 1  # UCF-101 / HMDB-51: which of the three official splits
    name: str = ""


@dataclass(frozen=True)
class Table:
    # row key (as in ctm.report.paper) -> experiment or group name (one column), or {column (dataset): name}
    rows: dict[str, Any]

    def cells(self, default_column: str = "top1") -> dict[str, dict[str, str]]:
        """{row: {column: experiment or group}}; one-column tables use `default_column`."""
        return {row: dict(v) if isinstance(v, dict) else {default_column: v} for row, v in self.rows.items()}

    def names(self) -> list[str]:
        """Every experiment or group the table reads, in order, once."""
        return list(dict.fromkeys(n for cols in self.cells().values() for n in cols.values()))


@dataclass(frozen=True)
class Config:
    preset_name: str
    preset: Preset
    experiments: dict[str, Experiment]
    tables: dict[str, Table]
    raw: dict[str, Any] = field(repr=False, compare=False)
    groups: dict[str, list[str]] = field(default_factory=dict)  # 3-split means: group -> its experiments

    def cell_runs(self, name: str) -> list[str]:
        """The training runs behind a table cell, `<experiment>/seed<k>`: each member with each of the preset's seeds
        (ctm.paths.run_name)."""
        return [run_name(m, s) for m in self.members(name) for s in self.seeds]

    def members(self, name: str) -> list[str]:
        """The experiments behind a table cell: a group's, or the experiment itself."""
        return list(self.groups[name]) if name in self.groups else [self.experiment(name).name]

    def experiment(self, name: str) -> Experiment:
        if name not in self.experiments:
            raise ConfigError(f"unknown experiment {name!r}; params.yaml defines: {', '.join(self.experiments)}")
        return self.experiments[name]

    def recipe(self, experiment: Experiment, seed: int | None = None) -> Recipe:
        """The experiment's recipe, for the run of `seed` (default: the preset's first seed)."""
        return dataclasses.replace(self.preset.recipes[experiment.recipe], seed=self.seed(seed))

    @property
    def seeds(self) -> list[int]:
        return list(self.preset.seeds)

    def seed(self, seed: int | None) -> int:
        """`seed`, checked to be one of the preset's seeds; None: the first."""
        if seed is None:
            return self.preset.seeds[0]
        if seed not in self.preset.seeds:
            raise ConfigError(f"seed {seed} is not one of preset {self.preset_name!r}'s seeds {self.preset.seeds}")
        return seed

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.preset.datasets:
            raise ConfigError(f"preset {self.preset_name!r} defines no dataset {name!r}")
        return self.preset.datasets[name]

    def num_classes(self, dataset: str) -> int:
        """Classes of a dataset under this preset: the real count, or two per synthetic pair."""
        spec = self.dataset(dataset)
        return 2 * len(spec.synthetic.pairs) if spec.source == "synthetic" else DATASET_INFO[dataset].classes

    def pretrained(self, experiment: Experiment) -> str | None:
        """The ImageNet weights of the experiment's backbone (`model.pretrained`), None when it has none. A fine-tuned
        experiment starts from its parent's checkpoint instead, but its backbone's weights are still recorded."""
        weights = self.preset.model.pretrained
        return None if weights is None else weights[experiment.backbone]

    def weights(self) -> dict[str, str]:
        """{backbone: weights} for the backbones that some experiment starts from ImageNet with (no `init`)."""
        used = {e.backbone for e in self.experiments.values() if e.init is None}
        return {b: s for b, s in (self.preset.model.pretrained or {}).items() if b in used}

    def experiment_params(self, name: str, seed: int | None = None) -> dict[str, Any]:
        """Everything that determines the result of an experiment's run of `seed`, as plain data (recorded beside
        each run)."""
        exp = self.experiment(name)
        params = {
            "preset": self.preset_name,
            "experiment": dataclasses.asdict(exp),
            "recipe": dataclasses.asdict(self.recipe(exp, seed)),
            "model": {**dataclasses.asdict(self.preset.model), "pretrained": self.pretrained(exp)},
            "input": dataclasses.asdict(self.preset.input),
            "test": dataclasses.asdict(self.preset.test),
            "dataset": dataclasses.asdict(self.dataset(exp.dataset)),
        }
        limits = self.preset.limits
        if limits is not None:  # absent otherwise, so that existing runs stay valid; the test cap is not training's
            params["limits"] = {"epochs": limits.epochs, "steps_per_epoch": limits.steps_per_epoch}
            params["test"]["max_videos"] = limits.test_videos
        return params

    def params_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()[:12]
