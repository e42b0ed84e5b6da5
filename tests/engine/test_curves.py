"""log.jsonl as curves.csv: every epoch's loss, top-1 and lr, exactly; a log that is not one is a clear error."""

import csv
import json

import pytest

from ctm.cli import main
from ctm.engine.curves import TrainLogError, write_curves


def test_curves_hold_the_logs_values_in_epoch_order(tmp_path):
    records = [{"epoch": e, "loss": 1.0 / e + 1e-12, "top1": 10.0 * e, "lr": 0.1, "clips_per_s": 5.0}
               for e in (2, 1, 3)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["curves", "--run-dir", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "curves.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and list(rows[0]) == ["epoch", "loss", "top1", "lr"]
    assert [float(r["loss"]) for r in rows] == [1.0 / e + 1e-12 for e in (1, 2, 3)]  # repr(): no rounding


def test_a_log_that_is_not_ctm_trains_names_the_line(tmp_path, capsys):
    (tmp_path / "log.jsonl").write_text('{"epoch": 1, "loss": 1.0, "top1": 5.0, "lr": 0.1}\n{"epoch": 2}\n')
    with pytest.raises(TrainLogError, match=r"line 2: lacks \['loss', 'top1', 'lr'\]"):
        write_curves(tmp_path / "log.jsonl", tmp_path / "curves.csv")
    assert main(["curves", "--run-dir", str(tmp_path / "none")]) == 2
    assert "no training log there" in capsys.readouterr().err
    assert not (tmp_path / "curves.csv").exists()


def test_one_command_writes_every_runs_curves(tmp_path):
    runs = [tmp_path / name / "seed0" for name in ("a", "b")]
    for k, run in enumerate(runs):
        run.mkdir(parents=True)
        (run / "log.jsonl").write_text(json.dumps({"epoch": 1, "loss": 1.0 + k, "top1": 5.0, "lr": 0.1}) + "\n")
    assert main(["curves", "--run-dir", *map(str, runs)]) == 0
    assert [float(next(csv.DictReader((r / "curves.csv").open()))["loss"]) for r in runs] == [1.0, 2.0]
    assert main(["curves", "--run-dir", *map(str, runs), "--out", str(tmp_path / "x.csv")]) == 2
