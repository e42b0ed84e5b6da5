"""`ctm plan`: what a preset's run costs before it starts (download, disk, GPU- and CPU-hours per stage), from
params.yaml and the measured figures of ctm.pipeline.plan_figures (docs/plan.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _cell(value: float | None) -> str:
    """A figure to a tenth, or to two significant digits below 1; "-" for none."""
    if value is None or value == 0:
        return "-"
    return f"{value:,.1f}" if value >= 1 else f"{value:.2g}"


def render(result: dict) -> str:
    """The plan as a table with its sources below."""
    lines = [f"ctm plan: preset {result['preset']} ({result['device']}), seeds {result['seeds']}", "",
             f"{'stage':38} {'runs':>4} {'download GB':>11} {'disk GB':>9} {'GPU-h':>7} {'CPU-h':>7}  sources"]
    sources: list[str] = []
    for r in [*result["rows"], result["total"]]:
        if r["stage"] == "total":
            lines.append("-" * 88)
        for s in r.get("sources", []):
            if s not in sources:
                sources.append(s)
        refs = ",".join(str(sources.index(s) + 1) for s in r.get("sources", []))
        lines.append(f"{r['stage']:38} {r['runs'] or '':>4} {_cell(r['download_gb']):>11} {_cell(r['disk_gb']):>9} "
                     f"{_cell(r['gpu_h']):>7} {_cell(r['cpu_h']):>7}  {f'[{refs}]' if refs else ''}".rstrip())
    lines += ["", f"Snakemake's requests (runtime x GPUs of the train and evaluate jobs): "
              f"{result['requested_gpu_h']:,.1f} GPU-h, the plan x {result['request_margin']} plus rounding.",
              "Disk: archives, clips and stores all kept (an archive may be deleted once extracted).", "Sources:"]
    lines += [f"  [{i}] {s}" for i, s in enumerate(sources, 1)]
    return "\n".join(lines)


def _plan(args: argparse.Namespace) -> dict | None:
    from ctm.config import load_config
    from ctm.pipeline.plan import plan

    result = plan(load_config(args.params, args.preset))
    if args.json:
        return result
    print(render(result))
    return None


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("plan", help="what a preset's run costs before it starts: download, disk, GPU- and CPU-hours")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    common(p)
    p.set_defaults(func=_plan)
