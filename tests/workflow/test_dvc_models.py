"""dvc.yaml's artifacts and plots, and `ctm exp-show`, read by real `dvc` in a tiny git + DVC project holding the
repository's params.yaml, dvc.yaml and reports/metrics.json."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_project import run

from ctm.config import load_config
from ctm.pipeline.dvc_models import served_cells

REPO = Path(__file__).resolve().parents[2]
CELLS = 24  # the tables' reproduced cells: reports/metrics.json


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dvcmodels")
    for name in ("params.yaml", "dvc.yaml", "reports/metrics.json"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    run(["git", "init", "-q"], root)
    run(["dvc", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "project"], root)
    return root


def test_every_run_is_a_model_artifact_labelled_with_the_cells_it_serves(project):
    from dvc.repo import Repo

    cfg = load_config(REPO / "params.yaml")
    found = Repo(str(project)).artifacts.read()["dvc.yaml"]
    assert set(found) == {f"{e}-seed{s}" for e in cfg.experiments for s in cfg.seeds}
    tsn = found["mk200_r50_tsn-seed1"]
    assert tsn.type == "model" and tsn.path == "results/embedded/runs/mk200_r50_tsn/seed1/checkpoint.pt"
    assert {"table1.baseline", "table6.baseline.mini_kinetics_200"} <= set(tsn.labels)
    split = found["ucf101_s2_r101_ctm_res4x3-seed0"]  # a split serves its group's cells
    assert {"table5.ctm.ucf101", "table6.ctm.ucf101"} <= set(split.labels) and "fine-tuned" in split.desc
    cells = {c for cs in served_cells(cfg).values() for c in cs}
    assert len(cells) == CELLS


def test_dvc_plots_show_draws_each_experiments_curves_over_epochs(project):
    runs = project / "results" / "embedded" / "runs" / "mk200_r50_tsn"
    for seed in (0, 1):
        (runs / f"seed{seed}").mkdir(parents=True, exist_ok=True)
        (runs / f"seed{seed}" / "curves.csv").write_text(
            "epoch,loss,top1,lr\n1,1.9,25.0,0.1\n2,1.5,38.5,0.1\n3,1.2,47.0,0.01\n")
    out = project / "plots"
    subprocess.run(["dvc", "plots", "show", "-o", str(out)], cwd=project, capture_output=True, text=True,
                   timeout=300)  # exits 1: the other runs' curves are absent here
    html = (out / "index.html").read_text()
    assert "mk200_r50_tsn: training loss" in html and "mk200_r50_tsn: training top-1 (%)" in html
    assert '"epoch": "3"' in html and '"x": {"field": "epoch"' in html


def _columns(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


def test_ctm_exp_show_fits_a_terminal_and_shows_a_changed_param(project):
    ctm = [sys.executable, "-m", "ctm.cli", "exp-show"]
    everything = _columns(run(["dvc", "exp", "show", "--csv", "--no-pager"], project).stdout)
    narrow = _columns(run([*ctm, "--", "--csv", "--no-pager"], project).stdout)
    assert len(everything) > 500
    assert len(narrow) == 4 + CELLS and "preset" in narrow  # Experiment, rev, Created, preset and the cells
    assert sum(c.startswith("table") for c in narrow) == CELLS
    params = (project / "params.yaml").read_text()
    edited = yaml.safe_load(params)  # an experiment's change, as `dvc exp run -S ...epochs=N` makes
    edited["presets"]["embedded"]["recipes"]["mini_kinetics_200"]["epochs"] += 1
    (project / "params.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    try:
        changed = run([*ctm, "--", "--csv", "--no-pager"], project).stdout
        assert len(_columns(changed)) == 5 + CELLS
        assert [c for c in _columns(changed) if c.startswith("presets.")] == [
            "presets.embedded.recipes.mini_kinetics_200.epochs"]
        table = run([*ctm, "--", "--no-pager"], project, env={"COLUMNS": "100"}).stdout
        assert max(len(line) for line in table.splitlines()) <= 100
    finally:
        (project / "params.yaml").write_text(params)
    printed = run([*ctm, "--print-command"], project).stdout
    assert printed.startswith("dvc exp show --only-changed --keep ") and printed.strip() in (
        REPO / "docs" / "models.md").read_text()


def test_the_curves_stage_reads_each_runs_log(project):
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["curves"]
    cfg = load_config(REPO / "params.yaml")
    runs = {f"results/${{preset}}/runs/{e}/seed{s}" for e in cfg.experiments for s in cfg.seeds}
    assert {d.rsplit("/", 1)[0] for d in stage["deps"] if d.endswith("/log.jsonl")} == runs
    assert {o.rsplit("/", 1)[0] for o in stage["outs"]} == runs
    assert all(o.endswith("/curves.csv") for o in stage["outs"])
    assert stage["cmd"].split()[:3] == ["ctm", "curves", "--run-dir"] and set(stage["cmd"].split()[3:]) == runs
