"""Whether the claims' verdicts survive another draw of training seeds: this run's verdicts beside those of the same
pipeline run with a disjoint seed set (its claims.json, kept at ctm.paths.other_seeds_claims(preset)).

The other run is made by hand, rarely (it doubles the training), so the comparison names its seeds and params hash:
a reader sees when it is older than the run it is compared with. docs/report.md says how to make it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ctm.report.cells import ReportError


def compare(results: list[dict], other_path: str | Path, seeds: list[int]) -> dict | None:
    """{"seeds", "other_seeds", "other_params_hash", "same", "claims": [{key, verdict, other_verdict}]}, or None when
    there is no other run's claims.json."""
    other_path = Path(other_path)
    if not other_path.is_file():
        return None
    try:
        other = json.loads(other_path.read_text())
        verdicts = {c["key"]: c["verdict"] for c in other["claims"]}
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ReportError(f"{other_path}: not a claims.json of `ctm report --site` ({err}); regenerate it "
                          "(docs/report.md, \"Stability of the verdicts\") or delete it") from None
    rows = [{"key": r["key"], "text": r["text"], "verdict": r["verdict"], "other_verdict": verdicts.get(r["key"])}
            for r in results]
    return {"seeds": seeds, "other_seeds": other.get("seeds"), "other_params_hash": other.get("params_hash"),
            "same": all(r["verdict"] == r["other_verdict"] for r in rows), "claims": rows}


def to_markdown(stability: dict | None) -> str:
    if stability is None:
        return ""
    same = sum(r["verdict"] == r["other_verdict"] for r in stability["claims"])
    lines = ["## Stability over seeds", "",
             f"The same pipeline run with seeds {stability['other_seeds']} instead of {stability['seeds']} (params "
             f"hash {stability['other_params_hash']} but for `seeds`): {same} of {len(stability['claims'])} claims "
             f"get the same verdict" + (" - every one." if stability["same"] else "."), "",
             f"| Claim | Seeds {stability['seeds']} | Seeds {stability['other_seeds']} |", "|---|---|---|"]
    lines += [f"| {r['text']} | {r['verdict']} | {r['other_verdict'] or '-'} |" for r in stability["claims"]]
    return "\n".join(lines) + "\n"
