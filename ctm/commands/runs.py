"""`ctm train`, `ctm evaluate` and `ctm aggregate`: the verbs that write an experiment's run folder
(results/<preset>/runs/<experiment>: checkpoint.pt, log.jsonl, metrics.json) or a 3-split group's metrics.json."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.config import Config, ConfigError, load_config


def _experiment_run(args: argparse.Namespace, run_arg: str | None) -> tuple[Config, Path, Path]:
    """(config, dataset root, run folder) of --experiment, with the default paths unless given."""
    cfg = load_config(args.params, args.preset)
    exp = cfg.experiment(args.experiment)
    root = args.root or paths.dataset_root(cfg.preset_name, exp.dataset)
    return cfg, Path(root), Path(run_arg or paths.run_dir(cfg.preset_name, args.experiment))


def _train(args: argparse.Namespace) -> dict:
    from ctm.engine.train import train

    cfg, root, out = _experiment_run(args, args.out)
    parent = cfg.experiment(args.experiment).init
    init = args.init_checkpoint or (parent and paths.run_dir(cfg.preset_name, parent) / "checkpoint.pt")
    return train(cfg, args.experiment, root, out, progress=not args.no_progress, init_checkpoint=init,
                 store=args.store, force=args.force)


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.evaluate import evaluate

    cfg, root, run = _experiment_run(args, args.run_dir)
    return evaluate(cfg, args.experiment, root, run, progress=not args.no_progress, store=args.store)


def _aggregate(args: argparse.Namespace) -> dict:
    from ctm.engine.aggregate import aggregate

    if args.group:
        cfg = load_config(args.params, args.preset)
        if args.group not in cfg.groups:
            raise ConfigError(f"unknown group {args.group!r}; params.yaml defines: {', '.join(cfg.groups)}")
        runs = paths.runs_dir(cfg.preset_name)
        metrics = [runs / e / "metrics.json" for e in cfg.groups[args.group]]
        return aggregate(metrics, args.out or runs / args.group / "metrics.json")
    if not args.metrics or not args.out:
        raise ConfigError("give --group NAME, or the metrics.json files and --out")
    return aggregate(args.metrics, args.out)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("train", help="train one experiment of params.yaml")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--out", help="run folder (default: results/<preset>/runs/<experiment>)")
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
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt (default: results/<preset>/runs/<experiment>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    common(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("aggregate", help="mean and std of top-1/top-5 over runs (UCF-101/HMDB-51 splits)")
    p.add_argument("metrics", nargs="*", help="metrics.json of each run (or use --group)")
    p.add_argument("--group", help="a group of params.yaml: its experiments' metrics, written to "
                   "results/<preset>/runs/<group>/metrics.json")
    p.add_argument("--out", help="where to write the aggregated metrics.json")
    common(p)
    p.set_defaults(func=_aggregate)
