"""`ctm report`: the reproduced tables beside the paper's, and the report site (ctm/report/, docs/report.md).

  ctm report --table table1 [--runs-dir DIR] [--out reports] [--archive results/<preset>/tables]
  ctm report --site [--runs-dir DIR] [--out reports] [--tables DIR] [--logs logs/<preset>]

ctm.report imports no torch: the tables' params and GFLOPs come from model_costs here, which builds the networks.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from ctm import paths
from ctm.config import Config, load_config


def model_costs(cfg: Config) -> Callable[[str], dict[str, float]]:
    """experiment -> ctm.engine.build.experiment_cost at the preset's input (params_m, gflops, gmacs), each network
    built once, on the first call for it (ctm.report.cells.ModelCost)."""

    @functools.cache
    def cost(experiment: str) -> dict[str, float]:
        from ctm.engine.build import experiment_cost

        return experiment_cost(cfg, experiment, cfg.num_classes(cfg.experiment(experiment).dataset))

    return cost


def _report(args: argparse.Namespace) -> dict:
    cfg = load_config(args.params, args.preset)
    runs = args.runs_dir or paths.runs_dir(cfg.preset_name)
    if args.site:
        from ctm.report.site import build_site

        return build_site(cfg, args.out, args.tables or args.out, runs, args.logs)
    from ctm.report.tables import write_table

    cost = model_costs(cfg)
    df = write_table(cfg, args.table, runs, args.out, cost)
    if args.archive:
        write_table(cfg, args.table, runs, args.archive, cost)
    rows = df[df.kind == "reproduced"][["row", "column", "paper", "reproduced", "ci_low", "ci_high"]]
    return {"table": args.table, "rows": [{k: (None if v != v else v) for k, v in r.items()}  # NaN -> null
                                          for r in rows.to_dict("records")]}


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("report", help="write reports/<table>.{csv,md} from the experiments' metrics (--table), or "
                                      "the claims, figures, provenance and index.html (--site)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", help="one of params.yaml's tables (table1 .. table6)")
    what.add_argument("--site", action="store_true", help="reports/{index.html, claims.*, provenance.json, figures/}")
    p.add_argument("--runs-dir", help="folder of run folders (default: results/<preset>/runs)")
    p.add_argument("--out", default=str(paths.REPORTS))
    p.add_argument("--archive", help="--table: also write the table here (the workflow uses results/<preset>/tables)")
    p.add_argument("--tables", help="--site: folder of the tables' CSVs (default: --out)")
    p.add_argument("--logs", help="--site: the preset's logs folder, whose benchmarks/ holds Snakemake's job timings "
                                  "(logs/<preset>)")
    common(p)
    p.set_defaults(func=_report)
