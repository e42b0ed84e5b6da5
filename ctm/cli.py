"""`ctm <verb>`: a thin layer that parses arguments and calls one function per verb.

The Snakemake rules and the DVC stages run these same commands, so the three entry points cannot drift.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from ctm import paths, progress
from ctm.config import Config, ConfigError, load_config

# Errors that are the user's to fix (printed as `ctm <verb>: error: ...`, exit 2), by module, so that a command
# imports only what it uses (torch alone takes seconds): an error can only come from a module already imported.
USER_ERRORS = {
    "ctm.config": ("ConfigError",),
    "ctm.data.kinetics": ("AnnotationError",),
    "ctm.data.clips": ("VideoDecodeError",),
    "ctm.engine.evaluate": ("StaleCheckpointError",),
    "ctm.models.pretrained": ("PretrainedError",),
    "ctm.engine.aggregate": ("AggregateError",),
    "ctm.engine.finetune": ("InitError",),
    "ctm.engine.checkpoints": ("CheckpointError",),
    "builtins": ("FileNotFoundError", "KeyError"),
}
# Verbs that live in their own module under ctm/commands/. Each module defines
#   register(sub: argparse._SubParsersAction, common: Callable[[ArgumentParser], None]) -> None
# (adding its parser with `set_defaults(func=...)`) and USER_ERRORS: a tuple of exception types (or of their dotted
# names, for heavy modules) that are the user's to fix (printed as `ctm <verb>: error: ...`, exit 2) rather than bugs.
COMMAND_MODULES: tuple[str, ...] = ("ctm.commands.clips", "ctm.commands.archives", "ctm.commands.decode",
                                     "ctm.commands.bench", "ctm.commands.prepare", "ctm.commands.report",
                                     "ctm.commands.weights", "ctm.commands.predict")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default="params.yaml", help="params.yaml to read (default: ./params.yaml)")
    p.add_argument("--preset", help="override params.yaml's `preset`")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress at all (default: a bar on a terminal, else a log line every "
                        f"${progress.INTERVAL_ENV} s, default {progress.DEFAULT_INTERVAL_S:g})")


def _synth(args: argparse.Namespace) -> dict:
    from ctm.data.synthetic_published import write_published

    cfg = load_config(args.params, args.preset)
    spec = cfg.dataset(args.dataset)
    if spec.source != "synthetic":
        raise ConfigError(f"preset {cfg.preset_name!r} downloads {args.dataset} (source: {spec.source}); "
                          "only synthetic datasets are written by `ctm synth`")
    out = Path(args.out or paths.remote_dir(cfg.preset_name, args.dataset))
    s = spec.synthetic
    return write_published(args.dataset, out, pairs=s.pairs, seed=s.seed, workers=args.workers,
                           progress=not args.no_progress, **s.sizes())


def _experiment_run(args: argparse.Namespace, run_arg: str | None) -> tuple[Config, Path, Path]:
    """(config, dataset root, run folder) of --experiment, with the default paths unless given."""
    cfg = load_config(args.params, args.preset)
    exp = cfg.experiment(args.experiment)
    root = args.root or paths.dataset_root(cfg.preset_name, exp.dataset)
    return cfg, Path(root), Path(run_arg or paths.run_dir(cfg.preset_name, args.experiment))


def _train(args: argparse.Namespace) -> dict:
    from ctm.engine.train import train

    cfg, root, out = _experiment_run(args, args.out)
    parent = cfg.experiment(args.experiment).init
    init = args.init_checkpoint or (parent and paths.run_dir(cfg.preset_name, parent) / "checkpoint.pt")
    return train(cfg, args.experiment, root, out, progress=not args.no_progress, init_checkpoint=init,
                 store=args.store, force=args.force)


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.evaluate import evaluate

    cfg, root, run = _experiment_run(args, args.run_dir)
    return evaluate(cfg, args.experiment, root, run, progress=not args.no_progress, store=args.store)


def _aggregate(args: argparse.Namespace) -> dict:
    from ctm.engine.aggregate import aggregate

    if args.group:
        cfg = load_config(args.params, args.preset)
        if args.group not in cfg.groups:
            raise ConfigError(f"unknown group {args.group!r}; params.yaml defines: {', '.join(cfg.groups)}")
        runs = paths.runs_dir(cfg.preset_name)
        metrics = [runs / e / "metrics.json" for e in cfg.groups[args.group]]
        return aggregate(metrics, args.out or runs / args.group / "metrics.json")
    if not args.metrics or not args.out:
        raise ConfigError("give --group NAME, or the metrics.json files and --out")
    return aggregate(args.metrics, args.out)


def _model_info(args: argparse.Namespace) -> list[dict]:
    from ctm.engine.build import experiment_cost

    cfg = load_config(args.params, args.preset)
    names = list(cfg.experiments) if args.all else [args.experiment]
    i = cfg.preset.input
    rows = []
    for name in names:
        classes = cfg.num_classes(cfg.experiment(name).dataset)
        rows.append({"experiment": name, "classes": classes, "input": f"{i.num_segments}x{i.crop_size}",
                     **{k: round(v, 3) for k, v in experiment_cost(cfg, name, classes).items()}})
    if not args.json:
        print(f"{'experiment':32} {'classes':>7} {'input':>7} {'params (M)':>10} {'GFLOPs':>9} {'G mult-adds':>11}")
        for r in rows:
            print(f"{r['experiment']:32} {r['classes']:>7} {r['input']:>7} {r['params_m']:>10.2f} {r['gflops']:>9.2f} "
                  f"{r['gmacs']:>11.2f}")
        print("FLOPs per clip, forward, one multiply-add = 2 FLOPs (torch.utils.flop_counter)")
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("synth", help="publish a synthetic stand-in of a dataset as its hosts publish the real one")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", help="the stand-in's host folder (default: resources/<preset>/remote/<dataset>)")
    p.add_argument("--workers", type=int, default=1, help="parallel encoding processes")
    _common(p)
    p.set_defaults(func=_synth)

    p = sub.add_parser("train", help="train one experiment of params.yaml")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--out", help="run folder (default: results/<preset>/runs/<experiment>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    p.add_argument("--init-checkpoint", help="parent checkpoint.pt of a fine-tuning experiment "
                   "(default: results/<preset>/runs/<init experiment>/checkpoint.pt)")
    p.add_argument("--force", action="store_true", help="train again although the run folder holds a checkpoint "
                   "finished with the same params (it is kept aside as checkpoint.pt.stale-N)")
    _common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="multi-view test of a trained experiment")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt (default: results/<preset>/runs/<experiment>)")
    p.add_argument("--store", help="the dataset's decoded store (ctm decode); default: read the raw videos")
    _common(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("aggregate", help="mean and std of top-1/top-5 over runs (UCF-101/HMDB-51 splits)")
    p.add_argument("metrics", nargs="*", help="metrics.json of each run (or use --group)")
    p.add_argument("--group", help="a group of params.yaml: its experiments' metrics, written to "
                   "results/<preset>/runs/<group>/metrics.json")
    p.add_argument("--out", help="where to write the aggregated metrics.json")
    _common(p)
    p.set_defaults(func=_aggregate)

    p = sub.add_parser("model-info", help="parameters and forward FLOPs per clip at the preset's input")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--experiment")
    group.add_argument("--all", action="store_true", help="every experiment of params.yaml")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    _common(p)
    p.set_defaults(func=_model_info)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, _common)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    known = tuple(getattr(sys.modules[m], name) for m, names in USER_ERRORS.items() if m in sys.modules
                  for name in names)
    extra = []
    for name in COMMAND_MODULES:
        for error in importlib.import_module(name).USER_ERRORS:
            if isinstance(error, str):
                module, _, cls = error.rpartition(".")
                if module not in sys.modules:
                    continue
                error = getattr(sys.modules[module], cls)
            extra.append(error)
    return known + tuple(extra)


def main(argv: list[str] | None = None) -> int:
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
    except Exception as err:
        train = sys.modules.get("ctm.engine.train")
        if train is not None and isinstance(err, train.Preempted):
            print(f"ctm {args.verb}: {err}", file=sys.stderr)
            return train.EXIT_PREEMPTED
        if not isinstance(err, _user_errors()):
            raise
        print(f"ctm {args.verb}: error: {err}", file=sys.stderr)
        return 2
    quiet = os.environ.get("RANK", "0") != "0"  # under torchrun, only rank 0 prints the result
    if not quiet and not (args.verb == "model-info" and not args.json):  # model-info prints its own table
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
