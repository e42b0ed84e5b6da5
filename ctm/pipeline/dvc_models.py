"""dvc.yaml's `artifacts:` (the trained models, one per run) and `plots:` (their training curves), written from
params.yaml by ctm.pipeline.dvc_yaml.

Each run (experiment x seed of the default preset) is a DVC artifact of type model: its checkpoint.pt, with the
table cells it serves as labels (`table1.ctm`, ...; a split's run serves its group's cells) and its experiment, seed
and dataset as meta, so `dvc artifacts get`, a model registry and `dvc ls` find it by name. Each experiment's runs
share two plots, the training loss and top-1 over epochs, read from the runs' curves.csv (the `curves` stage:
log.jsonl as CSV, which DVC can plot), so `dvc plots show` draws them and `dvc plots diff` compares them across
commits or experiments. The paths keep DVC's `${preset}` template, which DVC resolves in these top-level sections too.
"""

from __future__ import annotations

from ctm import paths
from ctm.config import Config

P = "${preset}"


def served_cells(cfg: Config) -> dict[str, list[str]]:
    """experiment -> the table cells (`<table>.<row>` or `<table>.<row>.<column>`) whose value its runs give,
    directly or as a member of a group (a split of UCF-101/HMDB-51); experiments that no table reads are absent."""
    served: dict[str, list[str]] = {}
    for table, spec in cfg.tables.items():
        for row, value in spec.rows.items():
            named = value.items() if isinstance(value, dict) else [(None, value)]
            for column, name in named:
                cell = f"{table}.{row}" if column is None else f"{table}.{row}.{column}"
                for member in cfg.members(name):
                    served.setdefault(member, []).append(cell)
    return served


def artifact_name(experiment: str, seed: int | str) -> str:
    """A run's artifact name: `<experiment>-seed<k>` (DVC's names allow letters, digits, `_` and `-`)."""
    return f"{experiment}-seed{seed}"


def artifacts(cfg: Config) -> dict:
    """{artifact name: {path, type, desc, labels, meta}}, one per run of the default preset's seeds."""
    served = served_cells(cfg)
    out = {}
    for name, exp in cfg.experiments.items():
        cells = served.get(name, [])
        for seed in cfg.seeds:
            origin = f", fine-tuned from {exp.init}" if exp.init else ""
            serves = f"serves {', '.join(cells)}" if cells else "serves no table cell"
            out[artifact_name(name, seed)] = {
                "path": str(paths.checkpoint(P, paths.run_name(name, seed))),
                "type": "model",
                "desc": f"{exp.backbone} on {exp.dataset}{origin}; {serves}",
                "labels": [*cells, exp.dataset, exp.backbone],
                "meta": {"experiment": name, "seed": seed}}
    return out


def curve_plots(cfg: Config) -> list[dict]:
    """Two plots per experiment, over its seeds' curves.csv: `<experiment>/loss` and `<experiment>/top1` (the
    training top-1 %, on the training clips), x: epoch."""
    plots = []
    for name in cfg.experiments:
        files = [str(paths.curves(P, paths.run_name(name, s))) for s in cfg.seeds]
        for field, title in (("loss", "training loss"), ("top1", "training top-1 (%)")):
            plots.append({f"{name}/{field}": {"x": "epoch", "y": dict.fromkeys(files, field),
                                              "title": f"{name}: {title}"}})
    return plots
