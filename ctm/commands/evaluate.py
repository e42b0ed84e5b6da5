"""`ctm evaluate`: the multi-view test of a trained run (one experiment, one seed), written into its run folder
(results/<preset>/runs/<experiment>/seed<k>: metrics.json, predictions.csv, confusion.csv).

`--experiment` tests the run that params.yaml gives (its checkpoint refused if params.yaml changed since); `--checkpoint
PATH` tests any checkpoint from the checkpoint alone (the run it carries), from any folder, into the checkpoint's
folder (or --run-dir)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.commands.numbers import count
from ctm.commands.train import experiment_run
from ctm.errors import UserError


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.devices import testing_device
    from ctm.engine.evaluate import evaluate
    from ctm.engine.run import resolve_tested_run

    device = testing_device(args.device)
    if args.checkpoint:
        return _evaluate_checkpoint(args, device)
    if not args.experiment:
        raise UserError("say what to test: --experiment NAME (a run of params.yaml) or --checkpoint PATH")
    cfg, root, run_dir, _ = experiment_run(args, args.run_dir)
    run, trained = resolve_tested_run(cfg, args.experiment, paths.checkpoint_in(run_dir))
    return evaluate(run, trained, root, progress=not args.no_progress, store=args.store, device=device)


def _evaluate_checkpoint(args: argparse.Namespace, device) -> dict:
    """`ctm evaluate --checkpoint PATH`: the checkpoint's run tested on its dataset under --root (default
    resources/<its preset>/<its dataset>), results in --run-dir (default: the checkpoint's folder)."""
    from ctm.engine.checkpoint_run import check_asked, resolve_checkpoint_run
    from ctm.engine.evaluate import evaluate

    run, trained = resolve_checkpoint_run(args.checkpoint, args.params, args.preset, args.run_dir)
    check_asked(run, args.experiment, args.seed)
    root = Path(args.root) if args.root else paths.dataset_root(run.preset, run.spec.dataset)
    return evaluate(run, trained, root, progress=not args.no_progress, store=args.store, device=device)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("evaluate", help="multi-view test of a trained experiment or checkpoint")
    p.add_argument("--experiment", help="the experiment of params.yaml to test (or --checkpoint)")
    p.add_argument("--checkpoint", help="test this checkpoint.pt from what it carries, without params.yaml (a model "
                   "bundle's, or a run folder's); results go to its folder unless --run-dir")
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--seed", type=count, help="which of the preset's seeds (default: its first)")
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt "
                   "(default: results/<preset>/runs/<experiment>/seed<seed>); with --checkpoint: where the results "
                   "go (default: the checkpoint's folder)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: the GPU where the preset tests on one and there "
                   "is one, else the CPU)")
    common(p)
    p.set_defaults(func=_evaluate)
