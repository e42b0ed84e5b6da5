"""Synthetic HMDB-51 as serre-lab.clps.brown.edu publishes it: ``hmdb51_org.rar`` (a RAR of one RAR per class) and
``test_train_splits.rar`` (the three 70/30 splits).

Inside the archives::

    hmdb51_org.rar           <class>.rar, each holding <class>/<video>.avi     (MPEG-4 Part 2 in AVI, FourCC XVID)
    test_train_splits.rar    testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt

Video names follow HMDB's ``<source title>_<class>_<body part>_<camera motion>_<people>_<viewpoint>_<quality>_<n>``
(e.g. ``April_09_drop_ball_u_nm_np1_ba_goo_0.avi``); some titles hold ``#``, ``(``, ``)``, ``!`` and ``&`` like
real ones. Every split file lists every video of its class, sorted, one ``<video>.avi <tag> `` line each (a space
before the LF): tag 1 = train, 2 = test, 0 = unused. Per class and split, ``unused = max(1, n // 5)`` random
videos get tag 0 and the others are split ``round(0.7 * used)`` train / the rest test (real HMDB-51: 70 / 30 of
101 or more), drawn anew for each split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ctm.standins.host_files import DEFAULT_VIDEO, VideoJob, VideoSpec, encode_videos
from ctm.standins.motion import pair_classes
from ctm.standins.rar_writer import write_rar

SEED_TAG = 13
HMDB_CLASS_NAMES = (
    "drop_ball", "lift_ball",  # ball falling / rising
    "gather_dots", "scatter_dots",
    "shrink_rings", "grow_rings",
    "wind_clock", "unwind_clock",  # rotating clock's hand clockwise / counter-clockwise
    "slide_right", "slide_left",
)
"""HMDB-style class name of each synthetic class (index as in motion.SYNTHETIC_CLASS_NAMES)."""
SOURCE_TITLES = (
    "April_09", "Faith_Rewarded", "#20_Rhythm", "Glory_(1989)", "Wow!_Amazing_Trick", "Kids_&_Parents",
    "Prelinger_HabitPat1954", "TheBoondockSaints", "Veoh_Alpha_Dog", "likebeckam",
)
VIDEO_RAR = "hmdb51_org.rar"
SPLITS_RAR = "test_train_splits.rar"
SPLIT_DIR = "testTrainMulti_7030_splits"


def video_names(rng: np.random.Generator, cls: str, count: int) -> list[str]:
    """``count`` distinct HMDB-style video file names of class ``cls``, in creation order."""
    per_title: Counter[str] = Counter()
    names = []
    for _ in range(count):
        title = SOURCE_TITLES[rng.integers(len(SOURCE_TITLES))]
        body, camera, people, view, quality = (
            options[rng.integers(len(options))]
            for options in (("f", "h", "u", "l"), ("cm", "nm"), ("np1", "np2", "np3"), ("fr", "ba", "le", "ri"),
                            ("bad", "med", "goo"))
        )
        names.append(f"{title}_{cls}_{body}_{camera}_{people}_{view}_{quality}_{per_title[title]}.avi")
        per_title[title] += 1
    return names


def split_tags(rng: np.random.Generator, count: int) -> np.ndarray:
    """Tags (0 unused, 1 train, 2 test) of ``count`` videos for one split."""
    unused = max(1, count // 5)
    train = round(0.7 * (count - unused))
    tags = np.array([0] * unused + [1] * train + [2] * (count - unused - train))
    return tags[rng.permutation(count)]


def write_hmdb51(
    out: Path,
    *,
    pairs: Sequence[str],
    seed: int,
    workers: int,
    progress: bool,
    clips_per_class: int = 12,
    video: VideoSpec = DEFAULT_VIDEO,
) -> tuple[dict, list[str]]:
    """Write hmdb51_org.rar and test_train_splits.rar into ``out``; returns (summary, files for SHA256SUMS).

    Video i of synthetic class k is rendered from ``default_rng([seed, 13, k, i])``.
    """
    if clips_per_class < 4:
        raise ValueError(f"HMDB-51 needs clips_per_class >= 4 (1 unused, 1 test, 2 train), got {clips_per_class}")
    classes = sorted(pair_classes(pairs), key=lambda c: HMDB_CLASS_NAMES[c])
    rng = np.random.default_rng([seed, SEED_TAG, 0])
    work = out / ".work"
    names = {c: video_names(rng, HMDB_CLASS_NAMES[c], clips_per_class) for c in classes}
    jobs = [
        VideoJob(str(work / HMDB_CLASS_NAMES[c] / name), c, (seed, SEED_TAG, c, i), video)
        for c in classes for i, name in enumerate(names[c])
    ]
    encode_videos(jobs, workers=workers, progress=progress, desc="hmdb51 videos")

    split_members: list[tuple[str, bytes | Path]] = [(f"{SPLIT_DIR}/", b"")]
    counts = {split: Counter() for split in (1, 2, 3)}
    class_rars = []
    for c in classes:
        cls = HMDB_CLASS_NAMES[c]
        for split in (1, 2, 3):
            tags = split_tags(rng, clips_per_class)
            counts[split].update(tags.tolist())
            lines = sorted(f"{name} {tag} \n" for name, tag in zip(names[c], tags, strict=True))
            split_members.append((f"{SPLIT_DIR}/{cls}_test_split{split}.txt", "".join(lines).encode("ascii")))
        members = [(f"{cls}/", b"")] + [(f"{cls}/{name}", work / cls / name) for name in sorted(names[c])]
        class_rars.append((f"{cls}.rar", write_rar(work / f"{cls}.rar", members)))
    write_rar(out / SPLITS_RAR, split_members)
    write_rar(out / VIDEO_RAR, class_rars)
    summary = {
        "classes": [HMDB_CLASS_NAMES[c] for c in classes],
        "videos": len(jobs),
        "splits": {s: {"train": n[1], "test": n[2], "unused": n[0]} for s, n in counts.items()},
    }
    return summary, [VIDEO_RAR, SPLITS_RAR]
