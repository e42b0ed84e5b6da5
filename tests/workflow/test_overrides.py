"""Snakemake's --config/--configfile: `preset` takes effect, anything else is refused (the jobs read params.yaml)."""

import subprocess

import pytest
import yaml
from workflow_project import REPO, make_project, run

from ctm.config.params_file import overridden_keys


def test_overridden_keys_names_every_changed_path():
    raw = {"preset": "embedded", "presets": {"embedded": {"test": {"num_clips": 2, "num_crops": 3}}}, "tables": {}}
    config = {"preset": "paper", "presets": {"embedded": {"test": {"num_clips": 3, "num_crops": 3}}},
              "tables": {}, "extra": 1}
    assert overridden_keys(config, raw) == ["presets.embedded.test.num_clips", "extra"]
    assert overridden_keys({**raw, "preset": "paper"}, raw) == []


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("overrides") / "p", yaml.safe_load((REPO / "params.yaml").read_text()))


@pytest.mark.parametrize("args, key", [
    (["--config", "tables=none"], "tables"),
    (["--configfile", "override.yaml"], "presets.embedded.test.num_clips"),
])
def test_other_overrides_are_refused_naming_the_key(project, args, key):
    (project / "override.yaml").write_text("presets:\n  embedded:\n    test: {num_clips: 5}\n")
    result = subprocess.run(["snakemake", "-n", "all_tables", *args], cwd=project, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert f"--config/--configfile change {key} of params.yaml" in out and "would be ignored" in out


def test_preset_override_takes_effect(project):
    out = run(["snakemake", "-n", "all_tables", "--config", "preset=paper"], project).stdout
    assert "results/paper/" in out and "results/embedded/" not in out


@pytest.mark.parametrize("preset", list(yaml.safe_load((REPO / "params.yaml").read_text())["presets"]))
def test_every_preset_plans_every_table_through_snakemake(project, preset):
    """The presets differ by their fields (device, data source, ...), not by names the rules know."""
    out = run(["snakemake", "-n", "all_tables", "--config", f"preset={preset}"], project).stdout
    assert f"results/{preset}/tables/table6.csv" in out and "rule train:" in out and "rule report_site:" in out
