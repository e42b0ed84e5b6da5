import html
import json
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest

from ctm.cli import main
from ctm.errors import MissingInputError
from ctm.report.cells import cell_predictions
from ctm.report.claims import CLAIMS, PAIRED
from ctm.report.paper import PAPER_TABLES
from ctm.report.site import build_site

PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The ids, image sources and links of a page, and whether every opened table is closed."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.links, self.open_tables = set(), [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs.get("href"))
        self.open_tables += tag == "table"

    def handle_endtag(self, tag):
        self.open_tables -= tag == "table"


def benchmark(path, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                    f"{seconds}\t0:00:{int(seconds):02d}\t812.5\t2100.1\t700.2\t720.3\t0.1\t12.5\t95.2\tNA\n")


def test_site_has_every_table_claim_figure_and_provenance(tiny_cfg, runs, written, tmp_path):
    cfg, _ = tiny_cfg
    out = tmp_path / "reports"
    shutil.copytree(written[1], out)
    benchmark(tmp_path / "logs" / "benchmarks" / "train" / "mk200_r50_tsn.tsv", 12.5)
    benchmark(tmp_path / "logs" / "benchmarks" / "download" / "mini_kinetics_200" / "kinetics400.tar.gz.tsv", 3)
    summary = build_site(cfg, out, out, runs, tmp_path / "logs")
    assert summary["missing_tables"] == [] and summary["jobs"] == 2
    text = (out / "index.html").read_text()
    page = Page()
    page.feed(text)
    assert page.open_tables == 0
    assert {*PAPER_TABLES, "claims", "curves", "provenance"} <= page.ids
    for table in PAPER_TABLES.values():
        assert html.escape(table.title) in text
        assert all(html.escape(r.label) in text for r in table.rows.values())
    for claim in CLAIMS:
        assert f"claim-{claim.key}" in page.ids and html.escape(claim.text) in text
    verdicts = json.loads((out / "claims.json").read_text())["claims"]
    assert {c["verdict"] for c in verdicts} <= {"holds", "fails", "inconclusive"}  # every cell was reproduced
    assert any(c["verdict"] == "holds" for c in verdicts)
    # every comparison is the paired test over the runs' predictions: 3 seeds a cell, the videos of the cells
    comparisons = [c for v in verdicts for c in v["comparisons"]]
    assert {c["method"] for c in comparisons} == {PAIRED}
    assert {(c["seeds_better"], c["seeds_worse"]) for c in comparisons} == {(3, 3)}
    videos = {(c["table"], c["column"]): c["videos"] for c in comparisons}
    assert videos[("table1", "top1")] == 200 and videos[("table6", "ucf101")] == 600  # a group: its 3 splits
    one = next(c for c in comparisons if (c["table"], c["better"], c["worse"]) == ("table1", "tccm", "baseline"))
    assert one["difference"] == pytest.approx(70.0 - 50.0)  # the seed means of the two cells
    for v in verdicts:
        assert f'<span class="badge {v["verdict"].replace(" ", "-")}">' in text
    # every image is a relative path under figures/ that exists and is a PNG: one per table, one per experiment
    assert all(src.startswith("figures/") for src in page.images)
    assert len(page.images) == len(PAPER_TABLES) + len(cfg.experiments)
    assert all((out / src).read_bytes().startswith(PNG) for src in page.images)
    assert "mini_kinetics_200/kinetics400.tar.gz" in text and "12.5" in text
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["params_hash"] == cfg.params_hash() and prov["preset"] == "embedded"
    assert {j["rule"] for j in prov["jobs"]} == {"train", "download"}
    assert [t["experiment"] for t in prov["training"]] == [f"{e}/seed{s}" for e in cfg.experiments for s in cfg.seeds]
    assert "<h3>CPU kernels</h3>" in text and f"{3 * len(cfg.experiments)} of {3 * len(cfg.experiments)} CPU" in text
    assert "../docs/interpretation.md" in page.links
    assert "Synthetic preset" in text  # the embedded preset says that the paper's numbers are for other data
    # the cells show their seeds: mean ± sd over seeds (and splits), seeds x splits, the seeds' range
    assert "<b>70.00</b> ± 1.00 sd, 3 seeds<br>" in text  # Table 1's TCCM + shortcut
    assert "<b>91.00</b> ± 0.88 sd, 3 seeds; ± 1.00 sd, 3 splits<br>" in text  # Table 5/6's UCF-101 CTM
    assert "3 x 3" in text and "69.00–71.00" in text
    assert "Training clips/s" not in text and "Clips/s" in text  # throughput only in the provenance's runs
    # DVC's metrics: one entry per reproduced cell of each table's CSV, nothing else
    metrics = json.loads((out / "metrics.json").read_text())
    for name in cfg.tables:
        frame = pd.read_csv(out / f"{name}.csv")
        mine = frame[frame["kind"] == "reproduced"]
        cells = {(r, c): metrics[name][r][c] for r in metrics[name] for c in metrics[name][r]}
        assert set(cells) == set(zip(mine["row"], mine["column"], strict=True))
        for rec in mine.to_dict("records"):
            assert cells[(rec["row"], rec["column"])] == round(rec["reproduced"], 4)


def test_site_before_every_table_is_run(tiny_cfg, runs, written, tmp_path, capsys):
    """Only Table 1 written: the others show the paper's values and "not run yet"; their claims are not evaluated."""
    cfg, params = tiny_cfg
    out, only = tmp_path / "reports", tmp_path / "runs"
    out.mkdir()
    shutil.copy(written[1] / "table1.csv", out)
    for name in cfg.tables["table1"].names():
        shutil.copytree(runs / name, only / name)
    assert main(["report", "--site", "--params", str(params), "--runs-dir", str(only), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["missing_tables"] == ["table2", "table3", "table4", "table5", "table6"]
    assert summary["claims"]["ctm_variants_beat_baseline"] != "not evaluated"
    assert summary["claims"]["ctm_beats_baseline_every_dataset"] == "not evaluated"
    text = (out / "index.html").read_text()
    assert text.count("Not reproduced yet") == 5 and "not run yet" in text
    assert html.escape(PAPER_TABLES["table6"].rows["ctm"].label) in text
    assert text.count('<img src="figures/curves/') == 4  # the logs present: Table 1's experiments
    assert summary["claims"]["each_path_helps"] == "holds"  # from the predictions of Table 1's runs
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["jobs"] == [] and "job wall times unknown" in prov["jobs_note"]


def test_cell_predictions_per_seed_and_a_missing_file(tiny_cfg, runs, written, tmp_path):
    cfg, _ = tiny_cfg
    tccm = cell_predictions(cfg, "mk200_r50_tccm_res4x1", runs)
    assert [int(s.sum()) for s in tccm] == [142, 138, 140] and all(len(s) == 200 for s in tccm)
    assert tccm[0].index[0] == "mini_kinetics_200_s1_0000"
    ucf = cell_predictions(cfg, "ucf101_r101_ctm_res4x3", runs)
    assert [int(s.sum()) for s in ucf] == [182 + 184 + 184, 178 + 182 + 180, 180 + 186 + 182]
    assert ucf[0].index.is_unique and ucf[0].index[200] == "s2/ucf101_s2_0000"
    # a run without predictions.csv: the site says which file and what writes it
    only = tmp_path / "runs"
    shutil.copytree(runs, only)
    (only / "mk200_r50_path2_res4x1" / "seed1" / "predictions.csv").unlink()
    out = tmp_path / "reports"
    shutil.copytree(written[1], out)
    with pytest.raises(MissingInputError, match=r"mk200_r50_path2_res4x1/seed1/predictions.csv: .*ctm evaluate"):
        build_site(cfg, out, out, only, None)
