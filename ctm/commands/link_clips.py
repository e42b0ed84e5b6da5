"""`ctm link-clips`: Kinetics clips already on disk linked into the dataset root (ctm.acquire.local_clips), for the
datasets whose params.yaml `clips` name local folders."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ctm.commands.fetch_shards import clips_context, clips_summary
from ctm.vocabulary import KINETICS_DATASETS


def _link_clips(args: argparse.Namespace) -> dict:
    from ctm.acquire.local_clips import link_local
    from ctm.acquire.prepare import fill_remote

    _, clips, root, _, remote, rows = clips_context(args, "local")
    folders = [Path(f) for f in args.folders] if args.folders else [Path(fill_remote(f, remote)) for f in clips.folders]
    return clips_summary(args.dataset, root, link_local(rows, root, folders))


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("link-clips", help="Kinetics clips already on disk, linked into the dataset root")
    p.add_argument("--dataset", required=True, choices=KINETICS_DATASETS)
    p.add_argument("--root", help="dataset root holding the annotations (default: resources/<preset>/<dataset>)")
    p.add_argument("--folders", nargs="+", help="folders holding the clips (default: params.yaml clips.folders)")
    common(p)
    p.set_defaults(func=_link_clips)
