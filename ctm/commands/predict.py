"""`ctm predict`: the top-5 classes of one video file under a trained checkpoint (the paper's test views)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctm.commands.numbers import at_least_one
from ctm.errors import MissingInputError


def _predict(args: argparse.Namespace) -> dict:
    from ctm.config import load_config
    from ctm.engine.predict import checkpoint_experiment, predict
    from ctm.engine.run import resolve_tested_run

    preset, experiment = checkpoint_experiment(Path(args.checkpoint))
    cfg = load_config(args.params, args.preset or preset)
    video = Path(args.video)
    if not video.is_file():
        raise MissingInputError(f"{video}: no such video file")
    run, trained = resolve_tested_run(cfg, experiment, args.checkpoint)
    return predict(run, trained, video, args.top)


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("predict", help="top classes of one video file under a trained checkpoint",
                       description="Test one video as `ctm evaluate` tests each one (the preset's clips x crops, "
                                   "scores averaged) and print its top classes. The experiment and preset are the "
                                   "ones the checkpoint records; params.yaml must still give it the same parameters.")
    p.add_argument("video", help="a video file (any format decord reads: mp4, avi, webm, ...)")
    p.add_argument("--checkpoint", required=True, help="a run's checkpoint.pt (results/<preset>/runs/<experiment>/)")
    p.add_argument("--top", type=at_least_one, default=5, help="how many classes (default 5)")
    common(p)
    p.set_defaults(func=_predict)
