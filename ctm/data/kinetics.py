"""Kinetics annotation CSVs and the Mini-Kinetics-200 id lists, parsed exactly as the official files are written;
also the error type and line reader that every annotation parser (UCF-101, HMDB-51) shares.

Kinetics-400 CSV: header `label,youtube_id,time_start,time_end,split,is_cc`, multi-word labels double-quoted
(`"air drumming",--nQbRBEz2s,104,114,val,0`); Kinetics-600: `label,youtube_id,time_start,time_end,split`; the test CSVs
have no label column. Mini-Kinetics-200 (Xie et al.) ships only `train_ytid_list.txt` and `val_ytid_list.txt`; labels
and time windows come from joining the ids with the Kinetics-400 CSVs.
Clips are stored as `videos/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4` under the dataset root.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ctm.errors import UserError

K400_CSVS = ("train.csv", "validate.csv")
K600_CSVS = {"train": "train.csv", "val": "validate.csv"}  # test.csv has no labels: never read here
MINI_KINETICS_LISTS = {"train": "train_ytid_list.txt", "val": "val_ytid_list.txt"}
ANNOTATION_COLUMNS = ["video", "label", "label_name", "subset", "youtube_id", "time_start", "time_end"]
K400_SOURCE = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics400.tar.gz"
K600_SOURCE = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics600.tar.gz"
MINI_KINETICS_SOURCE = "the GitHub repository s9xie/Mini-Kinetics-200"
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]+")  # YouTube's id alphabet: no '/', '.' or '\\', so no path tricks


class AnnotationError(UserError, ValueError):
    """An annotation file is missing or malformed; the message names the file (and line) and what to do."""


# --- shared by every annotation reader --------------------------------------------------------------------------


def require_file(path: Path, source: str) -> Path:
    """`path` if it is a file, else an AnnotationError naming it and the download (`source`) that provides it."""
    if not Path(path).is_file():
        raise AnnotationError(f"{path}: not found; it comes from {source} (extract it in place, unchanged)")
    return Path(path)


def annotation_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, whitespace-separated fields) of every non-blank line of a text annotation file.

    Tolerates CRLF, LF or CR line ends, a missing final newline, a UTF-8 BOM and stray spaces or tabs. Bytes that are
    not UTF-8 are kept as surrogates, the way Python decodes file names, so paths built from them still resolve.
    """
    text = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if fields:
            yield number, fields


def relative_inside(relative: str, where: str) -> str:
    """`relative` if, joined to a dataset root, it names a path inside that root: relative, POSIX, with no empty, '.'
    or '..' part and no backslash or NUL byte. Otherwise an AnnotationError naming `where` (file and line): paths
    built from annotation files never leave their root, whatever the files say."""
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or "\0" in relative or any(p in ("", ".", "..") for p in parts):
        raise AnnotationError(f"{where}: {relative!r} is not a path inside the dataset root (absolute, or with an "
                              "empty, '.' or '..' part, or a backslash); the file is not an official annotation file")
    return relative


def parse_int(text: str, path: Path, line: int, what: str) -> int:
    """`text` as an int, else an AnnotationError `<path>:<line>: <what> ... is not an integer`."""
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f"{path}:{line}: {what} {text!r} is not an integer") from None


def check_split(split: int, dataset: str) -> int:
    """The official split number (1, 2 or 3) of UCF-101/HMDB-51, else ValueError naming the value."""
    if isinstance(split, bool) or split not in (1, 2, 3):
        raise ValueError(f"{dataset}: split must be 1, 2 or 3 (the three official splits), got {split!r}")
    return int(split)


# --- Kinetics ---------------------------------------------------------------------------------------------------


def clip_name(youtube_id: str, time_start: int, time_end: int) -> str:
    return f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}.mp4"


def read_utf8(path: Path) -> str:
    """The text of an annotation file (a UTF-8 BOM dropped); bytes that are not UTF-8 are an AnnotationError naming
    the file and line."""
    data = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise AnnotationError(f"{path}:{line}: byte {data[err.start]:#04x} is not UTF-8 (the official files are "
                              "UTF-8: was the file re-saved in another encoding?)") from None


def kinetics_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row as a dict with int time_start/time_end) of a Kinetics CSV with a `label` column."""
    with io.StringIO(read_utf8(path), newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        required = {"label", "youtube_id", "time_start", "time_end", "split"}
        if header is None or not required <= set(header):
            raise AnnotationError(f"{path}:1: header must contain {sorted(required)}, got {header}")
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise AnnotationError(f"{path}:{line}: expected {len(header)} fields ({','.join(header)}), got {row}")
            rec = dict(zip(header, row, strict=True))
            if not YOUTUBE_ID.fullmatch(rec["youtube_id"]):
                raise AnnotationError(f"{path}:{line}: youtube_id {rec['youtube_id']!r} is not a YouTube id "
                                      "(letters, digits, '-' and '_' only)")
            try:
                rec["time_start"], rec["time_end"] = int(float(rec["time_start"])), int(float(rec["time_end"]))
            except (ValueError, OverflowError):  # OverflowError: "inf"; ValueError: "nan", "abc"
                raise AnnotationError(f"{path}:{line}: time_start/time_end are not finite numbers: {row}") from None
            if not 0 <= rec["time_start"] < rec["time_end"]:
                raise AnnotationError(f"{path}:{line}: the window [{rec['time_start']}, {rec['time_end']}) is empty "
                                      "or negative")
            yield line, rec


def read_kinetics_csv(path: Path) -> pd.DataFrame:
    """Rows of a Kinetics annotation CSV with columns label, youtube_id, time_start, time_end, split (+ any others)."""
    with io.StringIO(read_utf8(path), newline="") as f:
        header = next(csv.reader(f), None) or []
    return pd.DataFrame([rec for _, rec in kinetics_records(path)], columns=[*header])


def read_id_list(path: Path) -> list[str]:
    """One YouTube id per line (LF or CRLF, a UTF-8 BOM and blank lines ignored)."""
    return [line.strip() for line in read_utf8(path).splitlines() if line.strip()]


def _with_clip_paths(df: pd.DataFrame) -> pd.DataFrame:
    windows = zip(df["youtube_id"], df["time_start"], df["time_end"], strict=True)
    df["video"] = [f"videos/{clip_name(y, s, e)}" for y, s, e in windows]
    for column in ("label", "time_start", "time_end"):
        df[column] = df[column].astype("int64")
    return df[ANNOTATION_COLUMNS].reset_index(drop=True)


def kinetics_600_classes(root: str | Path) -> list[str]:
    """The 600 label names of `root/train.csv`, sorted: label i is the i-th (Kinetics' alphabetical class order)."""
    path = require_file(Path(root) / K600_CSVS["train"], K600_SOURCE)
    labels = set()
    for line, rec in kinetics_records(path):
        if not rec["label"].strip():
            raise AnnotationError(f"{path}:{line}: empty label")
        labels.add(rec["label"])
    return sorted(labels)


def read_kinetics_600(root: str | Path, split: int = 1) -> pd.DataFrame:
    """Annotations of Kinetics-600 under `root` (`train.csv`, `validate.csv` as the official tarball extracts).

    Returns ANNOTATION_COLUMNS, subsets "train" (train.csv) and "val" (validate.csv); test.csv has no labels and is
    not read. `label` indexes kinetics_600_classes(root). `split` is ignored: Kinetics has one official split.
    A validate.csv label that train.csv lacks is an error naming the file and line.
    """
    del split
    root = Path(root)
    classes = kinetics_600_classes(root)
    index = {name: i for i, name in enumerate(classes)}
    rows = []
    for subset, name in K600_CSVS.items():
        path = require_file(root / name, K600_SOURCE)
        for line, rec in kinetics_records(path):
            if rec["label"] not in index:
                raise AnnotationError(f"{path}:{line}: label {rec['label']!r} is not one of the {len(classes)} "
                                      f"labels of {root / K600_CSVS['train']}")
            rows.append({**rec, "label_name": rec["label"], "label": index[rec["label"]], "subset": subset})
    return _with_clip_paths(pd.DataFrame(rows, columns=["label", "label_name", "subset", "youtube_id", "time_start",
                                                        "time_end"]))


def read_mini_kinetics_200(root: str | Path) -> pd.DataFrame:
    """Annotations of Mini-Kinetics-200 under `root` (id lists beside the Kinetics-400 train/validate CSVs).

    Returns one row per listed id found in the CSVs, with ANNOTATION_COLUMNS; `label` is the index of the label in
    the sorted list of the labels that the joined ids use (Kinetics' own convention of alphabetical class order).
    Ids missing from the CSVs are an error naming the list file and line.
    """
    root = Path(root)
    csvs = []
    for name in K400_CSVS:
        if not (root / name).exists():
            raise AnnotationError(f"{root / name}: not found; Mini-Kinetics-200 needs the Kinetics-400 CSVs beside "
                                  f"its id lists (from {K400_SOURCE})")
        csvs.append(read_kinetics_csv(root / name))
    table = pd.concat(csvs, ignore_index=True).drop_duplicates("youtube_id").set_index("youtube_id")
    frames = []
    for subset, list_name in MINI_KINETICS_LISTS.items():
        ids = read_id_list(require_file(root / list_name, MINI_KINETICS_SOURCE))
        unknown = [(i + 1, y) for i, y in enumerate(ids) if y not in table.index]
        if unknown:
            line, yid = unknown[0]
            raise AnnotationError(f"{root / list_name}:{line}: id {yid!r} is in no Kinetics-400 CSV "
                                  f"({len(unknown)} such ids)")
        part = table.loc[ids, ["label", "time_start", "time_end"]].reset_index()
        part["subset"] = subset
        frames.append(part)
    df = pd.concat(frames, ignore_index=True).rename(columns={"label": "label_name"})
    classes = sorted(df["label_name"].unique())
    df["label"] = df["label_name"].map({name: i for i, name in enumerate(classes)}).astype(int)
    return _with_clip_paths(df)
