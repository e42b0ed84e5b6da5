"""A copy of the workflow in a temporary folder, and commands run in it, for the workflow tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ctm.config import parse_config
from ctm.pipeline.dvc_yaml import render

REPO = Path(__file__).resolve().parents[2]
COPIED = ["Snakefile", "workflow", "ctm"]


def make_project(root: Path, params: dict) -> Path:
    root.mkdir(parents=True)
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "dvc.yaml").write_text(render(parse_config(params)))  # what `ctm dvc-yaml` writes for these params
    return root


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`cmd` run in `cwd` with the venv's tools first on PATH (and `env` added), which must succeed."""
    env = {**os.environ, **(env or {}), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result
