"""reports/index.html: one self-contained static page (inline CSS, no script, images under figures/ by relative
path) with every table, the claims' verdicts, the figures and the provenance."""

from __future__ import annotations

import html
import math

import pandas as pd

from ctm.report.claims import RULE
from ctm.report.paper import PAPER_TABLES, REFERENCES
from ctm.report.tables import (
    REPRODUCED,
    backbones_note,
    fmt_count,
    fmt_num,
    format_delta,
    format_reproduced,
    interval_note,
    paper_text,
    table_name,
)
from ctm.vocabulary import DATASET_DISPLAY_NAMES

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1280px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 4px}
nav a{margin-right:12px}.meta{color:#555}.note{color:#555;font-size:12.5px;margin:4px 0}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px;border-radius:4px;margin:10px 0}
table{border-collapse:collapse;margin:8px 0;background:#fff;font-size:13px}
th,td{border:1px solid #d6d6d6;padding:4px 8px;vertical-align:top}th{background:#f0f0f0;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.lit td{color:#666;background:#f7f7f7}tr.ours td:first-child{font-weight:600}
.badge{display:inline-block;min-width:92px;text-align:center;padding:2px 8px;border-radius:10px;color:#fff;
font-size:12px;font-weight:600;text-transform:uppercase;margin-right:8px}
.holds{background:#2e7d32}.fails{background:#c62828}.inconclusive{background:#ef8f00}.not-evaluated{background:#757575}
.claim{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 12px;margin:8px 0}
.muted{color:#777;font-size:12px}th.c{text-align:center}.pos{color:#2e7d32}.neg{color:#c62828}
img{max-width:100%;border:1px solid #ddd;background:#fff}
.curves{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.curves figure{margin:0}figcaption{font-size:12px;color:#555}
ol.refs{font-size:12px;color:#555}ul.summary{list-style:none;padding:0}ul.summary li{margin:5px 0}
"""


def _e(v) -> str:
    return html.escape(str(v))


def _badge(verdict: str) -> str:
    return f'<span class="badge {verdict.replace(" ", "-")}">{_e(verdict)}</span>'


def _signed(v: float, colour: bool = True) -> str:
    """A signed number; green/red only where the sign is a result (not a synthetic preset's delta to the paper)."""
    cls = "pos" if colour and v > 0 else "neg" if colour and v < 0 else ""
    return f'<span class="{cls}">{v:+.2f}</span>'


def _repro(r) -> str:
    """A reproduced cell on two lines: the mean (and its spread over seeds and splits), then the 95% interval."""
    if r.kind != REPRODUCED:
        return f'<span class="muted">{_e(format_reproduced(r))}</span>'
    parts = [f"± {r.seed_std:.2f} sd, {int(r.seeds)} seeds"] * int(r.seeds > 1)
    parts += [f"± {r.std:.2f} sd, {int(r.splits)} splits"] * int(r.splits > 1)
    spread = (" " + "; ".join(parts)) if parts else ""
    return f'<b>{r.reproduced:.2f}</b>{spread}<br><span class="muted">95% CI {r.ci_low:.1f}–{r.ci_high:.1f}</span>'


def _grid(table: str, df: pd.DataFrame, synthetic: bool) -> str:
    """The paper's layout: one row per model, per dataset column (paper, reproduced, delta) under a spanning head."""
    paper = PAPER_TABLES[table]
    has_input = any(r.input for r in paper.rows.values())
    top = '<th rowspan="2">Model</th>' + ('<th rowspan="2">Input</th>' if has_input else "")
    top += "".join(f'<th colspan="3" class="c">{_e(DATASET_DISPLAY_NAMES[c.dataset])} <span class="muted">'
                   f"({_e(c.backbone)})</span></th>" for c in paper.columns.values())
    sub = "".join(f"<th>Paper {_e(c.header if c.header != DATASET_DISPLAY_NAMES[c.dataset] else 'top-1 (%)')}</th>"
                  "<th>Reproduced</th><th>Delta</th>" for c in paper.columns.values())
    out = [f"<table><tr>{top}</tr><tr>{sub}</tr>"]
    for key, prow in paper.rows.items():
        cells = [f"<td>{_e(prow.label)}</td>"] + ([f"<td>{_e(prow.input)}</td>"] if has_input else [])
        for col in paper.columns:
            r = next(df[(df.row == key) & (df.column == col)].itertuples())
            delta = format_delta(r)
            cells += [f'<td class="n">{_e(paper_text(table, key, col))}</td>', f'<td class="n">{_repro(r)}</td>',
                      f'<td class="n">{_signed(r.delta, not synthetic) if delta else ""}</td>']
        out.append(f'<tr class="{"lit" if prow.literature else "ours"}">{"".join(cells)}</tr>')
    return "\n".join(out) + "</table>"


def _details(table: str, df: pd.DataFrame) -> str:
    rep = df[df.kind == REPRODUCED]
    if rep.empty:
        return ""
    heads = ["Model", "Dataset", "Experiment / group", "Seeds x splits", "Top-1 over seeds (min-max)",
             "Train videos (paper)", "Val videos (paper)", "Missing train / val", "Params (M)", "GFLOPs", "Preset"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    for r in rep.itertuples():
        dataset = DATASET_DISPLAY_NAMES[PAPER_TABLES[table].columns[r.column].dataset]
        cells = [_e(r.label), _e(dataset), f"<code>{_e(r.experiment)}</code>",
                 f"{fmt_count(r.seeds)} x {fmt_count(r.splits)}", f"{fmt_num(r.seed_min)}–{fmt_num(r.seed_max)}",
                 f"{fmt_count(r.train_videos)} ({fmt_count(r.paper_train_videos)})",
                 f"{fmt_count(r.val_videos)} ({fmt_count(r.paper_val_videos)})",
                 f"{fmt_count(r.train_missing)} / {fmt_count(r.val_missing)}", fmt_num(r.params_m),
                 fmt_num(r.gflops), _e(r.preset)]
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i >= 3 else f"<td>{c}</td>"
                                    for i, c in enumerate(cells)) + "</tr>")
    return "\n".join(out) + "</table>"


def _table_section(table: str, df: pd.DataFrame, figure: str | None, missing: str | None, synthetic: bool) -> str:
    paper = PAPER_TABLES[table]
    parts = [f'<section id="{table}"><h2>{table_name(table)}: {_e(paper.title)}</h2>']
    if missing:
        parts.append(f'<p class="warn">Not reproduced yet: {_e(missing)}</p>')
    parts += [_grid(table, df, synthetic), _details(table, df)]
    notes = [interval_note(df), paper.note,
             backbones_note(paper),
             "Videos: used (listed and present) beside the paper's count; a 3-split mean sums its splits. Params "
             "and forward GFLOPs per clip at the preset's input; training throughput and wall times depend on the "
             "machine and are in the provenance below."]
    parts += [f'<p class="note">{_e(n)}</p>' for n in notes if n]
    refs = sorted({n for r in paper.rows.values() if r.literature for n in r.refs})
    if refs:
        parts.append('<p class="note">Grey rows are quoted from the paper ("reported"), not reproduced. '
                     "References (the paper's numbering):</p><ol class=\"refs\">"
                     + "".join(f'<li value="{n}">{_e(REFERENCES[n])}</li>' for n in refs) + "</ol>")
    if figure:
        parts.append(f'<img src="{_e(figure)}" alt="{table_name(table)}: reproduced vs paper">')
    return "\n".join(parts) + "</section>"


def _claims_section(claims: list[dict]) -> str:
    summary = "".join(f'<li>{_badge(c["verdict"])}<a href="#claim-{_e(c["key"])}">{_e(c["text"])}</a> '
                      f'<span class="muted">({_e(c["source"].split(";")[0])})</span></li>' for c in claims)
    parts = ['<section id="claims"><h2>The paper\'s claims, checked</h2>', f'<ul class="summary">{summary}</ul>',
             f'<p class="note">{_e(RULE)}</p>']
    for c in claims:
        rows = []
        for comp in c["comparisons"]:
            column = DATASET_DISPLAY_NAMES[PAPER_TABLES[comp["table"]].columns[comp["column"]].dataset]
            paper_diff = "-" if comp["paper_difference"] is None else f"{comp['paper_difference']:+.2f}"
            if "difference" in comp:
                level = comp.get("level")
                repro = (f"{_signed(comp['difference'])} ({comp['ci_low']:+.2f} to {comp['ci_high']:+.2f}"
                         + (f", {100 * level:.1f}%" if level else "") + ")"
                         + (f'<br><span class="muted">{_e(comp["method"])}</span>' if comp.get("method") else ""))
            else:
                repro = _e(comp.get("reason", ""))
            rows.append(f"<tr><td>{table_name(comp['table'])}: {_e(comp['better_label'])} <i>{_e(comp['relation'])}"
                        f"</i> {_e(comp['worse_label'])}</td><td>{_e(column)}</td><td class=\"n\">{paper_diff}</td>"
                        f"<td class=\"n\">{repro}</td><td>{_badge(comp['verdict'])}</td></tr>")
        parts.append(f'<div class="claim" id="claim-{_e(c["key"])}"><h3>{_badge(c["verdict"])}{_e(c["text"])}</h3>'
                     f'<p class="note">Source: {_e(c["source"])}.</p><table><tr><th>Comparison</th><th>Dataset</th>'
                     "<th>Paper difference</th><th>Reproduced difference (interval, level)</th><th>Verdict</th></tr>"
                     + "".join(rows) + "</table></div>")
    return "\n".join(parts) + "</section>"


def _kv(items: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in items) + "</table>"


def _list_table(heads: list[str], rows: list[list]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr>" + body + "</table>"


def _opt(v, digits: int = 1) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _provenance_section(p: dict) -> str:
    git = p["git"]
    commit = "unknown (not a git checkout)" if git["commit"] is None else (
        f"<code>{_e(git['commit'])}</code>" + (" <b>with uncommitted changes</b>" if git["dirty"] else ""))
    hw, sw = p["hardware"], p["software"]
    parts = ['<section id="provenance"><h2>Provenance</h2>', _kv([
        ("Git commit", commit), ("params.yaml hash", f"<code>{_e(p['params_hash'])}</code>"),
        ("Preset", _e(p["preset"])), ("Generated (UTC)", _e(p["generated_utc"])),
        ("Report machine", _e(f"{hw['cpu']}, {hw['cores']} cores; GPUs: {', '.join(hw['gpus']) or 'none'}")),
        ("Software", _e(", ".join(f"{k} {v}" for k, v in sw.items() if k != "executable")))])]
    parts.append("<h3>Interpretation choices</h3>" + _list_table(
        ["Question", "Choice (this preset)", "Why"],
        [[_e(c["topic"]), _e(c["choice"]), f'<a href="../{_e(c["doc"])}">{_e(c["doc"])}</a>']
         for c in p["interpretation"]]))
    pin = p.get("cpu_kernels")
    if pin:
        parts.append("<h3>CPU kernels</h3>" + _kv([
            ("Pinned setting (CPU presets)", _e(", ".join(f"{k}={v}" for k, v in pin["pinned"].items()))),
            ("This machine's CPU", _e(f"{pin['cpu'].get('vendor', '')} {pin['cpu'].get('model', '')}: "
                                      f"{' '.join(pin['cpu'].get('instruction_sets', []))}")),
            ("Training runs with the pinned setting", _e(pin["runs"]))]))
    if p["training"]:
        parts.append("<h3>Training runs</h3>" + _list_table(
            ["Run", "Epochs", "Training time (s)", "Clips/s", "Processes", "Per-device batch x accumulation",
             "Peak GPU memory (MB)"],
            [[f"<code>{_e(t['experiment'])}</code>", t["epochs"], _opt(t["train_s"]), _opt(t["clips_per_s"]),
              t["processes"], (f"{t['per_device_batch']} x {t['accumulation']}" if t["per_device_batch"] else "-"),
              _opt(t["peak_gpu_mem_mb"], 0)] for t in p["training"]]))
    parts.append(f'<h3>Job wall times (Snakemake benchmarks)</h3><p class="note">{_e(p["jobs_note"])}</p>')
    if p["jobs"]:
        parts.append(_list_table(["Rule", "Job", "Wall (s)", "Max RSS (MB)", "CPU (s)"],
                                 [[_e(j["rule"]), _e(j["job"]), _opt(j["wall_s"]), _opt(j["max_rss_mb"]),
                                   _opt(j["cpu_s"])] for j in p["jobs"]]))
    return "\n".join(parts) + "</section>"


def render(frames: dict[str, pd.DataFrame], missing: dict[str, str], claims: list[dict],
           figures: dict[str, dict[str, str]], provenance: dict) -> str:
    """The page. frames: {table: frame} for every table (paper_only_frame where not run: `missing` says why)."""
    preset = provenance["preset"]
    nav = " ".join(f'<a href="#{t}">{table_name(t)}</a>' for t in frames)
    head = [f"<h1>CTM: Collaborative Temporal Modeling for Action Recognition — reproduction (preset "
            f"<code>{_e(preset)}</code>)</h1>", f'<p class="meta">{_e(provenance["preset_description"])}</p>',
            f'<p class="meta">params.yaml hash <code>{_e(provenance["params_hash"])}</code>, generated '
            f'{_e(provenance["generated_utc"])} UTC.</p>']
    if provenance["synthetic_data"]:
        head.append('<p class="warn">Synthetic preset: PIPELINE CHECKS ON STAND-IN DATA, not a reproduction of the '
                    "paper. The paper's values are for other datasets and are shown for reference only (deltas are "
                    "not wins or losses); the claims' verdicts test the pipeline, not the paper.</p>")
    head.append(f'<nav><a href="#claims">Claims</a> {nav} <a href="#curves">Training curves</a> '
                '<a href="#provenance">Provenance</a></nav>')
    head.append('<p class="meta">Engineering pages: <a href="../docs/table1_full_size.md">full-size run on one GPU '
                '(Table 1 variants, preset gpu_synthetic)</a> · <a href="../docs/performance.md">GPU throughput</a> · '
                '<a href="../docs/rehearsal_run.md">rehearsal of the paper preset</a></p>')
    synthetic = provenance["synthetic_data"]
    body = head + [_claims_section(claims)]
    body += [_table_section(t, df, figures["tables"].get(t), missing.get(t), synthetic) for t, df in frames.items()]
    curves = "".join(f'<figure><img src="{_e(src)}" alt="training curves of {_e(e)}"><figcaption>{_e(e)}'
                     "</figcaption></figure>" for e, src in figures["curves"].items())
    body.append('<section id="curves"><h2>Training curves</h2><p class="note">Loss and top-1 on the training clips '
                "per epoch (log.jsonl).</p>" + (f'<div class="curves">{curves}</div>' if curves else
                                                '<p class="note">No training logs found.</p>') + "</section>")
    body.append(_provenance_section(provenance))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1">'
            f"<title>CTM reproduction: {_e(preset)}</title><style>{CSS}</style></head>\n<body><main>\n"
            + "\n".join(body) + "\n</main></body></html>\n")
