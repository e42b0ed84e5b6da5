"""`ctm model-info`: parameters and forward FLOPs per clip of experiments' networks at the preset's input."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ctm.config import load_config


def _model_info(args: argparse.Namespace) -> list[dict] | None:
    """The rows as JSON (--json), or None after printing them as a table."""
    from ctm.engine.build import experiment_cost

    cfg = load_config(args.params, args.preset)
    names = list(cfg.experiments) if args.all else [args.experiment]
    i = cfg.preset.input
    rows = []
    for name in names:
        classes = cfg.num_classes(cfg.experiment(name).dataset)
        rows.append({"experiment": name, "classes": classes, "input": f"{i.num_segments}x{i.crop_size}",
                     **{k: round(v, 3) for k, v in experiment_cost(cfg, name, classes).items()}})
    if args.json:
        return rows
    print(f"{'experiment':32} {'classes':>7} {'input':>7} {'params (M)':>10} {'GFLOPs':>9} {'G mult-adds':>11}")
    for r in rows:
        print(f"{r['experiment']:32} {r['classes']:>7} {r['input']:>7} {r['params_m']:>10.2f} {r['gflops']:>9.2f} "
              f"{r['gmacs']:>11.2f}")
    print("FLOPs per clip, forward, one multiply-add = 2 FLOPs (torch.utils.flop_counter)")
    return None


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("model-info", help="parameters and forward FLOPs per clip at the preset's input")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--experiment")
    group.add_argument("--all", action="store_true", help="every experiment of params.yaml")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    common(p)
    p.set_defaults(func=_model_info)
