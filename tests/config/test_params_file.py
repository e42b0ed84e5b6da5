"""Reading params.yaml (ctm.config.params_file.read_params and the schema check): a YAML bomb, a recursive alias,
Latin-1 bytes, a folder, broken YAML and huge values each end in one bounded line naming the file, fast (issue 27,
items 5 and 6); the repository's own anchors and aliases keep working."""

import time
from pathlib import Path

import pytest
import yaml

from ctm.config import load_config
from ctm.config.params_file import MAX_ALIAS_VALUES, ConfigError, build, read_params, refuse_overrides
from ctm.config.schema import validate_params

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def with_unused_preset(tmp_path, lines: list[str]) -> Path:
    """The repository's params.yaml plus a preset `unused` made of `lines` (YAML, indented under it)."""
    text = PARAMS.read_text()
    preset = "  unused:\n" + "".join(f"    {line}\n" for line in lines)
    path = tmp_path / "params.yaml"
    path.write_text(text.replace("\nexperiments:", f"\n{preset}\nexperiments:", 1))
    return path


def billion_laughs(levels: int = 9) -> list[str]:
    """9 levels of 9 aliases of the level below: 9**9 (387 million) strings from 10 short lines."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return lines


def one_line(message: str, limit: int = 700) -> str:
    assert "\n" not in message and len(message) < limit, message
    return message


def test_repository_anchors_and_aliases_still_load():
    raw = read_params(PARAMS)
    assert raw == yaml.safe_load(PARAMS.read_text())
    assert raw["presets"]["gpu_synthetic"]["datasets"]["mini_kinetics_200"]["files"] == (
        raw["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["files"])


def test_a_yaml_bomb_in_an_unused_preset_is_refused_at_once(tmp_path):
    path = with_unused_preset(tmp_path, ["description: never used", *billion_laughs()])
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+: .*more than {MAX_ALIAS_VALUES} values .*YAML bomb"):
        read_params(path)
    # ctm.config reads the file through read_params: the same refusal, naming the line
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+: .*YAML bomb") as err:
        load_config(path)
    one_line(str(err.value))
    # data read some other way (Snakemake's config) meets the same bound in the schema check, naming the key
    with pytest.raises(ConfigError, match=r"presets.unused.l\d(\[0\])*: .*YAML bomb"):
        validate_params(yaml.load(path.read_text(), Loader=yaml.SafeLoader))
    with pytest.raises(ConfigError, match="YAML bomb"):  # Snakemake's entry point (Snakefile) reads it first
        refuse_overrides({}, path)
    assert time.monotonic() - start < 10


def test_a_recursive_alias_is_refused(tmp_path):
    path = with_unused_preset(tmp_path, ["loop: &loop [a, *loop]"])
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+: an alias refers to the value that contains it"):
        read_params(path)
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+: an alias refers to the value that contains it"):
        load_config(path)


def test_latin1_bytes_are_one_line_naming_the_file_and_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(PARAMS.read_bytes().replace(b"# params.yaml:", "# paramètres:".encode("latin-1"), 1))
    message = rf"^{path}: line 1: byte 0xe8 is not UTF-8 .*save the file as UTF-8"
    with pytest.raises(ConfigError, match=message) as err:
        read_params(path)
    one_line(str(err.value))
    with pytest.raises(ConfigError, match=message):
        refuse_overrides({}, path)


def test_a_folder_a_missing_file_or_an_endless_one_as_params(tmp_path):
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: is a folder, not a params file; pass --params the file"):
        read_params(tmp_path)
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: is a folder"):
        refuse_overrides({}, tmp_path)
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'nope.yaml'}: not found"):
        read_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"^/dev/zero: larger than 16 MiB, which no params file is"):
        read_params("/dev/zero")  # read whole, it would never end


@pytest.mark.parametrize("text, where", [
    ("preset: embedded\npresets:\n  a: b\n c: d\n", r"line 4, column 2: not valid YAML"),
    ("preset: embedded\n---\npreset: paper\n", r"line 2, column 1: not valid YAML .*single document"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"line 1, column \d+: not valid YAML .*nesting depth"),
    ("a: !!python/object:os.system {}\n", r"line 1, column 4: not valid YAML .*python/object"),
])
def test_broken_yaml_is_one_line_with_its_line(tmp_path, text, where):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^{path}: {where}") as err:
        read_params(path)
    one_line(str(err.value))


def test_schema_and_type_errors_quote_values_bounded(tmp_path):
    raw = yaml.safe_load(PARAMS.read_text())
    raw["presets"]["embedded"]["device"] = ["cpu"] * 3000  # no alias: a plain, long value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"presets.embedded.device: \['cpu', 'cpu', .*\.\.\. \(\d+ characters\)"
                       ) as err:
        load_config(path)
    one_line(str(err.value))
    with pytest.raises(ConfigError, match=r"^x: expected int, got \[0, 1, 2, 3, \.\.\.\]$"):
        build(int, list(range(100_000)), "x")
    with pytest.raises(ConfigError, match=r"^x: expected int, got 'aaaa.*\.\.\..*'$") as err:
        build(int, "a" * 100_000, "x")
    one_line(str(err.value), 200)
