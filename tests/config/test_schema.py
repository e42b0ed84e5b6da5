"""params.schema.yaml ships inside the package, and each of its closed lists is ctm.vocabulary's list (or, for the
synthetic stand-ins' class pairs, the generator's): an enum cannot drift from the code that reads the value."""

import tomllib
from importlib import resources
from pathlib import Path

from ctm import vocabulary as v
from ctm.config.schema import SCHEMA_FILE, params_schema
from ctm.standins.motion import PAIR_KEYS

DEFS = "$defs/preset/properties"
DATASET = f"{DEFS}/datasets/additionalProperties/properties"
EXPERIMENT = "$defs/experiment/properties"
EXPECTED_ENUMS = {  # JSON pointer of an `enum` in the schema -> the list it must equal, in order
    "$defs/dataset": v.DATASETS,
    "$defs/backbone": tuple(v.BACKBONES),
    "$defs/device": v.DEVICES,
    f"{EXPERIMENT}/split": v.SPLITS,
    f"{EXPERIMENT}/ctm/oneOf/1/properties/stage": v.STAGES,
    f"{EXPERIMENT}/ctm/oneOf/1/properties/paths/items": v.PATH_NAMES,
    f"{DATASET}/source": v.DATASET_SOURCES,
    f"{DATASET}/clips/properties/source": v.CLIPS_SOURCES,
    f"{DATASET}/clips/properties/shard_lists/propertyNames": v.SUBSETS,
    f"{DATASET}/synthetic/properties/pairs/items": PAIR_KEYS,
    f"{DEFS}/test/properties/num_crops": v.TEST_CROPS,
    f"{DEFS}/test/properties/averaging": v.AVERAGING,
    f"{DEFS}/recipes/additionalProperties/properties/compile_mode": v.COMPILE_MODES,
}


def enums(node, pointer: str = "") -> dict[str, list]:
    """Every `enum` under `node`: {JSON pointer of the schema holding it: its values}."""
    found = {}
    if isinstance(node, dict):
        if "enum" in node:
            found[pointer] = node["enum"]
        for key, child in node.items():
            found.update(enums(child, f"{pointer}/{key}" if pointer else key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found.update(enums(child, f"{pointer}/{i}"))
    return found


def test_every_enum_of_the_schema_is_a_vocabulary_list():
    found = enums(params_schema())
    assert set(found) == set(EXPECTED_ENUMS), "a new enum in the schema: add its Python list to EXPECTED_ENUMS"
    for pointer, values in found.items():
        assert tuple(values) == tuple(EXPECTED_ENUMS[pointer]), pointer


def test_dataset_and_backbone_names_are_written_once_in_the_schema():
    text = resources.files("ctm.config").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    assert text.count("mini_kinetics_200") == 1 and text.count("resnet101") == 1


def test_experiments_and_finetuned_share_one_definition():
    schema = params_schema()
    experiments = schema["properties"]["experiments"]["additionalProperties"]
    finetuned = schema["properties"]["finetuned"]["additionalProperties"]
    assert experiments == {"$ref": "#/$defs/experiment"}
    assert finetuned == {"$ref": "#/$defs/experiment", "required": [*schema["$defs"]["experiment"]["required"], "init"]}


def test_the_schema_is_package_data():
    """An installed ctm (a wheel, not this checkout) carries the schema that load_config reads."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert SCHEMA_FILE in pyproject["tool"]["setuptools"]["package-data"]["ctm.config"]
