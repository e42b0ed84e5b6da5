"""Accuracy with a 95% confidence interval, and score averaging over test views."""

from __future__ import annotations

import torch

from ctm.intervals import Z95, wilson_interval  # noqa: F401  (re-exported)


def average_views(logits: torch.Tensor, rule: str) -> torch.Tensor:
    """(V, K) logits of one video's V views -> (K,) video score by `rule`: softmax_mean, softmax_sum or logit_mean."""
    if rule == "softmax_mean":
        return logits.softmax(-1).mean(0)
    if rule == "softmax_sum":
        return logits.softmax(-1).sum(0)
    if rule == "logit_mean":
        return logits.mean(0)
    raise ValueError(f"unknown averaging rule {rule!r}")


def top1_summary(correct: int, total: int) -> dict[str, float | int]:
    """Top-1 accuracy and its Wilson 95% interval, in percent."""
    low, high = wilson_interval(correct, total)
    return {"top1": 100 * correct / total, "ci_low": 100 * low, "ci_high": 100 * high,
            "correct": correct, "num_videos": total}


def topk_correct(scores: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) bool: the label is among the k highest scores of (N, K) `scores` (k is capped at K)."""
    top = scores.topk(min(k, scores.shape[1]), dim=1).indices
    return (top == labels[:, None]).any(dim=1)


def confusion_matrix(labels: torch.Tensor, preds: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) counts: row = true label, column = prediction."""
    flat = labels.long() * num_classes + preds.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> list[float | None]:
    """Top-1 (%) of each class from a confusion matrix; None for a class with no video."""
    totals = confusion.sum(1)
    return [100 * float(confusion[c, c]) / float(t) if t else None for c, t in enumerate(totals)]


def bootstrap_interval(correct: torch.Tensor, samples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% bootstrap interval (%) of the mean of (N,) 0/1 `correct`, resampling videos."""
    generator = torch.Generator().manual_seed(seed)
    n = correct.numel()
    idx = torch.randint(n, (samples, n), generator=generator)
    means = correct.float()[idx].mean(1) * 100
    return float(means.quantile(0.025)), float(means.quantile(0.975))
