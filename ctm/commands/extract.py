"""`ctm extract`: a zip, tar(.gz) or RAR archive extracted safely into a folder (ctm.acquire.extract)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctm.acquire.extract import WAIT_S, extract
from ctm.commands.numbers import count, nonnegative_seconds, positive


def _extract(args: argparse.Namespace) -> dict:
    paths = extract(Path(args.archive), Path(args.out), strip_components=args.strip_components,
                    inner_rars=args.inner_rars, progress=not args.no_progress, max_ratio=args.max_ratio,
                    wait_s=args.wait)
    return {"archive": args.archive, "out": args.out, "paths": [str(p) for p in paths]}


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("extract", help="extract a zip, tar(.gz) or RAR archive safely into a folder")
    p.add_argument("archive")
    p.add_argument("--out", required=True, help="folder to extract into")
    p.add_argument("--strip-components", type=count, default=0, help="leading folders to drop, like tar's")
    p.add_argument("--inner-rars", action="store_true",
                   help="also extract the .rar files found at the top (HMDB-51's per-class RARs), in their place")
    p.add_argument("--max-ratio", type=positive, default=100.0,
                   help="refuse an archive whose entries declare more than this many times its size (default 100)")
    p.add_argument("--wait", type=nonnegative_seconds, default=WAIT_S,
                   help="seconds to wait for another run extracting into the same --out (default "
                        f"{WAIT_S:g}); 0: stop at once, naming that run")
    common(p)
    p.set_defaults(func=_extract)
