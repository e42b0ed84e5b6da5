"""One annotation API for every dataset: `read_annotations(dataset, root, split)` and `dataset_classes(dataset, root)`.

The readers: kinetics.py (Kinetics-600, Mini-Kinetics-200), ucf101.py, hmdb51.py, each over base.py (the errors, strict
UTF-8 lines, the path checks and `VideoRegistry` that they share). Each dataset root is in its official layout
(docs/datasets.md); only annotation files are read, never videos.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ctm.data.annotations.base import relative_inside
from ctm.data.annotations.hmdb51 import hmdb51_classes, read_hmdb51
from ctm.data.annotations.kinetics import kinetics_600_classes, read_kinetics_600, read_mini_kinetics_200
from ctm.data.annotations.ucf101 import read_ucf101, ucf101_classes
from ctm.vocabulary import HMDB51, KINETICS_600, MINI_KINETICS_200, UCF101

READERS: dict[str, Callable[[Path, int], pd.DataFrame]] = {
    MINI_KINETICS_200: lambda root, split: read_mini_kinetics_200(root),
    KINETICS_600: read_kinetics_600,
    UCF101: read_ucf101,
    HMDB51: read_hmdb51,
}
CLASS_READERS: dict[str, Callable[[Path], list[str]]] = {
    MINI_KINETICS_200: lambda root: class_names(read_mini_kinetics_200(root)),
    KINETICS_600: kinetics_600_classes,
    UCF101: ucf101_classes,
    HMDB51: hmdb51_classes,
}


def _check_dataset(dataset: str) -> None:
    if dataset not in READERS:
        raise ValueError(f"no annotation reader for dataset {dataset!r}; available: {sorted(READERS)}")


def read_annotations(dataset: str, root: str | Path, split: int = 1) -> pd.DataFrame:
    """Annotations as a DataFrame with at least `video` (path relative to `root`, POSIX), `label` (0-based int),
    `label_name` and `subset` ("train", "val" or "test"); Kinetics datasets add `youtube_id`, `time_start`,
    `time_end` (ints). Reads only the annotation files, never the videos.

    `split` selects one of the three official splits of "ucf101" and "hmdb51" (1, 2 or 3, else ValueError); the
    Kinetics datasets have one split and ignore it. Malformed or missing files raise AnnotationError.
    """
    _check_dataset(dataset)
    rows = READERS[dataset](Path(root), split)
    for video in rows["video"]:  # each reader checks its lines; this holds for any reader added later
        relative_inside(video, f"{dataset} annotations under {root}")
    return rows


def dataset_classes(dataset: str, root: str | Path) -> list[str]:
    """All class names of a dataset in label order, from its annotation files alone (the same for every split)."""
    _check_dataset(dataset)
    return CLASS_READERS[dataset](Path(root))


def class_names(annotations: pd.DataFrame) -> list[str]:
    """Label names in label order (of the labels that `annotations` uses)."""
    pairs = annotations[["label", "label_name"]].drop_duplicates().sort_values("label")
    return pairs["label_name"].tolist()
