"""The params.yaml schema (params.schema.yaml, shipped beside this module) and the check of a document against it:
the one check that Snakemake's rules, `dvc repro` and every `ctm` command share. Its enums are ctm.vocabulary's
lists (tests/config/test_schema.py compares them).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from ctm.config.params_file import ConfigError, bounded, check_value_aliases

SCHEMA_FILE = "params.schema.yaml"  # a resource of the ctm.config package


@functools.cache
def params_schema() -> dict:
    """The JSON schema of params.yaml (draft 2020-12), as read from the package."""
    return yaml.safe_load(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


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
    return ConfigError(f"{bounded(path or 'top level', 200)}: {bounded(first.message)}{more}")


def validate_params(raw: Any) -> None:
    """Check the whole params document against the schema; the error names the key's path. Aliases are bounded
    first (the schema check would walk every expanded value)."""
    check_value_aliases(raw)
    error = _schema_error(params_schema(), raw, "")
    if error is not None:
        raise error


def validate_preset(preset: dict, name: str) -> None:
    """Check a resolved preset (`extends` applied) against the schema's `$defs/preset`."""
    schema = params_schema()
    error = _schema_error({"$defs": schema["$defs"], "$ref": "#/$defs/preset"}, preset, f"presets.{name}")
    if error is not None:
        raise error
