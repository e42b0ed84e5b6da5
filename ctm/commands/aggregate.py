"""`ctm aggregate`: a table cell's metrics over its runs (every seed, and a group's UCF-101/HMDB-51 splits), written
to results/<preset>/runs/<experiment or group>/metrics.json; or any metrics.json files averaged into --out."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ctm import paths
from ctm.config import ConfigError, load_config


def _aggregate(args: argparse.Namespace) -> dict:
    from ctm.engine.aggregate import aggregate, aggregate_cell

    if args.cell:
        cfg = load_config(args.params, args.preset)
        if args.cell not in cfg.groups and args.cell not in cfg.experiments:
            raise ConfigError(f"unknown cell {args.cell!r}: neither an experiment nor a group of params.yaml")
        return aggregate_cell(cfg, args.cell, args.runs_dir or paths.runs_dir(cfg.preset_name), args.out)
    if not args.metrics or not args.out:
        raise ConfigError("give --cell NAME, or the metrics.json files and --out")
    return aggregate(args.metrics, args.out)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("aggregate", help="a table cell's metrics from its runs: mean and spread of top-1/top-5 over "
                       "seeds (and UCF-101/HMDB-51 splits)")
    p.add_argument("metrics", nargs="*", help="metrics.json of each run (or use --cell)")
    p.add_argument("--cell", "--group", dest="cell", help="an experiment or a group of params.yaml: its runs' "
                   "metrics (every seed, every split), written to results/<preset>/runs/<cell>/metrics.json")
    p.add_argument("--runs-dir", help="--cell: folder of run folders (default: results/<preset>/runs)")
    p.add_argument("--out", help="where to write the aggregated metrics.json")
    common(p)
    p.set_defaults(func=_aggregate)
