"""The paper's published numbers, once (Liu et al., "CTM: Collaborative Temporal Modeling for Action Recognition").

Every table, test and template that needs a published value reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperRow:
    label: str  # the row's text in the paper
    value: float  # top-1 (%) as published


@dataclass(frozen=True)
class PaperTable:
    title: str
    dataset: str
    metric: str
    rows: dict[str, PaperRow]


PAPER_TABLES: dict[str, PaperTable] = {
    "table1": PaperTable(
        title="Performance comparisons on Mini-Kinetics-200. We add 1 block to Res4 into 2D ResNet-50 backbone.",
        dataset="mini_kinetics_200",
        metric="Val Acc top-1 (%)",
        rows={
            "baseline": PaperRow("baseline", 76.76),
            "tccm": PaperRow("TCCM + shortcut (Path1 + shortcut)", 78.60),
            "path2": PaperRow("Path 2 + shortcut", 78.58),
            "ctm": PaperRow("CTM (Path1 + Path 2 + shortcut)", 78.94),
        },
    ),
}

# Videos per subset: the official lists, and what the paper's authors could download (paper footnote 2).
PAPER_VIDEO_COUNTS = {
    "mini_kinetics_200": {"train_listed": 80000, "val_listed": 5000, "train_used": 74000, "val_used": 4700},
}
