"""`ctm <verb>`: a thin layer that parses arguments and calls one function per verb.

The Snakemake rules and the DVC stages run these same commands, so the three entry points cannot drift.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from pathlib import Path

import torch

from ctm import paths
from ctm.config import Config, ConfigError, load_config
from ctm.data.clips import VideoDecodeError
from ctm.data.kinetics import AnnotationError
from ctm.engine.aggregate import AggregateError
from ctm.engine.evaluate import StaleCheckpointError
from ctm.engine.train import EXIT_PREEMPTED, Preempted
from ctm.models.pretrained import PretrainedError

USER_ERRORS = (
    ConfigError, AnnotationError, VideoDecodeError, StaleCheckpointError, PretrainedError, AggregateError,
    FileNotFoundError, KeyError,
)
# Verbs that live in their own module under ctm/commands/. Each module defines
#   register(sub: argparse._SubParsersAction, common: Callable[[ArgumentParser], None]) -> None
# (adding its parser with `set_defaults(func=...)`) and USER_ERRORS: a tuple of exception types that are the
# user's to fix (printed as `ctm <verb>: error: ...`, exit 2) rather than bugs.
COMMAND_MODULES: tuple[str, ...] = ()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default="params.yaml", help="params.yaml to read (default: ./params.yaml)")
    p.add_argument("--preset", help="override params.yaml's `preset`")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _synth(args: argparse.Namespace) -> dict:
    from ctm.data.synthetic import write_mini_kinetics_200

    cfg = load_config(args.params, args.preset)
    spec = cfg.dataset(args.dataset)
    if spec.source != "synthetic":
        raise ConfigError(f"preset {cfg.preset_name!r} reads {args.dataset} from disk (source: {spec.source}); "
                          "only synthetic datasets are written by `ctm synth`")
    if args.dataset != "mini_kinetics_200":
        raise ConfigError(f"no synthetic writer for {args.dataset!r} yet; available: mini_kinetics_200")
    out = Path(args.out or paths.dataset_root(cfg.preset_name, args.dataset))
    return write_mini_kinetics_200(
        out, **dataclasses.asdict(spec.synthetic), workers=args.workers, progress=not args.no_progress
    )


def _experiment_run(args: argparse.Namespace, run_arg: str | None) -> tuple[Config, Path, Path]:
    """(config, dataset root, run folder) of --experiment, with the default paths unless given."""
    cfg = load_config(args.params, args.preset)
    exp = cfg.experiment(args.experiment)
    root = args.root or paths.dataset_root(cfg.preset_name, exp.dataset)
    return cfg, Path(root), Path(run_arg or paths.run_dir(cfg.preset_name, args.experiment))


def _train(args: argparse.Namespace) -> dict:
    from ctm.engine.train import train

    cfg, root, out = _experiment_run(args, args.out)
    return train(cfg, args.experiment, root, out, progress=not args.no_progress)


def _evaluate(args: argparse.Namespace) -> dict:
    from ctm.engine.evaluate import evaluate

    cfg, root, run = _experiment_run(args, args.run_dir)
    return evaluate(cfg, args.experiment, root, run, progress=not args.no_progress)


def _aggregate(args: argparse.Namespace) -> dict:
    from ctm.engine.aggregate import aggregate

    return aggregate(args.metrics, args.out)


def _report(args: argparse.Namespace) -> dict:
    from ctm.report.tables import write_table

    cfg = load_config(args.params, args.preset)
    runs = args.runs_dir or paths.runs_dir(cfg.preset_name)
    df = write_table(cfg, args.table, runs, args.out)
    if args.archive:
        write_table(cfg, args.table, runs, args.archive)
    return {"table": args.table, "rows": df[["row", "paper", "reproduced", "ci_low", "ci_high"]].to_dict("records")}


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

    p = sub.add_parser("synth", help="write a synthetic stand-in of a dataset in its real on-disk format")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--workers", type=int, default=1, help="parallel encoding processes")
    _common(p)
    p.set_defaults(func=_synth)

    p = sub.add_parser("train", help="train one experiment of params.yaml")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--out", help="run folder (default: results/<preset>/runs/<experiment>)")
    _common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="multi-view test of a trained experiment")
    p.add_argument("--experiment", required=True)
    p.add_argument("--root", help="dataset root (default: resources/<preset>/<dataset>)")
    p.add_argument("--run-dir", help="run folder holding checkpoint.pt (default: results/<preset>/runs/<experiment>)")
    _common(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("aggregate", help="mean and std of top-1/top-5 over runs (UCF-101/HMDB-51 splits)")
    p.add_argument("metrics", nargs="+", help="metrics.json of each run")
    p.add_argument("--out", required=True, help="where to write the aggregated metrics.json")
    p.set_defaults(func=_aggregate)

    p = sub.add_parser("model-info", help="parameters and forward FLOPs per clip at the preset's input")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--experiment")
    group.add_argument("--all", action="store_true", help="every experiment of params.yaml")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    _common(p)
    p.set_defaults(func=_model_info)

    p = sub.add_parser("report", help="write reports/<table>.{csv,md} from the experiments' metrics")
    p.add_argument("--table", required=True)
    p.add_argument("--runs-dir", help="folder of run folders (default: results/<preset>/runs)")
    p.add_argument("--out", default=str(paths.REPORTS))
    p.add_argument("--archive", help="also write the table here (the workflow uses results/<preset>/tables)")
    _common(p)
    p.set_defaults(func=_report)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, _common)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    extra = tuple(e for name in COMMAND_MODULES for e in importlib.import_module(name).USER_ERRORS)
    return USER_ERRORS + extra


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    try:
        result = args.func(args)
    except Preempted as err:
        print(f"ctm {args.verb}: {err}", file=sys.stderr)
        return EXIT_PREEMPTED
    except _user_errors() as err:
        print(f"ctm {args.verb}: error: {err}", file=sys.stderr)
        return 2
    if not (args.verb == "model-info" and not args.json):  # model-info prints its own table
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
