"""Figures of the report (matplotlib, Agg): each table's reproduced top-1 beside the paper's, and each experiment's
training curves. PNGs under <out>/figures/."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import pandas as pd  # noqa: E402

from ctm import paths  # noqa: E402
from ctm.fileio import atomic_write  # noqa: E402
from ctm.report.cells import read_log  # noqa: E402
from ctm.report.paper import PAPER_TABLES  # noqa: E402
from ctm.report.tables import REPRODUCED, table_name  # noqa: E402
from ctm.vocabulary import DATASET_DISPLAY_NAMES  # noqa: E402

PAPER_COLOR, REPRO_COLOR, LIT_COLOR = "#9e9e9e", "#1f77b4", "#d9d9d9"


def _save(fig: plt.Figure, path: Path, tight: bool = True) -> Path:
    """PNG at 110 dpi; `tight` crops to the drawn area (one more draw: the curves, laid out already, skip it)."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight" if tight else None))
    plt.close(fig)
    return path


def plot_table(table: str, df: pd.DataFrame, path: str | Path, synthetic: bool) -> Path:
    """Horizontal bars per row (the paper's order, top to bottom): the paper's value (grey; literature rows light)
    and the reproduced top-1 with its 95% interval (blue), one panel per dataset column."""
    paper = PAPER_TABLES[table]
    rows = list(paper.rows)
    n_cols = len(paper.columns)
    ncols = min(n_cols, 2)  # four datasets (Table 6) as 2 x 2 panels, so the figure stays readable on a page
    nrows = -(-n_cols // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols + 2.5, nrows * (0.55 * len(rows) + 1.2) + 0.6),
                             sharey=True, squeeze=False)
    y = list(range(len(rows)))[::-1]
    for ax, (col, pcol) in zip(axes.flat, paper.columns.items(), strict=False):
        for yi, key in zip(y, rows, strict=True):
            prow = paper.rows[key]
            value = prow.number(col)
            if value is not None:
                ax.barh(yi + 0.2, value, height=0.38, color=LIT_COLOR if prow.literature else PAPER_COLOR,
                        edgecolor="#757575" if prow.literature else "none", hatch="//" if prow.literature else None)
                ax.text(value + 0.8, yi + 0.2, prow.values[col], va="center", fontsize=7, color="#424242")
            cell = df[(df.row == key) & (df.column == col)]
            if not cell.empty and cell.iloc[0].kind == REPRODUCED:
                r = cell.iloc[0]
                err = [[r.reproduced - r.ci_low], [r.ci_high - r.reproduced]]
                ax.barh(yi - 0.2, r.reproduced, height=0.38, color=REPRO_COLOR, xerr=err,
                        error_kw={"elinewidth": 1, "capsize": 2})
                ax.text(r.ci_high + 0.8, yi - 0.2, f"{r.reproduced:.1f}", va="center", fontsize=7, color=REPRO_COLOR)
        ax.set_xlim(0, 112)
        ax.set_xlabel("top-1 (%)")
        ax.set_title(f"{DATASET_DISPLAY_NAMES[pcol.dataset]} ({pcol.backbone})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.set_yticks(y, [paper.rows[k].label for k in rows], fontsize=8)
    for ax in list(axes.flat)[n_cols:]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PAPER_COLOR), plt.Rectangle((0, 0), 1, 1, color=REPRO_COLOR)]
    labels = ["paper", "reproduced (95% CI)"]
    if any(r.literature for r in paper.rows.values()):
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor=LIT_COLOR, edgecolor="#757575", hatch="//"))
        labels.append("reported by the paper (literature)")
    title = f"{table_name(table)}: reproduced vs paper"
    if synthetic:
        title += "\n(synthetic preset: the paper's values are for the real datasets, not these data)"
    fig.suptitle(title, fontsize=10)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _save(fig, Path(path))


def plot_curves(experiment: str, log_paths: list[Path], path: str | Path) -> Path | None:
    """Training loss and training top-1 per epoch from each seed's log.jsonl (one line per seed), with dotted lines
    where the lr changes. None (no figure) if no log exists or all are empty."""
    runs = [(p.parent.name, read_log(p)) for p in log_paths]
    runs = [(name, records) for name, records in runs if records]
    if not runs:
        return None
    fig, (ax_loss, ax_top1) = plt.subplots(1, 2, figsize=(6, 2.4))
    for k, (name, records) in enumerate(runs):
        epochs = [r["epoch"] for r in records]
        shade = 0.35 + 0.65 * (k + 1) / len(runs)
        ax_loss.plot(epochs, [r["loss"] for r in records], marker="o", ms=2, color="#d62728", alpha=shade,
                     label=name)
        ax_top1.plot(epochs, [r["top1"] for r in records], marker="o", ms=2, color=REPRO_COLOR, alpha=shade)
    ax_loss.set_ylabel("training loss")
    ax_top1.set_ylabel("training top-1 (%)")
    ax_top1.set_ylim(0, 100)
    records = runs[0][1]
    changes = [b["epoch"] for a, b in zip(records, records[1:], strict=False) if b.get("lr") != a.get("lr")]
    for ax in (ax_loss, ax_top1):
        ax.set_xlabel("epoch", fontsize=8)
        ax.yaxis.label.set_size(8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        for e in changes:
            ax.axvline(e - 0.5, color="#757575", ls=":", lw=1)
    if len(runs) > 1:
        ax_loss.legend(fontsize=6, frameon=False)
    fig.suptitle(f"{experiment}, {len(runs)} seed(s) (dotted: lr decay)", fontsize=9)
    fig.tight_layout()
    return _save(fig, Path(path), tight=False)


def write_figures(frames: dict[str, pd.DataFrame | None], runs_dir: str | Path, figures_dir: str | Path,
                  synthetic: bool, experiments: list[str], seeds: list[int] = (0,)) -> dict[str, list[str]]:
    """figures_dir/<table>.png for each table with a frame, figures_dir/curves/<experiment>.png for each experiment
    with a log. Returns {"tables": {table: path}, "curves": {experiment: path}} (paths relative to figures_dir's
    parent, as index.html references them)."""
    figures_dir = Path(figures_dir)
    rel = figures_dir.name
    tables = {t: f"{rel}/{plot_table(t, df, figures_dir / f'{t}.png', synthetic).name}"
              for t, df in frames.items() if df is not None}
    curves = {}
    for e in experiments:
        logs = [Path(runs_dir) / paths.run_name(e, s) / paths.TRAIN_LOG for s in seeds]
        png = plot_curves(e, logs, figures_dir / "curves" / f"{e}.png")
        if png is not None:
            curves[e] = f"{rel}/curves/{png.name}"
    return {"tables": tables, "curves": curves}
