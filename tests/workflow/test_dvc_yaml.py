"""dvc.yaml and params.yaml agree: every table's report stage depends on exactly its rows' metrics."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_report_stages_depend_on_the_tables_rows():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for table, spec in params["tables"].items():
        stage = stages[f"report_{table}"]
        metrics = {d for d in stage["deps"] if d.endswith("metrics.json")}
        assert metrics == {f"results/${{preset}}/runs/{e}/metrics.json" for e in spec["rows"].values()}
        assert stage["cmd"].startswith(f"ctm report --table {table} ")


def test_train_and_evaluate_cover_every_experiment():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert stages["train"]["foreach"] == "${experiments}" == stages["evaluate"]["foreach"]
