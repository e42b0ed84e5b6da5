"""dvc.yaml and params.yaml agree: stages cover every experiment, group and table, with the tables' cells as deps."""

from pathlib import Path

import yaml

from ctm.config import load_config
from ctm.pipeline.code import CODE, code_files
from ctm.pipeline.dvc_yaml import render

REPO = Path(__file__).resolve().parents[2]


def stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_report_stages_depend_on_the_tables_cells():
    cfg = load_config(REPO / "params.yaml")
    for table, spec in cfg.tables.items():
        stage = stages()[f"report_{table}"]
        names = spec.names()
        runs = [f"{m}/seed{s}" for n in names for m in cfg.members(n) for s in cfg.seeds]
        metrics = {d for d in stage["deps"] if d.endswith("metrics.json")}
        predictions = {d for d in stage["deps"] if d.endswith("predictions.csv")}
        assert metrics == {f"results/${{preset}}/runs/{n}/metrics.json" for n in names}
        assert predictions == {f"results/${{preset}}/runs/{r}/predictions.csv" for r in runs}
        assert stage["cmd"].startswith(f"ctm report --table {table} ")
    site = stages()["report_site"]
    tables = {f"results/${{preset}}/tables/{t}.csv" for t in cfg.tables}
    assert {d for d in site["deps"] if d.endswith(".csv") and "/tables/" in d} == tables
    predictions = {d for d in site["deps"] if d.endswith("predictions.csv")}  # the claims' paired tests
    assert predictions == {f"results/${{preset}}/runs/{m}/seed{s}/predictions.csv" for t in cfg.tables.values()
                           for n in t.names() for m in cfg.members(n) for s in cfg.seeds}


def test_aggregate_stages_read_every_run_of_their_cell():
    cfg = load_config(REPO / "params.yaml")
    cells = {n for t in cfg.tables.values() for n in t.names()}
    for cell in cells:
        stage = stages()[f"aggregate_{cell}"]
        assert stage["cmd"] == f"ctm aggregate --cell {cell} --preset ${{preset}}"
        assert {d for d in stage["deps"] if d.endswith("metrics.json")} == {
            f"results/${{preset}}/runs/{m}/seed{s}/metrics.json" for m in cfg.members(cell) for s in cfg.seeds}
    assert {k[len("aggregate_"):] for k in stages() if k.startswith("aggregate_")} == cells


def test_train_and_evaluate_cover_every_experiment_and_seed():
    s, cfg = stages(), load_config(REPO / "params.yaml")
    runs = {(e["experiment"], e["seed"]) for e in s["train"]["foreach"].values()}
    assert runs == {(e, seed) for e, x in cfg.experiments.items() if x.init is None for seed in cfg.seeds}
    assert s["train"]["foreach"] == s["evaluate"]["foreach"]
    tuned = {(e["experiment"], e["seed"], e["init"]) for e in s["finetune"]["foreach"].values()}
    assert tuned == {(e, seed, x.init) for e, x in cfg.experiments.items() if x.init for seed in cfg.seeds}
    assert s["finetune"]["foreach"] == s["evaluate_finetuned"]["foreach"]
    parent = "results/${preset}/runs/${item.init}/seed${item.seed}/checkpoint.pt"
    assert parent in s["finetune"]["do"]["deps"] and f"--init-checkpoint {parent}" in s["finetune"]["do"]["cmd"]
    assert "--seed ${item.seed}" in s["train"]["do"]["cmd"]


def test_data_stages_cover_every_dataset_of_every_preset():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    datasets = {d for p in params["presets"].values() for d in p["datasets"]}
    for stage in ("publish", "prepare", "decode"):
        assert set(stages()[stage]["foreach"]) == datasets


def test_committed_dvc_yaml_is_what_ctm_dvc_yaml_writes():
    assert (REPO / "dvc.yaml").read_text() == render(load_config(REPO / "params.yaml")), (
        "dvc.yaml is stale: run `ctm dvc-yaml` and commit it")


def test_code_deps_exist_and_folders_expand_to_their_sources():
    for step, entries in CODE.items():
        files = code_files(step, REPO)
        assert files and all((REPO / f).is_file() and f.endswith(".py") for f in files)
        for entry in entries:
            assert any(f == entry or f.startswith(entry + "/") for f in files), (step, entry)
    assert "ctm/models/ctm_block.py" in code_files("train", REPO)


def test_ctm_dvc_yaml_writes_and_checks(tmp_path, capsys):
    from ctm.cli import main

    out = tmp_path / "dvc.yaml"
    params = str(REPO / "params.yaml")
    assert main(["dvc-yaml", "--params", params, "--out", str(out)]) == 0
    assert out.read_text() == (REPO / "dvc.yaml").read_text()
    assert main(["dvc-yaml", "--params", params, "--out", str(out), "--check"]) == 0
    out.write_text(out.read_text().replace("--threads 1", "--threads 2"))
    assert main(["dvc-yaml", "--params", params, "--out", str(out), "--check"]) == 2
    assert "is not what `ctm dvc-yaml` writes" in capsys.readouterr().err


def test_a_download_presets_data_stages_name_no_stand_in(tmp_path):
    """Written for the paper preset (`ctm dvc-yaml --preset paper`), nothing is published and `ctm prepare` depends on
    no stand-in folder, which a paper workspace never has (dvc repro stopped at prepare@mini_kinetics_200); DVC itself
    reads the file and finds no edge from a publish stage."""
    import shutil
    import subprocess
    import sys

    paper = yaml.safe_load(render(load_config(REPO / "params.yaml", "paper")))["stages"]
    assert "publish" not in paper and "deps" not in paper["prepare"]["do"]
    assert "/remote" not in render(load_config(REPO / "params.yaml", "paper"))
    assert paper["prepare"]["do"]["cmd"] == "ctm prepare --dataset ${item} --preset ${preset}"
    embedded = stages()
    assert embedded["prepare"]["do"]["deps"] == ["resources/embedded/remote/${item}"] and "publish" in embedded
    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
    params = (REPO / "params.yaml").read_text().replace("\npreset: embedded\n", "\npreset: paper\n", 1)
    (tmp_path / "params.yaml").write_text(params)
    (tmp_path / "dvc.yaml").write_text(render(load_config(tmp_path / "params.yaml")))
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    dag = subprocess.run([dvc, "dag", "--dot", "prepare@mini_kinetics_200"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert dag.returncode == 0, dag.stderr
    assert "prepare@mini_kinetics_200" in dag.stdout and "publish" not in dag.stdout
