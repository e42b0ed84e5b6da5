"""`ctm predict`: the top classes of one video file under a trained checkpoint, with the paper's test views."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ctm.config import Config
from ctm.data.video_clips import VideoClips
from ctm.engine.checkpoints import load_checkpoint
from ctm.engine.evaluate import predict_views, testing_network
from ctm.engine.metrics import average_views
from ctm.errors import MissingInputError


def checkpoint_experiment(checkpoint: Path) -> tuple[str, str]:
    """(preset, experiment) that a checkpoint was trained for, as recorded in it."""
    params = load_checkpoint(checkpoint, "checkpoint", ("params",))["params"]
    return params["preset"], params["experiment"]["name"]


def predict(cfg: Config, experiment: str, checkpoint: str | Path, video: str | Path, top: int = 5) -> dict:
    """Test one video as `ctm evaluate` tests each one (preset.test: clips x crops, averaged by its rule) and return
    its `top` classes with their scores (softmax probabilities for the softmax rules)."""
    video, checkpoint = Path(video), Path(checkpoint)
    if not video.is_file():
        raise MissingInputError(f"{video}: no such video file")
    forward, ckpt, _, recipe, device = testing_network(cfg, experiment, checkpoint)
    test = cfg.preset.test
    clips = VideoClips(video.parent, pd.DataFrame({"video": [video.name], "label": [0]}), cfg.preset.input, "test",
                       test=test)
    views, _ = clips[0]
    with torch.inference_mode():
        scores = average_views(predict_views(forward, views, test.batch_views, device, recipe.amp), test.averaging)
    best = scores.float().cpu().topk(min(top, len(ckpt["classes"])))
    return {"video": str(video), "checkpoint": str(checkpoint), "experiment": experiment,
            "views": int(views.shape[0]), "averaging": test.averaging,
            "top": [{"class": ckpt["classes"][i], "score": round(float(v), 6)}
                    for v, i in zip(best.values, best.indices, strict=True)]}
