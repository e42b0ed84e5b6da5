"""`ctm bench <what>`: throughput benchmarks. `data`: training clips/s from a decoded store through a DataLoader;
`formats`: the store-format comparison of docs/decoded_store.md."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ctm.commands.numbers import at_least_one, count, positive
from ctm.data.store import StoreError
from ctm.vocabulary import COMPILE_MODES


def _data(args: argparse.Namespace) -> dict:
    from ctm.bench.data_loading import bench_data, make_bench_store

    made = None
    if args.make_store:
        made = make_bench_store(args.make_store, videos=args.videos, short_side=args.short_side,
                                num_frames=args.frames, workers=max(args.workers), progress=not args.no_progress)
    store = args.store or args.make_store
    if store is None:
        raise StoreError("give --store DIR (a store written by `ctm decode`) or --make-store DIR")
    result = bench_data(store, crop=args.crop, workers=tuple(args.workers), seconds=args.seconds,
                        batch_size=args.batch_size)
    return {**result, "made": made} if made else result


def _formats(args: argparse.Namespace) -> list[dict]:
    from ctm.bench.data_loading import compare_formats

    return compare_formats(args.dir, videos=args.videos, seconds=args.seconds, repeats=args.repeats, crop=args.crop,
                           names=args.only, workers=args.workers, progress=not args.no_progress)


def _model(args: argparse.Namespace) -> list[dict]:
    from ctm.bench.steps import bench
    from ctm.config import load_config

    cfg = load_config(args.params, args.preset)
    rows = [bench(cfg, name, args.what, args.batch, steps=args.steps, warmup=args.warmup, root=args.root,
                  workers=args.workers, compile_model=args.compile, tcc_impl=args.tcc_impl, store=args.store,
                  compile_mode=args.compile_mode, fold_bn=getattr(args, "fold_bn", None))
            for name in args.experiment]
    for row in rows:  # throughput relative to the first experiment, measured in the same process
        row["relative_to_first"] = row["clips_per_s"] / rows[0]["clips_per_s"]
    return rows


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("bench", help="throughput benchmarks: `ctm bench train|eval|data|formats`")
    what = p.add_subparsers(dest="what", required=True)

    for mode, text in (("train", "training steps (forward, backward, SGD)"), ("eval", "inference forwards")):
        q = what.add_parser(mode, help=f"clips/s, step time and peak memory of {text} (ctm/bench/steps.py)")
        q.add_argument("--experiment", nargs="+", required=True,
                       help="experiments of params.yaml, measured one after the other in this process")
        q.add_argument("--batch", type=at_least_one, default=24, help="clips per step on the device (default 24)")
        q.add_argument("--steps", type=at_least_one, default=30)
        q.add_argument("--warmup", type=count, default=10)
        q.add_argument("--root", help="dataset root: feed real clips through the loader (default: synthetic tensors)")
        q.add_argument("--store", help="with --root: read the decoded store (ctm decode) instead of the raw videos")
        q.add_argument("--workers", type=count, default=8, help="loader workers with --root")
        q.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                       help="torch.compile on CUDA (default: the recipe's `compile`)")
        q.add_argument("--compile-mode", choices=COMPILE_MODES,
                       help="torch.compile mode (default: the recipe's `compile_mode`)")
        q.add_argument("--tcc-impl", help="TCC implementation (ctm.models.tcc_ops; default: the model's)")
        if mode == "eval":
            q.add_argument("--fold-bn", action=argparse.BooleanOptionalAction, default=None,
                           help="on CUDA, BN folded into fused cuDNN conv kernels (default: the preset's test.fold_bn)")
        common(q)
        q.set_defaults(func=_model)

    q = what.add_parser("data", help="training clips/s from a decoded store through a torch DataLoader")
    q.add_argument("--store", help="store folder written by `ctm decode`")
    q.add_argument("--make-store", metavar="DIR",
                   help="first write realistic synthetic sources under DIR/source and their store in DIR")
    q.add_argument("--videos", type=at_least_one, default=32, help="videos of --make-store (default 32, 340x256)")
    q.add_argument("--frames", type=at_least_one, default=300, help="frames per video of --make-store (default 300)")
    q.add_argument("--short-side", type=at_least_one, default=256, help="short side of --make-store (default 256)")
    q.add_argument("--crop", type=at_least_one, default=224)
    q.add_argument("--workers", type=count, nargs="+", default=[1, 2], help="loader worker counts to measure")
    q.add_argument("--seconds", type=positive, default=10.0, help="timed seconds per worker count")
    q.add_argument("--batch-size", type=at_least_one, default=24)
    common(q)
    q.set_defaults(func=_data)

    q = what.add_parser("formats", help="per-core clips/s and bytes/frame of each candidate store format")
    q.add_argument("--dir", required=True, help="work folder: sources and one store per format (reused)")
    q.add_argument("--videos", type=at_least_one, default=16)
    q.add_argument("--seconds", type=positive, default=5.0, help="seconds per format per round")
    q.add_argument("--repeats", type=at_least_one, default=3, help="interleaved rounds; the median is reported")
    q.add_argument("--crop", type=at_least_one, default=224)
    q.add_argument("--only", nargs="+", help="candidate names (default: all, see ctm.bench.data_loading.CANDIDATES)")
    q.add_argument("--workers", type=at_least_one, default=1, help="processes for writing the sources and stores")
    common(q)
    q.set_defaults(func=_formats)
