"""params.yaml to a Config: read (ctm.config.params_file), checked against the schema (ctm.config.schema), presets
resolved, typed (ctm.config.specs) and cross-checked (ctm.config.checks)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ctm.config.checks import check_config
from ctm.config.params_file import ConfigError, build, complete_presets, read_params
from ctm.config.schema import validate_params, validate_preset
from ctm.config.specs import Config, Experiment, Preset, Table


def load_config(path: str | Path = "params.yaml", preset: str | None = None) -> Config:
    """Read params.yaml; `preset` overrides its `preset` key (as `snakemake --config preset=...` does)."""
    path = Path(path)
    raw = read_params(path)  # one-line errors for a missing, non-UTF-8, huge or alias-bombed file
    try:
        return parse_config(raw, preset)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def parse_config(raw: Any, preset: str | None = None) -> Config:
    """The typed view of a params document already read (params.yaml, or Snakemake's `config`): checked against
    the schema, presets resolved, cross-references checked."""
    validate_params(raw)
    name = preset or raw["preset"]
    if name not in raw["presets"]:
        raise ConfigError(f"preset {name!r} is not defined; defined: {', '.join(raw['presets'])}")
    experiments = {
        k: dataclasses.replace(build(Experiment, v, f"{section}.{k}"), name=k)
        for section in ("experiments", "finetuned") for k, v in (raw.get(section) or {}).items()
    }
    both = set(raw["experiments"]) & set(raw.get("finetuned") or {})
    if both:
        raise ConfigError(f"experiments and finetuned both define {sorted(both)}")
    for k, v in raw["experiments"].items():
        if isinstance(v, dict) and v.get("init") is not None:
            raise ConfigError(f"experiments.{k}.init: move {k} to `finetuned` (DVC's fine-tuning stage)")
    resolved = complete_presets(raw["presets"])[name]
    validate_preset(resolved, name)
    cfg = Config(
        preset_name=name,
        preset=build(Preset, resolved, f"presets.{name}"),
        experiments=experiments,
        tables=build(dict[str, Table], raw["tables"], "tables"),
        raw=raw,
        groups=build(dict[str, list[str]], raw.get("groups", {}), "groups"),
    )
    check_config(cfg)
    return cfg
