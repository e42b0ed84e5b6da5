"""`ctm fetch-clips`: download and trim the Kinetics clips that a dataset's annotations list (ctm.acquire.youtube)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ctm.acquire.youtube import MANIFEST_NAME, YOUTUBE_TEMPLATE, ClipFetchError, FetchOptions, fetch_clips
from ctm.commands.numbers import at_least_one, count, positive
from ctm.vocabulary import KINETICS_DATASETS


def _fetch_clips(args: argparse.Namespace) -> dict:
    from ctm.data import annotations

    if args.dataset not in annotations.READERS:
        raise ClipFetchError(f"no annotation reader for {args.dataset!r} in this version of ctm; "
                             f"available: {sorted(set(KINETICS_DATASETS) & set(annotations.READERS))}")
    if args.root:
        root = Path(args.root)
    else:
        from ctm import paths
        from ctm.config import load_config

        root = paths.dataset_root(load_config(args.params, args.preset).preset_name, args.dataset)
    rows = annotations.read_annotations(args.dataset, root)
    unknown = sorted(set(args.subsets) - set(rows["subset"]))
    if unknown:
        raise ClipFetchError(f"--subsets {unknown}: {args.dataset} under {root} has subsets "
                             f"{sorted(rows['subset'].unique())}")
    rows = rows[rows["subset"].isin(args.subsets)]
    if args.limit is not None:
        rows = rows.head(args.limit)
    extra = {"cookiefile": args.cookies} if args.cookies else {}
    if args.js_runtime:
        name, _, where = args.js_runtime.partition(":")
        extra["js_runtimes"] = {name: {"path": where} if where else {}}
    options = FetchOptions(retries=args.retries, timeout_s=args.timeout, short_side=args.short_side, ydl_opts=extra,
                           per_hour=args.per_hour, stop_after_blocks=args.stop_after_blocks,
                           source_cache=args.source_cache)
    manifest = fetch_clips(rows, root, args.url_template, workers=args.workers, progress=not args.no_progress,
                           retry_unavailable=not args.skip_unavailable, options=options)
    by_subset = rows.drop_duplicates("video")[["video", "subset"]].merge(manifest, on="video")
    for subset, group in by_subset.groupby("subset"):
        if not (group["status"] == "ok").any():  # nothing to train or test on: stop here, not in `ctm train`
            reasons = Counter(f"{s}: {r}" for s, r in zip(group["status"], group["reason"].fillna(""), strict=True))
            reason, count = reasons.most_common(1)[0]
            raise ClipFetchError(f"none of the {len(group)} {subset} clips of {args.dataset} was fetched; {count} "
                                 f"ended '{reason}'. Every row's reason is in {root / MANIFEST_NAME}; fix the cause "
                                 "and run again (fetched clips are kept)")
    return {
        "dataset": args.dataset,
        "root": str(root),
        "manifest": str(root / MANIFEST_NAME),
        "rows": len(manifest),
        "status": dict(sorted(Counter(manifest["status"]).items())),
        "status_by_subset": {s: dict(sorted(Counter(g["status"]).items())) for s, g in by_subset.groupby("subset")},
    }


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("fetch-clips", help="download Kinetics videos with yt-dlp and trim them to their windows")
    p.add_argument("--dataset", required=True, choices=sorted(KINETICS_DATASETS))
    p.add_argument("--root", help="dataset root holding the annotations (default: resources/<preset>/<dataset>)")
    p.add_argument("--url-template", default=YOUTUBE_TEMPLATE,
                   help=f"where a video is, with {{youtube_id}} (default: {YOUTUBE_TEMPLATE}; file:// works too)")
    p.add_argument("--subsets", nargs="+", default=["train", "val"], help="subsets to fetch (default: train val)")
    p.add_argument("--workers", type=at_least_one, default=8, help="parallel downloads/trims (default: 8)")
    p.add_argument("--limit", type=at_least_one, help="fetch only the first N rows (after --subsets)")
    p.add_argument("--retries", type=count, default=2, help="extra tries of a failed download (default: 2)")
    p.add_argument("--timeout", type=positive, default=120, help="yt-dlp socket timeout in seconds (default: 120)")
    p.add_argument("--short-side", type=at_least_one,
                   help="resize clips to this short side (default: keep the source size)")
    p.add_argument("--cookies", help="Netscape cookies file for yt-dlp (age-restricted videos, bot checks); "
                   "read only, checked before the first download")
    p.add_argument("--js-runtime", metavar="NAME[:PATH]", help="JavaScript runtime yt-dlp runs YouTube's player "
                   "code with: deno (yt-dlp's default), node, bun or quickjs, optionally with the path of its "
                   "program, e.g. node:/usr/bin/node (needs the yt-dlp-ejs package)")
    p.add_argument("--per-hour", type=count, default=250, help="at most this many downloads start per hour, over "
                   "all workers (YouTube allows a guest about 300; 0: no pacing; file:// is never paced; "
                   "default: 250)")
    p.add_argument("--stop-after-blocks", type=count, default=20, help="stop after this many consecutive "
                   "rate-limited or bot-check answers, keeping the rest untried (0: never; default: 20)")
    p.add_argument("--source-cache", metavar="DIR", help="keep whole source videos here by YouTube id and trim "
                   "from them, so a video listed by two datasets is downloaded once (sources are large: see "
                   "docs/kinetics_clips.md)")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="do not retry rows that the manifest already records as unavailable (rate_limited and "
                   "blocked rows are always retried)")
    common(p)
    p.set_defaults(func=_fetch_clips)
