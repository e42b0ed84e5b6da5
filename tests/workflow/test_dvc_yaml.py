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
        members = [m for n in names for m in cfg.members(n)]
        metrics = {d for d in stage["deps"] if d.endswith("metrics.json")}
        logs = {d for d in stage["deps"] if d.endswith("log.jsonl")}
        assert metrics == {f"results/${{preset}}/runs/{n}/metrics.json" for n in names}
        assert logs == {f"results/${{preset}}/runs/{m}/log.jsonl" for m in members}
        assert stage["cmd"].startswith(f"ctm report --table {table} ")
    site = stages()["report_site"]
    tables = {f"results/${{preset}}/tables/{t}.csv" for t in cfg.tables}
    assert {d for d in site["deps"] if d.endswith(".csv")} == tables


def test_aggregate_stages_read_their_groups_members():
    cfg = load_config(REPO / "params.yaml")
    for group, members in cfg.groups.items():
        stage = stages()[f"aggregate_{group}"]
        assert stage["cmd"] == f"ctm aggregate --group {group} --preset ${{preset}}"
        assert {d for d in stage["deps"] if d.endswith("metrics.json")} == {
            f"results/${{preset}}/runs/{m}/metrics.json" for m in members}
    assert not [k for k in stages() if k.startswith("aggregate_") and k[len("aggregate_"):] not in cfg.groups]


def test_train_and_evaluate_cover_every_experiment():
    s = stages()
    assert s["train"]["foreach"] == "${experiments}" == s["evaluate"]["foreach"]
    assert s["finetune"]["foreach"] == "${finetuned}" == s["evaluate_finetuned"]["foreach"]
    assert "results/${preset}/runs/${item.init}/checkpoint.pt" in s["finetune"]["do"]["deps"]
    assert "--init-checkpoint results/${preset}/runs/${item.init}/checkpoint.pt" in s["finetune"]["do"]["cmd"]


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
        files = code_files(step)
        assert files and all((REPO / f).is_file() and f.endswith(".py") for f in files)
        for entry in entries:
            assert any(f == entry or f.startswith(entry + "/") for f in files), (step, entry)
    assert "ctm/models/ctm_block.py" in code_files("train")


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
