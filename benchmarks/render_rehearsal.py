"""The rehearsal of the paper preset on a GPU host (benchmarks/rehearsal_run.sh): its logs -> small CSV files ->
reports/rehearsal.md.

    # on this machine, after fetching the run's files (rehearsal_logs.tar.gz, snakemake.log, calls.txt):
    python benchmarks/render_rehearsal.py collect RUN_DIR... --data benchmarks/results/h100/rehearsal
    python benchmarks/render_rehearsal.py render --data benchmarks/results/h100/rehearsal --out reports/rehearsal.md

`collect` reads each call's folder (in order) and writes jobs.csv (every job of the DAG: rule, wildcards, wall time,
peak memory, CPU time, status), epochs.csv (every training epoch's log.jsonl record), tests.csv (every metrics.json)
calls.csv (each device call: GPU, start, end, Snakemake's exit code), stopped.csv (jobs a call's log
reports as failed, with their exit status) and unfinished.csv (jobs that
started but wrote no benchmark file, with their log's last line). `render` writes the report from them and
from failures.md in the same folder (what failed and how it was fixed, written by hand).
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import pandas as pd

PRESET = "rehearsal"


def _benchmarks(members: dict[str, bytes]) -> list[dict]:
    rows = []
    prefix = f"logs/{PRESET}/benchmarks/"
    for name, data in members.items():
        if not name.startswith(prefix) or not name.endswith(".tsv"):
            continue
        rule, job = name[len(prefix):-len(".tsv")].split("/", 1)
        frame = pd.read_csv(io.BytesIO(data), sep="\t")
        last = frame.iloc[-1]
        rows.append({"rule": rule, "job": job, "seconds": round(float(last["s"]), 1),
                     "max_rss_mb": round(float(last["max_rss"]), 0) if last["max_rss"] != "-" else None,
                     "cpu_seconds": round(float(last["cpu_time"]), 1) if "cpu_time" in last else None})
    return rows


def _unfinished(members: dict[str, bytes], finished: set[tuple[str, str]]) -> list[dict]:
    """Jobs with a log but no benchmark file (Snakemake writes it on success only), with the log's last line:
    `KeyboardInterrupt` means stopped by the call's DEADLINE, anything else is a failure."""
    rows = []
    prefix = f"logs/{PRESET}/"
    for name, data in members.items():
        if not name.startswith(prefix) or not name.endswith(".log") or name.startswith(prefix + "benchmarks/"):
            continue
        rule, job = name[len(prefix):-len(".log")].split("/", 1)
        if (rule, job) in finished or (rule == "report" and ("report", job) in finished):
            continue
        lines = [x for x in data.decode(errors="replace").splitlines() if x.strip() and not x.startswith("DEBUG")]
        rows.append({"rule": rule, "job": job, "last_line": lines[-1][:160] if lines else ""})
    return rows


def _stopped(run: Path) -> list[dict]:
    """Jobs of one call that Snakemake reports as failed, from its log: the command's rule verb, experiment and exit
    status (130: the call's DEADLINE interrupted it; a later call reran it)."""
    rows = []
    for line in (run / "snakemake.log").read_text(errors="replace").splitlines():
        if line.startswith("Command 'set -euo pipefail;") and "non-zero exit status" in line:
            words = line.split()
            verb, job = words[words.index("ctm") + 1], words[words.index("--experiment") + 1]
            rows.append({"run": run.name, "command": f"ctm {verb}", "job": job,
                         "exit_status": int(line.rsplit(" ", 1)[-1].rstrip("."))})
    return rows


def collect(run_dirs: list[Path], data: Path) -> None:
    members: dict[str, bytes] = {}
    calls, stopped = [], []
    for run in run_dirs:  # later calls overwrite earlier files: a rerun job's newest benchmark wins
        with tarfile.open(run / "rehearsal_logs.tar.gz") as tar:
            for m in tar.getmembers():
                if m.isfile():
                    members[m.name] = tar.extractfile(m).read()
        for line in (run / "calls.txt").read_text().splitlines():
            stamp, kind, *rest = line.split(" ", 2)
            calls.append({"run": run.name, "unix_time": int(stamp), "event": kind, "detail": " ".join(rest)})
        stopped += _stopped(run)
    data.mkdir(parents=True, exist_ok=True)
    jobs = pd.DataFrame(_benchmarks(members)).sort_values(["rule", "job"])
    jobs.to_csv(data / "jobs.csv", index=False)
    epochs, tests = [], []
    for name, blob in sorted(members.items()):
        parts = name.split("/")
        if name.endswith("log.jsonl"):
            epochs += [{"experiment": parts[-2], **json.loads(line)} for line in blob.decode().splitlines()]
        elif name.endswith("metrics.json") and "/runs/" in name:
            m = json.loads(blob)
            tests.append({"name": parts[-2], **{k: m.get(k) for k in (
                "top1", "num_videos", "num_val_capped", "num_val_missing", "num_val_skipped", "views_per_video",
                "num_train_videos", "splits")}})
    pd.DataFrame(epochs).to_csv(data / "epochs.csv", index=False)
    pd.DataFrame(tests).to_csv(data / "tests.csv", index=False)
    pd.DataFrame(calls).to_csv(data / "calls.csv", index=False)
    pd.DataFrame(stopped, columns=["run", "command", "job", "exit_status"]).to_csv(data / "stopped.csv", index=False)
    finished = set(zip(jobs["rule"], jobs["job"], strict=True))
    unfinished = pd.DataFrame(_unfinished(members, finished), columns=["rule", "job", "last_line"])
    unfinished.sort_values(["rule", "job"]).to_csv(data / "unfinished.csv", index=False)


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" if frame[c].dtype.kind in "if" else "---"
                                                             for c in cols) + "|"]
    rows += ["| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join(rows)


def render(data: Path, out: Path) -> None:
    jobs = pd.read_csv(data / "jobs.csv")
    epochs = pd.read_csv(data / "epochs.csv")
    tests = pd.read_csv(data / "tests.csv")
    calls = pd.read_csv(data / "calls.csv")
    unfinished = pd.read_csv(data / "unfinished.csv")
    stopped = pd.read_csv(data / "stopped.csv") if (data / "stopped.csv").exists() else pd.DataFrame()
    gpus = sorted({d.split(" ", 2)[-1] for d in calls[calls.event == "start"].detail})
    lines = ["# Rehearsal of the paper preset on one GPU", "",
             "The jobs of `snakemake all_tables --config preset=rehearsal` (params.yaml; docs/rehearsal.md) that "
             "ran: the paper preset's networks, input, recipes and test protocol at full size, on synthetic stand-"
             "ins of the four datasets (256-pixel frames, the real on-disk formats) and stand-in ImageNet weights "
             "in torchvision's format, each job capped to 2 epochs of at most 2 steps and 12 test videos. "
             "Accuracies mean nothing here (two optimisation steps, horizontal flips on data whose classes are "
             "directions); what the rehearsal shows is whether each job runs, and how long it takes. Jobs a call "
             "stopped, jobs that did not finish, and what failed: the last sections.", "",
             f"GPU: {', '.join(gpus)}. Command: `source benchmarks/gpu_env.sh; JOBS=... DEADLINE=... bash "
             "benchmarks/rehearsal_run.sh` per device call (calls below); then "
             "`python benchmarks/render_rehearsal.py collect ...` and `render` on this machine.", ""]
    lines += ["## Jobs", "", "Wall time per job from Snakemake's `benchmark:` files (several jobs shared the GPU and "
              "16 CPU cores at once, so a job's time includes waiting for them).", ""]
    summary = jobs.groupby("rule").agg(jobs=("job", "count"), total_s=("seconds", "sum"),
                                       median_s=("seconds", "median"), max_s=("seconds", "max")).reset_index()
    lines += [_table(summary.round(1)), ""]
    train = jobs[jobs.rule == "train"].set_index("job")
    first = epochs[epochs.epoch == 1].set_index("experiment")
    second = epochs[epochs.epoch == 2].set_index("experiment")
    per = pd.DataFrame({
        "train wall (s)": train["seconds"],
        "epoch 1 (s, with compile)": first["epoch_time_s"].round(1),
        "epoch 2 (s)": second["epoch_time_s"].round(1),
        "clips/s, epoch 2 (1-2 steps, loader start included)": second["clips_per_s"].round(1),
        "micro-batch x accumulation": first["per_device_batch"].astype("Int64").astype(str) + " x "
                                      + first["accumulation"].astype("Int64").astype(str),
        "compile mode": first["compile_mode"],
        "peak GPU memory (MB)": epochs.groupby("experiment")["peak_gpu_mem_mb"].max().round(0),
        "test wall (s)": jobs[jobs.rule == "evaluate"].set_index("job")["seconds"],
    }).rename_axis("experiment").reset_index()
    lines += ["### Training and testing, per experiment", "", _table(per), ""]
    lines += ["### Test metrics (stand-in data: plumbing, not accuracy)", "", _table(tests.round(1)), ""]
    lines += ["## Device calls", "", _table(calls), ""]
    lines += ["## Jobs stopped within a call", ""]
    if stopped.empty:
        lines += ["None.", ""]
    else:
        lines += ["Jobs that Snakemake reported as failed in a call (exit status 130: the call's deadline interrupted "
                  "them; the next call reran them, and the times above are of that rerun):", "", _table(stopped), ""]
    lines += ["## Jobs that did not finish", ""]
    if unfinished.empty:
        lines += ["None: every job that started finished.", ""]
    else:
        lines += ["Jobs with a log but no benchmark file, with the log's last line (`KeyboardInterrupt`: stopped by "
                  "the call's deadline):", "", _table(unfinished), ""]
    notes = data / "failures.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    out.write_text("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("collect")
    c.add_argument("runs", nargs="+", type=Path, help="each device call's fetched folder, in call order")
    c.add_argument("--data", type=Path, required=True)
    r = sub.add_parser("render")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--out", type=Path, default=Path("reports/rehearsal.md"))
    args = p.parse_args()
    if args.verb == "collect":
        collect(args.runs, args.data)
    else:
        render(args.data, args.out)


if __name__ == "__main__":
    main()
