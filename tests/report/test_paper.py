import re
import subprocess
from pathlib import Path

from ctm.config import load_config
from ctm.report.paper import PAPER_TABLES, PAPER_VIDEO_COUNTS, REFERENCES, TOP1, paper_videos
from ctm.vocabulary import DATASETS

REPO = Path(__file__).resolve().parents[2]
PAPER_PY = "ctm/report/paper.py"
# Generated outputs (they print the paper's values beside ours) and prose may quote the paper.
ALLOWED = ("docs/", "reports/", "results/", "logs/")


def distinctive_values() -> set[str]:
    """The paper's values printed with two decimals (like Table 1's): specific enough to grep for without false hits."""
    return {v for t in PAPER_TABLES.values() for r in t.rows.values() for v in r.values.values()
            if re.fullmatch(r"\d+\.\d\d", v)}


def repository_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in out if f and f != PAPER_PY and not f.startswith(ALLOWED) and (REPO / f).is_file()]


def test_paper_values_live_only_in_paper_py():
    values = distinctive_values()
    assert PAPER_TABLES["table1"].rows["ctm"].values[TOP1] in values and len(values) >= 12
    pattern = re.compile(r"(?<![\d.])(" + "|".join(re.escape(v) for v in sorted(values)) + r")(?!\d)")
    files = repository_files()
    assert "ctm/report/tables.py" in files and "tests/report/test_paper.py" in files  # the scan sees code and tests
    hits = []
    for name in files:
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        hits += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not hits, f"published values outside {PAPER_PY} (read them from ctm.report.paper): {hits}"


def test_the_scan_would_catch_a_copied_value(tmp_path):
    values = distinctive_values()
    pattern = re.compile(r"(?<![\d.])(" + "|".join(re.escape(v) for v in sorted(values)) + r")(?!\d)")
    baseline = PAPER_TABLES["table1"].rows["baseline"].values[TOP1]
    assert pattern.search(f"<td>{baseline}</td>") and not pattern.search(f"1{baseline}0")


def test_tables_match_params_yaml():
    cfg = load_config(REPO / "params.yaml")
    assert set(cfg.tables) == set(PAPER_TABLES)
    for name, table in cfg.tables.items():
        paper = PAPER_TABLES[name]
        for row, cols in table.cells(TOP1).items():
            assert row in paper.rows and not paper.rows[row].literature, (name, row)
            assert set(cols) <= set(paper.columns), (name, row)
        for key, row in paper.rows.items():
            assert set(row.values) == set(paper.columns), (name, key)
            assert row.literature or key in table.cells(TOP1), f"{name}.{key}: our row is not in params.yaml"
            assert all(n in REFERENCES for n in row.refs)
            assert row.literature == bool(row.refs)
        assert all(c.dataset in DATASETS for c in paper.columns.values())


def test_table_shapes_and_absent_values():
    assert len(PAPER_TABLES["table4"].rows) == 10 and list(PAPER_TABLES["table4"].rows)[-1] == "ctm"
    assert sum(r.literature for r in PAPER_TABLES["table4"].rows.values()) == 9
    assert list(PAPER_TABLES["table5"].columns) == ["ucf101", "hmdb51"]
    assert PAPER_TABLES["table5"].rows["stnet"].number("hmdb51") is None
    assert list(PAPER_TABLES["table6"].columns) == ["kinetics_600", "ucf101", "hmdb51", "mini_kinetics_200"]
    # shared rows agree: Table 4's CTM is Table 6's Kinetics-600 CTM, Table 5's are Table 6's UCF/HMDB CTM
    t4, t5, t6 = (PAPER_TABLES[t].rows["ctm"] for t in ("table4", "table5", "table6"))
    assert t4.value == t6.number("kinetics_600")
    assert t5.values == {k: t6.values[k] for k in ("ucf101", "hmdb51")}
    assert PAPER_TABLES["table3"].rows["three"].value == t6.number("mini_kinetics_200")
    for t in ("table1", "table2", "table3"):
        assert PAPER_TABLES[t].rows["baseline"].value == PAPER_TABLES["table6"].rows["baseline"].number(
            "mini_kinetics_200")


def test_video_counts():
    assert set(PAPER_VIDEO_COUNTS) == set(DATASETS)
    assert paper_videos("ucf101", [1]) == (9537, 3783)
    assert paper_videos("ucf101", [1, 2, 3]) == (9537 + 9586 + 9624, 3783 + 3734 + 3696)
    assert paper_videos("hmdb51", [1, 2, 3]) == (3 * 3570, 3 * 1530)
    for dataset in ("kinetics_600", "mini_kinetics_200"):  # footnote 2: what the authors could download
        counts = PAPER_VIDEO_COUNTS[dataset]
        assert paper_videos(dataset) == (counts.train_used, counts.val_used)
        assert counts.train_used < counts.train_listed and counts.val_used < counts.val_listed
