"""Seconds with N `ctm` processes computing at once, sampled from /proc while a pipeline runs (a process counts as
computing in a second where it used more than half a core).

    python -m benchmarks.probes.snakemake_concurrency.busy_ctm --out busy.json &   # stop it with SIGTERM / Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def ctm_cpu_seconds() -> dict[int, float]:
    """{pid: user + system CPU seconds} of every running `ctm` command."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not any(a.endswith(b"/ctm") or a == b"ctm.cli" for a in argv[:3]):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            continue
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    counts: Counter = Counter()
    before = ctm_cpu_seconds()
    try:
        while not stop:
            time.sleep(args.interval)
            now = ctm_cpu_seconds()
            busy = sum(1 for pid, cpu in now.items() if cpu - before.get(pid, cpu) > 0.5 * args.interval)
            counts[busy] += 1
            before = now
    except KeyboardInterrupt:
        pass
    args.out.write_text(json.dumps({"interval_s": args.interval, "samples_with_n_busy": dict(sorted(counts.items()))},
                                   indent=1) + "\n")


if __name__ == "__main__":
    main()
