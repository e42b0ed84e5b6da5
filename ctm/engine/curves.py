"""A run's training curves as DVC plots them: log.jsonl (one JSON record per epoch, `ctm train`) rewritten as
curves.csv with one row per epoch and the columns CURVE_COLUMNS. DVC reads .csv/.json/.yaml plots but not JSON lines,
and the log's other fields (timings, device, kernels) are not curves.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ctm.errors import MissingInputError, UserError
from ctm.fileio import save_text

CURVE_COLUMNS = ("epoch", "loss", "top1", "lr")  # x: epoch; y: the training loss and top-1 (%), and the learning rate


class TrainLogError(UserError, ValueError):
    """A log.jsonl that is not one JSON object per epoch with CURVE_COLUMNS."""


def read_curves(log: str | Path) -> list[dict]:
    """The per-epoch records of `log` (log.jsonl), each reduced to CURVE_COLUMNS, in epoch order."""
    log = Path(log)
    if not log.is_file():
        raise MissingInputError(f"{log}: no training log there (`ctm train` writes it beside checkpoint.pt)")
    rows = []
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise TrainLogError(f"{log}, line {number}: not JSON ({err}); rerun `ctm train` for this run") from None
        missing = [c for c in CURVE_COLUMNS if not isinstance(record, dict) or c not in record]
        if missing:
            raise TrainLogError(f"{log}, line {number}: lacks {missing}; not a log of `ctm train`")
        rows.append({c: record[c] for c in CURVE_COLUMNS})
    return sorted(rows, key=lambda r: r["epoch"])


def write_curves(log: str | Path, out: str | Path) -> dict:
    """Write `out` (curves.csv) from `log`; returns {"path", "epochs"}. Floats are written with repr(), so the CSV
    holds the log's values exactly."""
    rows = read_curves(log)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CURVE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    save_text(buffer.getvalue(), out)
    return {"path": str(out), "epochs": len(rows)}
