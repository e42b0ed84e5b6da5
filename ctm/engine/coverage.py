"""The coverage gate: a run refuses a subset with too few of its videos present (`min_coverage` in params.yaml), and
names the manifest that says why each missing one is missing."""

from __future__ import annotations

import math
from pathlib import Path

from ctm.data.splits import Split
from ctm.data.store import Store
from ctm.engine.run import Run
from ctm.errors import MissingInputError


def why_missing(run: Run, root: str | Path, store: Store | None) -> Path:
    """The file that says why a video is missing: the clips manifest of a Kinetics dataset, else the store's."""
    if run.dataset.clips is not None:
        return Path(root) / "videos_manifest.csv"
    return Path(store.root) / "manifest.csv" if store is not None else Path(root)


def check_coverage(run: Run, subset: str, split: Split, manifest: Path) -> None:
    """Refuse a subset holding fewer videos than `min_coverage` of the paper's count (of those listed, on a
    synthetic stand-in or where the paper gives none): the error names the counts and the manifest that says why
    each missing video is missing."""
    from ctm.report.paper import paper_videos

    exp = run.spec
    listed = len(split.videos) + split.num_missing
    reference, of = listed, "listed"
    if run.dataset.source != "synthetic":
        train, evaluation = paper_videos(exp.dataset, [exp.split])
        paper = train if subset == "train" else evaluation
        if paper:
            reference, of = paper, "the paper's"
    need = math.ceil(run.min_coverage * reference)
    if len(split.videos) < need:
        raise MissingInputError(
            f"{exp.dataset} {subset}: {len(split.videos):,} videos present of {listed:,} listed, fewer than "
            f"presets.{run.preset}.min_coverage = {run.min_coverage:g} of {of} {reference:,} ({need:,}); "
            f"{manifest} says why each is missing: fetch the missing ones again, or lower min_coverage in params.yaml")
