import json
import statistics

import pytest

from ctm.cli import main
from ctm.engine.aggregate import AggregateError, aggregate


def write_runs(tmp_path, top1s, preset="embedded"):
    paths = []
    for i, top1 in enumerate(top1s, start=1):
        path = tmp_path / f"split{i}" / "metrics.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"experiment": f"ucf_split{i}", "preset": preset, "top1": top1,
                                    "top5": 99.0, "num_videos": 100, "num_val_missing": i}))
        paths.append(path)
    return paths


def test_mean_and_std_over_splits_by_hand(tmp_path):
    result = aggregate(write_runs(tmp_path, [96.0, 97.0, 97.7]), tmp_path / "out.json")
    assert result["top1"] == pytest.approx((96.0 + 97.0 + 97.7) / 3)
    assert result["top1_std"] == pytest.approx(statistics.stdev([96.0, 97.0, 97.7]))
    assert result["top5"] == 99.0 and result["top5_std"] == 0.0
    assert result["num_videos"] == 300 and result["num_val_missing"] == 6 and result["num_runs"] == 3
    assert json.loads((tmp_path / "out.json").read_text()) == result


def test_refuses_mixed_presets_and_single_runs(tmp_path):
    paths = write_runs(tmp_path, [90.0, 91.0])
    data = json.loads(paths[1].read_text())
    paths[1].write_text(json.dumps({**data, "preset": "paper"}))
    with pytest.raises(AggregateError, match="different presets"):
        aggregate(paths, tmp_path / "out.json")
    with pytest.raises(AggregateError, match="at least two"):
        aggregate(paths[:1], tmp_path / "out.json")


def test_cli(tmp_path, capsys):
    paths = write_runs(tmp_path, [70.0, 72.0, 74.0])
    assert main(["aggregate", *map(str, paths), "--out", str(tmp_path / "agg.json")]) == 0
    assert json.loads((tmp_path / "agg.json").read_text())["top1"] == pytest.approx(72.0)
    assert main(["aggregate", str(paths[0]), "--out", str(tmp_path / "x.json")]) == 2
    assert "at least two" in capsys.readouterr().err


def _write_run(runs, experiment, seed, top1, preset="embedded", num_videos=100):
    path = runs / experiment / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"experiment": experiment, "seed": seed, "preset": preset, "top1": top1,
                                "top5": 99.0, "num_videos": num_videos, "num_val_missing": 1,
                                "num_train_videos": 300, "num_train_missing": 2, "views_per_video": 6,
                                "averaging": "softmax_mean", "reduction": 4}))


def test_a_cell_is_the_mean_over_seeds_and_a_group_over_splits_and_seeds(tmp_path, tiny_params):
    from ctm.config import parse_config
    from ctm.engine.aggregate import aggregate_cell

    cfg = parse_config(tiny_params)
    assert cfg.seeds == [0, 1]
    runs = tmp_path / "runs"
    for seed, top1 in zip(cfg.seeds, [60.0, 80.0], strict=True):
        _write_run(runs, "mk200_r50_tsn", seed, top1)
    cell = aggregate_cell(cfg, "mk200_r50_tsn", runs)
    assert cell["top1"] == pytest.approx(70.0) and cell["top1_seed_std"] == pytest.approx(statistics.stdev([60, 80]))
    assert cell["top1_per_seed"] == [60.0, 80.0] and cell["top1_std"] is None
    assert cell["num_videos"] == 100 and cell["runs"] == [f"mk200_r50_tsn/seed{s}" for s in cfg.seeds]
    assert json.loads((runs / "mk200_r50_tsn" / "metrics.json").read_text()) == cell

    members = cfg.groups["ucf101_r101_tsn"]
    for split, member in enumerate(members):
        for seed in cfg.seeds:
            _write_run(runs, member, seed, 50.0 + 10 * split + seed)
    group = aggregate_cell(cfg, "ucf101_r101_tsn", runs)
    assert group["top1_per_split"] == pytest.approx([50.5, 60.5, 70.5])  # each split's mean over seeds
    assert group["top1_per_seed"] == pytest.approx([60.0, 61.0])  # each seed's 3-split mean
    assert group["top1"] == pytest.approx(60.5) and group["top1_std"] == pytest.approx(10.0)
    assert group["top1_seed_std"] == pytest.approx(statistics.stdev([60, 61])) and group["num_videos"] == 300


def test_a_cell_refuses_a_run_of_another_seed_or_a_missing_one(tmp_path, tiny_params):
    from ctm.config import parse_config
    from ctm.engine.aggregate import aggregate_cell
    from ctm.errors import MissingInputError

    cfg = parse_config(tiny_params)
    runs = tmp_path / "runs"
    _write_run(runs, "mk200_r50_tsn", 0, 60.0)
    with pytest.raises(MissingInputError, match="seed1/metrics.json: no metrics"):
        aggregate_cell(cfg, "mk200_r50_tsn", runs)
    _write_run(runs, "mk200_r50_tsn", 1, 60.0)
    path = runs / "mk200_r50_tsn" / "seed1" / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seed": 0}))
    with pytest.raises(AggregateError, match="expected 'mk200_r50_tsn' seed 1"):
        aggregate_cell(cfg, "mk200_r50_tsn", runs)
