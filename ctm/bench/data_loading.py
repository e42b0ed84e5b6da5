"""Data-loading benchmarks: training clips/s through the decoded store (`ctm bench data`), the comparison of store
formats that chose the default (`ctm bench formats`, docs/decoded_store.md), and a realistic benchmark store.

The benchmark videos are synthetic but compress like real footage: a 1/f^1.5 ("pink") colour texture seen through a
panning, slowly zooming camera, textured blobs moving over it, slow lighting drift and 2 levels of sensor noise;
H.264 (crf 18) sources of 340x256 at 30 fps give ~20-25 KB JPEG frames at quality 90 (real 340x256 frames: ~10-30 KB).
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ctm.config import InputSpec
from ctm.data.decode import decode_videos
from ctm.data.store import StoreFormat, open_store
from ctm.data.video_clips import VideoClips
from ctm.progress import progress_bar

SOURCE = "source"


def pink_texture(rng: np.random.Generator, height: int, width: int, alpha: float = 1.5) -> np.ndarray:
    """float (height, width, 3), zero mean, unit std: colour noise with a 1/f^alpha amplitude spectrum."""
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spec = (rng.standard_normal((3, *f.shape)) + 1j * rng.standard_normal((3, *f.shape))) / f**alpha
    spec[:, 0, 0] = 0
    x = np.fft.irfft2(spec, s=(height, width)).transpose(1, 2, 0)
    x = x @ np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.6], [0.4, 0.6, 1.0]])  # correlated channels, as in real images
    return (x - x.mean()) / x.std()


def realistic_clip(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """uint8 (num_frames, height, width, 3): a panning camera over a textured scene with moving textured blobs."""
    margin = 64
    scene = pink_texture(rng, height + 2 * margin, width + 2 * margin)
    blob_tex = pink_texture(rng, 96, 96, alpha=1.2)
    t = np.arange(num_frames)
    pan = np.stack([margin * np.sin(2 * np.pi * t / rng.uniform(150, 400) + rng.uniform(0, 6)),
                    margin * np.sin(2 * np.pi * t / rng.uniform(150, 400) + rng.uniform(0, 6))], 1).round().astype(int)
    blobs = [(rng.uniform(0, height), rng.uniform(0, width), rng.uniform(-2, 2), rng.uniform(-3, 3),
              rng.uniform(15, 40), rng.uniform(-1.5, 1.5)) for _ in range(3)]
    yy, xx = np.mgrid[0:height, 0:width]
    base, gain = rng.uniform(100, 150), rng.uniform(35, 55)
    out = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for i in range(num_frames):
        dy, dx = pan[i] + margin
        frame = scene[dy : dy + height, dx : dx + width].copy()
        for y0, x0, vy, vx, r, shade in blobs:
            cy, cx = (y0 + vy * i) % height, (x0 + vx * i) % width
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
            ty, tx = ((yy[mask] - cy) % 96).astype(int), ((xx[mask] - cx) % 96).astype(int)
            frame[mask] = blob_tex[ty, tx] + shade
        light = base + 10 * np.sin(i / 40)
        noisy = light + gain * frame + rng.normal(0, 2, frame.shape)
        out[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return out


def _write_source(job: tuple) -> str:
    from ctm.data.video_io import write_video

    path, seed, num_frames, height, width = job
    if not Path(path).exists():
        write_video(path, realistic_clip(np.random.default_rng([seed]), num_frames, height, width), 30)
    return path


def make_sources(folder: str | Path, videos: int = 32, num_frames: int = 300, height: int = 256, width: int = 340,
                 workers: int = 1, progress: bool = True) -> list[str]:
    """Write `videos` realistic H.264 sources `folder`/source/vNNN.mp4 (kept if present); returns their names
    relative to `folder`/source."""
    names = [f"v{i:03d}.mp4" for i in range(videos)]
    jobs = [(str(Path(folder) / SOURCE / n), i, num_frames, height, width) for i, n in enumerate(names)]
    (Path(folder) / SOURCE).mkdir(parents=True, exist_ok=True)
    with progress_bar(total=len(jobs), desc="benchmark sources", disable=not progress) as bar:
        if workers > 1:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for _ in pool.imap_unordered(_write_source, jobs):
                    bar.update()
        else:
            for job in jobs:
                _write_source(job)
                bar.update()
    return names


def make_bench_store(folder: str | Path, videos: int = 32, short_side: int = 256, fmt: StoreFormat | None = None,
                     num_frames: int = 300, workers: int = 1, progress: bool = True) -> dict:
    """Realistic sources under `folder`/source and their decoded store in `folder` (what `ctm bench data` reads)."""
    names = make_sources(folder, videos, num_frames, workers=workers, progress=progress)
    fmt = fmt or StoreFormat(short_side=short_side)
    return decode_videos(Path(folder) / SOURCE, names, folder, fmt, workers, progress)


def _train_clips(store, crop: int, uint8: bool = True, root: Path | None = None) -> VideoClips:
    videos = store.videos() if store is not None else sorted(p.name for p in (root or Path()).glob("*.mp4"))
    short = store.format.short_side if store is not None else 256
    spec = InputSpec(num_segments=8, frame_interval=8, resize_short=short, crop_size=crop, hflip=True)
    ann = pd.DataFrame({"video": videos, "label": 0})
    return VideoClips(root, ann, spec, "train", store=store, uint8=uint8)


def clips_per_second(dataset: VideoClips, seconds: float, seed: int = 0) -> float:
    """Training clips/s of `dataset[i]` for random i in this process (one core: torch threads set to 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    try:
        dataset[0]  # warm-up: imports, first file opens
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            dataset.set_epoch(count)
            dataset[int(rng.integers(len(dataset)))]
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


CANDIDATES = {  # name -> store format; "source" = the raw H.264 sources read with decord (no store)
    "jpeg_q90": StoreFormat("jpeg", quality=90),
    "jpeg_q75": StoreFormat("jpeg", quality=75),
    "h264_gop8": StoreFormat("h264", gop=8, crf=18),
    "h264_intra": StoreFormat("h264", gop=1, crf=18),
    "raw": StoreFormat("raw"),
}


def _error_vs_source(source: Path, names: list[str], store, frames: int = 16) -> float:
    """Mean |store frame - decoded source frame| in grey levels over `frames` frames of each of 4 videos (the
    sources' short side is the store's: no resize)."""
    from ctm.data.video_io import read_video

    errors = []
    for name in names[:4]:
        video = read_video(source / name)
        idx = np.linspace(0, len(video) - 1, frames).round().astype(int)
        errors.append(np.abs(store.read(name, idx).astype(np.int16) - video[idx]).mean())
    return round(float(np.mean(errors)), 2)


def compare_formats(folder: str | Path, videos: int = 16, seconds: float = 5.0, repeats: int = 3, crop: int = 224,
                    names: list[str] | None = None, workers: int = 1, progress: bool = True) -> list[dict]:
    """Per-core training clips/s (median of `repeats` interleaved rounds), disk bytes per frame and mean |error| in
    grey levels against the decoded source of each candidate store format (CANDIDATES; `folder`/<name> holds each
    store) and of the raw sources read with decord; short side 256."""
    folder = Path(folder)
    sources = make_sources(folder, videos, workers=workers, progress=progress)
    names = names or [*CANDIDATES, "source"]
    datasets, sizes = {}, {}
    for name in names:
        if name == "source":
            files = [folder / SOURCE / s for s in sources]
            sizes[name] = sum(f.stat().st_size for f in files) / (len(files) * 300)
            datasets[name] = _train_clips(None, crop, root=folder / SOURCE)
            continue
        summary = decode_videos(folder / SOURCE, sources, folder / name, CANDIDATES[name], workers, progress)
        sizes[name] = summary["bytes_per_frame"]
        datasets[name] = _train_clips(open_store(folder / name), crop)
    errors = {n: _error_vs_source(folder / SOURCE, sources, open_store(folder / n)) for n in names if n != "source"}
    runs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names:
            runs[name].append(clips_per_second(datasets[name], seconds, seed=r))
    return [{"format": n, "clips_per_s_per_core": round(statistics.median(v), 1), "runs": [round(x, 1) for x in v],
             "bytes_per_frame": round(sizes[n]), "mean_abs_error": errors.get(n, 0.0),
             "settings": CANDIDATES[n].__dict__ if n in CANDIDATES else "mp4"}
            for n, v in runs.items()]


def bench_data(store: str | Path, crop: int = 224, workers: tuple[int, ...] = (1, 2), seconds: float = 10.0,
               batch_size: int = 24) -> dict:
    """Training clips/s through a torch DataLoader (uint8 items, shuffled, one batch of `batch_size` at a time) for
    each number of loader workers (0: in the main process). Timing starts after 2 batches per worker."""
    st = open_store(store)
    dataset = _train_clips(st, crop)
    results = []
    for w in workers:
        sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=10**9)
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=w,
                                             prefetch_factor=2 if w else None)
        it = iter(loader)
        for _ in range(2 * max(w, 1)):
            next(it)
        batches, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            next(it)
            batches += 1
        rate = batches * batch_size / (time.perf_counter() - start)
        del it
        results.append({"workers": w, "clips_per_s": round(rate, 1),
                        "clips_per_s_per_worker": round(rate / max(w, 1), 1)})
    return {"store": str(store), "format": st.format.__dict__, "videos": len(dataset), "crop": crop,
            "batch_size": batch_size, "seconds": seconds, "results": results}
