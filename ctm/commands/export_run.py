"""`ctm export-run`: a trained and evaluated run as a shareable bundle (.tar.gz: checkpoint.pt, log.jsonl,
metrics.json, the run's params, a README row and a manifest of sha256s; ctm.engine.bundle)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm import paths
from ctm.commands.numbers import count
from ctm.config import ConfigError


def _export_run(args: argparse.Namespace) -> dict:
    from ctm.engine.bundle import export_run

    served, run_dir = None, args.run_dir
    if Path(args.params).is_file() or run_dir is None:  # params.yaml names the run and the cells it serves
        from ctm.config import load_config
        from ctm.pipeline.dvc_models import served_cells

        cfg = load_config(args.params, args.preset)
        served = served_cells(cfg)
        if run_dir is None:
            if args.experiment is None:
                raise ConfigError("give --run-dir, or --experiment (and --seed) of params.yaml")
            cfg.experiment(args.experiment)
            run_dir = paths.run_dir(cfg.preset_name, paths.run_name(args.experiment, cfg.seed(args.seed)))
    run_dir = Path(run_dir)
    out = args.out or Path("bundles") / f"{run_dir.parent.name}-{run_dir.name}.tar.gz"
    return export_run(run_dir, out, served)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("export-run", help="a trained, evaluated run as a shareable .tar.gz bundle (checkpoint, log, "
                       "metrics, params, README, sha256 manifest)")
    p.add_argument("--run-dir", help="the run folder (default: results/<preset>/runs/<experiment>/seed<seed>)")
    p.add_argument("--experiment", help="with --seed: the run of params.yaml to export (instead of --run-dir)")
    p.add_argument("--seed", type=count, help="which of the preset's seeds (default: its first)")
    p.add_argument("--out", help="the .tar.gz to write (default: bundles/<experiment>-seed<k>.tar.gz)")
    common(p)
    p.set_defaults(func=_export_run)
