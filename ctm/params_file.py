"""params.yaml before it is typed: presets resolved (`extends`), checked against the one schema, and the generic
builder that turns YAML data into ctm.config's dataclasses. Every error is a ConfigError naming the key's path."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from ctm.errors import UserError

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "params.schema.yaml"


class ConfigError(UserError, ValueError):
    """params.yaml is malformed; the message names the key and the file."""


def build(cls: Any, data: Any, where: str) -> Any:
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
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ConfigError(f"{where}.{name}: missing")
                continue
            kwargs[name] = build(hints[name], data[name], f"{where}.{name}")
        return cls(**kwargs)
    if origin is list:
        if not isinstance(data, list):
            raise ConfigError(f"{where}: expected a list, got {data!r}")
        (item,) = get_args(cls)
        return [build(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {data!r}")
        _, value = get_args(cls)
        return {str(k): build(value, v, f"{where}.{k}") for k, v in data.items()}
    args = get_args(cls)
    if args and type(None) in args:  # Optional[X]
        if data is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return build(inner, data, where)
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if cls is float and isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(f"{where}: expected a finite number, got {data!r}")
    if cls in (int, float, str, bool) and not (isinstance(data, cls) and not (cls is int and isinstance(data, bool))):
        raise ConfigError(f"{where}: expected {cls.__name__}, got {data!r}")
    return data


def _merge(base: Any, over: Any, where: str) -> Any:
    """`over` on top of `base`: mappings key by key (recursively), anything else replaced. A dataset entry
    (`datasets.<name>`) is replaced whole: its files, checksums and source belong together."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    merged = copy.deepcopy(base)
    for key, value in over.items():
        whole = where.endswith(".datasets")
        merged[key] = copy.deepcopy(value) if whole or key not in base else _merge(base[key], value, f"{where}.{key}")
    return merged


def resolve_presets(presets: dict[str, Any]) -> dict[str, dict]:
    """Every preset as a complete mapping. `extends: P` starts from preset P (itself resolved first) and merges the
    preset's own keys over it (_merge); its `description` is its own. Raises ConfigError for an unknown or looping
    `extends`."""
    resolved: dict[str, dict] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict:
        if name in resolved:
            return resolved[name]
        raw = presets[name]
        if not isinstance(raw, dict):
            raise ConfigError(f"presets.{name}: expected a mapping, got {raw!r}")
        base_name = raw.get("extends")
        if base_name is None:
            result = copy.deepcopy(raw)
        else:
            if base_name not in presets:
                raise ConfigError(f"presets.{name}.extends: {base_name!r} is not a preset; defined: "
                                  f"{', '.join(presets)}")
            if base_name in chain:
                raise ConfigError(f"presets.{name}.extends: the chain {' -> '.join(chain + (base_name,))} loops")
            base = {k: v for k, v in resolve(base_name, chain + (base_name,)).items() if k != "extends"}
            result = _merge(base, raw, f"presets.{name}")
        resolved[name] = result
        return result

    for name in presets:
        resolve(name, (name,))
    return resolved


def _schema_error(schema: dict, doc: Any, where: str) -> ConfigError | None:
    """The most telling violation of `schema` by `doc`, as a ConfigError naming the key's path under `where`."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if not errors:
        return None
    first = jsonschema.exceptions.best_match(errors)
    while first.context:  # a oneOf/anyOf failure: report the branch that got furthest into the value
        first = max(first.context, key=lambda e: len(e.absolute_path))
    path = ".".join(str(p) for p in (where, *first.absolute_path) if p != "")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ConfigError(f"{path or 'top level'}: {first.message}{more}")


def validate_params(raw: Any) -> None:
    """Check the whole params document against the schema (workflow/schemas/params.schema.yaml), the one that
    Snakemake's rules, `dvc repro` and every `ctm` command share; the error names the key's path."""
    error = _schema_error(yaml.safe_load(SCHEMA.read_text()), raw, "")
    if error is not None:
        raise error


def validate_preset(preset: dict, name: str) -> None:
    """Check a resolved preset (`extends` applied) against the schema's `$defs/preset`."""
    schema = yaml.safe_load(SCHEMA.read_text())
    error = _schema_error({"$defs": schema["$defs"], "$ref": "#/$defs/preset"}, preset, f"presets.{name}")
    if error is not None:
        raise error


def overridden_keys(config: Any, raw: Any, where: str = "") -> list[str]:
    """Paths of the keys whose value in `config` (Snakemake's, after --config/--configfile) differs from `raw`
    (params.yaml as read), `preset` excepted: the only key that every job is told on its command line."""
    if isinstance(config, dict) and isinstance(raw, dict):
        keys = [k for k in {**raw, **config} if not (where == "" and k == "preset")]
        return [p for k in keys for p in overridden_keys(config.get(k, _ABSENT), raw.get(k, _ABSENT),
                                                         f"{where}.{k}" if where else str(k))]
    return [] if config == raw else [where]


_ABSENT = object()


def refuse_overrides(config: dict, params: str | Path = "params.yaml") -> None:
    """Snakemake's `--config KEY=VALUE` and `--configfile` change Snakemake's copy of params.yaml only; every job
    reads params.yaml itself (as `dvc repro` does), so such a value would be silently ignored. Refuse it."""
    raw = yaml.safe_load(Path(params).read_text())
    changed = overridden_keys(config, raw)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise ConfigError(
            f"--config/--configfile change {shown} of {params}, but every job reads {params} itself (as `dvc repro` "
            f"does), so the value would be ignored. Only `preset` can be set on the command line "
            f"(--config preset=paper); edit {params} for anything else (`dvc exp run -S KEY=VALUE` edits it too).")
