"""`ctm report --site`: the claims, figures, provenance and index.html, from the tables' CSVs (`ctm report --table`)
and the run folders' predictions.csv (the claims' paired tests) and log.jsonl."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctm import paths
from ctm.config import Config
from ctm.fileio import save_text
from ctm.report.cells import cell_predictions
from ctm.report.claims import write_claims
from ctm.report.html import render
from ctm.report.paper import PAPER_TABLES
from ctm.report.plots import write_figures
from ctm.report.provenance import write_provenance
from ctm.report.summary import write_metrics
from ctm.report.tables import REPRODUCED, paper_only_frame, read_table


def load_frames(cfg: Config, tables_dir: str | Path) -> tuple[dict[str, pd.DataFrame | None], dict[str, str]]:
    """({table: frame, or None where its CSV is absent}, {table: why it is absent}) for the tables of params.yaml
    that are the paper's."""
    frames, missing = {}, {}
    for table in cfg.tables:
        if table not in PAPER_TABLES:
            continue
        path = Path(tables_dir) / f"{table}.csv"
        if path.is_file():
            frames[table] = read_table(path)
        else:
            frames[table] = None
            missing[table] = f"{path} does not exist (run `ctm report --table {table}` or `snakemake all_tables`)"
    return frames, missing


def build_site(cfg: Config, out_dir: str | Path, tables_dir: str | Path, runs_dir: str | Path,
               logs_dir: str | Path | None, repo: str | Path = ".") -> dict:
    """Write out_dir/{claims.md, claims.json, metrics.json, provenance.json, index.html, figures/*.png};
    returns a summary."""
    out_dir = Path(out_dir)
    frames, missing = load_frames(cfg, tables_dir)
    cells = {n for df in frames.values() if df is not None for n in df[df.kind == REPRODUCED].experiment}
    predictions = {n: cell_predictions(cfg, n, runs_dir) for n in sorted(cells)}
    claims = write_claims(frames, out_dir, cfg.preset_name, cfg.preset.synthetic, predictions=predictions,
                          seeds=cfg.seeds, params_hash=cfg.params_hash(),
                          other_seeds=Path(repo) / paths.other_seeds_claims(cfg.preset_name))
    write_metrics(frames, out_dir / paths.table_metrics().name)
    used = {e for t in cfg.tables.values() for n in t.names() for e in cfg.members(n)}
    experiments = [e for e in cfg.experiments if e in used]  # params.yaml's order
    figures = write_figures(frames, runs_dir, out_dir / "figures", cfg.preset.synthetic, experiments, cfg.seeds)
    provenance = write_provenance(cfg, out_dir, logs_dir, runs_dir, repo)
    shown = {t: df if df is not None else paper_only_frame(t) for t, df in frames.items()}
    save_text(render(shown, missing, claims, figures, provenance), out_dir / "index.html")
    return {"index": str(out_dir / "index.html"), "tables": list(frames), "missing_tables": sorted(missing),
            "claims": {c["key"]: c["verdict"] for c in claims},
            "figures": len(figures["tables"]) + len(figures["curves"]), "jobs": len(provenance["jobs"])}
