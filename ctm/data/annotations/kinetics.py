"""Kinetics annotation CSVs and the Mini-Kinetics-200 id lists, parsed exactly as the official files are written
(the helpers that every annotation reader shares live in ctm/data/annotations/base.py).

Kinetics-400 CSV: header `label,youtube_id,time_start,time_end,split,is_cc`, multi-word labels double-quoted
(`"air drumming",--nQbRBEz2s,104,114,val,0`); Kinetics-600: `label,youtube_id,time_start,time_end,split`; the test CSVs
have no label column. Mini-Kinetics-200 (Xie et al.) ships only `train_ytid_list.txt` and `val_ytid_list.txt`; labels
and time windows come from joining the ids with the Kinetics-400 CSVs.
Clips are stored as `videos/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4` under the dataset root.

Refused with file and line: a record whose quoted field runs on to the next line (an unterminated quote), a window
that is not one (negative, empty, not finite, longer than MAX_WINDOW_S or past MAX_TIME_S), and one clip listed under
two labels or in both train.csv and validate.csv; an exact repeat of a clip is used once (an AnnotationWarning).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ctm.data.annotations.base import AnnotationError, VideoRegistry, read_utf8, require_file

K400_CSVS = ("train.csv", "validate.csv")
K600_CSVS = {"train": "train.csv", "val": "validate.csv"}  # test.csv has no labels: never read here
MINI_KINETICS_LISTS = {"train": "train_ytid_list.txt", "val": "val_ytid_list.txt"}
ANNOTATION_COLUMNS = ["video", "label", "label_name", "subset", "youtube_id", "time_start", "time_end"]
K400_SOURCE = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics400.tar.gz"
K600_SOURCE = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics600.tar.gz"
MINI_KINETICS_SOURCE = "the GitHub repository s9xie/Mini-Kinetics-200"
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]+")  # YouTube's id alphabet: no '/', '.' or '\\', so no path tricks
MAX_TIME_S = 24 * 3600  # no YouTube video of Kinetics lasts a day (YouTube's own limit is 12 hours)
MAX_WINDOW_S = 60  # Kinetics windows are 10 s (shorter where the video ends)


# --- Kinetics ---------------------------------------------------------------------------------------------------


def window_error(start: object, end: object) -> str | None:
    """Why [start, end) seconds is not a Kinetics window (None if it is): both finite numbers, 0 <= start < end <=
    MAX_TIME_S, at most MAX_WINDOW_S long."""
    try:
        start_f, end_f = float(start), float(end)
    except (TypeError, ValueError):
        start_f = end_f = math.nan
    if not (math.isfinite(start_f) and math.isfinite(end_f)):
        return f"time_start/time_end are not finite numbers: {str(start)[:30]!r}, {str(end)[:30]!r}"
    if not 0 <= start_f < end_f:
        return f"the window [{start_f:g}, {end_f:g}) is empty or negative"
    if end_f > MAX_TIME_S or end_f - start_f > MAX_WINDOW_S:
        return (f"the window [{start_f:g}, {end_f:g}) s is not a Kinetics window (at most {MAX_WINDOW_S} s long, "
                f"ending before {MAX_TIME_S} s)")
    return None


def clip_name(youtube_id: str, time_start: int, time_end: int) -> str:
    return f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}.mp4"


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank record of a CSV file. A quoted field that runs on to the next line (an
    unterminated or stray quote, which would swallow the lines after it) is an AnnotationError naming its line."""
    with io.StringIO(read_utf8(path), newline="") as f:
        reader = csv.reader(f)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise AnnotationError(f"{path}:{line}: a record that CSV cannot read ({err}): an unterminated or "
                                      "stray '\"' (the official files quote labels on one line)") from None
            if reader.line_num != line:
                raise AnnotationError(f"{path}:{line}: a quoted field runs on to line {reader.line_num}: an "
                                      "unterminated or stray '\"' (the official files quote labels on one line)")
            if row:
                yield line, row


def kinetics_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row as a dict with int time_start/time_end) of a Kinetics CSV with a `label` column."""
    rows = _csv_rows(path)
    header = next(rows, (1, None))[1]
    required = {"label", "youtube_id", "time_start", "time_end", "split"}
    if header is None or not required <= set(header):
        raise AnnotationError(f"{path}:1: header must contain {sorted(required)}, got {str(header)[:200]}")
    for line, row in rows:
        if len(row) != len(header):
            raise AnnotationError(f"{path}:{line}: expected {len(header)} fields ({','.join(header)}), got "
                                  f"{len(row)}: {str(row)[:200]}")
        rec = dict(zip(header, row, strict=True))
        if not YOUTUBE_ID.fullmatch(rec["youtube_id"]):
            raise AnnotationError(f"{path}:{line}: youtube_id {rec['youtube_id'][:50]!r} is not a YouTube id "
                                  "(letters, digits, '-' and '_' only)")
        error = window_error(rec["time_start"], rec["time_end"])
        if error:
            raise AnnotationError(f"{path}:{line}: {error}")
        rec["time_start"], rec["time_end"] = int(float(rec["time_start"])), int(float(rec["time_end"]))
        if rec["time_start"] >= rec["time_end"]:  # 0.5 and 0.9 both become 0
            raise AnnotationError(f"{path}:{line}: the window [{rec['time_start']}, {rec['time_end']}) is empty "
                                  "in whole seconds")
        yield line, rec


def read_kinetics_csv(path: Path) -> pd.DataFrame:
    """Rows of a Kinetics annotation CSV with columns label, youtube_id, time_start, time_end, split (+ any others)."""
    header = next(_csv_rows(path), (1, []))[1]
    return pd.DataFrame([rec for _, rec in kinetics_records(path)], columns=[*header])


def id_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, id) of each non-blank line of an id list (LF or CRLF, a UTF-8 BOM ignored)."""
    return [(n, line.strip()) for n, line in enumerate(read_utf8(path).splitlines(), start=1) if line.strip()]


def read_id_list(path: Path) -> list[str]:
    """One YouTube id per line (LF or CRLF, a UTF-8 BOM and blank lines ignored)."""
    return [yid for _, yid in id_lines(path)]


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
    clips = VideoRegistry(f"the official CSVs list each clip once; restore them from {K600_SOURCE}")
    for subset, name in K600_CSVS.items():
        path = require_file(root / name, K600_SOURCE)
        for line, rec in kinetics_records(path):
            if rec["label"] not in index:
                raise AnnotationError(f"{path}:{line}: label {rec['label']!r} is not one of the {len(classes)} "
                                      f"labels of {root / K600_CSVS['train']}")
            clip = f"videos/{clip_name(rec['youtube_id'], rec['time_start'], rec['time_end'])}"
            if clips.add(clip, f"{path}:{line}", subset, rec["label"]):
                rows.append({**rec, "label_name": rec["label"], "label": index[rec["label"]], "subset": subset})
    clips.warn_repeats()
    return _with_clip_paths(pd.DataFrame(rows, columns=["label", "label_name", "subset", "youtube_id", "time_start",
                                                        "time_end"]))


def _k400_windows(root: Path) -> tuple[dict[str, tuple], dict[str, str]]:
    """({youtube_id: (label, time_start, time_end, "file:line")} of the Kinetics-400 CSVs under `root`, {youtube_id:
    "file:line and file:line"} of ids that they give two different labels or windows)."""
    windows: dict[str, tuple] = {}
    ambiguous: dict[str, str] = {}
    for name in K400_CSVS:
        path = root / name
        if not path.exists():
            raise AnnotationError(f"{path}: not found; Mini-Kinetics-200 needs the Kinetics-400 CSVs beside "
                                  f"its id lists (from {K400_SOURCE})")
        for line, rec in kinetics_records(path):
            row = (rec["label"], rec["time_start"], rec["time_end"], f"{path}:{line}")
            old = windows.setdefault(rec["youtube_id"], row)
            if old[:3] != row[:3]:
                ambiguous.setdefault(rec["youtube_id"], f"{old[3]} and {row[3]}")
    return windows, ambiguous


def read_mini_kinetics_200(root: str | Path) -> pd.DataFrame:
    """Annotations of Mini-Kinetics-200 under `root` (id lists beside the Kinetics-400 train/validate CSVs).

    Returns one row per listed id found in the CSVs, with ANNOTATION_COLUMNS; `label` is the index of the label in
    the sorted list of the labels that the joined ids use (Kinetics' own convention of alphabetical class order).
    An AnnotationError names the list file and line of an id that is in no CSV, that the CSVs give two different
    labels or windows, or that both lists hold (the official lists are disjoint); an id repeated within one list is
    used once (an AnnotationWarning says so).
    """
    root = Path(root)
    windows, ambiguous = _k400_windows(root)
    videos = VideoRegistry(f"the id lists of {MINI_KINETICS_SOURCE} are disjoint; restore them")
    rows = []
    for subset, list_name in MINI_KINETICS_LISTS.items():
        path = require_file(root / list_name, MINI_KINETICS_SOURCE)
        unknown = []
        for line, yid in id_lines(path):
            if yid not in windows:
                unknown.append((line, yid))
            elif yid in ambiguous:
                raise AnnotationError(f"{path}:{line}: id {yid!r} has two different rows in the Kinetics-400 CSVs "
                                      f"({ambiguous[yid]}), so its label and window are unclear; restore the CSVs "
                                      f"from {K400_SOURCE}")
            elif videos.add(yid, f"{path}:{line}", subset, None):
                label, start, end, _ = windows[yid]
                rows.append({"youtube_id": yid, "label_name": label, "time_start": start, "time_end": end,
                             "subset": subset})
        if unknown:
            line, yid = unknown[0]
            raise AnnotationError(f"{path}:{line}: id {yid[:50]!r} is in no Kinetics-400 CSV ({len(unknown)} such "
                                  "ids)")
    videos.warn_repeats()
    df = pd.DataFrame(rows, columns=["youtube_id", "label_name", "time_start", "time_end", "subset"])
    classes = sorted(df["label_name"].unique())
    df["label"] = df["label_name"].map({name: i for i, name in enumerate(classes)}).astype(int)
    return _with_clip_paths(df)
