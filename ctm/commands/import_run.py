"""`ctm import-run`: a bundle of `ctm export-run` (a path or an http(s)/file URL) downloaded, verified and unpacked
into a run folder that `ctm evaluate --run-dir`, `ctm predict --checkpoint` and `ctm train --init-checkpoint` take
(ctm.engine.bundle_import)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _import_run(args: argparse.Namespace) -> dict:
    from ctm.engine.bundle_import import import_run

    return import_run(args.source, args.out, sha256=args.sha256, progress=not args.no_progress)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("import-run", help="unpack a bundle of `ctm export-run` (path or URL) into a run folder, "
                       "every file's sha256 checked")
    p.add_argument("source", help="the bundle: a .tar.gz path, or an http://, https:// or file:// URL")
    p.add_argument("--out", required=True, help="the run folder to create (it must not exist, or be empty)")
    p.add_argument("--sha256", help="the bundle's published sha256 (or its first 8+ hex digits), checked first")
    common(p)
    p.set_defaults(func=_import_run)
