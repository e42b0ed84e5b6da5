"""`ctm synth`: publish a synthetic stand-in of a dataset as its hosts publish the real one (docs/synthetic_data.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.commands.numbers import at_least_one
from ctm.config import ConfigError, load_config


def _synth(args: argparse.Namespace) -> dict:
    from ctm.standins.published import write_published

    cfg = load_config(args.params, args.preset)
    spec = cfg.dataset(args.dataset)
    if spec.source != "synthetic":
        raise ConfigError(f"preset {cfg.preset_name!r} downloads {args.dataset} (source: {spec.source}); "
                          "only synthetic datasets are written by `ctm synth`")
    out = Path(args.out or paths.remote_dir(cfg.preset_name, args.dataset))
    s = spec.synthetic
    return write_published(args.dataset, out, pairs=s.pairs, seed=s.seed, workers=args.workers,
                           progress=not args.no_progress, **s.sizes())


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("synth", help="publish a synthetic stand-in of a dataset as its hosts publish the real one")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", help="the stand-in's host folder (default: resources/<preset>/remote/<dataset>)")
    p.add_argument("--workers", type=at_least_one, default=1, help="parallel encoding processes")
    common(p)
    p.set_defaults(func=_synth)
