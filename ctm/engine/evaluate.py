"""`ctm evaluate`: multi-view testing (clips x crops), score averaging, top-1 with a 95% CI, saved predictions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ctm import paths
from ctm.data.splits import load_split
from ctm.data.store import open_store
from ctm.data.video_clips import VideoClips, VideoDecodeError
from ctm.engine.build import build_run_model
from ctm.engine.checkpoints import StaleCheckpointError
from ctm.engine.coverage import check_coverage, why_missing
from ctm.engine.forward import model_forward, to_device
from ctm.engine.metrics import (
    average_views,
    bootstrap_interval,
    confusion_matrix,
    per_class_accuracy,
    top1_summary,
    topk_correct,
)
from ctm.engine.run import Run
from ctm.fileio import atomic_write, save_json
from ctm.models.folded import fold_for_inference
from ctm.progress import progress_bar


class SkipUndecodable(torch.utils.data.Dataset):
    """Test views of `clips`, or (None, label, reason) for a video that cannot be decoded: it is counted as
    skipped (with the reason in metrics.json) instead of stopping the evaluation."""

    def __init__(self, clips: VideoClips):
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, int, str | None]:
        try:
            views, label = self.clips[index]
            return views, label, None
        except VideoDecodeError as err:
            return None, self.clips.labels[index], str(err)


def balanced_subset(videos: pd.DataFrame, count: int | None) -> pd.DataFrame:
    """The first `count` videos taking classes in turn (each class's first video, then each one's second, ...), in
    their original order; all of them when `count` is None or not smaller (a rehearsal's `limits.test_videos`)."""
    if count is None or len(videos) <= count:
        return videos
    turn = videos.groupby("label", sort=False).cumcount()
    keep = turn.reset_index(drop=True).sort_values(kind="stable").index[:count]
    return videos.iloc[sorted(keep)]


@torch.no_grad()
def predict_views(forward, views: torch.Tensor, max_views: int, device: torch.device,
                  amp: bool = False) -> torch.Tensor:
    """(V, T, 3, S, S) -> (V, K) float logits, at most `max_views` views per forward so testing never runs out of
    memory. `forward`: a model, or ctm.engine.forward.model_forward's function (which also takes uint8 views);
    `amp`: bf16 autocast on CUDA."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
        return torch.cat([forward(to_device(chunk, device)).float() for chunk in views.split(max_views)])


def testing_network(run: Run, trained: dict, device: torch.device | None = None):
    """The trained network of the run's checkpoint (`trained`: its contents) as it is tested: checked against
    params.yaml, on `device` (default: the GPU if the preset's device is and there is one), channels_last, BN folded
    and compiled as the preset and recipe say. Returns (forward, device); `forward` maps (V, T, 3, S, S) views, uint8
    or normalised, to (V, K) logits."""
    recorded = {k: v for k, v in trained["params"].items() if k != "test"}
    if recorded != {k: v for k, v in run.params.items() if k != "test"}:
        raise StaleCheckpointError(
            f"{run.checkpoint} was trained with other parameters than params.yaml gives for "
            f"{run.experiment!r} now; retrain it (snakemake reruns it by itself)"
        )
    if device is None:
        device = torch.device("cuda" if run.device != "cpu" and torch.cuda.is_available() else "cpu")
    model = build_run_model(run, len(trained["classes"]))
    model.load_state_dict(trained["model"])
    model.to(device).eval()
    recipe = run.recipe
    if device.type == "cuda" and recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    if device.type == "cuda" and run.test.fold_bn:
        model = fold_for_inference(model)
    forward = model_forward(model, device.type == "cuda" and recipe.compile, recipe.compile_mode)
    return forward, device


def evaluate(run: Run, trained: dict, root: str | Path, progress: bool = True,
             store: str | Path | None = None, device: torch.device | None = None) -> dict:
    """Test the run's checkpoint (`trained`: its contents; ctm.engine.run.resolve_tested_run or
    ctm.engine.checkpoint_run.resolve_checkpoint_run gives both) on the validation (Kinetics) or test (UCF-101,
    HMDB-51) videos; write metrics.json, predictions.csv and confusion.csv in the run folder. `store`: read the
    decoded store instead of raw videos; `device`: default testing_network's."""
    forward, device = testing_network(run, trained, device)
    exp, recipe = run.spec, run.recipe

    opened = open_store(store) if store is not None else None
    split, classes = load_split(exp.dataset, root, "eval", opened, exp.split)
    check_coverage(run, "eval", split, why_missing(run, root, opened))
    if classes != trained["classes"]:
        raise StaleCheckpointError(f"{run.checkpoint}: its classes differ from the dataset's under {root}")
    test = run.test
    limits = run.limits
    videos = balanced_subset(split.videos, limits.test_videos if limits is not None else None)
    dataset = SkipUndecodable(VideoClips(root, videos, run.input, "test", test=test, store=opened,
                                         uint8=opened is not None))
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=recipe.num_workers,
                                         collate_fn=lambda item: item)
    rows, all_scores, skipped = [], [], []
    for index, (views, label, error) in enumerate(progress_bar(loader, desc=f"{run.experiment} test",
                                                               disable=not progress, unit="video")):
        video = dataset.clips.videos[index]
        if views is None:
            skipped.append({"video": video, "reason": error})
            continue
        logits = predict_views(forward, views, test.batch_views, device, recipe.amp)
        scores = average_views(logits, test.averaging).cpu()
        pred = int(scores.argmax())
        all_scores.append(scores)
        rows.append({"video": video, "label": int(label), "pred": pred,
                     "correct": int(pred == int(label)), "score": float(scores[pred])})
    if not rows:
        raise VideoDecodeError(f"{root}: none of the {len(skipped)} validation videos could be decoded")
    predictions = pd.DataFrame(rows)
    labels, preds = torch.tensor(predictions["label"].values), torch.tensor(predictions["pred"].values)
    correct = torch.tensor(predictions["correct"].values)
    confusion = confusion_matrix(labels, preds, len(classes))
    low, high = bootstrap_interval(correct)
    metrics = {
        "experiment": run.experiment,
        "seed": recipe.seed,
        "preset": run.preset,
        **top1_summary(int(correct.sum()), len(predictions)),
        "top5": 100 * float(topk_correct(torch.stack(all_scores), labels, 5).float().mean()),
        "top1_bootstrap_ci": [low, high],
        "per_class_top1": dict(zip(classes, per_class_accuracy(confusion), strict=True)),
        "num_val_missing": split.num_missing,
        "num_val_skipped": len(skipped),
        "skipped": skipped,
        "num_train_videos": trained["summary"]["num_train_videos"],
        "num_train_missing": trained["summary"]["num_train_missing"],
        **({"num_val_capped": len(split.videos) - len(videos)} if limits is not None else {}),
        "views_per_video": test.num_clips * test.num_crops,
        "averaging": test.averaging,
        "reduction": run.model.reduction,
    }
    confusion_df = pd.DataFrame(confusion.numpy(), index=classes, columns=classes)
    atomic_write(paths.confusion_in(run.folder),
                 lambda tmp: confusion_df.to_csv(tmp, index_label="label/prediction"))
    atomic_write(paths.predictions_in(run.folder),
                 lambda tmp: predictions.to_csv(tmp, index=False, float_format="%.6f"))
    save_json(metrics, paths.metrics_in(run.folder))
    return metrics
