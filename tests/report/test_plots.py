import json
import struct

from ctm.report.plots import plot_curves, plot_table
from ctm.report.tables import paper_only_frame


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_curves_from_a_log_and_none_without(tmp_path):
    assert plot_curves("x", tmp_path / "absent.jsonl", tmp_path / "x.png") is None
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({"epoch": e, "loss": 1 / e, "top1": 10 * e, "lr": 0.1 if e < 3 else 0.01,
                                       "clips_per_s": 5.0}) + "\n" for e in range(1, 5)))
    png = plot_curves("x", log, tmp_path / "curves" / "x.png")
    assert png == tmp_path / "curves" / "x.png" and png_size(png)[0] > 300


def test_table_figures(written, tmp_path):
    frames, _ = written
    one = plot_table("table1", frames["table1"], tmp_path / "t1.png", synthetic=True)
    four = plot_table("table6", frames["table6"], tmp_path / "t6.png", synthetic=False)
    w, h = png_size(four)
    assert w < 2.5 * h  # four datasets as 2 x 2 panels, not one long strip
    assert png_size(one)[0] > 300
    assert png_size(plot_table("table5", paper_only_frame("table5"), tmp_path / "t5.png", synthetic=True))[0] > 300
