"""`ctm predict`: the top classes of one video file under a trained checkpoint, with the paper's test views."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ctm.data.video_clips import VideoClips
from ctm.engine.checkpoints import load_checkpoint
from ctm.engine.evaluate import predict_views, testing_network
from ctm.engine.metrics import average_views
from ctm.engine.run import Run


def checkpoint_experiment(checkpoint: Path) -> tuple[str, str]:
    """(preset, experiment) that a checkpoint was trained for, as recorded in it."""
    params = load_checkpoint(checkpoint, "checkpoint", ("params",))["params"]
    return params["preset"], params["experiment"]["name"]


def predict(run: Run, trained: dict, video: Path, top: int = 5) -> dict:
    """Test one video as `ctm evaluate` tests each one (preset.test: clips x crops, averaged by its rule) under the
    run's checkpoint (`trained`: its contents) and return its `top` classes with their scores (softmax probabilities
    for the softmax rules)."""
    forward, device = testing_network(run, trained)
    test = run.test
    clips = VideoClips(video.parent, pd.DataFrame({"video": [video.name], "label": [0]}), run.input, "test", test=test)
    views, _ = clips[0]
    with torch.inference_mode():
        scores = average_views(predict_views(forward, views, test.batch_views, device, run.recipe.amp),
                               test.averaging)
    best = scores.float().cpu().topk(min(top, len(trained["classes"])))
    return {"video": str(video), "checkpoint": str(run.checkpoint), "experiment": run.experiment,
            "views": int(views.shape[0]), "averaging": test.averaging,
            "top": [{"class": trained["classes"][i], "score": round(float(v), 6)}
                    for v, i in zip(best.values, best.indices, strict=True)]}
