"""UCF-101 split lists in the official byte format (CRLF, 1-based classInd, unlabelled test lists, quirks included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctm.data.annotations import class_names
from ctm.data.annotations.base import AnnotationError
from ctm.data.annotations.ucf101 import read_ucf101

# classInd order is a case-insensitive sort; a case-sensitive one puts HammerThrow and JumpRope first.
CLASSES = ["ApplyEyeMakeup", "Hammering", "HammerThrow", "HandstandPushups", "JumpingJack", "JumpRope", "YoYo"]
GROUPS = range(1, 26)


def held_out_groups(split: int) -> range:
    """The official splits hold out groups 1-7, 8-14 and 15-21."""
    return range(7 * (split - 1) + 1, 7 * split + 1)


def file_name(cls: str, group: int, clip: int) -> str:
    stem = "HandStandPushups" if cls == "HandstandPushups" else cls  # the real files' spelling
    return f"{cls}/v_{stem}_g{group:02d}_c{clip:02d}.avi"


def videos() -> list[tuple[str, int, int]]:
    """(list path, 0-based class, group) for every video: 1 to 3 clips per group, as in the real dataset."""
    return [(file_name(cls, g, c), i, g) for i, cls in enumerate(CLASSES) for g in GROUPS
            for c in range(1, 2 + (g + i) % 3)]


def write_ucf101(root: Path, final_newline: bool = True) -> Path:
    """ucfTrainTestlist/ exactly as the official zip has it: CRLF everywhere (no final newline if asked)."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    end = "\r\n" if final_newline else ""
    (lists / "classInd.txt").write_bytes(("\r\n".join(f"{i} {c}" for i, c in enumerate(CLASSES, 1)) + end).encode())
    for k in (1, 2, 3):
        train = [f"{v} {i + 1}" for v, i, g in videos() if g not in held_out_groups(k)]
        test = [v for v, _, g in videos() if g in held_out_groups(k)]
        (lists / f"trainlist0{k}.txt").write_bytes(("\r\n".join(train) + end).encode())
        (lists / f"testlist0{k}.txt").write_bytes(("\r\n".join(test) + end).encode())
    return root


def edit_line(path: Path, line: int, text: str) -> None:
    lines = path.read_bytes().decode().split("\r\n")
    lines[line - 1] = text
    path.write_bytes("\r\n".join(lines).encode())


@pytest.fixture
def root(tmp_path):
    return write_ucf101(tmp_path / "ucf101")


@pytest.mark.parametrize("split", [1, 2, 3])
def test_each_split_lists_every_video_once_with_the_folder_label(root, split):
    df = read_ucf101(root, split)
    expected = {("UCF-101/" + v, i, "test" if g in held_out_groups(split) else "train") for v, i, g in videos()}
    assert set(zip(df["video"], df["label"], df["subset"], strict=True)) == expected
    assert len(df) == len(videos())
    counts = df["subset"].value_counts().to_dict()
    assert counts == {"train": sum(g not in held_out_groups(split) for *_, g in videos()),
                      "test": sum(g in held_out_groups(split) for *_, g in videos())}
    assert list(df.columns[:4]) == ["video", "label", "label_name", "subset"] and df["label"].dtype == "int64"
    assert (df["label_name"] == df["label"].map(dict(enumerate(CLASSES)))).all()
    assert not (root / "UCF-101").exists()  # parsing never looks at the videos


def test_splits_differ_and_hold_out_their_groups(root):
    tests = [set(read_ucf101(root, k).query("subset == 'test'")["video"]) for k in (1, 2, 3)]
    assert not (tests[0] & tests[1]) and not (tests[1] & tests[2]) and not (tests[0] & tests[2])
    assert all(re.search(r"_g(0[1-7])_", v) for v in tests[0])
    assert all(re.search(r"_g(1[5-9]|2[01])_", v) for v in tests[2])


def test_labels_follow_classInd_not_a_case_sensitive_sort_of_folders(root):
    df = read_ucf101(root)
    label = dict(zip(df["label_name"], df["label"], strict=False))
    assert (label["Hammering"], label["HammerThrow"], label["JumpingJack"], label["JumpRope"]) == (1, 2, 4, 5)
    assert class_names(df) == CLASSES != sorted(CLASSES)


def test_handstandpushups_paths_are_kept_verbatim(root):
    df = read_ucf101(root, 1)
    hsp = df[df["label_name"] == "HandstandPushups"]
    assert "UCF-101/HandstandPushups/v_HandStandPushups_g08_c01.avi" in set(hsp["video"])
    assert "UCF-101/HandstandPushups/v_HandStandPushups_g01_c01.avi" in set(hsp["video"])
    assert not hsp["video"].str.contains("v_HandstandPushups").any()
    assert (hsp["label"] == 3).all()


def test_missing_final_newline(tmp_path, root):
    bare = write_ucf101(tmp_path / "bare", final_newline=False)
    assert not (bare / "ucfTrainTestlist" / "testlist02.txt").read_bytes().endswith(b"\n")
    assert read_ucf101(bare, 2).equals(read_ucf101(root, 2))


def test_lf_blank_lines_and_stray_spaces_are_tolerated(root):
    expected = read_ucf101(root, 1)
    for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt"):
        path = root / "ucfTrainTestlist" / name
        lines = path.read_bytes().decode().split("\r\n")
        messy = ["", *(f"  {line}\t " for line in lines[:3]), "", " ", *lines[3:], "", ""]
        path.write_bytes("\n".join(messy).encode())
    assert read_ucf101(root, 1).equals(expected)


@pytest.mark.parametrize(
    ("name", "line", "text", "message"),
    [
        ("trainlist01.txt", 3, "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c02.avi 1 extra",
         r"trainlist01.txt:3: expected 2 fields '<Class>/<video>.avi <label>', got 3"),
        ("trainlist01.txt", 2, "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c02.avi", r"trainlist01.txt:2: expected 2 fields"),
        ("trainlist01.txt", 4, "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi one",
         r"trainlist01.txt:4: label 'one' is not an integer"),
        ("trainlist01.txt", 5, "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi 102",
         r"trainlist01.txt:5: label 102 is not a class of classInd.txt \(1..7\)"),
        ("trainlist01.txt", 5, "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi 0", r"trainlist01.txt:5: label 0 is not"),
        ("trainlist01.txt", 6, "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02.avi 3",
         r"trainlist01.txt:6: label 3 is classInd's 'HammerThrow' but the video is in folder 'ApplyEyeMakeup'"),
        ("trainlist01.txt", 1, "v_ApplyEyeMakeup_g08_c01.avi 1", r"trainlist01.txt:1: expected a path '<Class>/"),
        ("testlist01.txt", 2, "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c02.avi 1",
         r"testlist01.txt:2: expected 1 field '<Class>/<video>.avi' \(test lists have no label\), got 2"),
        ("testlist01.txt", 7, "Hammerthrow/v_HammerThrow_g01_c01.avi",
         r"testlist01.txt:7: folder 'Hammerthrow' is not a class of classInd.txt"),
        ("classInd.txt", 2, "2 Hammering extra", r"classInd.txt:2: expected 2 fields '<index> <ClassName>', got 3"),
        ("classInd.txt", 3, "three HammerThrow", r"classInd.txt:3: class index 'three' is not an integer"),
        ("classInd.txt", 4, "2 HandstandPushups", r"classInd.txt:4: class index 2 or name 'HandstandPushups' appears"),
    ],
)
def test_malformed_lines_name_file_and_line(root, name, line, text, message):
    edit_line(root / "ucfTrainTestlist" / name, line, text)
    with pytest.raises(AnnotationError, match=message):
        read_ucf101(root, 1)


def test_classind_gap_is_an_error(root):
    edit_line(root / "ucfTrainTestlist" / "classInd.txt", 7, "8 YoYo")
    with pytest.raises(AnnotationError, match=r"classInd.txt: class indices must be 1..7 with none missing"):
        read_ucf101(root, 1)


@pytest.mark.parametrize("name", ["classInd.txt", "trainlist03.txt", "testlist03.txt"])
def test_missing_list_names_the_file_and_the_download(root, name):
    (root / "ucfTrainTestlist" / name).unlink()
    with pytest.raises(AnnotationError, match=rf"ucfTrainTestlist/{name}: not found; it comes from "
                                              r"UCF101TrainTestSplits-RecognitionTask.zip \(https://www.crcv"):
        read_ucf101(root, 3)


@pytest.mark.parametrize("split", [0, 4, "1", 1.5, None])
def test_split_must_be_1_2_or_3(root, split):
    with pytest.raises(ValueError, match=rf"ucf101: split must be 1, 2 or 3 .*got {re.escape(repr(split))}"):
        read_ucf101(root, split)
