"""params.yaml, typed and checked: `load_config(path, preset)` (or `parse_config(document)`) gives a Config.

Unknown or missing keys, values outside the schema (params.schema.yaml, in this package) and broken cross-references
are ConfigErrors that name the key's full path in params.yaml. Modules:

    params_file  reading the file (bounded), resolving presets (`extends`), building dataclasses, overrides
    schema       the schema and the check of a document against it
    specs        the dataclasses: Config, Preset and its parts, Experiment, Table
    checks       what the schema cannot check: cross-references and fields that require one another
    load         load_config / parse_config, the steps above in order
"""

from ctm.config.load import load_config, parse_config
from ctm.config.params_file import ConfigError, complete_presets, read_params, refuse_overrides
from ctm.config.specs import (
    ClipsSpec,
    Config,
    CTMSpec,
    DatasetSpec,
    EvalSpec,
    Experiment,
    FileSpec,
    InputSpec,
    Limits,
    ModelSpec,
    Preset,
    Recipe,
    SyntheticSpec,
    Table,
)

__all__ = [
    "CTMSpec", "ClipsSpec", "Config", "ConfigError", "DatasetSpec", "EvalSpec", "Experiment", "FileSpec", "InputSpec",
    "Limits", "ModelSpec", "Preset", "Recipe", "SyntheticSpec", "Table", "load_config", "parse_config", "read_params",
    "refuse_overrides", "complete_presets",
]
