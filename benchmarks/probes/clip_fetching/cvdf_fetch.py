"""Shard download and extraction speed of the CVDF path (ctm.acquire.cvdf_dataset.fetch_all) on a local mirror.

    python -m benchmarks.probes.clip_fetching.cvdf_fetch [--shards 8] [--clips 200] [--clip-kb 320] [--needed 0.3] \
        [--workers 1 2 4]

Writes a mirror of `--shards` tar.gz shards of `--clips` incompressible "clips" each (random bytes under clip names:
what costs is moving and checking bytes, not their content), serves it over HTTP on 127.0.0.1, and fetches it with
`--workers` shards side by side, the annotations naming `--needed` of the clips (as Mini-Kinetics-200 names ~85k of
Kinetics-400's ~300k). Prints one JSON line per worker count: wall seconds, MB/s of shards, clips written.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

from ctm.acquire.cvdf_dataset import fetch_all
from ctm.standins.cvdf_mirror import write_tar


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def write_mirror(folder: Path, shards: int, clips: int, clip_kb: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    names = []
    for k in range(shards):
        members = []
        for i in range(clips):
            name = f"{k:05d}{i:06d}_000000_000010.mp4"
            members.append((f"./{name}", rng.bytes(clip_kb * 1024)))
            names.append(name)
        write_tar(folder / "train" / f"part_{k}.tar.gz", members, compress=True)
    (folder / "train" / "k400_train_path.txt").write_text("".join(f"part_{k}.tar.gz\n" for k in range(shards)))
    return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--clip-kb", type=int, default=320)
    ap.add_argument("--needed", type=float, default=0.3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cvdf_bench_"))
    try:
        names = write_mirror(work / "mirror", args.shards, args.clips, args.clip_kb)
        size = sum(p.stat().st_size for p in (work / "mirror").rglob("*.tar.gz"))
        keep = np.random.default_rng(1).random(len(names)) < args.needed
        rows = pd.DataFrame([{"video": f"videos/{n}", "youtube_id": n[:11], "time_start": 0, "time_end": 10}
                             for n, k in zip(names, keep, strict=True) if k])
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(work / "mirror")))
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/train/k400_train_path.txt"
        for workers in args.workers:
            root, downloads = work / f"root{workers}", work / f"dl{workers}"
            started = time.perf_counter()
            manifest = fetch_all(rows, root, downloads, {"train": url}, workers=workers, progress=False)
            wall = time.perf_counter() - started
            print(json.dumps({"workers": workers, "shards": args.shards, "shard_mb": round(size / args.shards / 1e6, 1),
                              "wall_s": round(wall, 2), "mb_per_s": round(size / 1e6 / wall, 1),
                              "clips_needed": len(rows), "clips_in_mirror": len(names),
                              "clips_written": int((manifest["status"] == "ok").sum()), "cpus": os.cpu_count()}))
        httpd.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
