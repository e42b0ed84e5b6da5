"""`ctm prepare`: download, extract and fetch one dataset of params.yaml into its official layout."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.acquire.extract import WAIT_S
from ctm.commands.numbers import at_least_one, nonnegative_seconds
from ctm.config import load_config


def _prepare(args: argparse.Namespace) -> dict:
    from ctm.acquire.prepare import prepare_dataset

    cfg = load_config(args.params, args.preset)
    p, d = cfg.preset_name, args.dataset
    return prepare_dataset(cfg, d, Path(args.root or paths.dataset_root(p, d)),
                           Path(args.downloads or paths.downloads_dir(p, d)), Path(paths.remote_dir(p, d)),
                           workers=args.workers, progress=not args.no_progress, wait_s=args.wait)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("prepare", help="download, extract and fetch a dataset of params.yaml into its official layout")
    p.add_argument("--dataset", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--downloads", help="downloaded files (default: resources/<preset>/downloads/<dataset>)")
    p.add_argument("--workers", type=at_least_one, default=8, help="parallel clip fetches (Kinetics)")
    p.add_argument("--wait", type=nonnegative_seconds, default=WAIT_S,
                   help=f"seconds to wait for another run extracting into the same root (default {WAIT_S:g})")
    common(p)
    p.set_defaults(func=_prepare)
