"""Seconds of a Snakemake run with N CPU-bound `ctm` jobs running at once, read from its log
(.snakemake/log/*.snakemake.log: each job's start stamp and its "Finished jobid" stamp, to the second).

    python -m benchmarks.probes.snakemake_concurrency.jobs_at_once .snakemake/log/<run>.snakemake.log

These are the jobs Snakemake started; since the CPU slots (ctm.locking.cpu_slot) some of them wait for a slot
without computing: `busy_ctm` samples the ones that compute (docs/determinism.md, "Time").
"""

from __future__ import annotations

import argparse
import datetime
import re
from collections import Counter
from pathlib import Path

# the rules whose jobs run a CPU-bound `ctm` command (workflow/rules/*.smk)
CPU_RULES = {"train", "evaluate", "decode", "publish_synthetic", "report_table", "report_site", "curves", "aggregate",
             "fetch_shard"}
STAMP = re.compile(r"\[(\w{3} \w{3}\s+\d+ [\d:]+ \d{4})\]")


def job_spans(log: Path) -> list[tuple[str, float, float | None]]:
    """(rule, start s, end s or None) of every job, in seconds from the log's first stamp."""
    now = first = None
    rule = None
    starts: dict[int, tuple[str, float]] = {}
    ends: dict[int, float] = {}
    for line in log.read_text().splitlines():
        m = STAMP.match(line)
        if m:
            now = datetime.datetime.strptime(re.sub(r"\s+", " ", m.group(1)), "%a %b %d %H:%M:%S %Y")
            first = first or now
            continue
        text = line.strip()
        if m := re.match(r"(?:local)?rule (\w+):", text):
            rule = m.group(1)
        elif (m := re.match(r"jobid: (\d+)", text)) and rule and now:
            starts[int(m.group(1))] = (rule, (now - first).total_seconds())
            rule = None
        elif (m := re.match(r"Finished jobid: (\d+)", text)) and now:
            ends[int(m.group(1))] = (now - first).total_seconds()
    return [(r, s, ends.get(j)) for j, (r, s) in starts.items()]


def seconds_at_once(log: Path) -> tuple[Counter, int]:
    """({N: seconds with N CPU-bound jobs running}, the run's length in seconds)."""
    spans = [(s, e) for r, s, e in job_spans(log) if r in CPU_RULES]
    length = int(max((e for _, e in spans if e is not None), default=0))
    counts = Counter(sum(1 for s, e in spans if s <= t < (e if e is not None else length + 1))
                     for t in range(length))
    return counts, length


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path)
    counts, length = seconds_at_once(ap.parse_args().log)
    print(f"{length} s; seconds with N CPU-bound jobs at once: "
          + ", ".join(f"{n}: {s}" for n, s in sorted(counts.items())))


if __name__ == "__main__":
    main()
