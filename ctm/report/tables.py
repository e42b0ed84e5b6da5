"""Report tables: the paper's value beside the reproduced one, as CSV (for machines) and Markdown (for readers)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ctm.config import Config
from ctm.engine.build import experiment_cost
from ctm.fileio import save_text
from ctm.report.paper import PAPER_TABLES, PAPER_VIDEO_COUNTS

COLUMNS = [
    "row", "label", "paper", "reproduced", "ci_low", "ci_high", "delta", "experiment", "preset",
    "train_videos", "val_videos", "train_missing", "val_missing", "paper_train_videos", "paper_val_videos",
    "views_per_video", "averaging", "reduction", "params_m", "gflops",
]


def table_frame(cfg: Config, table: str, runs_dir: str | Path) -> pd.DataFrame:
    """One row per table row of params.yaml, reading runs_dir/<experiment>/metrics.json."""
    if table not in cfg.tables:
        raise KeyError(f"params.yaml defines no table {table!r}; it defines {', '.join(cfg.tables)}")
    paper = PAPER_TABLES[table]
    unknown = set(cfg.tables[table].rows) - set(paper.rows)
    if unknown:
        raise KeyError(f"tables.{table}.rows: {sorted(unknown)} are not rows of the paper's {table}: "
                       f"{sorted(paper.rows)}")
    counts = PAPER_VIDEO_COUNTS.get(paper.dataset, {})
    costs = {e: experiment_cost(cfg, e, cfg.num_classes(cfg.experiment(e).dataset))
             for e in cfg.tables[table].rows.values()}
    rows = []
    for key, experiment in cfg.tables[table].rows.items():
        m = json.loads((Path(runs_dir) / experiment / "metrics.json").read_text())
        rows.append({
            "row": key, "label": paper.rows[key].label, "paper": paper.rows[key].value,
            "reproduced": m["top1"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
            "delta": m["top1"] - paper.rows[key].value, "experiment": experiment, "preset": m["preset"],
            "train_videos": m["num_train_videos"], "val_videos": m["num_videos"],
            "train_missing": m["num_train_missing"], "val_missing": m["num_val_missing"],
            "paper_train_videos": counts.get("train_used"), "paper_val_videos": counts.get("val_used"),
            "views_per_video": m["views_per_video"], "averaging": m["averaging"], "reduction": m["reduction"],
            "params_m": costs[experiment]["params_m"], "gflops": costs[experiment]["gflops"],
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def to_markdown(cfg: Config, table: str, df: pd.DataFrame) -> str:
    paper = PAPER_TABLES[table]
    lines = [
        f"# {table.capitalize()}: {paper.title}",
        "",
        f"Preset: `{cfg.preset_name}`. {cfg.preset.description}",
        "",
        f"| Model | Paper {paper.metric} | Reproduced (95% CI) | Delta | Train / val videos | Params (M) | GFLOPs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in df.itertuples():
        lines.append(
            f"| {r.label} | {r.paper:.2f} | {r.reproduced:.2f} ({r.ci_low:.1f}-{r.ci_high:.1f}) | {r.delta:+.2f} "
            f"| {r.train_videos} / {r.val_videos} | {r.params_m:.2f} | {r.gflops:.2f} |"
        )
    first = df.iloc[0]
    lines += [
        "",
        f"Top-1 of {first.views_per_video} views per video ({first.averaging}); the interval is Wilson's 95% "
        f"score interval over validation videos. CTM paths reduce channels by C1/C2 = {first.reduction}. "
        f"Missing videos (listed but absent): train {first.train_missing}, val {first.val_missing}; "
        f"the paper used about {first.paper_train_videos} / {first.paper_val_videos}. "
        f"Params and forward FLOPs per clip at the preset's input (1 multiply-add = 2 FLOPs; `ctm model-info`).",
    ]
    if cfg.preset_name != "paper":
        lines.append("On a synthetic preset the paper column is for reference only: the data differ.")
    return "\n".join(lines) + "\n"


def write_table(cfg: Config, table: str, runs_dir: str | Path, out_dir: str | Path) -> pd.DataFrame:
    """Write out_dir/<table>.csv and out_dir/<table>.md."""
    df = table_frame(cfg, table, runs_dir)
    out_dir = Path(out_dir)
    save_text(df.to_csv(index=False, float_format="%.2f"), out_dir / f"{table}.csv")
    save_text(to_markdown(cfg, table, df), out_dir / f"{table}.md")
    return df
