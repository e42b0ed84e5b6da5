"""`ctm decode`: decode a dataset's videos once into the decoded store that training reads (ctm/data/decode.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ctm.commands.numbers import at_least_one, whole
from ctm.data.store import FORMATS
from ctm.vocabulary import DATASETS


def _decode(args: argparse.Namespace) -> dict:
    from ctm.data.decode import decode_dataset

    short_side = args.short_side
    if short_side is None:
        from ctm.config import load_config

        short_side = load_config(args.params, args.preset).preset.input.resize_short
    return decode_dataset(args.dataset, args.root, args.out, short_side=short_side, workers=args.workers,
                          progress=not args.no_progress, fmt=args.format, quality=args.quality)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("decode", help="decode every annotated video once into a decoded store (resumable)",
                       description="Decode every video that a dataset's annotations list (all splits) into a store "
                                   "folder: short side resized, one file per video, manifest.csv with each video's "
                                   "status. Re-running resumes. docs/decoded_store.md.")
    p.add_argument("--dataset", required=True, choices=DATASETS, help="whose annotations list the videos")
    p.add_argument("--root", required=True, help="dataset root: annotation files and videos")
    p.add_argument("--out", required=True, help="store folder")
    p.add_argument("--short-side", type=at_least_one,
                   help="resize the short side to this (default: the preset's input.resize_short: 256 for the paper)")
    p.add_argument("--workers", type=at_least_one, default=1, help="parallel decoding processes")
    p.add_argument("--format", choices=sorted(FORMATS), default="jpeg", help="store format (default jpeg)")
    p.add_argument("--quality", type=whole(1, 100), default=90, help="JPEG quality (default 90)")
    common(p)
    p.set_defaults(func=_decode)
