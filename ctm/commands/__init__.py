"""The `ctm` verbs: one module per verb, named after it (`fetch-shards`: fetch_shards.py), listed in COMMAND_MODULES;
ctm/cli.py only dispatches.

Each module defines

    register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None

which adds its verb's parser to `sub` (`ctm bench` with verbs of its own), calls `common(parser)` on each parser it
adds (the options that every verb takes) and sets `func` with `parser.set_defaults(func=handler)`. A handler takes
the parsed argparse.Namespace and returns a JSON-able result that cli.py prints, or None where it printed its own
output. It reports an input that the user must fix by raising a subclass of ctm.errors.UserError (printed as
`ctm <verb>: error: <message>`, exit status 2); anything else that escapes it is a bug and keeps its traceback. A
module imports heavy libraries (torch, matplotlib, ...) inside its handlers, as `ctm --help` and the light verbs
import every module here.
"""

from __future__ import annotations

import argparse

from ctm import progress
from ctm.commands.numbers import whole

# In `ctm --help`'s order. A new verb: a module as above, its name here.
COMMAND_MODULES: tuple[str, ...] = tuple(f"ctm.commands.{verb}" for verb in (
    "synth", "train", "evaluate", "aggregate", "model_info", "fetch_clips", "download", "extract", "fetch_shards",
    "link_clips", "decode", "bench", "prepare", "report", "standin_weights", "predict", "dvc_yaml", "plan",
    "curves", "export_run", "import_run", "exp_show",
))


def common(p: argparse.ArgumentParser) -> None:
    """The options of every verb: which params.yaml and preset, torch's threads, progress output."""
    p.add_argument("--params", default="params.yaml", help="params.yaml to read (default: ./params.yaml)")
    p.add_argument("--preset", help="override params.yaml's `preset`")
    p.add_argument("--threads", type=whole(1), help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress at all (default: a bar on a terminal, else a log line every "
                        f"${progress.INTERVAL_ENV} s, default {progress.DEFAULT_INTERVAL_S:g})")
