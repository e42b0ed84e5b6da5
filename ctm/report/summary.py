"""reports/metrics.json: every reproduced cell of Tables 1-6 in one small, committed file, DVC's metrics.

`dvc metrics show` reads it in a fresh clone (no results/ needed) and `dvc metrics diff` / `dvc exp show` compare
it between commits or experiments: one column per cell (`table1.ctm.top1`, the reproduced top-1), not the
per-class numbers of every run's metrics.json; the paper's value and the confidence interval stay in the CSVs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctm.fileio import save_json


def table_metrics(frames: dict[str, pd.DataFrame | None]) -> dict:
    """{table: {row: {column: reproduced top-1 (%)}}} from the tables' frames (tableN.csv);
    literature rows (quoted from the paper, not reproduced) and tables not generated yet are left out."""
    out: dict = {}
    for table, frame in frames.items():
        if frame is None:
            continue
        for rec in frame[frame["kind"] == "reproduced"].to_dict("records"):
            if pd.notna(rec["reproduced"]):
                out.setdefault(table, {}).setdefault(str(rec["row"]), {})[str(rec["column"])] = round(
                    float(rec["reproduced"]), 4)
    return out


def write_metrics(frames: dict[str, pd.DataFrame | None], out: Path) -> Path:
    return save_json(table_metrics(frames), out)
