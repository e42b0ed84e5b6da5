"""A prepared and decoded tree moved to another folder, or copied without its times (as a DVC checkout or a clone on
another machine writes it), is seen as unchanged: the download records, extraction markers and the store's manifest
hold no absolute path and no time, stay byte-identical, and nothing is downloaded, extracted or decoded again."""

import os
import shutil
from pathlib import Path

import pytest

from ctm.acquire.prepare import prepare_dataset
from ctm.config import load_config
from ctm.data.decode import decode_dataset
from ctm.standins.published import write_published

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("downloads", "ucf101", "store")
SIZES = {"groups": 4, "clips_per_group": 1, "num_frames": 12, "fps": 8, "height": 32, "width": 64}


def prepare(tree: Path) -> dict:
    cfg = load_config(REPO / "params.yaml", "embedded")
    return prepare_dataset(cfg, "ucf101", tree / "ucf101", tree / "downloads", tree / "remote", progress=False,
                           wait_s=0)


def decode(tree: Path) -> dict:
    return decode_dataset("ucf101", tree / "ucf101", tree / "store", short_side=32, workers=1, progress=False)


def files(tree: Path, *folders: str) -> dict[str, tuple[bytes, int]]:
    """{path relative to tree: (bytes, mtime_ns)} of every file under `folders` (lock files left out)."""
    return {str(p.relative_to(tree)): (p.read_bytes(), p.stat().st_mtime_ns)
            for f in folders for p in sorted((tree / f).rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tree = tmp_path_factory.mktemp("first") / "tree"
    write_published("ucf101", tree / "remote", pairs=["ball"], seed=2, progress=False, **SIZES)
    prepare(tree)
    assert decode(tree)["decoded"] == 8
    return tree


@pytest.mark.parametrize("how", ["move", "copy without times"])
def test_a_moved_tree_is_unchanged_and_nothing_is_redone(prepared, tmp_path, how):
    tree = tmp_path / "elsewhere" / "tree"
    if how == "move":
        shutil.copytree(prepared, tmp_path / "was", copy_function=shutil.copy2)  # the module's tree stays
        os.rename(tmp_path / "was", tree.parent.mkdir() or tree)
    else:
        shutil.copytree(prepared, tree, copy_function=shutil.copyfile)
    before = files(tree, *FOLDERS)
    markers = [p for p in before if "/.extracted-" in p or p.endswith(".verified") or p.endswith("manifest.csv")]
    assert len(markers) == 2 + 2 + 1  # two downloads' records, two archives' markers, the store's manifest
    for path in markers:
        text = before[path][0].decode()
        assert str(prepared) not in text and str(tree) not in text and "mtime" not in text, (path, text)
    prepare(tree)
    assert decode(tree)["decoded"] == 0
    after = files(tree, *FOLDERS)
    assert {p: b for p, (b, _) in after.items()} == {p: b for p, (b, _) in before.items()}
    assert {p: b for p, (b, _) in after.items()} == {p: b for p, (b, _) in files(prepared, *FOLDERS).items()}
    rewritten = sorted(p for p in after if after[p][1] != before[p][1])
    # nothing extracted, copied or decoded again (`ctm decode` rewrites its manifest and store.json, same bytes); a
    # copy's download records may be rewritten (same bytes) after the file is hashed again
    rewritten = [p for p in rewritten if p not in ("store/manifest.csv", "store/store.json")]
    assert all(p.endswith(".verified") for p in rewritten), rewritten
    assert how == "copy without times" or not rewritten


def test_a_clips_manifest_reason_names_no_local_path(tmp_path):
    from ctm.acquire.portable import portable_reason

    root, clips = tmp_path / "mk200", tmp_path / "remote" / "youtube"
    reason = f"ERROR: [Errno 2] No such file or directory: '{clips}/abc.mp4' (tmp {root.resolve()}/.fetch/x)"
    assert portable_reason(reason, root, f"file://{clips}/{{youtube_id}}.mp4") == (
        "ERROR: [Errno 2] No such file or directory: '<clips>/abc.mp4' (tmp <root>/.fetch/x)")
    assert portable_reason("HTTP Error 404", root, "https://www.youtube.com/watch?v={youtube_id}") == "HTTP Error 404"
