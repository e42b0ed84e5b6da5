"""A contact sheet of a predicted video for a person to look at: a few of its frames, evenly spaced over the whole
video, with the top classes and their scores written under them (one PNG per video, `ctm predict --sheet-dir`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ctm.data.video_clips import read_frames
from ctm.fileio import atomic_write

SHEET_FRAMES = 8  # frames shown, in 2 rows of 4
SHEET_COLUMNS = 4


def sheet_frames(video: Path, count: int = SHEET_FRAMES) -> np.ndarray:
    """uint8 (count, H, W, 3): `count` frames evenly spaced from the first to the last, upright (as tested).
    A video that cannot be decoded is a ctm.data.video_clips.VideoDecodeError naming it."""
    return read_frames(video, lambda n: np.linspace(0, max(n - 1, 0), count).round().astype(np.int64))


def sheet_name(video: Path, taken: set[str]) -> str:
    """`<video file name>.png`, with `-2`, `-3`, ... before `.png` where that name is `taken` (videos of the same
    name in different folders); the name returned is added to `taken`."""
    name, n = f"{video.name}.png", 1
    while name in taken:
        n += 1
        name = f"{video.name}-{n}.png"
    taken.add(name)
    return name


def write_contact_sheet(frames: np.ndarray, result: dict, path: Path) -> Path:
    """PNG at `path` of `frames` (uint8 (N, H, W, 3)) in rows of SHEET_COLUMNS, titled with the video and the
    checkpoint's experiment, and the result's top classes (`result["top"]`: [{class, score}], best first) listed
    under them, the first in bold."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    rows = -(-len(frames) // SHEET_COLUMNS)
    height, width = frames.shape[1:3]
    panel = 2.4  # inches per frame's long side
    frame_w, frame_h = (panel, panel * height / width) if width >= height else (panel * width / height, panel)
    text_h = 0.3 * (len(result["top"]) + 1)
    fig = Figure(figsize=(SHEET_COLUMNS * frame_w, rows * frame_h + text_h + 0.5))
    top = 1 - 0.5 / fig.get_figheight()
    bottom = text_h / fig.get_figheight()
    grid = fig.add_gridspec(rows, SHEET_COLUMNS, left=0.01, right=0.99, top=top, bottom=bottom, wspace=0.03,
                            hspace=0.03)
    for i, frame in enumerate(frames):
        ax = fig.add_subplot(grid[i // SHEET_COLUMNS, i % SHEET_COLUMNS])
        ax.imshow(frame)
        ax.set_axis_off()
    fig.suptitle(f"{Path(result['video']).name}  ({result['experiment']}, {result['views']} views)", fontsize=10,
                 y=1 - 0.15 / fig.get_figheight(), va="top")
    line_h = 0.3 / fig.get_figheight()
    width = max(len(entry["class"]) for entry in result["top"])
    for rank, entry in enumerate(result["top"]):
        fig.text(0.02, bottom - (rank + 0.8) * line_h, f"{rank + 1}. {entry['class']:<{width}}  {entry['score']:.3f}",
                 fontsize=10, fontweight="bold" if rank == 0 else "normal", family="monospace", va="center")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
