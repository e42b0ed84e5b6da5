"""Names and values from params.yaml never escape (issue 27, item 3): every value put into a rule's shell command is
quoted, so a URL with a quote and a `;` is one argument that runs nothing; experiment, group and preset names are
identifiers (the schema), so none can name a folder outside results/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_project import REPO, make_project

from ctm.config import ConfigError, parse_config

HOSTILE_URL = "file:///nowhere/it's; touch PWNED; echo '"


def test_a_url_with_a_quote_and_a_semicolon_runs_nothing(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    files = params["presets"]["paper"]["datasets"]["ucf101"]["files"]
    files["UCF101.rar"]["urls"] = [HOSTILE_URL]
    project = make_project(tmp_path / "p", params)
    target = "resources/paper/downloads/ucf101/UCF101.rar"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["snakemake", "--cores", "1", target, "--config", "preset=paper"], cwd=project,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode != 0  # the download of a file that does not exist fails ...
    assert not (project / "PWNED").exists()  # ... and the rest of the URL was never run as a command
    log = (project / "logs/paper/download/ucf101/UCF101.rar.log").read_text()
    assert "it's; touch PWNED" in log  # the whole URL reached ctm download as one argument


@pytest.mark.parametrize("section, name", [("experiments", "../escape"), ("experiments", "a b"),
                                           ("finetuned", "x/y"), ("groups", "g'; rm -rf ~"), ("presets", "..")])
def test_names_that_could_escape_are_refused(section, name):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    first = next(iter(raw[section]))
    raw[section][name] = raw[section][first]
    with pytest.raises(ConfigError, match="does not match"):
        parse_config(raw)


def test_the_readme_command_reruns_jobs_cut_off_by_ctrl_c():
    """`make tables` after a Ctrl-C: Snakemake would stop with IncompleteFilesException without --rerun-incomplete."""
    dry = subprocess.run(["make", "-n", "tables"], cwd=REPO, capture_output=True, text=True, timeout=60).stdout
    command = next(line for line in dry.splitlines() if "snakemake" in line and "all_tables" in line)
    assert "--rerun-incomplete" in command.split()
