"""HMDB-51 annotations, parsed from the official three-split files exactly as test_train_splits.rar extracts them
beside the per-class video folders of hmdb51_org.rar:

    root/<class>/<video>.avi                                   brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi
    root/testTrainMulti_7030_splits/<class>_test_split<k>.txt  k = 1, 2, 3; 51 classes x 3 = 153 files

Each split-file line is `<video>.avi <tag>`: tag 1 = train, 2 = test, 0 = not used by that split (70 train + 30 test
per class and split). Fields are split on any whitespace, so line ends and trailing spaces do not matter.

Label order: the class names of the split files, sorted (Python's code-point order; all are lower case). The
archives carry no class index, and sorting is what the common tools do (torchvision's HMDB51 and MMAction2's list
builder both sort the class folder names), so label i means the same class as in their models.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ctm.data.annotations.base import (
    AnnotationError,
    VideoRegistry,
    annotation_lines,
    check_split,
    check_utf8,
    parse_int,
    relative_inside,
)
from ctm.vocabulary import HMDB51

SPLIT_DIR = "testTrainMulti_7030_splits"
COLUMNS = ["video", "label", "label_name", "subset"]
TAGS = {0: None, 1: "train", 2: "test"}
SPLITS_SOURCE = ("test_train_splits.rar "
                 "(https://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar)")
_SPLIT_FILE = re.compile(r"(?P<cls>.+)_test_split(?P<k>[123])\.txt")


def split_file(root: str | Path, cls: str, split: int) -> Path:
    return Path(root) / SPLIT_DIR / f"{cls}_test_split{split}.txt"


def hmdb51_classes(root: str | Path) -> list[str]:
    """The sorted class names of the split files under `root/testTrainMulti_7030_splits`.

    Every class must have all three split files: a class with some but not all of them is an AnnotationError naming
    the missing file (a partial extraction would otherwise change the label of every later class).
    """
    folder = Path(root) / SPLIT_DIR
    if not folder.is_dir():
        raise AnnotationError(f"{folder}: not found; it comes from {SPLITS_SOURCE} (extract it in place, unchanged)")
    found: dict[str, set[int]] = {}
    for path in folder.iterdir():
        if match := _SPLIT_FILE.fullmatch(path.name):
            check_utf8(match["cls"], str(folder), f"the class name of {path.name!r}")
            found.setdefault(match["cls"], set()).add(int(match["k"]))
    if not found:
        raise AnnotationError(f"{folder}: holds no <class>_test_split<k>.txt file; re-extract {SPLITS_SOURCE}")
    for cls in sorted(found):
        missing = sorted({1, 2, 3} - found[cls])
        if missing:
            raise AnnotationError(f"{split_file(root, cls, missing[0])}: not found, but class {cls!r} has split files "
                                  f"for k = {sorted(found[cls])}; re-extract {SPLITS_SOURCE}")
    return sorted(found)


def read_hmdb51(root: str | Path, split: int = 1) -> pd.DataFrame:
    """Annotations of official split `split` (1, 2 or 3) of HMDB-51 under `root`.

    Returns columns video ("<class>/<video>.avi"), label (index in hmdb51_classes), label_name and subset ("train"
    for tag 1, "test" for tag 2), class by class in file order; tag-0 videos are dropped. A line that is not
    `<video> <tag>` with tag 0, 1 or 2 is an AnnotationError naming the file and line, and so is a video listed twice
    with two tags (tagged 1 and 2, it would be tested on after training on it); a repeated line is used once (an
    AnnotationWarning). Reads only split files.
    """
    split = check_split(split, HMDB51)
    rows = []
    videos = VideoRegistry(f"a split file tags each video once; re-extract {SPLITS_SOURCE}")
    for label, cls in enumerate(hmdb51_classes(root)):
        path = split_file(root, cls, split)
        for line, fields in annotation_lines(path):
            if len(fields) != 2:
                raise AnnotationError(f"{path}:{line}: expected 2 fields '<video>.avi <tag>', got {len(fields)}: "
                                      f"{' '.join(fields)!r}")
            tag = parse_int(fields[1], path, line, "tag")
            if tag not in TAGS:
                raise AnnotationError(f"{path}:{line}: tag {tag} is not 0 (unused), 1 (train) or 2 (test)")
            if "/" in fields[0]:
                raise AnnotationError(f"{path}:{line}: {fields[0]!r} is not a file name (split files list the "
                                      "videos of their class folder by name)")
            video = relative_inside(f"{cls}/{fields[0]}", f"{path}:{line}")
            if videos.add(video, f"{path}:{line}", TAGS[tag] or "unused (tag 0)", label) and TAGS[tag]:
                rows.append((video, label, cls, TAGS[tag]))
    videos.warn_repeats()
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["label"] = df["label"].astype("int64")
    return df
