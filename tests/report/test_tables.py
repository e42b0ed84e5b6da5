import copy
import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest
from conftest import CORRECT, NUM_VIDEOS, write_experiment, write_runs

from ctm.cli import main
from ctm.config import parse_config
from ctm.engine.aggregate import aggregate_cell
from ctm.engine.metrics import wilson_interval
from ctm.errors import MissingInputError
from ctm.report.cells import ReportError, cell_predictions
from ctm.report.paired import cell_interval
from ctm.report.paper import PAPER_TABLES, paper_videos
from ctm.report.tables import COLUMNS, format_reproduced, read_table, table_frame, to_markdown

T2 = 4.302652730  # Student's t, 0.975 quantile, 2 degrees of freedom (3 seeds or 3 splits)


def t_interval(values: list[float]) -> tuple[float, float]:
    """By hand: mean -+ t(n-1) sd / sqrt(n) of 3 values."""
    assert len(values) == 3
    half = T2 * statistics.stdev(values) / math.sqrt(3)
    return statistics.fmean(values) - half, statistics.fmean(values) + half


def wilson(correct: int, total: int) -> tuple[float, float]:
    low, high = wilson_interval(correct, total)
    return 100 * low, 100 * high


def naive_bootstrap(runs: list[pd.Series], replicates: int = 4000) -> tuple[float, float]:
    """By hand, another way: draw the videos, then the seeds, with replacement; the 2.5% and 97.5% quantiles of the
    mean top-1 (a second implementation of the cell's interval, to within its Monte Carlo error)."""
    rng = np.random.default_rng(1)
    matrix = np.vstack([r.sort_index().to_numpy() for r in runs])
    means = []
    for _ in range(replicates):
        videos = rng.integers(0, matrix.shape[1], matrix.shape[1])
        seeds = rng.integers(0, len(runs), len(runs)) if len(runs) > 1 else [0]
        means.append(100 * matrix[np.ix_(seeds, videos)].mean())
    return tuple(np.quantile(means, [0.025, 0.975]))


def test_every_table_has_one_row_per_cell_in_the_papers_order(written):
    frames, out = written
    for table, df in frames.items():
        paper = PAPER_TABLES[table]
        assert list(df.columns) == COLUMNS
        assert list(zip(df.row, df.column, strict=True)) == [(r, c) for r in paper.rows for c in paper.columns]
        csv = read_table(out / f"{table}.csv")
        assert list(zip(csv.row, csv.kind, strict=True)) == list(zip(df.row, df.kind, strict=True))
        assert csv.reproduced.fillna(-1).tolist() == pytest.approx(df.reproduced.fillna(-1).tolist(), abs=1e-4)
        assert csv.seed_std.fillna(-1).tolist() == pytest.approx(df.seed_std.fillna(-1).tolist(), abs=1e-4)
        # training throughput depends on the machine: provenance.json has it, the tables do not
        raw = pd.read_csv(out / f"{table}.csv")
        assert "clips_per_s" not in raw.columns and {"seeds", "seed_std", "seed_min", "seed_max"} <= set(raw.columns)
        md = (out / f"{table}.md").read_text()
        assert all(r.label in md for r in paper.rows.values())
        assert "clips/s" not in md and "Seeds: top-1 min-max" in md


def test_a_cell_is_the_mean_over_its_seeds(written, runs, tiny_cfg):
    """tccm: 140 of 200 right on average; its seeds' runs get 142, 138, 140 (conftest.seed_correct)."""
    df = written[0]["table1"]
    r = df.set_index("row").loc["tccm"]
    assert json.loads((runs / "mk200_r50_tccm_res4x1" / "seed1" / "metrics.json").read_text())["top1"] == 69.0
    assert r.kind == "reproduced" and r.experiment == "mk200_r50_tccm_res4x1"
    assert (r.splits, r.seeds) == (1, 3)
    assert r.reproduced == pytest.approx(70.0)  # the mean, not the first seed's 71
    assert r.seed_std == pytest.approx(1.0)  # the sample sd over seeds (the population sd would be 0.816)
    assert (r.seed_min, r.seed_max) == pytest.approx((69.0, 71.0))
    # the seeds agree within 2 points: the interval is about test-set sampling, close to Wilson's of 140 of 200,
    # and what another bootstrap implementation gives
    w_low, w_high = wilson(140, NUM_VIDEOS)
    assert r.ci_low < r.reproduced < r.ci_high
    assert (r.ci_low, r.ci_high) == pytest.approx((w_low, w_high), abs=2.0)
    predictions = cell_predictions(tiny_cfg[0], r.experiment, runs)
    assert (r.ci_low, r.ci_high) == pytest.approx(naive_bootstrap(predictions), abs=1.0)
    assert r.delta == pytest.approx(r.reproduced - PAPER_TABLES["table1"].rows["tccm"].value)
    # counts of one seed's runs: every seed tests the same videos
    assert (r.train_videos, r.val_videos, r.train_missing, r.val_missing) == (3 * NUM_VIDEOS, NUM_VIDEOS, 5, 2)
    assert (r.paper_train_videos, r.paper_val_videos) == paper_videos("mini_kinetics_200")
    assert r.params_m > 0 and r.gflops > 0 and math.isnan(r["std"])
    ctm = df.set_index("row").loc["ctm"]
    assert ctm.params_m > df.set_index("row").loc["baseline"].params_m  # the CTM block adds parameters
    md = (written[1] / "table1.md").read_text()
    assert f"70.00 ± 1.00 sd, 3 seeds ({r.ci_low:.1f}-{r.ci_high:.1f})" in md
    assert "| `mk200_r50_tccm_res4x1` | 3: 69.00-71.00 |" in md


PINNED_RES5 = (47.3333, 61.6667)


def test_a_wide_seed_spread_is_in_the_interval(written, tiny_cfg, runs):
    """Res5: 110 of 200 on average, its seeds 120, 100, 110 (conftest.SPREAD)."""
    r = written[0]["table2"].set_index("row").loc["res5"]
    per_seed = [60.0, 50.0, 55.0]
    assert r.reproduced == pytest.approx(55.0) and r.seed_std == pytest.approx(5.0)
    assert (r.seed_min, r.seed_max) == pytest.approx((50.0, 60.0))
    assert statistics.fmean(per_seed) == pytest.approx(r.reproduced)
    # the seeds are right on different videos, so averaging them narrows the sampling part as much as drawing the
    # seeds widens it: about Wilson's interval of one run (48.1-61.7), and what another implementation gives
    assert (r.ci_low, r.ci_high) == pytest.approx(wilson(110, NUM_VIDEOS), abs=1.5)
    assert (r.ci_low, r.ci_high) == pytest.approx(naive_bootstrap(cell_predictions(tiny_cfg[0], r.experiment, runs)),
                                                  abs=1.0)
    assert (r.ci_low, r.ci_high) == pytest.approx(PINNED_RES5, abs=1e-4)  # pinned: the same on any machine


def test_cell_interval_covers_sampling_and_seeds():
    videos = [f"v{i:03d}" for i in range(200)]
    same = pd.Series([1] * 140 + [0] * 60, index=videos)
    one = cell_interval([same])  # one seed: a bootstrap over the videos, close to Wilson's interval
    assert one == pytest.approx(wilson(140, 200), abs=1.0)
    assert cell_interval([same, same, same]) == one  # seeds that agree add nothing
    apart = [same, pd.Series([1] * 100 + [0] * 100, index=videos), pd.Series([1] * 180 + [0] * 20, index=videos)]
    low, high = cell_interval(apart)  # seeds 70, 50, 90: their spread dominates
    assert low < 55 and high > 85 and (low, high) == pytest.approx(naive_bootstrap(apart), abs=1.5)
    assert cell_interval([pd.Series([1] * 200, index=videos)]) == (100.0, 100.0)
    assert cell_interval(apart) == (low, high)  # deterministic


def test_literature_rows_are_reported_never_reproduced(written):
    for table in ("table4", "table5"):
        df = written[0][table]
        lit = df[df.row != "ctm"]
        assert (lit.kind == "reported").all()
        assert lit.reproduced.isna().all() and lit.ci_low.isna().all() and lit.experiment.isna().all()
        assert lit.seeds.isna().all() and lit.seed_std.isna().all()
        ours = df[df.row == "ctm"]
        assert (ours.kind == "reproduced").all() and ours.reproduced.notna().all()
    t5 = written[0]["table5"].set_index(["row", "column"])
    assert math.isnan(t5.loc[("stnet", "hmdb51")].paper)  # the paper's "-"
    assert t5.loc[("stnet", "ucf101")].paper == PAPER_TABLES["table5"].rows["stnet"].number("ucf101")
    md = (written[1] / "table5.md").read_text()
    assert "| StNet [6] | RGB | " in md and "reported" in md and "[6] Dongliang He" in md


def test_group_cells_show_the_mean_over_seeds_and_splits(written, tiny_cfg, runs):
    """UCF-101 CTM: splits 180, 184, 182 of 200 on average; seeds 182/178/180, 184/182/186 (split 2 reversed),
    184/180/182."""
    cfg, _ = tiny_cfg
    assert [CORRECT[m] for m in cfg.members("ucf101_r101_ctm_res4x3")] == [180, 184, 182]
    r = written[0]["table6"].set_index(["row", "column"]).loc[("ctm", "ucf101")]
    per_seed = [100 * 550 / 600, 100 * 540 / 600, 100 * 548 / 600]  # each seed's 3-split mean: 91.67, 90, 91.33
    per_split = [90.0, 92.0, 91.0]  # each split's mean over seeds
    assert r.experiment == "ucf101_r101_ctm_res4x3" and (r.splits, r.seeds) == (3, 3)
    assert r.reproduced == pytest.approx(91.0)
    assert r["std"] == pytest.approx(1.0)  # over splits
    assert r.seed_std == pytest.approx(statistics.stdev(per_seed)) and r.seed_std == pytest.approx(28**0.5 / 6)
    assert (r.seed_min, r.seed_max) == pytest.approx((90.0, 100 * 550 / 600))
    # the 3 splits' 600 videos pooled, seeds drawn: close to Wilson's interval of 546 of 600 (the seeds agree)
    assert statistics.fmean(per_split) == pytest.approx(r.reproduced)
    assert (r.ci_low, r.ci_high) == pytest.approx(wilson(546, 3 * NUM_VIDEOS), abs=1.0)
    predictions = cell_predictions(tiny_cfg[0], "ucf101_r101_ctm_res4x3", runs)
    assert len(predictions) == 3 and all(len(p) == 3 * NUM_VIDEOS for p in predictions)
    assert (r.ci_low, r.ci_high) == pytest.approx(naive_bootstrap(predictions), abs=1.0)
    assert (r.train_videos, r.val_videos) == (3 * 3 * NUM_VIDEOS, 3 * NUM_VIDEOS)  # summed over the splits
    assert (r.train_missing, r.val_missing) == (3 * 5, 3 * 2)
    assert (r.paper_train_videos, r.paper_val_videos) == paper_videos("ucf101", [1, 2, 3])
    md = (written[1] / "table6.md").read_text()
    assert f"91.00 ± 0.88 sd, 3 seeds; ± 1.00 sd, 3 splits ({r.ci_low:.1f}-{r.ci_high:.1f})" in md
    csv = pd.read_csv(written[1] / "table6.csv").set_index(["row", "column"]).loc[("ctm", "ucf101")]
    assert (csv["std"], csv["seed_std"], csv["seeds"]) == pytest.approx((1.0, 28**0.5 / 6, 3), abs=1e-4)


def row(df: pd.DataFrame, key: str, column: str):
    """A cell as the writers format it: a row of itertuples (a Series' .std would be its method)."""
    df = df.reset_index() if "row" not in df.columns else df
    return next(df[(df.row == key) & (df.column == column)].itertuples())


@pytest.fixture(scope="module")
def one_seed(tiny_params, cost, tmp_path_factory):
    """(config, runs folder) of a preset with the default single seed, runs written as for the 3-seed one."""
    params = copy.deepcopy(tiny_params)
    params["presets"]["embedded"]["seeds"] = [0]
    cfg = parse_config(params)
    assert cfg.seeds == [0]
    runs = tmp_path_factory.mktemp("one_seed_runs")
    write_runs(runs, cfg, CORRECT)
    return cfg, runs


def test_one_seed_cells(one_seed, cost):
    """With one seed a run is the cell: no seed spread; a group's interval comes from its spread over splits."""
    cfg, runs = one_seed
    df = table_frame(cfg, "table6", runs, cost).set_index(["row", "column"])
    mk = df.loc[("baseline", "mini_kinetics_200")]
    assert (mk.seeds, mk.splits) == (1, 1) and mk.reproduced == pytest.approx(50.0)
    assert math.isnan(mk.seed_std) and mk.seed_min == mk.seed_max == pytest.approx(50.0)
    assert (mk.ci_low, mk.ci_high) == pytest.approx(wilson(100, NUM_VIDEOS), abs=1.0)  # a bootstrap over videos
    assert format_reproduced(row(df, "baseline", "mini_kinetics_200")) == f"50.00 ({mk.ci_low:.1f}-{mk.ci_high:.1f})"
    ucf = df.loc[("ctm", "ucf101")]
    assert (ucf.seeds, ucf.splits) == (1, 3) and ucf.reproduced == pytest.approx(91.0)
    assert ucf["std"] == pytest.approx(1.0) and math.isnan(ucf.seed_std)
    assert (ucf.ci_low, ucf.ci_high) == pytest.approx(wilson(546, 600), abs=1.0)  # the splits' videos pooled
    assert "one training run per model" in to_markdown(cfg, "table6", df.reset_index())


def test_one_seed_group_reads_as_a_three_split_mean(one_seed, cost):
    cfg, runs = one_seed
    ucf = row(table_frame(cfg, "table6", runs, cost), "ctm", "ucf101")
    assert format_reproduced(ucf) == f"91.00 ± 1.00 sd, 3 splits ({ucf.ci_low:.1f}-{ucf.ci_high:.1f})"


def test_errors_name_the_file(tiny_cfg, cost, tmp_path):
    cfg, _ = tiny_cfg
    with pytest.raises(FileNotFoundError, match="mk200_r50_tsn/metrics.json"):
        table_frame(cfg, "table1", tmp_path, cost)
    write_experiment(tmp_path, cfg, "mk200_r50_tsn", 10)
    with pytest.raises(MissingInputError, match="mk200_r50_tsn/metrics.json"):  # runs, but not aggregated yet
        table_frame(cfg, "table1", tmp_path, cost)
    metrics = tmp_path / "mk200_r50_tsn" / "metrics.json"
    cell = aggregate_cell(cfg, "mk200_r50_tsn", tmp_path)
    metrics.write_text(json.dumps({**cell, "preset": "paper"}))
    with pytest.raises(ReportError, match="preset 'paper'"):
        table_frame(cfg, "table1", tmp_path, cost)
    metrics.write_text(json.dumps({**cell, "seeds": [0]}))  # aggregated before the preset had 3 seeds
    with pytest.raises(ReportError, match=r"over seeds \[0\].*re-run `ctm aggregate"):
        table_frame(cfg, "table1", tmp_path, cost)
    run = json.loads((tmp_path / "mk200_r50_tsn" / "seed0" / "metrics.json").read_text())
    metrics.write_text(json.dumps({**run, "members": cell["members"], "seeds": cell["seeds"]}))  # a run's metrics
    with pytest.raises(ReportError, match="lacks.*top1_per_seed"):
        table_frame(cfg, "table1", tmp_path, cost)
    with pytest.raises(ReportError, match="not one of the paper's tables"):
        table_frame(cfg, "table9", tmp_path, cost)


def test_cli_writes_the_table_and_its_archive(tiny_cfg, runs, tmp_path, capsys):
    _, params = tiny_cfg
    assert main(["report", "--table", "table5", "--params", str(params), "--runs-dir", str(runs),
                 "--out", str(tmp_path / "reports"), "--archive", str(tmp_path / "archive")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["table"] == "table5" and {r["column"] for r in printed["rows"]} == {"ucf101", "hmdb51"}
    ucf = next(r for r in printed["rows"] if r["column"] == "ucf101")
    assert ucf["reproduced"] == pytest.approx(91.0)
    for d in ("reports", "archive"):
        assert (tmp_path / d / "table5.csv").is_file() and (tmp_path / d / "table5.md").is_file()
