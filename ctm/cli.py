"""`ctm <verb>`: a thin layer that parses arguments and calls one function per verb.

The Snakemake rules and the DVC stages run these same commands, so the three entry points cannot drift. The verbs
live in ctm/commands/ (COMMAND_MODULES, whose docstring gives a module's contract); this module builds the parser
from them, runs the chosen verb's handler and prints its result as JSON. A ctm.errors.UserError that escapes a
handler is printed as `ctm <verb>: error: <message>` with exit status 2; any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from ctm import progress
from ctm.commands import COMMAND_MODULES, common
from ctm.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    """The `ctm` parser with every verb of COMMAND_MODULES."""
    parser = argparse.ArgumentParser(prog="ctm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; the exit status: 0, 2 (a UserError), 130 (Ctrl-C) or ctm.engine.train.EXIT_PREEMPTED."""
    args = build_parser().parse_args(argv)
    progress.set_label(f"ctm {args.verb}")  # names the command in its progress log lines
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    try:
        result = args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: what is written stays consistent (atomic files, .part downloads)
        print(f"ctm {args.verb}: interrupted; run the same command again to go on from what is done",
              file=sys.stderr)
        return 130
    except UserError as err:
        print(f"ctm {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        train = sys.modules.get("ctm.engine.train")  # imported only by the verbs that train
        if train is not None and isinstance(err, train.Preempted):
            print(f"ctm {args.verb}: {err}", file=sys.stderr)
            return train.EXIT_PREEMPTED
        raise
    quiet = os.environ.get("RANK", "0") != "0"  # under torchrun, only rank 0 prints the result
    if result is not None and not quiet:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
