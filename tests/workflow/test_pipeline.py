"""Real Snakemake and DVC runs of the whole Table 1 pipeline on a tiny config (seconds of CPU per job)."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COPIED = ["Snakefile", "workflow", "dvc.yaml", "ctm"]


def make_project(root: Path, params: dict) -> Path:
    root.mkdir(parents=True)
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def checkpoint_hashes(root: Path) -> dict[str, str]:
    return {p.parent.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "results").glob("*/runs/*/checkpoint.pt"))}


@pytest.fixture(scope="module")
def snakemake_project(tmp_path_factory, tiny_params):
    root = make_project(tmp_path_factory.mktemp("smk") / "project", tiny_params)
    run(["snakemake", "--cores", "2", "all_tables"], root)
    return root


def test_snakemake_writes_table1(snakemake_project, tiny_params):
    table = pd.read_csv(snakemake_project / "reports" / "table1.csv")
    params = tiny_params
    assert list(table["row"]) == list(params["tables"]["table1"]["rows"])
    assert {"row", "paper", "reproduced", "ci_low", "ci_high", "preset", "train_videos", "val_videos"} <= set(table)
    assert (table["ci_low"] <= table["reproduced"]).all() and (table["reproduced"] <= table["ci_high"]).all()
    assert (table["preset"] == "embedded").all()
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    for subset, column in (("train", "train_videos"), ("val", "val_videos")):
        listed = 2 * len(synth["pairs"]) * synth[f"{subset}_per_class"]
        assert (table[column] == listed - round(synth["missing_fraction"] * listed)).all()
    assert (snakemake_project / "reports" / "table1.md").read_text().startswith("# Table1")


def test_snakemake_rerun_does_nothing(snakemake_project):
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], snakemake_project)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_fresh_clone_with_committed_reports_regenerates(snakemake_project, tmp_path, tiny_params):
    """reports/ is committed; a clone without results/ must still run the whole pipeline."""
    root = make_project(tmp_path / "clone", tiny_params)
    shutil.copytree(snakemake_project / "reports", root / "reports")
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], root)
    for rule in ("synthesize_dataset", "train", "evaluate", "report_table"):
        assert f"rule {rule}:" in out.stdout + out.stderr


def test_dvc_repro_gives_the_same_report_and_checkpoints(snakemake_project, tmp_path, tiny_params):
    root = make_project(tmp_path / "project", tiny_params)
    run(["git", "init", "-q"], root)
    run(["dvc", "init", "-q"], root)
    run(["dvc", "repro", "-q"], root)
    for name in ("table1.csv", "table1.md"):
        assert (root / "reports" / name).read_text() == (snakemake_project / "reports" / name).read_text()
    assert checkpoint_hashes(root) == checkpoint_hashes(snakemake_project) != {}
    status = run(["dvc", "status", "-q"], root)
    assert status.stdout.strip() == ""
