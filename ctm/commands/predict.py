"""`ctm predict`: the top-5 classes of video files under a trained checkpoint (the checkpoint's test views), one JSON
line per video on stdout; optionally a contact sheet per video (--sheet-dir)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ctm.commands.numbers import at_least_one, whole


def _predict(args: argparse.Namespace) -> None:
    from ctm.engine.checkpoint_run import resolve_checkpoint_run
    from ctm.engine.contact_sheet import sheet_frames, sheet_name, write_contact_sheet
    from ctm.engine.devices import testing_device
    from ctm.engine.predict import predict_videos, undecodable, video_files

    videos = video_files(args.videos, Path(args.list) if args.list else None)
    device = testing_device(args.device)
    run, trained = resolve_checkpoint_run(args.checkpoint, args.params, args.preset)
    sheets = Path(args.sheet_dir) if args.sheet_dir else None
    taken: set[str] = set()
    results = []
    for result in predict_videos(run, trained, videos, args.top, device, args.batch_views, args.workers):
        if sheets is not None and "error" not in result:
            path = sheets / sheet_name(Path(result["video"]), taken)
            result["sheet"] = str(write_contact_sheet(sheet_frames(Path(result["video"])), result, path))
        print(json.dumps(result), flush=True)
        if "error" in result:
            print(f"ctm predict: {result['error']}", file=sys.stderr)
        results.append(result)
    error = undecodable(results)
    if error is not None:
        raise error


def register(sub: argparse._SubParsersAction, common) -> None:
    p = sub.add_parser("predict", help="top classes of video files under a trained checkpoint",
                       description="Test each video as `ctm evaluate` tests one (the checkpoint's clips x crops, "
                                   "scores averaged) and print one JSON line per video: its top classes with their "
                                   "scores, or why it could not be decoded (then the exit status is 2). The "
                                   "checkpoint carries its run: params.yaml is not read (but for a checkpoint of "
                                   "format 1, docs/models.md), so this works from any folder.")
    p.add_argument("videos", nargs="*", metavar="VIDEO",
                   help="video files (any format FFmpeg reads: mp4, avi, webm, ...) or folders (their video files)")
    p.add_argument("--list", metavar="FILE", help="a file naming videos or folders, one a line (relative to its "
                   "folder; blank lines and # comments skipped), after the VIDEOs")
    p.add_argument("--checkpoint", required=True, help="a run's checkpoint.pt (results/<preset>/runs/<experiment>/"
                   "seed<k>/, or a model bundle's)")
    p.add_argument("--top", type=at_least_one, default=5, help="how many classes (default 5)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: the GPU where the checkpoint's preset tests on "
                   "one and there is one, else the CPU)")
    p.add_argument("--batch-views", type=at_least_one, help="views per forward, several videos' views together "
                   "(default: the checkpoint's test.batch_views)")
    p.add_argument("--workers", type=whole(0), default=0, help="processes decoding videos ahead (default 0: none)")
    p.add_argument("--sheet-dir", metavar="DIR", help="also write DIR/<video name>.png per video: 8 of its frames "
                   "with the top classes written under them")
    common(p)
    p.set_defaults(func=_predict)
