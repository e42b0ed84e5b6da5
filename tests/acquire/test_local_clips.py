"""Clips already on disk (ctm.acquire.local_clips): the CVDF extraction, MMAction2's layout and this project's own are
all found by file name and linked, never copied; clips in none of them are `missing`; a folder that does not exist
is one line naming it."""

from __future__ import annotations

import pandas as pd
import pytest

from ctm.acquire.cvdf import ShardError
from ctm.acquire.local_clips import link_local

CLIPS = ["--nQbRBEz2s_000104_000114.mp4", "aaaaaaaaaaa_000001_000011.mp4", "bbbbbbbbbbb_000002_000012.mp4",
         "ccccccccccc_000003_000013.mp4"]


def rows(names):
    return pd.DataFrame([{"youtube_id": n[:11], "video": f"videos/{n}", "time_start": int(n[12:18]),
                          "time_end": int(n[19:25])} for n in names])


@pytest.mark.parametrize("layout", ["cvdf", "mmaction2", "own"])
def test_each_layout_is_linked_without_copying(tmp_path, layout):
    where = {"cvdf": ["train/{}", "val/{}", "train/{}", "replacement/{}"],
             "mmaction2": ["videos_train/air_drumming/{}", "videos_val/abseiling/{}", "videos_train/archery/{}",
                           "videos_val/abseiling/{}"],
             "own": ["videos/{}"] * 4}[layout]
    store = tmp_path / "store"
    for name, pattern in zip(CLIPS[:3], where, strict=False):
        (store / pattern.format(name)).parent.mkdir(parents=True, exist_ok=True)
        (store / pattern.format(name)).write_bytes(name.encode())
    (store / "notes.txt").write_text("not a clip")
    root = tmp_path / "root"

    manifest = link_local(rows(CLIPS), root, [store])

    assert manifest.set_index("video")["status"].to_dict() == {f"videos/{n}": "ok" for n in CLIPS[:3]} | {
        f"videos/{CLIPS[3]}": "missing"}
    for name in CLIPS[:3]:
        assert (root / "videos" / name).is_symlink() and (root / "videos" / name).read_bytes() == name.encode()
    assert (root / "videos_manifest.csv").is_file()
    assert link_local(rows(CLIPS), root, [store]).equals(manifest)  # a rerun changes nothing


def test_a_folder_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(ShardError, match=r"clips folder .*nowhere does not exist"):
        link_local(rows(CLIPS), tmp_path / "root", [tmp_path / "nowhere"])
