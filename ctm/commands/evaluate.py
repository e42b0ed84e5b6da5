"""`ctm evaluate`: the multi-view test of a trained run (one experiment, one seed), written into its run folder
(results/<preset>/runs/<experiment>/seed<k>: metrics.json, predictions.csv, confusion.csv)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ctm import paths
from ctm.commands.numbers import count
from ctm.commands.train import experiment_run


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.evaluate import evaluate
    from ctm.engine.run import resolve_tested_run

    cfg, root, run_dir, _ = experiment_run(args, args.run_dir)
    run, trained = resolve_tested_run(cfg, args.experiment, paths.checkpoint_in(run_dir))
    return evaluate(run, trained, root, progress=not args.no_progress, store=args.store)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("evaluate", help="multi-view test of a trained experiment")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--seed", type=count, help="which of the preset's seeds (default: its first)")
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt "
                   "(default: results/<preset>/runs/<experiment>/seed<seed>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    common(p)
    p.set_defaults(func=_evaluate)
