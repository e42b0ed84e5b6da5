"""Report tables: the paper's value beside the reproduced one, as CSV (for machines) and Markdown (for readers).

One CSV row per (row, column) cell of the paper's table (ctm.report.paper), in the paper's order. `kind` says what
the cell is: "reproduced" (params.yaml maps it to an experiment or a 3-split group), "reported" (a literature row:
the paper's value only) or "not_configured" (a row of ours that params.yaml leaves out); the report site shows a
table whose CSV does not exist yet with "not_run" cells (paper_only_frame).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ctm.config import Config
from ctm.fileio import save_text
from ctm.report.cells import ModelCost, ReportError, read_cell
from ctm.report.paper import PAPER_TABLES, REFERENCES, TOP1, PaperTable
from ctm.vocabulary import DATASET_DISPLAY_NAMES

COLUMNS = [
    "row", "column", "kind", "label", "paper", "reproduced", "seeds", "seed_std", "seed_min", "seed_max", "std",
    "splits", "ci_low", "ci_high", "delta", "experiment", "preset", "train_videos", "val_videos", "train_missing",
    "val_missing", "paper_train_videos", "paper_val_videos", "views_per_video", "averaging", "reduction", "params_m",
    "gflops",
]
REPRODUCED, REPORTED, NOT_CONFIGURED, NOT_RUN = "reproduced", "reported", "not_configured", "not_run"


def paper_table(table: str) -> PaperTable:
    if table not in PAPER_TABLES:
        raise ReportError(f"{table!r} is not one of the paper's tables: {', '.join(PAPER_TABLES)}")
    return PAPER_TABLES[table]


def _check_cells(cfg: Config, table: str, paper: PaperTable) -> dict[str, dict[str, str]]:
    if table not in cfg.tables:
        raise ReportError(f"params.yaml defines no table {table!r}; it defines {', '.join(cfg.tables)}")
    cells = cfg.tables[table].cells(TOP1)
    for row, cols in cells.items():
        if row not in paper.rows:
            raise ReportError(f"params.yaml tables.{table}.rows.{row}: not a row of the paper's {table} "
                              f"({', '.join(paper.rows)})")
        if paper.rows[row].literature:
            raise ReportError(f"params.yaml tables.{table}.rows.{row}: a literature row (the paper quotes "
                              f"{paper.rows[row].label}); it is reported, never reproduced: remove it")
        unknown = sorted(set(cols) - set(paper.columns))
        if unknown:
            raise ReportError(f"params.yaml tables.{table}.rows.{row}: columns {unknown} are not the paper's "
                              f"({', '.join(paper.columns)})")
    return cells


def table_frame(cfg: Config, table: str, runs_dir: str | Path, cost: ModelCost) -> pd.DataFrame:
    """One row per cell of the paper's table, reading runs_dir/<experiment or group>/metrics.json (ctm aggregate);
    `cost` gives the networks' params and GFLOPs (ctm.report.cells.ModelCost)."""
    paper = paper_table(table)
    cells = _check_cells(cfg, table, paper)
    rows = []
    for key, prow in paper.rows.items():
        for col in paper.columns:
            value = prow.number(col)
            base = {"row": key, "column": col, "label": prow.label, "paper": value}
            name = cells.get(key, {}).get(col)
            if prow.literature or name is None:
                rows.append({**base, "kind": REPORTED if prow.literature else NOT_CONFIGURED})
                continue
            cell = read_cell(cfg, name, runs_dir, cost)
            delta = cell["reproduced"] - value if value is not None else math.nan
            rows.append({**base, "kind": REPRODUCED, **cell, "delta": delta})
    return _typed(pd.DataFrame(rows, columns=COLUMNS))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("paper", "reproduced", "seed_std", "seed_min", "seed_max", "std", "ci_low", "ci_high", "delta",
              "params_m", "gflops"):
        df[c] = df[c].astype(float)
    for c in ("seeds", "splits", "train_videos", "val_videos", "train_missing", "val_missing", "paper_train_videos",
              "paper_val_videos", "views_per_video", "reduction"):
        df[c] = df[c].astype("Int64")  # literature rows leave them empty
    return df


def paper_only_frame(table: str) -> pd.DataFrame:
    """The frame of a table not reproduced yet: the paper's values, every cell of ours "not_run"."""
    paper = paper_table(table)
    rows = [{"row": key, "column": col, "label": prow.label, "paper": prow.number(col),
             "kind": REPORTED if prow.literature else NOT_RUN}
            for key, prow in paper.rows.items() for col in paper.columns]
    return _typed(pd.DataFrame(rows, columns=COLUMNS))


def read_table(path: str | Path) -> pd.DataFrame:
    """A table's CSV as write_table wrote it."""
    df = pd.read_csv(path, keep_default_na=True)
    missing = sorted(set(COLUMNS) - set(df.columns))
    if missing:
        raise ReportError(f"{path}: columns {missing} are missing; regenerate it with `ctm report --table`")
    return _typed(df[COLUMNS])


def fmt_num(v, digits: int = 2) -> str:
    return "-" if v is None or pd.isna(v) else f"{v:.{digits}f}"


def fmt_count(v) -> str:
    return "-" if v is None or pd.isna(v) else f"{int(v)}"


def format_reproduced(r) -> str:
    """'84.01 (79.4-87.8)'; over seeds '84.01 ± 2.10 sd, 3 seeds (79.4-87.8)', and for a 3-split mean
    '96.10 ± 0.40 sd, 3 splits (95.1-97.1)' (the sd over seeds first); a word if not reproduced."""
    if r.kind != REPRODUCED:
        return {REPORTED: "reported", NOT_RUN: "not run yet"}.get(r.kind, "not configured")
    parts = [f"± {r.seed_std:.2f} sd, {int(r.seeds)} seeds"] * int(r.seeds > 1)
    parts += [f"± {r.std:.2f} sd, {int(r.splits)} splits"] * int(r.splits > 1)
    spread = (" " + "; ".join(parts)) if parts else ""
    return f"{r.reproduced:.2f}{spread} ({r.ci_low:.1f}-{r.ci_high:.1f})"


def format_delta(r) -> str:
    return f"{r.delta:+.2f}" if r.kind == REPRODUCED and not math.isnan(r.delta) else ""


def paper_text(table: str, row: str, column: str) -> str:
    return PAPER_TABLES[table].rows[row].values.get(column, "-")


def backbones_note(paper: PaperTable) -> str:
    return "Backbones: " + "; ".join(f"{DATASET_DISPLAY_NAMES[c.dataset]}: {c.backbone}"
                                     for c in paper.columns.values()) + "."


def interval_note(df: pd.DataFrame) -> str:
    rep = df[df.kind == REPRODUCED]
    if rep.empty:
        return ""
    first = rep.iloc[0]
    runs = (f"the mean over {int(first.seeds)} training runs (seeds) of each model, ± their sd; "
            if first.seeds > 1 else "one training run per model; ")
    text = (f"Top-1 of {first.views_per_video} views per video ({first.averaging}), {runs}a 3-split mean also "
            "gives the sd over its splits. The 95% interval is the percentile interval of a bootstrap that draws the "
            "test videos and the seeds with replacement (all splits' videos pooled for a 3-split mean), the claims' "
            "procedure for one cell")
    return text + f". CTM paths reduce channels by C1/C2 = {first.reduction}."


def table_name(table: str) -> str:
    """'table4' -> 'Table 4'."""
    return f"Table {table[5:]}" if table.startswith("table") else table


def header_cells(paper: PaperTable) -> list[str]:
    """The column headings of the main grid: the paper's, then (paper, reproduced, delta) per dataset column."""
    multi = len(paper.columns) > 1
    head = ["Model"] + (["Input"] if any(r.input for r in paper.rows.values()) else [])
    for col in paper.columns.values():
        if multi:
            head += [f"{col.header}: paper", f"{col.header}: reproduced (95% CI)", f"{col.header}: delta"]
        else:
            head += [f"Paper {paper.metric}", "Reproduced (95% CI)", "Delta"]
    return head


def to_markdown(cfg: Config, table: str, df: pd.DataFrame) -> str:
    paper = paper_table(table)
    multi = len(paper.columns) > 1
    has_input = any(r.input for r in paper.rows.values())
    head = header_cells(paper)
    lines = [f"# {table_name(table)}: {paper.title}", "", f"Preset: `{cfg.preset_name}`. {cfg.preset.description}",
             "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * (1 + has_input) + ["---:"] * (len(head) - 1 - has_input)) + "|"]
    for key, prow in paper.rows.items():
        cells = [prow.label] + ([prow.input] if has_input else [])
        for col in paper.columns:
            r = next(df[(df.row == key) & (df.column == col)].itertuples())
            cells += [paper_text(table, key, col), format_reproduced(r), format_delta(r)]
        lines.append("| " + " | ".join(cells) + " |")
    rep = df[df.kind == REPRODUCED]
    if not rep.empty:
        lines += ["", "| Model | " + ("Dataset | " if multi else "") + "Experiment | Seeds: top-1 min-max | "
                      "Train / val videos (paper) | Missing train / val | Params (M) | GFLOPs |",
                  "|---|---|" + ("---|" if multi else "") + "---:|---:|---:|---:|---:|"]
        for r in rep.itertuples():
            dataset = f"{paper.columns[r.column].header} | " if multi else ""
            lines.append(
                f"| {r.label} | {dataset}`{r.experiment}` | {fmt_count(r.seeds)}: {fmt_num(r.seed_min)}-"
                f"{fmt_num(r.seed_max)} | {fmt_count(r.train_videos)} / "
                f"{fmt_count(r.val_videos)} ({fmt_count(r.paper_train_videos)} / {fmt_count(r.paper_val_videos)}) | "
                f"{fmt_count(r.train_missing)} / {fmt_count(r.val_missing)} | {fmt_num(r.params_m)} | "
                f"{fmt_num(r.gflops)} |")
    notes = [interval_note(df),
             "Videos: those used (listed and present) beside the paper's; a 3-split mean sums its splits. Params and "
             "forward FLOPs per clip at the preset's input (1 multiply-add = 2 FLOPs; `ctm model-info`). Training "
             "throughput and wall times depend on the machine: they are in provenance.json, not here.", paper.note,
             backbones_note(paper)]
    if cfg.preset.synthetic:
        notes.append("On a synthetic preset these are pipeline checks on stand-in data, not a reproduction of the "
                     "paper: the paper column is for reference only and the deltas are not wins or losses.")
    refs = sorted({n for r in paper.rows.values() if r.literature for n in r.refs})
    if refs:
        notes.append("Literature rows are quoted from the paper (\"reported\"), not reproduced. References (the "
                     "paper's numbering):")
        notes.append("\n".join(f"- [{n}] {REFERENCES[n]}" for n in refs))
    return "\n".join(lines) + "\n\n" + "\n\n".join(n for n in notes if n) + "\n"


def write_table(cfg: Config, table: str, runs_dir: str | Path, out_dir: str | Path, cost: ModelCost) -> pd.DataFrame:
    """Write out_dir/<table>.csv and out_dir/<table>.md (table_frame)."""
    df = table_frame(cfg, table, runs_dir, cost)
    out_dir = Path(out_dir)
    save_text(df.to_csv(index=False, float_format="%.4f"), out_dir / f"{table}.csv")
    save_text(to_markdown(cfg, table, df), out_dir / f"{table}.md")
    return df
