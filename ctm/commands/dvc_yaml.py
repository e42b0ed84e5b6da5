"""`ctm dvc-yaml`: write dvc.yaml from params.yaml, ctm.paths and ctm.pipeline.code (or check that it is current)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ctm.errors import UserError
from ctm.fileio import save_text


class StaleDvcYaml(UserError):
    """The committed dvc.yaml is not what `ctm dvc-yaml` writes from params.yaml."""


def _dvc_yaml(args: argparse.Namespace) -> dict:
    from ctm.config import load_config
    from ctm.pipeline.dvc_yaml import render

    text = render(load_config(args.params, args.preset))  # the preset `dvc repro` runs: params.yaml's by default
    out = Path(args.out)
    current = out.read_text() if out.is_file() else None
    if args.check:
        if current != text:
            raise StaleDvcYaml(f"{out} is not what `ctm dvc-yaml` writes from {args.params}: run `ctm dvc-yaml` "
                               "and commit the result")
        return {"path": str(out), "current": True}
    if current != text:
        save_text(text, out)  # a temporary file, then a rename
    print(f"{out}: {'written' if current != text else 'unchanged'}", file=sys.stderr)
    return {"path": str(out), "changed": current != text}


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("dvc-yaml", help="write dvc.yaml from params.yaml (its stages, deps, params and outs)")
    p.add_argument("--out", default="dvc.yaml", help="where to write (default: ./dvc.yaml)")
    p.add_argument("--check", action="store_true", help="write nothing; fail if the file differs from the output")
    common(p)
    p.set_defaults(func=_dvc_yaml)
