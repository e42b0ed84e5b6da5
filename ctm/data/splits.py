"""One subset of a dataset as training and testing read it: the listed videos that are present (on disk, or decoded
"ok" in the store) and how many are missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctm.data.annotations import dataset_classes, read_annotations
from ctm.data.store import Store
from ctm.data.video_clips import split_available
from ctm.errors import MissingInputError


@dataclass(frozen=True)
class Split:
    """The videos of one subset: those present (on disk, or decoded "ok" in the store), and how many listed ones are
    missing."""

    videos: pd.DataFrame
    num_missing: int


def load_split(dataset: str, root: str | Path, subset: str, store: Store | None = None,
               split: int = 1) -> tuple[Split, list[str]]:
    """(the subset's present videos and missing count, the class names in label order).

    `subset` "eval" is the dataset's evaluation subset: "val" (Kinetics) or "test" (UCF-101, HMDB-51 splits)."""
    ann = read_annotations(dataset, root, split)
    names = dataset_classes(dataset, root)
    if subset == "eval":
        subset = "val" if (ann["subset"] == "val").any() else "test"
    rows = ann[ann["subset"] == subset]
    present, missing = store.split(rows) if store is not None else split_available(root, rows)
    if present.empty:
        where = f"the store {store.root}" if store is not None else root
        raise MissingInputError(f"{where}: none of the {len(missing)} {subset} videos of {dataset} are available")
    return Split(present, len(missing)), names
