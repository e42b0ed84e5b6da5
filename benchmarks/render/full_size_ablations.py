"""The table of docs/table1_full_size.md that sets the full-size run beside runs of the same script with settings
changed (benchmarks/gpu_host/table1_run.sh with SET=...): one row per run, collected by `full_size collect` under
DATA_ablations/<name>/, with the settings in which it differs from the page's run and each variant's top-1."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

SETTINGS = ("model.", "input.", "test.", "datasets.mini_kinetics_200.synthetic.", "recipes.mini_kinetics_200.")
# keys that an older run's block lacks, with the value its code used
DEFAULTS = {"model.path_gamma_init": 0.0}


def _flat(node: object, prefix: str = "") -> dict[str, object]:
    """{"model.path_gamma_init": 1.0, ...} of a preset block."""
    if not isinstance(node, dict):
        return {prefix: node}
    out: dict[str, object] = {}
    for key, value in node.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def changed_settings(base: dict, other: dict) -> list[str]:
    """`key: other's value` for every setting of the Mini-Kinetics run (model, input, test, its data and recipe) in
    which `other` differs from `base`; the other datasets' blocks, which neither run read, and the data's hosting
    (URLs, which older code wrote otherwise) are left out."""
    a, b = DEFAULTS | _flat(base), DEFAULTS | _flat(other)
    keys = sorted(k for k in a.keys() | b.keys() if k.startswith(SETTINGS) and not k.endswith(".seed")
                  and a.get(k) != b.get(k))
    return [f"`{k.replace('datasets.mini_kinetics_200.', '').replace('recipes.mini_kinetics_200.', '')}: "
            f"{b.get(k)}`" for k in keys]


def _top1(folder: Path) -> str:
    path = folder / "metrics.json"
    if not path.exists():
        return "not run"
    m = json.loads(path.read_text())
    return f"{m['top1']:.1f} ({m['ci_low']:.1f}-{m['ci_high']:.1f})"


def read_jsonl(path: Path) -> list[dict]:
    """The JSON lines of `path`; none when it does not exist."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _path_gammas(folder: Path, experiment: str) -> str:
    """Mean |gamma| of the CTM network's path last BNs at the end of its training (diagnostics.jsonl)."""
    for row in read_jsonl(folder / "diagnostics.jsonl"):
        if row.get("check") == "paths" and row.get("run") == experiment:
            return ", ".join(f"{v:.3f}" for k, v in row.items() if k.endswith("last_bn_gamma_abs_mean"))
    return ""


def render_ablations(data: Path, variants: list[tuple[str, str]]) -> list[str]:
    """Markdown lines of the table (none when DATA_ablations/ is absent). `variants`: Table 1's (row, experiment)."""
    root = data.parent / f"{data.name}_ablations"
    if not root.is_dir():
        return []
    base = yaml.safe_load((data / "params_gpu_synthetic.yaml").read_text())
    ctm = variants[-1][1]
    lines = [f"Each row is one device call of the same script (folders under `{root.as_posix()}`); \"differs in\": "
             "its settings where they are not this page's run's. Top-1 % (95% Wilson CI) on the validation videos; "
             "the last column: mean |gamma| of the CTM network's path last BNs after training (TCCM, Path 2).", "",
             "| run | differs in | " + " | ".join(row for row, _ in variants) + " | CTM path gammas |",
             "|---|---|" + "---:|" * len(variants) + "---:|",
             "| this page's run | | " + " | ".join(_top1(data / "runs" / e) for _, e in variants)
             + f" | {_path_gammas(data, ctm)} |"]
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        other = yaml.safe_load((folder / "params_gpu_synthetic.yaml").read_text())
        lines.append(f"| {folder.name} | {', '.join(changed_settings(base, other))} | "
                     + " | ".join(_top1(folder / "runs" / e) for _, e in variants)
                     + f" | {_path_gammas(folder, ctm)} |")
    return lines
