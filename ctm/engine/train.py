"""`ctm train`: SGD with momentum and a step schedule, per-epoch JSON-lines log, atomic checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ctm.config import Config
from ctm.data.clips import VideoClips
from ctm.engine.build import build_model, load_split
from ctm.fileio import save_torch
from ctm.progress import progress_bar


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(cfg: Config, experiment: str, root: str | Path, out_dir: str | Path, progress: bool = True) -> dict:
    """Train `experiment` on the videos under `root`; write out_dir/{checkpoint.pt, log.jsonl}. Returns the summary."""
    exp = cfg.experiment(experiment)
    recipe = cfg.recipe(exp)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    split, classes = load_split(exp.dataset, root, "train")
    dataset = VideoClips(root, split.videos, cfg.preset.input, "train", seed=recipe.seed, cache=recipe.cache_videos)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=recipe.batch_size,
        shuffle=True,
        drop_last=len(dataset) >= recipe.batch_size,
        num_workers=recipe.num_workers,
        generator=torch.Generator().manual_seed(recipe.seed),
        pin_memory=device.type == "cuda",
        persistent_workers=recipe.num_workers > 0,
    )
    model = build_model(cfg, exp, len(classes), pretrained=True).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, recipe.lr_milestones, recipe.lr_gamma)

    log_path = out_dir / "log.jsonl"
    log_path.write_text("")
    for epoch in range(recipe.epochs):
        dataset.set_epoch(epoch)
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        seen = correct = 0
        loss_sum = data_time = 0.0
        start = tick = time.perf_counter()
        bar = progress_bar(loader, desc=f"{experiment} epoch {epoch + 1}/{recipe.epochs}", disable=not progress,
                   unit="batch")
        for clips, labels in bar:
            clips, labels = clips.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            data_time += time.perf_counter() - tick
            logits = model(clips)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = labels.numel()
            seen += n
            loss_sum += loss.item() * n
            correct += (logits.argmax(1) == labels).sum().item()
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", top1=f"{100 * correct / seen:.1f}")
            tick = time.perf_counter()
        scheduler.step()
        elapsed = time.perf_counter() - start
        record = {
            "epoch": epoch + 1, "loss": loss_sum / seen, "top1": 100 * correct / seen, "lr": lr,
            "clips_per_s": seen / elapsed, "data_time_s": data_time, "epoch_time_s": elapsed,
            "peak_gpu_mem_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0,
        }
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    summary = {
        "experiment": experiment,
        "preset": cfg.preset_name,
        "num_classes": len(classes),
        "num_train_videos": len(dataset),
        "num_train_missing": split.num_missing,
        "epochs": recipe.epochs,
    }
    save_torch({"model": model.state_dict(), "classes": classes, "params": cfg.experiment_params(experiment),
                "summary": summary}, out_dir / "checkpoint.pt")
    return summary
