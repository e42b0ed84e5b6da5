"""`ctm evaluate`: multi-view testing (clips x crops), score averaging, top-1 with a 95% CI, saved predictions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ctm.config import Config
from ctm.data.clips import VideoClips
from ctm.engine.build import build_model, load_split
from ctm.engine.metrics import average_views, top1_summary
from ctm.fileio import atomic_write, save_json
from ctm.progress import progress_bar


class StaleCheckpointError(RuntimeError):
    """The checkpoint was trained with other parameters than params.yaml now gives."""


@torch.no_grad()
def predict_views(model: torch.nn.Module, views: torch.Tensor, max_views: int) -> torch.Tensor:
    """(V, T, 3, S, S) -> (V, K) logits, at most `max_views` views per forward so testing never runs out of memory."""
    return torch.cat([model(chunk) for chunk in views.split(max_views)])


def evaluate(cfg: Config, experiment: str, root: str | Path, run_dir: str | Path, progress: bool = True) -> dict:
    """Test run_dir/checkpoint.pt on the validation videos; write run_dir/{metrics.json, predictions.csv}."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").is_file():
        raise FileNotFoundError(f"{run_dir / 'checkpoint.pt'}: no checkpoint; train first "
                                f"(ctm train --experiment {experiment}, or snakemake all_tables)")
    ckpt = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    expected = cfg.experiment_params(experiment)
    trained = {k: v for k, v in ckpt["params"].items() if k != "test"}
    if trained != {k: v for k, v in expected.items() if k != "test"}:
        raise StaleCheckpointError(
            f"{run_dir / 'checkpoint.pt'} was trained with other parameters than params.yaml gives for "
            f"{experiment!r} now; retrain it (snakemake reruns it by itself)"
        )
    exp = cfg.experiment(experiment)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(cfg, exp, len(ckpt["classes"]))
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()

    split, classes = load_split(exp.dataset, root, "val")
    if classes != ckpt["classes"]:
        raise StaleCheckpointError(f"{run_dir / 'checkpoint.pt'}: its classes differ from the dataset's under {root}")
    test = cfg.preset.test
    dataset = VideoClips(root, split.videos, cfg.preset.input, "test", test=test)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=cfg.recipe(exp).num_workers)
    rows = []
    for index, (views, label) in enumerate(progress_bar(loader, desc=f"{experiment} test", disable=not progress,
                                                  unit="video")):
        scores = average_views(predict_views(model, views.to(device), test.batch_views), test.averaging)
        pred = int(scores.argmax())
        rows.append({"video": dataset.videos[index], "label": int(label), "pred": pred,
                     "correct": int(pred == int(label)), "score": float(scores[pred])})
    predictions = pd.DataFrame(rows)
    metrics = {
        "experiment": experiment,
        "preset": cfg.preset_name,
        **top1_summary(int(predictions["correct"].sum()), len(predictions)),
        "num_val_missing": split.num_missing,
        "num_train_videos": ckpt["summary"]["num_train_videos"],
        "num_train_missing": ckpt["summary"]["num_train_missing"],
        "views_per_video": test.num_clips * test.num_crops,
        "averaging": test.averaging,
        "reduction": cfg.preset.model.reduction,
    }
    atomic_write(run_dir / "predictions.csv", lambda tmp: predictions.to_csv(tmp, index=False, float_format="%.6f"))
    save_json(metrics, run_dir / "metrics.json")
    return metrics
