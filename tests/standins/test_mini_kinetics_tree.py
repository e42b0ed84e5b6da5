"""The tests' Mini-Kinetics-200 stand-in (ctm/standins/mini_kinetics_tree.py): the real on-disk format, the id lists
and CSVs, videos that decode to their class's rendering, and identical trees for the same seed."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import decord
import numpy as np
import pytest

from ctm.standins.mini_kinetics_tree import K400_ONLY_CLASSES, write_mini_kinetics_200
from ctm.standins.motion import SYNTHETIC_CLASS_NAMES, render_clip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("mk200")
    kwargs = {"train_per_class": 2, "val_per_class": 1, "seed": 7, "missing_fraction": 0.1, "progress": False}
    summary = write_mini_kinetics_200(root, **kwargs)
    return root, summary, kwargs


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_layout_and_summary(dataset):
    root, summary, _ = dataset
    assert sorted(p.name for p in root.iterdir()) == [
        "train.csv",
        "train_ytid_list.txt",
        "val_ytid_list.txt",
        "validate.csv",
        "videos",
    ]
    assert summary["classes"] == SYNTHETIC_CLASS_NAMES
    assert {k: summary["train"][k] for k in ("listed", "written", "missing")} == {
        "listed": 20,
        "written": 18,
        "missing": 2,
    }
    assert {k: summary["val"][k] for k in ("listed", "written", "missing")} == {
        "listed": 10,
        "written": 9,
        "missing": 1,
    }


def test_id_lists(dataset):
    root, _, _ = dataset
    lists = {}
    for split in ("train", "val"):
        raw = (root / f"{split}_ytid_list.txt").read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        lists[split] = raw.decode().splitlines()
    all_ids = lists["train"] + lists["val"]
    assert len(lists["train"]) == 20 and len(lists["val"]) == 10 and len(set(all_ids)) == 30
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{11}", i) for i in all_ids)
    assert any(i.startswith("-") for i in lists["train"]) and any(i.startswith("-") for i in lists["val"])


@pytest.mark.parametrize(
    ("split", "csv_name", "split_value", "per_class"),
    [
        ("train", "train.csv", "train", 2),
        ("val", "validate.csv", "val", 1),
    ],
)
def test_annotation_csv(dataset, split, csv_name, split_value, per_class):
    root, _, _ = dataset
    raw = (root / csv_name).read_bytes()
    assert b"\r" not in raw
    text = raw.decode()
    assert text.startswith("label,youtube_id,time_start,time_end,split,is_cc\n")
    # quoted exactly like the real files; single words bare; apostrophes not escaped
    assert '\n"rotating clock\'s hand clockwise",' in text and '\n"tying knot (not on a tie)",' in text
    assert "\nabseiling," in text and '"abseiling"' not in text
    rows = read_rows(root / csv_name)
    listed = (root / f"{split}_ytid_list.txt").read_text().splitlines()
    by_id = {row["youtube_id"]: row for row in rows}
    assert len(by_id) == len(rows) and set(listed) <= set(by_id)
    assert Counter(by_id[i]["label"] for i in listed) == {name: per_class for name in SYNTHETIC_CLASS_NAMES}
    extra = [row for row in rows if row["youtube_id"] not in listed]
    assert len(extra) == 2 * len(K400_ONLY_CLASSES) and {row["label"] for row in extra} == set(K400_ONLY_CLASSES)
    for row in rows:
        assert row["split"] == split_value and row["is_cc"] in ("0", "1")
        assert int(row["time_end"]) == int(row["time_start"]) + 10 >= 10


def test_videos(dataset):
    root, summary, kwargs = dataset
    expected, missing = set(), set(summary["train"]["missing_ids"] + summary["val"]["missing_ids"])
    for split, csv_name in (("train", "train.csv"), ("val", "validate.csv")):
        by_id = {row["youtube_id"]: row for row in read_rows(root / csv_name)}
        for youtube_id in (root / f"{split}_ytid_list.txt").read_text().splitlines():
            row = by_id[youtube_id]
            name = f"{youtube_id}_{int(row['time_start']):06d}_{int(row['time_end']):06d}.mp4"
            if youtube_id not in missing:
                expected.add(name)
    assert len(missing) == 3
    assert {p.name for p in (root / "videos").iterdir()} == expected  # no temporary files, no missing ids

    # the first written train video decodes to its class's rendering with the rng (seed, split tag 1, list index)
    train_ids = (root / "train_ytid_list.txt").read_text().splitlines()
    index, youtube_id = next((i, y) for i, y in enumerate(train_ids) if y not in missing)
    row = {r["youtube_id"]: r for r in read_rows(root / "train.csv")}[youtube_id]
    path = root / "videos" / f"{youtube_id}_{int(row['time_start']):06d}_{int(row['time_end']):06d}.mp4"
    reader = decord.VideoReader(str(path))
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    assert frames.shape == (80, 72, 96, 3)
    rendered = render_clip(
        SYNTHETIC_CLASS_NAMES.index(row["label"]), np.random.default_rng([kwargs["seed"], 1, index]), 80, 72, 96
    )
    assert np.abs(frames.astype(int) - rendered).mean() < 4


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_same_seed_gives_identical_tree_also_in_parallel(dataset, tmp_path):
    root, _, kwargs = dataset
    write_mini_kinetics_200(tmp_path, **{**kwargs, "workers": 2})
    assert tree_digest(tmp_path) == tree_digest(root)


def test_other_seed_gives_other_ids(dataset, tmp_path):
    root, _, kwargs = dataset
    write_mini_kinetics_200(tmp_path, **{**kwargs, "seed": 8, "train_per_class": 1, "val_per_class": 0})
    assert (tmp_path / "train_ytid_list.txt").read_text() != (root / "train_ytid_list.txt").read_text()
    assert (tmp_path / "val_ytid_list.txt").read_text() == ""


def test_pair_subset_writes_only_those_classes(tmp_path):
    summary = write_mini_kinetics_200(tmp_path, train_per_class=1, val_per_class=1, num_frames=64, height=48,
                                      width=64, missing_fraction=0.0, progress=False, pairs=["square", "ball"])
    assert summary["classes"] == ["ball falling", "ball rising", "sliding square (left to right)",
                                  "sliding square (right to left)"]
    labels = {row["label"] for row in read_rows(tmp_path / "train.csv")} - set(K400_ONLY_CLASSES)
    assert labels == set(summary["classes"])
    with pytest.raises(ValueError, match="subset"):
        write_mini_kinetics_200(tmp_path, train_per_class=1, val_per_class=1, pairs=["sparkles"], progress=False)
