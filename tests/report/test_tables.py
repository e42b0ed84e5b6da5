import json
import math
import statistics

import pandas as pd
import pytest
from conftest import CORRECT, NUM_VIDEOS, write_experiment

from ctm.cli import main
from ctm.engine.metrics import wilson_interval
from ctm.report.cells import ReportError
from ctm.report.paper import PAPER_TABLES, paper_videos
from ctm.report.stats import mean_interval
from ctm.report.tables import COLUMNS, read_table, table_frame


def test_every_table_has_one_row_per_cell_in_the_papers_order(written):
    frames, out = written
    for table, df in frames.items():
        paper = PAPER_TABLES[table]
        assert list(df.columns) == COLUMNS
        assert list(zip(df.row, df.column, strict=True)) == [(r, c) for r in paper.rows for c in paper.columns]
        csv = read_table(out / f"{table}.csv")
        assert list(zip(csv.row, csv.kind, strict=True)) == list(zip(df.row, df.kind, strict=True))
        assert csv.reproduced.fillna(-1).tolist() == pytest.approx(df.reproduced.fillna(-1).tolist(), abs=1e-4)
        md = (out / f"{table}.md").read_text()
        assert all(r.label in md for r in paper.rows.values())


def test_single_experiment_cells(written, runs):
    df = written[0]["table1"]
    r = df.set_index("row").loc["tccm"]
    low, high = wilson_interval(CORRECT["mk200_r50_tccm_res4x1"], NUM_VIDEOS)
    assert r.kind == "reproduced" and r.experiment == "mk200_r50_tccm_res4x1" and r.splits == 1
    assert r.reproduced == pytest.approx(100 * CORRECT["mk200_r50_tccm_res4x1"] / NUM_VIDEOS)
    assert (r.ci_low, r.ci_high) == pytest.approx((100 * low, 100 * high))
    assert r.delta == pytest.approx(r.reproduced - PAPER_TABLES["table1"].rows["tccm"].value)
    assert (r.train_videos, r.val_videos, r.train_missing, r.val_missing) == (3 * NUM_VIDEOS, NUM_VIDEOS, 5, 2)
    assert (r.paper_train_videos, r.paper_val_videos) == paper_videos("mini_kinetics_200")
    assert r.clips_per_s == pytest.approx(statistics.fmean([10.0, 20.0, 30.0]))  # the fixture's 3 epochs
    assert r.params_m > 0 and r.gflops > 0 and math.isnan(r["std"])
    ctm = df.set_index("row").loc["ctm"]
    assert ctm.params_m > df.set_index("row").loc["baseline"].params_m  # the CTM block adds parameters


def test_literature_rows_are_reported_never_reproduced(written):
    for table in ("table4", "table5"):
        df = written[0][table]
        lit = df[df.row != "ctm"]
        assert (lit.kind == "reported").all()
        assert lit.reproduced.isna().all() and lit.ci_low.isna().all() and lit.experiment.isna().all()
        ours = df[df.row == "ctm"]
        assert (ours.kind == "reproduced").all() and ours.reproduced.notna().all()
    t5 = written[0]["table5"].set_index(["row", "column"])
    assert math.isnan(t5.loc[("stnet", "hmdb51")].paper)  # the paper's "-"
    assert t5.loc[("stnet", "ucf101")].paper == PAPER_TABLES["table5"].rows["stnet"].number("ucf101")
    md = (written[1] / "table5.md").read_text()
    assert "| StNet [6] | RGB | " in md and "reported" in md and "[6] Dongliang He" in md


def test_group_cells_show_mean_and_std_over_splits(written, tiny_cfg):
    cfg, _ = tiny_cfg
    r = written[0]["table6"].set_index(["row", "column"]).loc[("ctm", "ucf101")]
    per_split = [100 * CORRECT[m] / NUM_VIDEOS for m in cfg.members("ucf101_r101_ctm_res4x3")]
    mean, std, t_low, t_high = mean_interval(per_split)
    assert r.experiment == "ucf101_r101_ctm_res4x3" and r.splits == 3
    assert (r.reproduced, r["std"]) == pytest.approx((mean, std))
    pooled = wilson_interval(sum(CORRECT[m] for m in cfg.members("ucf101_r101_ctm_res4x3")), 3 * NUM_VIDEOS)
    assert r.ci_low == pytest.approx(min(t_low, 100 * pooled[0]))  # the wider of the two intervals
    assert r.ci_high == pytest.approx(max(t_high, 100 * pooled[1]))
    assert (r.train_videos, r.val_videos) == (3 * 3 * NUM_VIDEOS, 3 * NUM_VIDEOS)  # summed over the splits
    assert (r.paper_train_videos, r.paper_val_videos) == paper_videos("ucf101", [1, 2, 3])
    md = (written[1] / "table6.md").read_text()
    assert f"{mean:.2f} ± {std:.2f} sd, 3 splits" in md
    csv = pd.read_csv(written[1] / "table6.csv")
    assert csv.set_index(["row", "column"]).loc[("ctm", "ucf101")]["std"] == pytest.approx(std, abs=1e-4)


def test_errors_name_the_file(tiny_cfg, cost, tmp_path):
    cfg, _ = tiny_cfg
    with pytest.raises(FileNotFoundError, match="mk200_r50_tsn/metrics.json"):
        table_frame(cfg, "table1", tmp_path, cost)
    write_experiment(tmp_path, cfg, "mk200_r50_tsn", 10)
    metrics = tmp_path / "mk200_r50_tsn" / "metrics.json"
    metrics.write_text(json.dumps({**json.loads(metrics.read_text()), "preset": "paper"}))
    with pytest.raises(ReportError, match="preset 'paper'"):
        table_frame(cfg, "table1", tmp_path, cost)
    with pytest.raises(ReportError, match="not one of the paper's tables"):
        table_frame(cfg, "table9", tmp_path, cost)


def test_cli_writes_the_table_and_its_archive(tiny_cfg, runs, tmp_path, capsys):
    _, params = tiny_cfg
    assert main(["report", "--table", "table5", "--params", str(params), "--runs-dir", str(runs),
                 "--out", str(tmp_path / "reports"), "--archive", str(tmp_path / "archive")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["table"] == "table5" and {r["column"] for r in printed["rows"]} == {"ucf101", "hmdb51"}
    for d in ("reports", "archive"):
        assert (tmp_path / d / "table5.csv").is_file() and (tmp_path / d / "table5.md").is_file()
