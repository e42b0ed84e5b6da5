"""The coverage gate (ctm.engine.coverage.check_coverage): a subset with fewer videos than params.yaml's min_coverage of
the paper's count (a stand-in's: of those listed) is refused with the counts and the manifest named."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from ctm.config import parse_config
from ctm.data.splits import Split
from ctm.engine.coverage import check_coverage
from ctm.engine.run import resolve_run
from ctm.errors import MissingInputError


def config(tiny_params, preset, coverage):
    raw = copy.deepcopy(tiny_params)
    raw["presets"][preset]["min_coverage"] = coverage
    return parse_config(raw, preset)


def split(present, missing):
    return Split(pd.DataFrame({"video": [f"v{i}" for i in range(present)]}), missing)


def test_a_stand_in_is_measured_against_its_listed_videos(tiny_params):
    cfg = config(tiny_params, "embedded", 0.9)
    run = resolve_run(cfg, "mk200_r50_tsn")
    check_coverage(run, "train", split(90, 10), Path("m.csv"))
    with pytest.raises(MissingInputError, match=r"mini_kinetics_200 train: 89 videos present of 100 listed, fewer "
                                                r"than presets.embedded.min_coverage = 0.9 of listed 100 \(90\); "
                                                r"m.csv says why"):
        check_coverage(run, "train", split(89, 11), Path("m.csv"))


def test_real_data_is_measured_against_the_papers_counts(tiny_params):
    cfg = config(tiny_params, "paper", 0.9)
    run = resolve_run(cfg, "mk200_r50_tsn")
    check_coverage(run, "train", split(66_600, 13_400), Path("m.csv"))  # 0.9 of the paper's ~74000
    with pytest.raises(MissingInputError, match=r"66,599 videos present of 80,000 listed.* of the paper's 74,000"):
        check_coverage(run, "train", split(66_599, 13_401), Path("m.csv"))
    with pytest.raises(MissingInputError, match=r"mini_kinetics_200 eval: .* of the paper's 4,700 \(4,230\)"):
        check_coverage(run, "eval", split(4_000, 1_000), Path("m.csv"))
