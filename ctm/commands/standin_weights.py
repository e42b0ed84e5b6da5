"""`ctm standin-weights`: publish stand-in ImageNet weights (torchvision's format and naming) for a rehearsal."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctm.commands.numbers import positive


def _standin_weights(args: argparse.Namespace) -> dict:
    from ctm.standins.imagenet_weights import write_standin

    path = write_standin(args.backbone, Path(args.out), args.width)
    return {"backbone": args.backbone, "width": args.width, "path": str(path), "size": path.stat().st_size}


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("standin-weights", help="write stand-in ImageNet weights of a backbone in torchvision's "
                       "format, named <backbone>-<sha256 prefix>.pth as torchvision names its files")
    p.add_argument("--backbone", required=True, choices=["resnet50", "resnet101"])
    p.add_argument("--out", required=True, help="a folder, or the file name that params.yaml gives (it must be the "
                   "stand-in's own: the name carries the sha256 prefix of its bytes)")
    p.add_argument("--width", type=positive, default=1.0, help="channel multiplier of the network (model.width)")
    common(p)
    p.set_defaults(func=_standin_weights)
