"""`ctm curves`: runs' log.jsonl rewritten as curves.csv (epoch, loss, top1, lr), the files DVC plots. One command
for every run of a preset, so the pipeline spends one process on them, not one per run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.errors import UserError


def _curves(args: argparse.Namespace) -> dict:
    from ctm.engine.curves import write_curves

    if len(args.run_dir) > 1 and (args.log or args.out):
        raise UserError("--log and --out name one run's files: give one --run-dir with them")
    if len(args.run_dir) == 1:
        run_dir = Path(args.run_dir[0])
        return write_curves(args.log or paths.train_log_in(run_dir), args.out or paths.curves_in(run_dir))
    return {"runs": [write_curves(paths.train_log_in(Path(d)), paths.curves_in(Path(d))) for d in args.run_dir]}


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("curves", help="a run's per-epoch training values (log.jsonl) as curves.csv, for `dvc plots`")
    p.add_argument("--run-dir", required=True, nargs="+",
                   help="run folders (results/<preset>/runs/<experiment>/seed<k>), each given its curves.csv")
    p.add_argument("--log", help="the training log (default: RUN_DIR/log.jsonl)")
    p.add_argument("--out", help="where to write (default: RUN_DIR/curves.csv)")
    common(p)
    p.set_defaults(func=_curves)
