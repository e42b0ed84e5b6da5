"""`ctm train`, `ctm evaluate` and `ctm aggregate`: the verbs that write a run folder (one experiment, one seed:
results/<preset>/runs/<experiment>/seed<k>: checkpoint.pt, log.jsonl, metrics.json) or a table cell's metrics.json
over its runs (results/<preset>/runs/<experiment or group>/metrics.json)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.commands.numbers import count
from ctm.config import Config, ConfigError, load_config


def _experiment_run(args: argparse.Namespace, run_arg: str | None) -> tuple[Config, Path, Path, int]:
    """(config, dataset root, run folder, seed) of --experiment and --seed, with the default paths unless given."""
    cfg = load_config(args.params, args.preset)
    exp = cfg.experiment(args.experiment)
    seed = cfg.seed(args.seed)
    root = args.root or paths.dataset_root(cfg.preset_name, exp.dataset)
    return cfg, Path(root), Path(run_arg or paths.run_dir(cfg.preset_name, paths.run_name(args.experiment, seed))), seed


def _train(args: argparse.Namespace) -> dict:
    from ctm.engine.run import resolve_run
    from ctm.engine.train import train

    cfg, root, out, seed = _experiment_run(args, args.out)
    run = resolve_run(cfg, args.experiment, seed, out, parent_checkpoint=args.init_checkpoint)
    return train(run, root, progress=not args.no_progress, store=args.store, force=args.force)


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.evaluate import evaluate
    from ctm.engine.run import resolve_tested_run

    cfg, root, run_dir, _ = _experiment_run(args, args.run_dir)
    run, trained = resolve_tested_run(cfg, args.experiment, paths.checkpoint_in(run_dir))
    return evaluate(run, trained, root, progress=not args.no_progress, store=args.store)


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
    p = sub.add_parser("train", help="train one experiment of params.yaml")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--seed", type=count, help="which of the preset's seeds to train (default: its first)")
    p.add_argument("--out", help="run folder (default: results/<preset>/runs/<experiment>/seed<seed>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    p.add_argument("--init-checkpoint", help="parent checkpoint.pt of a fine-tuning experiment "
                   "(default: results/<preset>/runs/<init experiment>/checkpoint.pt)")
    p.add_argument("--force", action="store_true", help="train again although the run folder holds a checkpoint "
                   "finished with the same params (it is kept aside as checkpoint.pt.stale-N)")
    common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="multi-view test of a trained experiment")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--seed", type=count, help="which of the preset's seeds (default: its first)")
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt "
                   "(default: results/<preset>/runs/<experiment>/seed<seed>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    common(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("aggregate", help="a table cell's metrics from its runs: mean and spread of top-1/top-5 over "
                       "seeds (and UCF-101/HMDB-51 splits)")
    p.add_argument("metrics", nargs="*", help="metrics.json of each run (or use --cell)")
    p.add_argument("--cell", "--group", dest="cell", help="an experiment or a group of params.yaml: its runs' "
                   "metrics (every seed, every split), written to results/<preset>/runs/<cell>/metrics.json")
    p.add_argument("--runs-dir", help="--cell: folder of run folders (default: results/<preset>/runs)")
    p.add_argument("--out", help="where to write the aggregated metrics.json")
    common(p)
    p.set_defaults(func=_aggregate)
