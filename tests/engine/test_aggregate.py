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
