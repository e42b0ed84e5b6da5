"""`ctm exp-show`: `dvc exp show` with the columns that tell experiments apart (the preset, the params that differ,
the 24 table cells) rather than every key of params.yaml and every dependency's hash (ctm.pipeline.exp_show)."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ctm.errors import UserError


class DvcFailed(UserError):
    """`dvc` is missing, or `dvc exp show` failed (its own message is above)."""


def _exp_show(args: argparse.Namespace) -> None:
    from ctm.pipeline.exp_show import exp_show_command

    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
    if dvc is None:
        raise DvcFailed("`dvc` is not installed in this environment (pip install dvc), or not on PATH")
    command = exp_show_command(dvc, args.dvc_args)
    if args.print_command:
        print(shlex.join(["dvc", *command[1:]]))
        return None
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise DvcFailed(f"`{' '.join(command)}` failed with exit status {done.returncode} (its message is above); "
                        "run it in the repository (a git and DVC project)")
    return None


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("exp-show", help="`dvc exp show` narrowed to the preset, the params that differ and the 24 "
                       "table cells; more `dvc exp show` options after `--` (e.g. `ctm exp-show -- -A --csv`)")
    p.add_argument("dvc_args", nargs="*", help="further `dvc exp show` options, after `--`")
    p.add_argument("--print-command", action="store_true", help="print the dvc command instead of running it")
    common(p)
    p.set_defaults(func=_exp_show)
