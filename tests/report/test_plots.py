import json
import struct

import pytest

from ctm.report import plots
from ctm.report.plots import plot_curves, plot_table, write_figures
from ctm.report.tables import paper_only_frame


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def write_log(path, seed: int, epochs: int = 4):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"epoch": e, "loss": 1 / e + seed, "top1": 10 * e + seed,
                                        "lr": 0.1 if e < 3 else 0.01, "clips_per_s": 5.0}) + "\n"
                            for e in range(1, epochs + 1)))
    return path


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_curves saves (their axes and title), captured on their way to the PNG."""
    seen = []
    real = plots._save

    def spy(fig, path, **kwargs):
        seen.append({"axes": fig.axes, "title": fig._suptitle.get_text() if fig._suptitle else ""})
        return real(fig, path, **kwargs)

    monkeypatch.setattr(plots, "_save", spy)
    return seen


def curves(ax) -> list[list[float]]:
    """The y values of each data line of an axis, in drawing order (the lr-decay verticals have no markers)."""
    return [list(line.get_ydata()) for line in ax.lines if line.get_marker() == "o"]


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.lines if line.get_marker() == "o"]


def test_curves_one_line_per_seed_and_none_without_a_log(tmp_path, figures):
    assert plot_curves("x", [], tmp_path / "x.png") is None
    assert plot_curves("x", [tmp_path / "seed0" / "absent.jsonl"], tmp_path / "x.png") is None
    (tmp_path / "empty" / "seed9").mkdir(parents=True)
    (tmp_path / "empty" / "seed9" / "log.jsonl").write_text("")
    assert plot_curves("x", [tmp_path / "empty" / "seed9" / "log.jsonl"], tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists() and figures == []
    logs = [write_log(tmp_path / "x" / f"seed{s}" / "log.jsonl", s) for s in range(3)]
    png = plot_curves("x", [*logs, tmp_path / "x" / "seed3" / "log.jsonl"], tmp_path / "curves" / "x.png")
    assert png == tmp_path / "curves" / "x.png" and png_size(png)[0] > 300
    (fig,) = figures
    loss, top1 = fig["axes"][:2]
    assert curves(loss) == [pytest.approx([1 / e + s for e in range(1, 5)]) for s in range(3)]
    assert curves(top1) == [pytest.approx([10 * e + s for e in range(1, 5)]) for s in range(3)]
    assert labels(loss) == ["seed0", "seed1", "seed2"]
    assert len(loss.lines) == 3 + 1  # and one dotted line where the lr decays (after epoch 2)
    assert loss.get_legend() is not None and "3 seed(s)" in fig["title"]
    assert plot_curves("x", [logs[1]], tmp_path / "one.png") == tmp_path / "one.png"
    assert labels(figures[1]["axes"][0]) == ["seed1"] and "1 seed(s)" in figures[1]["title"]


def test_write_figures_reads_every_seeds_log(tmp_path, figures):
    runs = tmp_path / "runs"
    for s in (0, 2):
        write_log(runs / "a" / f"seed{s}" / "log.jsonl", s)
    write_log(runs / "b" / "seed1" / "log.jsonl", 1)  # not one of the seeds asked for
    out = write_figures({}, runs, tmp_path / "site" / "figures", True, ["a", "b"], [0, 2])
    assert out == {"tables": {}, "curves": {"a": "figures/curves/a.png"}}
    assert (tmp_path / "site" / "figures" / "curves" / "a.png").is_file()
    assert labels(figures[0]["axes"][0]) == ["seed0", "seed2"]


def test_table_figures(written, tmp_path):
    frames, _ = written
    one = plot_table("table1", frames["table1"], tmp_path / "t1.png", synthetic=True)
    four = plot_table("table6", frames["table6"], tmp_path / "t6.png", synthetic=False)
    w, h = png_size(four)
    assert w < 2.5 * h  # four datasets as 2 x 2 panels, not one long strip
    assert png_size(one)[0] > 300
    assert png_size(plot_table("table5", paper_only_frame("table5"), tmp_path / "t5.png", synthetic=True))[0] > 300
