"""`ctm <verb>`: a thin layer that parses arguments and calls one function per verb.

The Snakemake rules and the DVC stages run these same commands, so the three entry points cannot drift. The verbs
live in ctm/commands/ (COMMAND_MODULES, whose docstring gives a module's contract); this module builds the parser
from them, runs the chosen verb's handler and prints its result as JSON. A ctm.errors.UserError that escapes a
handler is printed as `ctm <verb>: error: <message>` with exit status 2; any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import sys

from ctm import cpu_kernels, progress
from ctm.commands import COMMAND_MODULES, common
from ctm.errors import UserError
from ctm.locking import slot_from_environment

ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "free some space on that disk", errno.EDQUOT: "free some of your disk quota",
    errno.EROFS: "write to a writable disk", errno.EACCES: "fix its permissions or choose another path",
    errno.ENOTDIR: "a path given as a folder is a file: choose another path",
    errno.EISDIR: "a path given as a file is a folder: choose another path",
    errno.EEXIST: "a file is in the way of a folder: choose another path",
}  # OSErrors that are the machine's or a given path's state, not a bug: one line, no traceback


def build_parser() -> argparse.ArgumentParser:
    """The `ctm` parser with every verb of COMMAND_MODULES."""
    parser = argparse.ArgumentParser(prog="ctm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def _uses_gpu_preset(args: argparse.Namespace) -> bool:
    """Whether the verb's preset trains or tests on CUDA (a params.yaml that cannot be read: no; the verb itself
    reports that)."""
    from ctm.config import load_config

    try:
        return load_config(args.params, args.preset).preset.device == "cuda"
    except (UserError, OSError):
        return False


def _set_cpu_kernels(args: argparse.Namespace) -> None:
    """CPU presets: pin the CPU kernels before torch is imported (ctm.cpu_kernels), one thread. GPU presets and
    `--device cuda[:N]` (ctm predict, ctm evaluate): torch's own choice, or --threads."""
    threads = getattr(args, "threads", None)
    on_gpu = str(getattr(args, "device", None) or "").startswith("cuda")
    if getattr(args, "params", None) is not None and not on_gpu and not _uses_gpu_preset(args):
        if threads not in (None, cpu_kernels.PINNED_THREADS):
            raise UserError(f"--threads {threads}: a CPU preset runs with {cpu_kernels.PINNED_THREADS} thread, so "
                            "that its results are the same on every machine (docs/determinism.md); drop --threads")
        cpu_kernels.pin()
    elif threads:
        import torch

        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    """Run one verb; the exit status: 0, 2 (a UserError), 130 (Ctrl-C) or ctm.engine.train.EXIT_PREEMPTED."""
    args = build_parser().parse_args(argv)
    progress.set_label(f"ctm {args.verb}")  # names the command in its progress log lines
    try:
        _set_cpu_kernels(args)
        with slot_from_environment():  # a CPU slot where the Snakemake rules ask for one (ctm.locking)
            result = args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: what is written stays consistent (atomic files, .part downloads)
        print(f"ctm {args.verb}: interrupted; run the same command again to go on from what is done",
              file=sys.stderr)
        return 130
    except UserError as err:
        print(f"ctm {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno not in ENVIRONMENT_ERRNOS:
            raise
        # the disk, a permission or a path given: the user's to fix; atomic writes left nothing half-written
        where = f"{err.filename}: " if err.filename else ""
        print(f"ctm {args.verb}: error: {where}{err.strerror}; {ENVIRONMENT_ERRNOS[err.errno]}, then run the same "
              "command again", file=sys.stderr)
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
