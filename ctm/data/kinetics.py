"""Kinetics annotation CSVs and the Mini-Kinetics-200 id lists, parsed exactly as the official files are written.

Kinetics-400 CSV: header `label,youtube_id,time_start,time_end,split,is_cc`, multi-word labels double-quoted
(`"air drumming",--nQbRBEz2s,104,114,val,0`). Mini-Kinetics-200 (Xie et al.) ships only `train_ytid_list.txt` and
`val_ytid_list.txt`; labels and time windows come from joining the ids with the Kinetics-400 CSVs.
Clips are stored as `videos/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4` under the dataset root.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

K400_CSVS = ("train.csv", "validate.csv")
MINI_KINETICS_LISTS = {"train": "train_ytid_list.txt", "val": "val_ytid_list.txt"}
ANNOTATION_COLUMNS = ["video", "label", "label_name", "subset", "youtube_id", "time_start", "time_end"]


class AnnotationError(ValueError):
    """An annotation file is malformed; the message names the file and line."""


def clip_name(youtube_id: str, time_start: int, time_end: int) -> str:
    return f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}.mp4"


def read_kinetics_csv(path: Path) -> pd.DataFrame:
    """Rows of a Kinetics annotation CSV with columns label, youtube_id, time_start, time_end, split."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
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
            try:
                rec["time_start"], rec["time_end"] = int(float(rec["time_start"])), int(float(rec["time_end"]))
            except ValueError:
                raise AnnotationError(f"{path}:{line}: time_start/time_end are not numbers: {row}") from None
            rows.append(rec)
    return pd.DataFrame(rows, columns=[*header])


def read_id_list(path: Path) -> list[str]:
    """One YouTube id per line (LF or CRLF, blank lines ignored)."""
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


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
                                  "its id lists")
        csvs.append(read_kinetics_csv(root / name))
    table = pd.concat(csvs, ignore_index=True).drop_duplicates("youtube_id").set_index("youtube_id")
    frames = []
    for subset, list_name in MINI_KINETICS_LISTS.items():
        ids = read_id_list(root / list_name)
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
    windows = zip(df["youtube_id"], df["time_start"], df["time_end"], strict=True)
    df["video"] = [f"videos/{clip_name(y, s, e)}" for y, s, e in windows]
    return df[ANNOTATION_COLUMNS]
