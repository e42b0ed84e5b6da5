"""Where the report's numbers come from: code version, parameters, machine, software, the wall time of every
workflow job (Snakemake benchmark files), and the interpretation choices the numbers depend on.
Written to reports/provenance.json and shown on index.html."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ctm import cpu_kernels, paths
from ctm.config import Config
from ctm.fileio import save_json
from ctm.report.cells import ReportError, read_log
from ctm.vocabulary import KINETICS_600


def _git(args: list[str], repo: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


# What the pipeline itself rewrites while it runs: committed outputs (reports/) and the lock file DVC updates. A
# change there is the run in progress, not a change to the code or params that made it.
GENERATED = ("reports/", "dvc.lock")


def git_state(repo: str | Path = ".") -> dict:
    """{"commit": sha or None, "dirty": bool or None (uncommitted changes to tracked files other than GENERATED)}."""
    repo = Path(repo)
    commit = _git(["rev-parse", "HEAD"], repo)
    status = _git(["status", "--porcelain", "--untracked-files=no"], repo) if commit else None
    # "XY path" lines; _git strips the output, so the first line may have lost its leading space
    changed = [] if status is None else [line.split(maxsplit=1)[-1] for line in status.splitlines() if line.strip()]
    return {"commit": commit,
            "dirty": None if status is None else any(not f.startswith(GENERATED) for f in changed)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """The names of this machine's GPUs that CUDA_VISIBLE_DEVICES leaves visible (those torch.cuda would see, in its
    order), from nvidia-smi: the report imports no torch. [] without nvidia-smi or when it fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index,uuid,name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = [[field.strip() for field in line.split(",", 2)] for line in out.splitlines() if line.count(",") >= 2]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [name for _, _, name in gpus]
    names = []
    for want in (v.strip() for v in visible.split(",")):  # indices or (prefixes of) UUIDs; CUDA stops at a bad one
        match = [name for index, uuid, name in gpus if want and (want == index or uuid.startswith(want))]
        if len(match) != 1:
            break
        names.append(match[0])
    return names


def hardware() -> dict:
    """The machine that writes the report: CPU model, cores, GPU names, platform."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "gpus": gpu_names(), "platform": platform.platform()}


def version(package: str) -> str | None:
    """An installed distribution's version (None if absent), read without importing it."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def software() -> dict:
    """The Python and the versions of the libraries the numbers depend on."""
    return {"python": platform.python_version(), "torch": version("torch"), "numpy": version("numpy"),
            "pandas": version("pandas"), "matplotlib": version("matplotlib"), "executable": sys.executable}


def _mean(df: pd.DataFrame, col: str) -> float | None:
    """Mean of a benchmark column over repeats; None if absent or "NA" (Snakemake writes NA where it cannot measure)."""
    values = pd.to_numeric(df[col], errors="coerce") if col in df.columns else pd.Series(dtype=float)
    return None if values.isna().all() else float(values.mean())


def benchmarks(logs_dir: str | Path | None) -> tuple[list[dict], str]:
    """Every Snakemake benchmark file logs_dir/benchmarks/<rule>/<wildcards>.tsv (header `s  h:m:s  max_rss ...`;
    a job benchmarked several times has one line per repeat: their mean is taken) as
    [{"rule", "job", "wall_s", "max_rss_mb", "cpu_s"}], and a note saying what was found."""
    if logs_dir is None:
        return [], "no logs folder given (--logs): job wall times unknown"
    root = Path(logs_dir) / "benchmarks"
    files = sorted(root.rglob("*.tsv")) if root.is_dir() else []
    if not files:
        return [], (f"no Snakemake benchmark files under {root} (a DVC run, or the workflow has not run): "
                    "job wall times unknown")
    jobs = []
    for path in files:
        rel = path.relative_to(root)
        try:
            df = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ReportError(f"{path}: not a Snakemake benchmark file ({err}); delete it and rerun the job") from None
        if "s" not in df.columns or df.empty:
            raise ReportError(f"{path}: no `s` (seconds) column or no line; not a Snakemake benchmark file")
        rule, job = (rel.parts[0], str(Path(*rel.parts[1:]).with_suffix(""))) if len(rel.parts) > 1 else ("", rel.stem)
        jobs.append({"rule": rule, "job": job,
                     "wall_s": _mean(df, "s"), "max_rss_mb": _mean(df, "max_rss"), "cpu_s": _mean(df, "cpu_time")})
    total = sum(j["wall_s"] or 0.0 for j in jobs)
    return jobs, f"{len(jobs)} jobs, {total / 3600:.2f} h of wall time in all (jobs may have run in parallel)"


def interpretation(cfg: Config) -> list[dict]:
    """The open details of the paper that the reproduced numbers depend on, with this preset's values and the
    document that argues each choice."""
    recipes = cfg.preset.recipes
    doc = "docs/interpretation.md"
    choices = [
        {"topic": "Channels inside the CTM paths", "choice": f"C2 = C1 / {cfg.preset.model.reduction}",
         "doc": doc},
        {"topic": "Test score averaging over views",
         "choice": f"{cfg.preset.test.averaging} over {cfg.preset.test.num_clips} clips x "
                   f"{cfg.preset.test.num_crops} crops", "doc": doc},
    ]
    if KINETICS_600 in recipes:
        r = recipes[KINETICS_600]
        choices.append({"topic": "Kinetics-600 lr decay (the paper's sentence is garbled)",
                        "choice": f"x{r.lr_gamma:g} at epochs {r.lr_milestones} of {r.epochs}", "doc": doc})
    if "finetune" in recipes:
        r = recipes["finetune"]
        choices.append({"topic": "UCF-101 / HMDB-51 fine-tuning batch size (not given)",
                        "choice": f"{r.batch_size}, lr {r.lr:g}, x{r.lr_gamma:g} at epochs {r.lr_milestones}, "
                                  f"partial BN: {r.freeze_bn}", "doc": doc})
    choices.append({"topic": "Confidence intervals and claim verdicts",
                    "choice": f"{len(cfg.seeds)} seed(s) per model; a cell's interval is the wider of the t interval "
                              "over seeds (splits) and Wilson's; claims: paired bootstrap over videos and seeds, "
                              "Bonferroni within each claim", "doc": "docs/report.md"})
    return choices


def training(runs_dir: str | Path, runs: list[str]) -> list[dict]:
    """Per run (experiment/seed<k>) with a log.jsonl: epochs, summed epoch time, mean clips/s, processes, peak GPU
    memory and whether its CPU kernels were pinned (ctm.cpu_kernels)."""
    out = []
    for e in runs:
        log = read_log(paths.train_log_in(Path(runs_dir) / e))
        if log:
            out.append({"experiment": e, "epochs": len(log), "cpu_kernels": log[-1].get("cpu_kernels"),
                        "train_s": sum(r.get("epoch_time_s", 0.0) for r in log),
                        "clips_per_s": sum(r["clips_per_s"] for r in log) / len(log),
                        "processes": log[-1].get("processes", 1), "per_device_batch": log[-1].get("per_device_batch"),
                        "accumulation": log[-1].get("accumulation"),
                        "peak_gpu_mem_mb": max(r.get("peak_gpu_mem_mb", 0.0) for r in log)})
    return out


def collect(cfg: Config, logs_dir: str | Path | None, runs_dir: str | Path, repo: str | Path = ".") -> dict:
    """Everything above as one JSON-able dict; `hardware` is the machine that writes the report (training jobs
    record their processes and GPU memory in `training`)."""
    jobs, note = benchmarks(logs_dir)
    runs = training(runs_dir, [paths.run_name(e, s) for e in cfg.experiments for s in cfg.seeds])
    return {
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_state(repo),
        "params_hash": cfg.params_hash(),
        "preset": cfg.preset_name,
        "preset_description": cfg.preset.description,
        "synthetic_data": cfg.preset.synthetic,
        "hardware": hardware(),
        "software": software(),
        "jobs": jobs,
        "jobs_note": note,
        "training": runs,
        "cpu_kernels": kernels_record(runs),
        "interpretation": interpretation(cfg),
    }


def kernels_record(runs: list[dict]) -> dict:
    """The pinned CPU-kernel setting, this machine's instruction sets, and how many CPU runs used the setting."""
    on_cpu = [r for r in runs if r.get("cpu_kernels") is not None]
    pinned = sum(r["cpu_kernels"] == "pinned" for r in on_cpu)
    return {"pinned": cpu_kernels.PINNED, "cpu": cpu_kernels.cpu_flags(),
            "runs": f"{pinned} of {len(on_cpu)} CPU runs" if on_cpu else "no CPU runs"}


def write_provenance(cfg: Config, out_dir: str | Path, logs_dir: str | Path | None, runs_dir: str | Path,
                     repo: str | Path = ".") -> dict:
    """out_dir/provenance.json."""
    data = collect(cfg, logs_dir, runs_dir, repo)
    save_json(data, Path(out_dir) / "provenance.json")
    return data
