"""`ctm train`: one experiment of params.yaml trained with one of its preset's seeds into a run folder
(results/<preset>/runs/<experiment>/seed<k>: checkpoint.pt, log.jsonl). experiment_run is also `ctm evaluate`'s."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.commands.numbers import count
from ctm.config import Config, load_config


def experiment_run(args: argparse.Namespace, run_arg: str | None) -> tuple[Config, Path, Path, int]:
    """(config, dataset root, run folder, seed) of --experiment and --seed, with the default paths unless given."""
    cfg = load_config(args.params, args.preset)
    exp = cfg.experiment(args.experiment)
    seed = cfg.seed(args.seed)
    root = args.root or paths.dataset_root(cfg.preset_name, exp.dataset)
    return cfg, Path(root), Path(run_arg or paths.run_dir(cfg.preset_name, paths.run_name(args.experiment, seed))), seed


def _train(args: argparse.Namespace) -> dict:
    from ctm.engine.run import resolve_run
    from ctm.engine.train import train

    cfg, root, out, seed = experiment_run(args, args.out)
    run = resolve_run(cfg, args.experiment, seed, out, parent_checkpoint=args.init_checkpoint)
    return train(run, root, progress=not args.no_progress, store=args.store, force=args.force)


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
