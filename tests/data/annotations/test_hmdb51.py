"""HMDB-51 split files in the official format: testTrainMulti_7030_splits/<class>_test_split<k>.txt, `<video> <tag>`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctm.data.annotations import class_names
from ctm.data.annotations.base import AnnotationError
from ctm.data.annotations.hmdb51 import read_hmdb51

# Real class names, including the prefix pairs (sword / sword_exercise, kick / kick_ball) a careless pattern confuses.
CLASSES = ["wave", "sword_exercise", "brush_hair", "sword", "kick_ball", "kick"]
NUM_VIDEOS = 10  # per class; the real ones have 101 or more
LINE_ENDS = ["\r\n", "\n", " \r\n", " \n"]  # the exact whitespace is unconfirmed: vary it across files


def video_names(cls: str) -> list[str]:
    """Names in the real style, odd characters included."""
    odd = [f"#20_Rhythm_{cls}_u_nm_np1_fr_goo_0.avi", f"Veoh_Alpha_Dog_(1)_{cls}_h_nm_np1_fr_goo_0.avi",
           f"Fellowship_&_Co!_{cls}_f_cm_np1_le_bad_1.avi"]
    return odd + [f"April_09_{cls}_u_nm_np1_ba_goo_{i}.avi" for i in range(NUM_VIDEOS - len(odd))]


def tag(cls_index: int, video: int, split: int) -> int:
    """1 (train) for 5 videos, 2 (test) for 3 and 0 (unused) for 2, rotating with the split."""
    return [1, 1, 2, 1, 0, 2, 1, 2, 1, 0][(video + 3 * split + cls_index) % NUM_VIDEOS]


def write_hmdb51(root: Path) -> Path:
    folder = root / "testTrainMulti_7030_splits"
    folder.mkdir(parents=True)
    for c, cls in enumerate(CLASSES):
        for k in (1, 2, 3):
            end = LINE_ENDS[(c + k) % len(LINE_ENDS)]
            text = end.join(f"{v} {tag(c, i, k)}" for i, v in enumerate(video_names(cls)))
            last = "" if (c, k) == (0, 2) else end  # one file without a final newline
            (folder / f"{cls}_test_split{k}.txt").write_bytes((text + last).encode())
    return root


def expected(split: int) -> set[tuple[str, str, str]]:
    return {(f"{cls}/{v}", cls, {1: "train", 2: "test"}[tag(c, i, split)])
            for c, cls in enumerate(CLASSES) for i, v in enumerate(video_names(cls)) if tag(c, i, split)}


@pytest.fixture
def root(tmp_path):
    return write_hmdb51(tmp_path / "hmdb51")


@pytest.mark.parametrize("split", [1, 2, 3])
def test_each_split_keeps_tags_1_and_2_and_drops_0(root, split):
    df = read_hmdb51(root, split)
    assert set(zip(df["video"], df["label_name"], df["subset"], strict=True)) == expected(split)
    per_class = df.groupby(["label_name", "subset"]).size()
    assert (per_class.xs("train", level="subset") == 5).all() and (per_class.xs("test", level="subset") == 3).all()
    assert len(df) == 8 * len(CLASSES)  # 10 listed per class, 2 tagged 0
    assert list(df.columns[:4]) == ["video", "label", "label_name", "subset"] and df["label"].dtype == "int64"
    assert not any((root / cls).exists() for cls in CLASSES)  # parsing never looks at the videos


def test_tag_0_videos_are_absent(root):
    df = read_hmdb51(root, 1)
    unused = {f"{cls}/{v}" for c, cls in enumerate(CLASSES) for i, v in enumerate(video_names(cls)) if not tag(c, i, 1)}
    assert len(unused) == 2 * len(CLASSES) and not unused & set(df["video"])


def test_splits_differ(root):
    tests = [set(read_hmdb51(root, k).query("subset == 'test'")["video"]) for k in (1, 2, 3)]
    assert tests[0] != tests[1] != tests[2] != tests[0]


def test_labels_are_the_sorted_class_names(root):
    df = read_hmdb51(root, 2)
    assert class_names(df) == ["brush_hair", "kick", "kick_ball", "sword", "sword_exercise", "wave"]
    label = dict(zip(df["label_name"], df["label"], strict=False))
    assert (label["kick"], label["kick_ball"], label["sword"], label["sword_exercise"]) == (1, 2, 3, 4)
    assert set(df.loc[df["label_name"] == "sword", "video"].str.split("/").str[0]) == {"sword"}


def test_other_files_in_the_split_folder_are_ignored(root):
    (root / "testTrainMulti_7030_splits" / "split_readme.txt").write_text("There are totally 153 files\n")
    (root / "testTrainMulti_7030_splits" / "wave_test_split4.txt").write_text("x.avi 7\n")
    assert read_hmdb51(root, 1).equals(read_hmdb51(write_hmdb51(root.parent / "clean"), 1))


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (2, "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 2", r"expected 2 fields '<video>.avi <tag>', got 3"),
        (3, "April_09_brush_hair_u_nm_np1_ba_goo_0.avi", r"expected 2 fields '<video>.avi <tag>', got 1"),
        (4, "April_09_brush_hair_u_nm_np1_ba_goo_1.avi train", r"tag 'train' is not an integer"),
        (5, "April_09_brush_hair_u_nm_np1_ba_goo_2.avi 3", r"tag 3 is not 0 \(unused\), 1 \(train\) or 2 \(test\)"),
    ],
)
def test_malformed_lines_name_file_and_line(root, line, text, message):
    path = root / "testTrainMulti_7030_splits" / "brush_hair_test_split3.txt"
    lines = re.split(r"\r?\n", path.read_bytes().decode())
    lines[line - 1] = text
    path.write_bytes("\n".join(lines).encode())
    with pytest.raises(AnnotationError, match=rf"brush_hair_test_split3.txt:{line}: {message}"):
        read_hmdb51(root, 3)


def test_a_class_missing_one_split_file_names_it(root):
    (root / "testTrainMulti_7030_splits" / "kick_test_split2.txt").unlink()
    for split in (1, 2, 3):  # the same error whatever the split: labels must not depend on it
        with pytest.raises(AnnotationError, match=r"kick_test_split2.txt: not found, but class 'kick' has split "
                                                  r"files for k = \[1, 3\]; re-extract test_train_splits.rar"):
            read_hmdb51(root, split)


def test_missing_split_folder_names_the_download(tmp_path):
    with pytest.raises(AnnotationError, match=r"testTrainMulti_7030_splits: not found; it comes from "
                                              r"test_train_splits.rar \(https://serre-lab"):
        read_hmdb51(tmp_path, 1)


def test_empty_split_folder_is_an_error(tmp_path):
    (tmp_path / "testTrainMulti_7030_splits").mkdir()
    with pytest.raises(AnnotationError, match=r"holds no <class>_test_split<k>.txt file"):
        read_hmdb51(tmp_path, 1)


@pytest.mark.parametrize("split", [0, 4, "2", True])
def test_split_must_be_1_2_or_3(root, split):
    with pytest.raises(ValueError, match=rf"hmdb51: split must be 1, 2 or 3 .*got {re.escape(repr(split))}"):
        read_hmdb51(root, split)
