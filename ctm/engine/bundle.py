"""A trained run as a shareable bundle, in the shape of a model zoo's row: one .tar.gz holding

    checkpoint.pt   the trained network (`ctm train`), unchanged
    log.jsonl       its training log, one JSON record per epoch
    metrics.json    its multi-view test (`ctm evaluate`)
    params.yaml     the params that made it: the checkpoint's own record (preset, experiment, recipe with its seed,
                    model, input, test, dataset), nothing of the other experiments
    README.md       the row for a person: experiment, cells served, top-1/top-5, and how to use the bundle
    manifest.json   BUNDLE_FORMAT, the run (experiment, seed, preset, params hash, cells) and every other file's
                    sha256 and size

The archive is byte-reproducible (members in a fixed order, no times, owners or modes of this machine), so the same
run exported twice has the same sha256, which a person publishes beside the bundle's URL. ctm.engine.bundle_import
reads it back (`ctm import-run`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import yaml

from ctm import paths
from ctm.errors import MissingInputError, UserError
from ctm.fileio import atomic_write

BUNDLE_FORMAT = "ctm-run-bundle/1"
MANIFEST, README, PARAMS = "manifest.json", "README.md", "params.yaml"
RUN_FILES = (paths.CHECKPOINT, paths.TRAIN_LOG, paths.METRICS)  # copied from the run folder as they are
MEMBERS = (MANIFEST, README, PARAMS, *RUN_FILES)  # the archive's members, in this order


class BundleError(UserError, ValueError):
    """A bundle cannot be written or read: the message names the file or member and what to do."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def params_hash(params: dict) -> str:
    """The first 12 hex digits of the sha256 of the params record as canonical JSON: equal records, equal hashes."""
    return sha256_of(json.dumps(params, sort_keys=True).encode())[:12]


def _read_run(run_dir: Path) -> tuple[dict, dict[str, bytes]]:
    """The checkpoint's contents and the bytes of RUN_FILES in `run_dir`."""
    from ctm.engine.checkpoints import TRAINED_KEYS, load_checkpoint

    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        what = {paths.CHECKPOINT: "`ctm train`", paths.TRAIN_LOG: "`ctm train`", paths.METRICS: "`ctm evaluate`"}
        raise MissingInputError(f"{run_dir}: no {', '.join(missing)} there; a bundle needs a trained and evaluated "
                                f"run (run {' and '.join(dict.fromkeys(what[m] for m in missing))} first)")
    trained = load_checkpoint(run_dir / paths.CHECKPOINT, "checkpoint", TRAINED_KEYS)
    return trained, {name: (run_dir / name).read_bytes() for name in RUN_FILES}


def _readme(manifest: dict) -> str:
    """The bundle's README.md: its model-zoo row and the commands that use it."""
    m, p = manifest["metrics"], manifest["params"]
    name = f"{manifest['experiment']}-seed{manifest['seed']}"
    cells = ", ".join(manifest["cells"]) or "none"
    top1, top5 = (f"{m[k]:.2f}" if isinstance(m.get(k), (int, float)) else "-" for k in ("top1", "top5"))
    return f"""# {name}

| experiment | seed | preset | dataset | backbone | top-1 | top-5 | test videos | table cells | params hash |
|---|---|---|---|---|---|---|---|---|---|
| {manifest['experiment']} | {manifest['seed']} | {manifest['preset']} | {p['dataset']} | {p['backbone']} | {top1} \
| {top5} | {m.get('num_videos', '-')} | {cells} | {manifest['params_hash']} |

Files: checkpoint.pt (the trained network), log.jsonl (training, one line per epoch), metrics.json (the multi-view
test), params.yaml (the params that made it), manifest.json (every file's sha256).

    ctm import-run URL_OR_PATH --out runs/{name}          # download, check every sha256, unpack
    ctm evaluate --experiment {manifest['experiment']} --run-dir runs/{name}   # the same test again
    ctm predict VIDEO --checkpoint runs/{name}/checkpoint.pt
    ctm train --experiment OTHER --init-checkpoint runs/{name}/checkpoint.pt  # fine-tune from it

See docs/models.md of the ctm-repro repository.
"""


def bundle_members(run_dir: str | Path, served: dict[str, list[str]] | None = None) -> dict[str, bytes]:
    """{member name: bytes} of the bundle of `run_dir` (a run folder), in MEMBERS order. `served`: experiment -> the
    table cells it serves (ctm.pipeline.dvc_models.served_cells), recorded in the manifest and README."""
    run_dir = Path(run_dir)
    trained, files = _read_run(run_dir)
    params, summary = trained["params"], trained["summary"]
    try:
        metrics = json.loads(files[paths.METRICS])
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{run_dir / paths.METRICS}: not JSON ({err}); run `ctm evaluate` again") from None
    params_text = (f"# The params of {summary['experiment']} seed {summary['seed']} (preset {summary['preset']}), "
                   "as recorded in its checkpoint.pt\n" + yaml.safe_dump(params, sort_keys=True))
    experiment = params.get("experiment", {})
    manifest = {
        "format": BUNDLE_FORMAT, "experiment": summary["experiment"], "seed": summary["seed"],
        "preset": summary["preset"], "params_hash": params_hash(params),
        "cells": list((served or {}).get(summary["experiment"], [])),
        "classes": len(trained["classes"]),
        "params": {"dataset": experiment.get("dataset"), "backbone": experiment.get("backbone")},
        "metrics": {k: metrics.get(k) for k in ("top1", "top5", "num_videos")},
    }
    content = {README: _readme(manifest).encode(), PARAMS: params_text.encode(), **files}
    manifest["files"] = {name: {"sha256": sha256_of(data), "size": len(data)} for name, data in content.items()}
    return {MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), **content}


def _tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz of `members` that depends on nothing but their names and bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=packed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def export_run(run_dir: str | Path, out: str | Path, served: dict[str, list[str]] | None = None) -> dict:
    """Write the bundle of `run_dir` to `out` (a .tar.gz; a temporary file, then a rename); `served`: as for
    bundle_members. Returns {"path",
    "sha256", "size", "experiment", "seed", "preset", "params_hash"}: the sha256 to publish beside its URL."""
    out = Path(out)
    if not out.name.endswith(".tar.gz"):
        raise BundleError(f"{out}: a bundle is a .tar.gz; give --out a name ending in .tar.gz")
    members = bundle_members(run_dir, served)
    data = _tar_gz(members)
    atomic_write(out, lambda tmp: tmp.write_bytes(data))
    manifest = json.loads(members[MANIFEST])
    return {"path": str(out), "sha256": sha256_of(data), "size": len(data),
            **{k: manifest[k] for k in ("experiment", "seed", "preset", "params_hash")}}
