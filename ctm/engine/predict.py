"""`ctm predict`: the top classes of video files under a trained checkpoint, each video tested as `ctm evaluate` tests
one (the checkpoint's test views: clips x crops, scores averaged by its rule).

The network is built once; the views of consecutive videos are concatenated so that each forward holds up to
`batch_views` views (several videos' worth where a video has fewer); a video that cannot be decoded gives a result
with an `error` instead of stopping the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import torch

from ctm.data.video_clips import VideoClips, VideoDecodeError
from ctm.engine.evaluate import SkipUndecodable, predict_views, testing_network
from ctm.engine.metrics import average_views
from ctm.engine.run import Run
from ctm.errors import MissingInputError, UserError

# What a folder's videos are: the containers FFmpeg (decord, PyAV) reads that cameras, phones and downloads write
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".webm", ".mkv", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ogv")


def listed_paths(list_file: Path) -> list[Path]:
    """The paths in a list file, one a line (blank lines and `#` comments skipped); relative ones are relative to
    the list file's folder."""
    if not list_file.is_file():
        raise MissingInputError(f"{list_file}: no such list of videos")
    lines = [line.strip() for line in list_file.read_text(errors="replace").splitlines()]
    return [list_file.parent / line for line in lines if line and not line.startswith("#")]


def video_files(named: list[str | Path], list_file: Path | None = None) -> list[Path]:
    """The videos to predict, in order: each named file as it is (whatever its suffix), each named folder's files
    with a video suffix (VIDEO_SUFFIXES, sorted by name, not recursing), then the list file's paths likewise."""
    videos: list[Path] = []
    for path in [Path(p) for p in named] + (listed_paths(list_file) if list_file is not None else []):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise MissingInputError(f"{path}: a folder with no video files ({', '.join(VIDEO_SUFFIXES)})")
            videos += found
        elif path.is_file():
            videos.append(path)
        else:
            raise MissingInputError(f"{path}: no such video file or folder")
    if not videos:
        raise UserError("no videos given: name video files or folders, or --list FILE")
    return videos


def video_views(run: Run, videos: list[Path], workers: int) -> Iterator[tuple[torch.Tensor | None, str | None]]:
    """Each video's test views (V, T, 3, S, S) float, normalised (or None and why it cannot be decoded), in order,
    read by `workers` loader processes (0: this one)."""
    table = pd.DataFrame({"video": [str(v.resolve()) for v in videos], "label": 0})
    clips = SkipUndecodable(VideoClips(Path("/"), table, run.input, "test", test=run.test))
    loader = torch.utils.data.DataLoader(clips, batch_size=None, num_workers=workers, collate_fn=lambda item: item)
    for views, _, error in loader:
        yield views, error


def predict_videos(run: Run, trained: dict, videos: list[Path], top: int = 5, device: torch.device | None = None,
                   batch_views: int | None = None, workers: int = 0) -> Iterator[dict]:
    """Each video's result, in order: {video, checkpoint, experiment, preset, views, averaging, top: [{class, score}]}
    with its `top` classes, best first (scores: softmax probabilities for the softmax rules), or {video, error}.
    `batch_views`: views per forward (default: the checkpoint's test.batch_views); `device`: testing_network's."""
    forward, device = testing_network(run, trained, device)
    batch_views = batch_views or run.test.batch_views
    classes = trained["classes"]
    pending: list[tuple[Path, torch.Tensor]] = []  # decoded videos whose views wait for a full batch

    def flush() -> Iterator[dict]:
        if not pending:
            return
        views = torch.cat([v for _, v in pending])
        with torch.inference_mode():
            logits = predict_views(forward, views, batch_views, device, run.recipe.amp)  # (sum V, K)
        for (video, own), chunk in zip(pending, logits.split([len(v) for _, v in pending]), strict=True):
            scores = average_views(chunk, run.test.averaging).float().cpu()  # (K,)
            best = scores.topk(min(top, len(classes)))
            yield {"video": str(video), "checkpoint": str(run.checkpoint), "experiment": run.experiment,
                   "preset": run.preset, "views": int(own.shape[0]), "averaging": run.test.averaging,
                   "top": [{"class": classes[i], "score": round(float(v), 6)}
                           for v, i in zip(best.values, best.indices, strict=True)]}
        pending.clear()

    for video, (views, error) in zip(videos, video_views(run, videos, workers), strict=True):
        if views is None:
            yield from flush()
            yield {"video": str(video), "error": error}
            continue
        pending.append((video, views))
        if sum(len(v) for _, v in pending) >= batch_views:
            yield from flush()
    yield from flush()


def undecodable(results: list[dict]) -> VideoDecodeError | None:
    """The error to end with when some videos could not be decoded (their lines say why), or None."""
    failed = [r for r in results if "error" in r]
    if not failed:
        return None
    if len(results) == 1:
        return VideoDecodeError(failed[0]["error"])
    return VideoDecodeError(f"{len(failed)} of {len(results)} videos could not be decoded (their lines say why), "
                            f"the first: {failed[0]['error']}")
