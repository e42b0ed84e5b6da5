"""`ctm fetch-shards`: Kinetics clips from the CVDF mirror's shards (ctm.acquire.cvdf_dataset), for the datasets whose
params.yaml `clips` name that source. clips_context and clips_summary are also `ctm link-clips`'s."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ctm.commands.numbers import at_least_one, count
from ctm.errors import UserError
from ctm.vocabulary import KINETICS_DATASETS, SUBSETS


def clips_context(args: argparse.Namespace, source: str):
    """(cfg, the dataset's ClipsSpec, root, downloads, remote, annotation rows of train and val)."""
    from ctm import paths
    from ctm.config import load_config
    from ctm.data.annotations import read_annotations

    cfg = load_config(args.params, args.preset)
    clips = cfg.dataset(args.dataset).clips
    where = f"presets.{cfg.preset_name}.datasets.{args.dataset}.clips"
    if clips is None or clips.source != source:
        raise UserError(f"{where}: source is {getattr(clips, 'source', None)!r}, not {source!r}")
    p, d = cfg.preset_name, args.dataset
    root = Path(args.root or paths.dataset_root(p, d))
    downloads = Path(args.downloads or paths.downloads_dir(p, d)) if hasattr(args, "downloads") else None
    rows = read_annotations(d, root) if not getattr(args, "list_only", False) else None
    if rows is not None:
        rows = rows[rows["subset"].isin(["train", "val"])]
    return cfg, clips, root, downloads, paths.remote_dir(p, d), rows


def clips_summary(dataset: str, root: Path, manifest) -> dict:
    return {"dataset": dataset, "root": str(root), "clips": len(manifest),
            "status": dict(sorted(Counter(manifest["status"]).items()))}


def _fetch_shards(args: argparse.Namespace) -> dict:
    from ctm.acquire import cvdf_dataset as cd
    from ctm.acquire.prepare import fill_remote

    _, clips, root, downloads, remote, rows = clips_context(args, "cvdf")
    lists = {s: fill_remote(u, remote) for s, u in clips.shard_lists.items() if args.subset in (None, s)}
    if args.list_only:
        return {s: len(cd.fetch_list(url, downloads, s, progress=not args.no_progress)) for s, url in lists.items()}
    if args.index is not None:
        if args.subset is None:
            raise UserError("--index needs --subset (train or val): shards are numbered per subset's list")
        record = cd.fetch_one(rows, root, downloads, lists[args.subset], args.subset, args.index,
                              keep=clips.keep_shards, progress=not args.no_progress)
        return {k: record[k] for k in ("shard", "bytes", "sha256", "members", "skipped")} | {
            "clips": len(record["clips"]), "damaged": len(record["damaged"])}
    if args.manifest_only:
        counts = {s: len(cd.list_urls(url, downloads, s)) for s, url in lists.items()}
        return clips_summary(args.dataset, root, cd.write_manifest(rows, root, cd.read_records(root, counts)))
    manifest = cd.fetch_all(rows, root, downloads, lists, workers=args.workers, keep=clips.keep_shards,
                            progress=not args.no_progress)
    return clips_summary(args.dataset, root, manifest)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("fetch-shards", help="Kinetics clips from the CVDF mirror's shards (params.yaml clips)")
    p.add_argument("--dataset", required=True, choices=KINETICS_DATASETS)
    p.add_argument("--root", help="dataset root holding the annotations (default: resources/<preset>/<dataset>)")
    p.add_argument("--downloads", help="shard lists and shards (default: resources/<preset>/downloads/<dataset>)")
    p.add_argument("--subset", choices=SUBSETS, help="only this subset's list (default: both)")
    p.add_argument("--index", type=count, help="fetch only this shard (0-based line of the subset's list)")
    p.add_argument("--list-only", action="store_true", help="only fetch the shard lists; print their lengths")
    p.add_argument("--manifest-only", action="store_true",
                   help="only write videos_manifest.csv from the shards' records (every shard fetched)")
    p.add_argument("--workers", type=at_least_one, default=4, help="shards fetched side by side (default: 4)")
    common(p)
    p.set_defaults(func=_fetch_shards)
