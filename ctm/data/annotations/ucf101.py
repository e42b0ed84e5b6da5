"""UCF-101 annotations, parsed from the official split lists exactly as UCF101TrainTestSplits-RecognitionTask.zip
extracts them beside the videos of UCF101.rar:

    root/UCF-101/<Class>/v_<Class>_gXX_cYY.avi
    root/ucfTrainTestlist/classInd.txt       `1 ApplyEyeMakeup` ... `101 YoYo` (1-based)
    root/ucfTrainTestlist/trainlist0k.txt    `ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1`
    root/ucfTrainTestlist/testlist0k.txt     `ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi` (no label)

Lines end in CRLF. Labels come only from classInd.txt (its order is a case-insensitive sort: Hammering before
HammerThrow, JumpingJack before JumpRope; sorting folder names would swap them). Paths are kept verbatim: the folder
`HandstandPushups` holds `v_HandStandPushups_*` files, so they can never be rebuilt from the class name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctm.data.annotations.base import (
    AnnotationError,
    VideoRegistry,
    annotation_lines,
    check_split,
    parse_int,
    relative_inside,
    require_file,
)
from ctm.vocabulary import UCF101

LIST_DIR = "ucfTrainTestlist"
VIDEO_DIR = "UCF-101"
COLUMNS = ["video", "label", "label_name", "subset"]
SPLITS_SOURCE = ("UCF101TrainTestSplits-RecognitionTask.zip "
                 "(https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip)")


def read_class_ind(path: Path) -> list[str]:
    """Class names of a classInd.txt in label order: entry `i Name` is label i - 1. Indices must be 1..N, once each."""
    by_index: dict[int, str] = {}
    seen: set[str] = set()
    for line, fields in annotation_lines(path):
        if len(fields) != 2:
            raise AnnotationError(f"{path}:{line}: expected 2 fields '<index> <ClassName>', got {len(fields)}: "
                                  f"{' '.join(fields)!r}")
        index, name = parse_int(fields[0], path, line, "class index"), fields[1]
        if index in by_index or name in seen:
            raise AnnotationError(f"{path}:{line}: class index {index} or name {name!r} appears twice")
        by_index[index] = name
        seen.add(name)
    missing = sorted(set(range(1, len(by_index) + 1)) - set(by_index))
    if not by_index or missing:
        raise AnnotationError(f"{path}: class indices must be 1..{len(by_index)} with none missing "
                              f"(missing {missing[:5]}); re-extract {SPLITS_SOURCE}")
    return [by_index[i] for i in range(1, len(by_index) + 1)]


def ucf101_classes(root: str | Path) -> list[str]:
    """The class names of `root/ucfTrainTestlist/classInd.txt` in label order."""
    return read_class_ind(require_file(Path(root) / LIST_DIR / "classInd.txt", SPLITS_SOURCE))


def _folder(video: str, path: Path, line: int) -> str:
    relative_inside(video, f"{path}:{line}")
    parts = video.split("/")
    if len(parts) != 2 or not all(parts):
        raise AnnotationError(f"{path}:{line}: expected a path '<Class>/<video>.avi', got {video!r}")
    return parts[0]


def read_ucf101(root: str | Path, split: int = 1) -> pd.DataFrame:
    """Annotations of official split `split` (1, 2 or 3) of UCF-101 under `root`.

    Returns columns video ("UCF-101/" + the list's path, verbatim), label (0-based classInd index), label_name and
    subset ("train" from trainlist0k.txt, then "test" from testlist0k.txt). A trainlist label must be the classInd
    index of the video's folder; a testlist folder must be a classInd class: otherwise an AnnotationError names the
    file and line. A video in both lists is an AnnotationError naming both lines (it would be tested on after
    training on it); a repeated line is used once (an AnnotationWarning). Reads only the three list files.
    """
    split = check_split(split, UCF101)
    lists = Path(root) / LIST_DIR
    classes = ucf101_classes(root)
    index = {name: i for i, name in enumerate(classes)}
    rows = []
    videos = VideoRegistry(f"each video belongs to one list of a split; re-extract {SPLITS_SOURCE}")
    train = require_file(lists / f"trainlist{split:02d}.txt", SPLITS_SOURCE)
    for line, fields in annotation_lines(train):
        if len(fields) != 2:
            raise AnnotationError(f"{train}:{line}: expected 2 fields '<Class>/<video>.avi <label>', got "
                                  f"{len(fields)}: {' '.join(fields)!r}")
        video, number = fields
        label = parse_int(number, train, line, "label") - 1
        if not 0 <= label < len(classes):
            raise AnnotationError(f"{train}:{line}: label {number} is not a class of classInd.txt (1..{len(classes)})")
        folder = _folder(video, train, line)
        if folder != classes[label]:
            raise AnnotationError(f"{train}:{line}: label {number} is classInd's {classes[label]!r} but the video is "
                                  f"in folder {folder!r}")
        if videos.add(f"{VIDEO_DIR}/{video}", f"{train}:{line}", "train", label):
            rows.append((f"{VIDEO_DIR}/{video}", label, classes[label], "train"))
    test = require_file(lists / f"testlist{split:02d}.txt", SPLITS_SOURCE)
    for line, fields in annotation_lines(test):
        if len(fields) != 1:
            raise AnnotationError(f"{test}:{line}: expected 1 field '<Class>/<video>.avi' (test lists have no "
                                  f"label), got {len(fields)}: {' '.join(fields)!r}")
        folder = _folder(fields[0], test, line)
        if folder not in index:
            raise AnnotationError(f"{test}:{line}: folder {folder!r} is not a class of classInd.txt")
        if videos.add(f"{VIDEO_DIR}/{fields[0]}", f"{test}:{line}", "test", index[folder]):
            rows.append((f"{VIDEO_DIR}/{fields[0]}", index[folder], folder, "test"))
    videos.warn_repeats()
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["label"] = df["label"].astype("int64")
    return df
