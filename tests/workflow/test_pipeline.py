"""Real Snakemake and DVC runs of the whole pipeline (all six tables) on a tiny config (seconds of CPU per job)."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from workflow_project import make_project, run


def checkpoint_hashes(root: Path) -> dict[str, str]:
    return {str(p.parent.relative_to(root / "results")): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "results").glob("*/runs/*/seed*/checkpoint.pt"))}


@pytest.fixture(scope="module")
def snakemake_project(tmp_path_factory, tiny_params):
    root = make_project(tmp_path_factory.mktemp("smk") / "project", tiny_params)
    run(["snakemake", "--cores", "2", "all_tables"], root)
    return root


def test_snakemake_writes_every_table_and_the_site(snakemake_project, tiny_params):
    reports = snakemake_project / "reports"
    for table in tiny_params["tables"]:
        frame = pd.read_csv(reports / f"{table}.csv")
        assert {"row", "column", "kind", "paper", "reproduced", "ci_low", "ci_high", "preset"} <= set(frame)
        mine = frame[frame["kind"] == "reproduced"]
        assert not mine.empty and (mine["preset"] == "embedded").all()
        assert (mine["ci_low"] <= mine["reproduced"]).all() and (mine["reproduced"] <= mine["ci_high"]).all()
    t1 = pd.read_csv(reports / "table1.csv")
    assert list(t1["row"]) == list(tiny_params["tables"]["table1"]["rows"])
    # the missing "YouTube" videos are counted, not fatal: every row used the same present videos
    assert (t1["train_missing"] >= 1).all() and (t1["train_videos"] == t1["train_videos"].iloc[0]).all()
    t5 = pd.read_csv(reports / "table5.csv")
    assert (t5[t5["kind"] == "reproduced"]["splits"] == 3).all()
    assert (t5[t5["kind"] == "reported"]["reproduced"].isna()).all()
    html = (reports / "index.html").read_text()
    assert all(f"Table {k}" in html for k in range(1, 7))


def test_snakemake_rerun_does_nothing(snakemake_project):
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], snakemake_project)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_fresh_clone_with_committed_reports_regenerates(snakemake_project, tmp_path, tiny_params):
    """reports/ is committed; a clone without results/ must still run the whole pipeline."""
    root = make_project(tmp_path / "clone", tiny_params)
    shutil.copytree(snakemake_project / "reports", root / "reports")
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], root)
    for rule in ("publish_synthetic", "download", "extract", "clips_manifest", "decode", "train", "evaluate",
                 "aggregate", "report_table", "report_site"):
        assert f"rule {rule}:" in out.stdout + out.stderr


def test_dvc_agrees_with_snakemake_and_shares_its_outputs(snakemake_project, tmp_path, tiny_params):
    """After Snakemake, `dvc commit -f` leaves nothing to do; pushed to a remote and pulled into a fresh clone, the
    outputs let `snakemake -n all_tables` plan no training."""
    root = snakemake_project
    run(["git", "init", "-q"], root)
    run(["dvc", "init", "-q"], root)
    run(["dvc", "commit", "-f", "-q"], root)
    status = run(["dvc", "status", "-q"], root)
    assert status.stdout.strip() == ""
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "local", str(remote)], root)
    run(["dvc", "push", "-q"], root)

    clone = make_project(tmp_path / "pulled", tiny_params)
    shutil.copy(root / "dvc.lock", clone / "dvc.lock")
    run(["git", "init", "-q"], clone)
    run(["dvc", "init", "-q"], clone)
    run(["dvc", "remote", "add", "-d", "local", str(remote)], clone)
    run(["dvc", "pull", "-q"], clone)
    assert checkpoint_hashes(clone) == checkpoint_hashes(root) != {}
    # DVC writes the pulled files in no particular order: --touch records them as up to date for Snakemake
    run(["snakemake", "--touch", "--cores", "1", "all_tables"], clone)
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], clone)
    assert "rule train:" not in out.stdout + out.stderr


def test_a_code_change_reruns_the_same_steps_in_snakemake_and_dvc(snakemake_project):
    """ctm/pipeline/code.py is both the rules' code inputs and dvc.yaml's code deps: editing the network reruns
    training in both; editing the progress lines reruns nothing in either. (Runs after the DVC test's commit.)"""
    root = snakemake_project
    run(["snakemake", "--touch", "--cores", "1", "all_tables"], root)  # `dvc commit` relinked the outputs
    progress = root / "ctm" / "progress.py"
    progress.write_text(progress.read_text() + "\n# edited\n")
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n", "all_tables"], root).stdout
    assert run(["dvc", "status", "-q"], root).stdout.strip() == ""
    block = root / "ctm" / "models" / "ctm_block.py"
    block.write_text(block.read_text() + "\n# edited\n")
    out = run(["snakemake", "--cores", "2", "-n", "all_tables"], root).stdout
    assert "rule train:" in out and "rule decode:" not in out
    status = run(["dvc", "status"], root).stdout
    assert "train@" in status and "modified:           ctm/models" in status and "decode@" not in status
