"""trim_video is reproducible: the same source and window give byte-identical clips on every run (the embedded
tables depend on it: a clip encoded differently changes every number downstream). With x264's default
macroblock-tree rate control this libx264 build gave different clips of fixtures/standin_source.mp4 (an embedded
Mini-Kinetics "YouTube" source: 96 x 72, 12 s at 8 fps) from run to run, even single-threaded; it showed most
often with several trims running in threads, as `ctm fetch-clips` runs them."""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctm.acquire.trim import trim_video

SOURCE = Path(__file__).parents[1] / "data" / "fixtures" / "standin_source.mp4"


def test_same_source_gives_identical_bytes(tmp_path):
    def trim(k: int) -> tuple[int, str]:
        info = trim_video(SOURCE, tmp_path / f"clip{k}.mp4", 0.0, 10.0)
        return info["frames"], hashlib.sha256((tmp_path / f"clip{k}.mp4").read_bytes()).hexdigest()

    with ThreadPoolExecutor(4) as pool:
        results = set(pool.map(trim, range(24)))
    assert len(results) == 1
    assert next(iter(results))[0] == 80
