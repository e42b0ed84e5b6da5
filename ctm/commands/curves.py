"""`ctm curves`: a run's log.jsonl rewritten as curves.csv (epoch, loss, top1, lr), the file DVC plots."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths


def _curves(args: argparse.Namespace) -> dict:
    from ctm.engine.curves import write_curves

    run_dir = Path(args.run_dir)
    return write_curves(args.log or paths.train_log_in(run_dir), args.out or paths.curves_in(run_dir))


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("curves", help="a run's per-epoch training values (log.jsonl) as curves.csv, for `dvc plots`")
    p.add_argument("--run-dir", required=True, help="the run folder (results/<preset>/runs/<experiment>/seed<k>)")
    p.add_argument("--log", help="the training log (default: RUN_DIR/log.jsonl)")
    p.add_argument("--out", help="where to write (default: RUN_DIR/curves.csv)")
    common(p)
    p.set_defaults(func=_curves)
