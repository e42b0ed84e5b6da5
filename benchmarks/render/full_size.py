"""Table 1 at full size on one GPU (benchmarks/gpu_host/table1_run.sh): the run's files -> docs/table1_full_size.md.

    # after the device call, with its $OUT folder fetched to FETCHED:
    python -m benchmarks.render.full_size collect FETCHED --data benchmarks/results/h100-torch2.11/table1_full_size
    python -m benchmarks.render.full_size render --data benchmarks/results/h100-torch2.11/table1_full_size \
        --out docs/table1_full_size.md

`collect` unpacks the run's runs.tar.gz into DATA/runs/<experiment>/ (log.jsonl, metrics.json, predictions.csv,
confusion.csv), copies timeline.txt, gpu.txt, diagnostics.jsonl and data.log, and writes params_gpu_synthetic.yaml
(the preset block the run used). `render` writes the page from them and from findings.md (written by hand) in the
same folder; runs of the same script with settings changed, collected under DATA_ablations/<name>/, become one
table of the page (full_size_ablations.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import tarfile
from pathlib import Path

import yaml

from benchmarks.render.full_size_ablations import read_jsonl, render_ablations

VARIANTS = [  # Table 1's rows: (row, experiment)
    ("TSN baseline (ResNet-50)", "mk200_r50_tsn"),
    ("TCCM + shortcut", "mk200_r50_tccm_res4x1"),
    ("Path 2 + shortcut", "mk200_r50_path2_res4x1"),
    ("CTM (both paths + shortcut)", "mk200_r50_ctm_res4x1"),
]
KEEP = ("log.jsonl", "metrics.json", "predictions.csv", "confusion.csv")
PREVIOUS = Path("benchmarks/results/h100-torch2.11/gpu_synthetic_588_videos")  # the earlier gpu_synthetic run
# as run (one device call, H100, on the working tree of commit 10ecc7f, the wheels the host lacks carried in
# .gpu_evidence/whl); SET gave the preset block that params.yaml's gpu_synthetic has since
COMMAND = ('SET="model.zero_init_residual=false model.path_gamma_init=1.0 input.frame_interval=4 '
           'datasets.mini_kinetics_200.synthetic.num_frames=40 recipes.mini_kinetics_200.epochs=15 '
           'recipes.mini_kinetics_200.lr_milestones=[12]" OUT=$OUT WHEELS=.gpu_evidence/whl DEADLINE=555 '
           'bash benchmarks/gpu_host/table1_run.sh')


def collect(fetched: Path, data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fetched / "runs.tar.gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) == 3 and parts[0] == "runs" and parts[2] in KEEP and member.isfile():
                target = data / "runs" / parts[1] / parts[2]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    for name in ("timeline.txt", "gpu.txt", "diagnostics.jsonl", "data.log"):
        if (fetched / name).exists():
            shutil.copy(fetched / name, data / name)
    # the preset block the run used: $OUT/params.yaml where the run changed it (SET), else the checkout's
    params = fetched / "params.yaml" if (fetched / "params.yaml").exists() else Path("params.yaml")
    block = yaml.safe_load(params.read_text())["presets"]["gpu_synthetic"]
    (data / "params_gpu_synthetic.yaml").write_text(yaml.safe_dump(block, sort_keys=False))


def _timeline(data: Path) -> tuple[list[tuple[int, str]], dict]:
    events = []
    for line in (data / "timeline.txt").read_text().splitlines():
        seconds, _, what = line.partition(" ")
        if seconds.isdigit():
            events.append((int(seconds), what))
    walls = {}
    for _, what in events:
        m = re.match(r"(trained|evaluated) (\S+) rc=(\d+) in (\d+) s", what)
        if m:
            walls[(m.group(1), m.group(2))] = (int(m.group(4)), int(m.group(3)))
    return events, walls


def _pairs(predictions: Path) -> tuple[float, float, int]:
    """(pair top-1, within-pair top-1 among videos whose pair is right, videos): classes 2p and 2p+1 form pair p."""
    rows = list(csv.DictReader(predictions.open()))
    pair_ok = [r for r in rows if int(r["label"]) // 2 == int(r["pred"]) // 2]
    within = sum(int(r["correct"]) for r in pair_ok)
    return 100 * len(pair_ok) / len(rows), 100 * within / max(1, len(pair_ok)), len(rows)


def _f(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def render(data: Path, out: Path) -> None:
    spec = yaml.safe_load((data / "params_gpu_synthetic.yaml").read_text())
    recipe = spec["recipes"]["mini_kinetics_200"]
    synthetic = spec["datasets"]["mini_kinetics_200"]["synthetic"]
    events, walls = _timeline(data)
    at = {what.split(" ")[0]: s for s, what in events}
    diagnostics = read_jsonl(data / "diagnostics.jsonl")
    stopped = {d["run"]: d for d in diagnostics if d.get("check") == "salvaged"}
    gpu = (data / "gpu.txt").read_text().strip() if (data / "gpu.txt").exists() else "?"
    start = next((what for _, what in events if what.startswith("start")), "start ?").removeprefix("start ")
    start = start.split(" NVIDIA")[0]  # "16 cores, torch X" (the GPU's name is in gpu.txt)

    runs = {}
    for row, exp in VARIANTS:
        folder = data / "runs" / exp
        if not (folder / "metrics.json").exists():
            runs[exp] = None
            continue
        runs[exp] = {"row": row, "metrics": json.loads((folder / "metrics.json").read_text()),
                     "log": read_jsonl(folder / "log.jsonl"), "pairs": _pairs(folder / "predictions.csv")}
    any_run = next((r for r in runs.values() if r), None)
    n_train = any_run["metrics"]["num_train_videos"] if any_run else None
    batch = recipe["batch_size"]
    steps_per_epoch = n_train // batch if n_train else None

    lines = [
        "# Table 1 at full size on one GPU (preset `gpu_synthetic`)",
        "",
        "Regenerate: `python -m benchmarks.render.full_size render --data "
        f"{data.as_posix()} --out docs/table1_full_size.md`. The run: `benchmarks/gpu_host/table1_run.sh` "
        "(its header gives the commands). Full-width ResNet-50 from scratch, 8x224 clips, on the synthetic "
        "Mini-Kinetics stand-in published in the real formats (256-pixel frames) and decoded by the pipeline; its "
        "classes are three pairs that differ only in temporal order, so a frame-averaging TSN is at chance within "
        "each pair (~50% top-1) by construction (docs/synthetic_data.md).",
        "",
        "| Table 1 row | experiment | top-1 % (95% Wilson CI) | pair right % | within pair % | SGD steps done "
        f"(of {recipe['epochs'] * steps_per_epoch if steps_per_epoch else '?'}) | last epoch's train top-1 % / loss | "
        "train wall (s) | test wall (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, exp in VARIANTS:
        r = runs[exp]
        if r is None:
            lines.append(f"| {row} | {exp} | not run | | | | | | |")
            continue
        m, last = r["metrics"], (r["log"][-1] if r["log"] else {})
        pair, within, _ = r["pairs"]
        if exp in stopped:
            done = stopped[exp]["epoch"] * steps_per_epoch + stopped[exp]["step"]
            mark = f"{done}, stopped"
        else:
            done = len(r["log"]) * steps_per_epoch
            mark = f"{done}"
        train_wall = walls.get(("trained", exp), (None, None))[0]
        test_wall = walls.get(("evaluated", exp), (None, None))[0]
        lines.append(
            f"| {row} | {exp} | {m['top1']:.1f} ({m['ci_low']:.1f}-{m['ci_high']:.1f}) | {pair:.1f} | "
            f"{within:.1f} | {mark} | {_f(last.get('top1'))} / {_f(last.get('loss'), 3)} | {train_wall or ''} | "
            f"{test_wall or ''} |")
    lines += [
        "",
        "Top-1 over the validation videos, each tested on "
        f"{any_run['metrics']['views_per_video'] if any_run else '?'} views (4 clips x 3 crops, softmax mean); "
        "\"pair right\": the predicted class is one of the two classes of the true pair; \"within pair\": the right "
        "class among the videos whose pair is right (50% is chance). Intervals: metrics.json's Wilson 95% intervals. "
        "\"stopped\": the run's watchdog (DEADLINE) sent SIGTERM before the last epoch ended; the network was tested "
        "as saved then (benchmarks/gpu_host/table1_tools.py salvage). The last logged epoch is the last complete one.",
        "",
        "## Budget",
        "",
        f"- Data: `train_per_class: {synthetic['train_per_class']}`, `val_per_class: {synthetic['val_per_class']}`, "
        f"{synthetic['num_frames']} frames of {synthetic['height']}x{synthetic['width']} per video, "
        f"{synthetic['missing_fraction']:.0%} of the listed videos missing by construction: "
        f"{n_train} training videos (one clip of each per epoch, at a random offset), "
        f"{any_run['metrics']['num_videos'] if any_run else '?'} validation videos.",
        f"- Recipe: {recipe['epochs']} epochs x {steps_per_epoch} steps = "
        f"{recipe['epochs'] * steps_per_epoch if steps_per_epoch else '?'} SGD steps of batch {batch} "
        f"({recipe['epochs'] * (steps_per_epoch or 0) * batch} training clips per network); lr {recipe['lr']}, "
        f"x{recipe['lr_gamma']} after epoch(s) {', '.join(map(str, recipe['lr_milestones']))}; momentum "
        f"{recipe['momentum']}, weight decay {recipe['weight_decay']}; bf16 autocast, channels_last, eager (no "
        f"compile); {recipe['num_workers']} loader processes per training.",
        f"- Model: width {spec['model']['width']}, dropout {spec['model']['dropout']}, zero-initialised residual "
        f"branches: {spec['model']['zero_init_residual']}, each CTM path's last BN starting at gamma = "
        f"{spec['model']['path_gamma_init']:g}; input {spec['input']['num_segments']}x{spec['input']['crop_size']} "
        "(short side "
        f"{spec['input']['resize_short']}), frames {spec['input']['frame_interval']} apart, no flips.",
        "",
        "## Device and wall times",
        "",
        f"- {gpu}; {start}. The four trainings ran side by side on the one GPU, then each one's test.",
        f"- From the command's start (`timeline.txt`): data published (`ctm synth`, 16 processes) at "
        f"{at.get('published', '?')} s, prepared (download, extract, fetch + trim) at {at.get('prepared', '?')} s, "
        f"decoded at {at.get('decoded', '?')} s; trainings stopped or done at "
        f"{max((s for s, w in events if w.startswith('trained')), default='?')} s; everything done at "
        f"{at.get('done', '?')} s (the device call also spent the machine's start and the transfers).",
    ]
    if any_run:
        rates = {exp: [e["clips_per_s"] for e in r["log"][1:]] for exp, r in runs.items() if r and r["log"]}
        rate_text = ", ".join(f"{exp} {sum(v) / len(v):.0f}" for exp, v in rates.items() if v)
        lines.append(f"- Training clips/s per network after epoch 1 (4 side by side): {rate_text}.")
    lines += ["", "## Training curves (train top-1 % / loss per epoch)", ""]
    header = "| epoch | lr | " + " | ".join(exp for _, exp in VARIANTS if runs[exp]) + " |"
    lines += [header, "|---:|---:|" + "---:|" * sum(1 for r in runs.values() if r)]
    epochs = max((len(r["log"]) for r in runs.values() if r), default=0)
    for i in range(epochs):
        cells, lr = [], ""
        for _, exp in VARIANTS:
            r = runs[exp]
            if not r:
                continue
            e = r["log"][i] if i < len(r["log"]) else None
            lr = lr or (f"{e['lr']:g}" if e else "")
            cells.append(f"{e['top1']:.1f} / {e['loss']:.3f}" if e else "")
        lines.append(f"| {i + 1} | {lr} | " + " | ".join(cells) + " |")
    lines += ["", "## Diagnostics", ""]
    for d in diagnostics:
        if d.get("check") == "tcc":
            lines.append(f"- Operator: TCC `{d['impl']}` on {d['device']}, {d['dtype']}, against the float64 "
                         f"reference of Eq. 1 (Res4 shape, 4 clips): max relative error forward "
                         f"{d['forward_rel_err']:.1e}, input gradient {d['grad_input_rel_err']:.1e}, weight gradient "
                         f"{d['grad_weight_rel_err']:.1e}.")
    gamma0 = spec["model"].get("path_gamma_init", 0.0)
    for d in diagnostics:
        if d.get("check") == "paths":
            gam = {k.split(".")[2]: v for k, v in d.items() if k.endswith("last_bn_gamma_abs_mean")}
            bott = d.get("layer3_bn3_gamma_abs_mean", [])
            paths = ", ".join(f"{p} {v:.4f}" for p, v in gam.items()) or "no CTM path"
            lines.append(f"- {d['run']}: mean |gamma| of each CTM path's last BN ({gamma0:g} at the start) {paths}; "
                         f"of the six Res4 bottlenecks' last BN {', '.join(f'{g:.4f}' for g in bott)}.")
    ablations = render_ablations(data, VARIANTS)
    if ablations:
        lines += ["", "## The same run with one setting changed", "", *ablations]
    previous = _previous()
    if previous:
        lines += ["", "## The first full-size run (588 videos, three CTM blocks)", "", previous]
    findings = data / "findings.md"
    if findings.exists():
        lines += ["", "## Findings", "", findings.read_text().strip()]
    lines += ["", "## Command", "", "On the device machine (one call, H100, from the checkout's root, with the "
              "wheels the host lacks in `.gpu_evidence/whl`; SET gave the preset block that params.yaml's "
              "`gpu_synthetic` holds since):", "",
              "```", COMMAND, "```", "",
              "On any GPU host with 16 cores, from a checkout's root: `OUT=/tmp/gpu_table1 bash "
              "benchmarks/gpu_host/table1_run.sh`. Then, here: `python -m benchmarks.render.full_size collect "
              "FETCHED_OUT --data DATA` and `render --data DATA`.", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


def _previous() -> str:
    """One line on the earlier gpu_synthetic run (benchmarks/gpu_host/synthetic_run.sh, session 1), if its files are
    here."""
    rows = []
    for exp, metrics_name in (("mk200_r50_tsn", "evaluate_mk200_r50_tsn.json"),
                              ("mk200_r50_ctm_res4x3", "metrics_mk200_r50_ctm_res4x3.json")):
        path, log = PREVIOUS / metrics_name, read_jsonl(PREVIOUS / f"log_{exp}.jsonl")
        if not path.exists():
            continue
        m = json.loads(path.read_text())
        loss = f", final train top-1 {log[-1]['top1']:.1f} / loss {log[-1]['loss']:.3f}" if log else ""
        rows.append(f"{exp} {m['top1']:.1f} ({m['ci_low']:.1f}-{m['ci_high']:.1f}){loss}")
    if not rows:
        return ""
    return ("`benchmarks/gpu_host/synthetic_run.sh` (H100, session 1; " + f"{PREVIOUS.as_posix()}): 588 training "
            "videos, "
            "30 epochs x 24 steps of batch 24 (720 steps), lr 0.05 (x0.1 after epochs 20 and 27), CTM with 3 blocks: "
            + "; ".join(rows) + ".")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("collect")
    c.add_argument("fetched", type=Path, help="the device call's $OUT folder, fetched")
    c.add_argument("--data", type=Path, required=True)
    r = sub.add_parser("render")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--out", type=Path, default=Path("docs/table1_full_size.md"))
    args = p.parse_args()
    if args.verb == "collect":
        collect(args.fetched, args.data)
    else:
        render(args.data, args.out)


if __name__ == "__main__":
    main()
