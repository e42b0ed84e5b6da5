"""One annotation API for every dataset: `read_annotations(dataset, root, split)`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctm.data.kinetics import read_mini_kinetics_200

READERS = {"mini_kinetics_200": read_mini_kinetics_200}


def read_annotations(dataset: str, root: str | Path, split: int = 1) -> pd.DataFrame:
    """Annotations as a DataFrame with at least `video` (path relative to `root`), `label` (0-based int),
    `label_name` and `subset` ("train", "val" or "test"). Reads only the annotation files, never the videos.
    `split` selects one of the three official splits where a dataset has them.
    """
    if dataset not in READERS:
        raise ValueError(f"no annotation reader for dataset {dataset!r}; available: {sorted(READERS)}")
    return READERS[dataset](root)


def class_names(annotations: pd.DataFrame) -> list[str]:
    """Label names in label order."""
    pairs = annotations[["label", "label_name"]].drop_duplicates().sort_values("label")
    return pairs["label_name"].tolist()
