"""`ctm evaluate`: multi-view testing (clips x crops), score averaging, top-1 with a 95% CI, saved predictions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ctm.config import Config
from ctm.data.store import open_store
from ctm.data.video_clips import VideoClips, VideoDecodeError
from ctm.engine.build import build_model, check_coverage, load_split, model_forward, to_device, why_missing
from ctm.engine.checkpoints import load_checkpoint
from ctm.engine.metrics import (
    average_views,
    bootstrap_interval,
    confusion_matrix,
    per_class_accuracy,
    top1_summary,
    topk_correct,
)
from ctm.errors import MissingInputError, UserError
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


class StaleCheckpointError(UserError, RuntimeError):
    """The checkpoint was trained with other parameters than params.yaml now gives."""


@torch.no_grad()
def predict_views(forward, views: torch.Tensor, max_views: int, device: torch.device,
                  amp: bool = False) -> torch.Tensor:
    """(V, T, 3, S, S) -> (V, K) float logits, at most `max_views` views per forward so testing never runs out of
    memory. `forward`: a model, or ctm.engine.build.model_forward's function (which also takes uint8 views);
    `amp`: bf16 autocast on CUDA."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
        return torch.cat([forward(to_device(chunk, device)).float() for chunk in views.split(max_views)])


def testing_network(cfg: Config, experiment: str, checkpoint: Path):
    """The trained network of `checkpoint` as it is tested: checked against params.yaml, on the GPU if there is one,
    channels_last, BN folded and compiled as the preset and recipe say. Returns (forward, checkpoint dict, experiment,
    recipe, device); `forward` maps (V, T, 3, S, S) views, uint8 or normalised, to (V, K) logits."""
    ckpt = load_checkpoint(checkpoint, "checkpoint", ("model", "classes", "params", "summary"))
    seed = ckpt["params"].get("recipe", {}).get("seed")  # the run's seed: which of the preset's runs it is
    if seed not in cfg.seeds:
        raise StaleCheckpointError(f"{checkpoint} was trained with seed {seed}, which is not one of preset "
                                   f"{cfg.preset_name!r}'s seeds {cfg.seeds} now; retrain it")
    expected = cfg.experiment_params(experiment, seed)
    trained = {k: v for k, v in ckpt["params"].items() if k != "test"}
    if trained != {k: v for k, v in expected.items() if k != "test"}:
        raise StaleCheckpointError(
            f"{checkpoint} was trained with other parameters than params.yaml gives for "
            f"{experiment!r} now; retrain it (snakemake reruns it by itself)"
        )
    exp = cfg.experiment(experiment)
    device = torch.device("cuda" if cfg.preset.device != "cpu" and torch.cuda.is_available() else "cpu")
    model = build_model(cfg, exp, len(ckpt["classes"]))
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()
    recipe = cfg.recipe(exp, seed)
    if device.type == "cuda" and recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    if device.type == "cuda" and cfg.preset.test.fold_bn:
        model = fold_for_inference(model)
    forward = model_forward(model, device.type == "cuda" and recipe.compile, recipe.compile_mode)
    return forward, ckpt, exp, recipe, device


def evaluate(cfg: Config, experiment: str, root: str | Path, run_dir: str | Path, progress: bool = True,
             store: str | Path | None = None) -> dict:
    """Test run_dir/checkpoint.pt on the validation (Kinetics) or test (UCF-101, HMDB-51) videos; write
    run_dir/{metrics.json, predictions.csv, confusion.csv}. `store`: read the decoded store instead of raw videos."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").is_file():
        raise MissingInputError(f"{run_dir / 'checkpoint.pt'}: no checkpoint; train first "
                               f"(ctm train --experiment {experiment}, or snakemake all_tables)")
    forward, ckpt, exp, recipe, device = testing_network(cfg, experiment, run_dir / "checkpoint.pt")

    opened = open_store(store) if store is not None else None
    split, classes = load_split(exp.dataset, root, "eval", opened, exp.split)
    check_coverage(cfg, exp, "eval", split, why_missing(cfg, exp, root, opened))
    if classes != ckpt["classes"]:
        raise StaleCheckpointError(f"{run_dir / 'checkpoint.pt'}: its classes differ from the dataset's under {root}")
    test = cfg.preset.test
    limits = cfg.preset.limits
    videos = balanced_subset(split.videos, limits.test_videos if limits is not None else None)
    dataset = SkipUndecodable(VideoClips(root, videos, cfg.preset.input, "test", test=test, store=opened,
                                         uint8=opened is not None))
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=recipe.num_workers,
                                         collate_fn=lambda item: item)
    rows, all_scores, skipped = [], [], []
    for index, (views, label, error) in enumerate(progress_bar(loader, desc=f"{experiment} test",
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
        "experiment": experiment,
        "seed": recipe.seed,
        "preset": cfg.preset_name,
        **top1_summary(int(correct.sum()), len(predictions)),
        "top5": 100 * float(topk_correct(torch.stack(all_scores), labels, 5).float().mean()),
        "top1_bootstrap_ci": [low, high],
        "per_class_top1": dict(zip(classes, per_class_accuracy(confusion), strict=True)),
        "num_val_missing": split.num_missing,
        "num_val_skipped": len(skipped),
        "skipped": skipped,
        "num_train_videos": ckpt["summary"]["num_train_videos"],
        "num_train_missing": ckpt["summary"]["num_train_missing"],
        **({"num_val_capped": len(split.videos) - len(videos)} if limits is not None else {}),
        "views_per_video": test.num_clips * test.num_crops,
        "averaging": test.averaging,
        "reduction": cfg.preset.model.reduction,
    }
    confusion_df = pd.DataFrame(confusion.numpy(), index=classes, columns=classes)
    atomic_write(run_dir / "confusion.csv", lambda tmp: confusion_df.to_csv(tmp, index_label="label/prediction"))
    atomic_write(run_dir / "predictions.csv", lambda tmp: predictions.to_csv(tmp, index=False, float_format="%.6f"))
    save_json(metrics, run_dir / "metrics.json")
    return metrics
