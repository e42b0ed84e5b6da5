"""Kinetics clips from a CVDF-style mirror served over HTTP on 127.0.0.1 (ctm.acquire.cvdf, cvdf_dataset): the
synthetic stand-ins' own mirror (numbered Kinetics-400 shards: flat, class folder, a plain tar under a .tar.gz name
with deep prefixes; Kinetics-600 shards named by class, spaces and parentheses included), shard lists holding
absolute URLs as the real ones do, a damaged shard retried alone, only the needed clips written, every annotated
clip accounted for."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ctm.acquire import cvdf_dataset as cd
from ctm.acquire.cvdf import ShardError, quote_url, read_shard_list
from ctm.acquire.extract import extract
from ctm.data.annotations import read_annotations
from ctm.standins.published import write_published

PAIRS = ["ball", "hand", "square"]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path_factory):
    """(base URL, folder served): the folder is the CVDF mirror's path layout (`kinetics/<400|600>/<split>/...`)."""
    folder = tmp_path_factory.mktemp("s3")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The Mini-Kinetics-200 (Kinetics-400 shards) and Kinetics-600 stand-ins as their hosts publish them."""
    out = tmp_path_factory.mktemp("published")
    write_published("mini_kinetics_200", out / "mk", pairs=PAIRS, train_per_class=15, val_per_class=3, workers=2,
                    progress=False, missing_fraction=0.05)
    write_published("kinetics_600", out / "k6", pairs=PAIRS, train_per_class=3, val_per_class=2, workers=2,
                    progress=False, missing_fraction=0.05)
    return out


def host(published: Path, stand_in: str, version: str, base: str, folder: Path) -> dict[str, str]:
    """Copy a stand-in's mirror under `folder` as S3 lays it out, its lists rewritten to absolute URLs (raw spaces
    and parentheses, as the real lists have them); returns subset -> list URL."""
    shutil.copytree(published / stand_in / "cvdf" / version, folder / "kinetics" / version)
    lists = {}
    for subset in ("train", "val"):
        listed = folder / "kinetics" / version / subset / f"k{version}_{subset}_path.txt"
        names = listed.read_text().splitlines()
        listed.write_text("".join(f"{base}/kinetics/{version}/{subset}/{n}\n" for n in names))
        lists[subset] = f"{base}/kinetics/{version}/{subset}/{listed.name}"
    return lists


def annotations(published: Path, stand_in: str, dataset: str, root: Path):
    stem = "kinetics400" if dataset == "mini_kinetics_200" else "kinetics600"
    extract(published / stand_in / f"{stem}.tar.gz", root, strip_components=1, progress=False)
    for name in ("train_ytid_list.txt", "val_ytid_list.txt"):
        if (published / stand_in / name).is_file():
            shutil.copy(published / stand_in / name, root / name)
    rows = read_annotations(dataset, root)
    return rows[rows["subset"].isin(["train", "val"])]


def test_kinetics_400_shards_of_every_inner_layout_give_exactly_the_listed_clips(published, mirror, tmp_path):
    base, folder = mirror
    lists = host(published, "mk", "400", base, folder)
    shards = sorted((folder / "kinetics" / "400" / "train").glob("part_*.tar.gz"))
    assert len(shards) == 3
    assert shards[-1].read_bytes()[:2] != b"\x1f\x8b"  # the plain tar under a .tar.gz name
    root, downloads = tmp_path / "root", tmp_path / "downloads"
    rows = annotations(published, "mk", "mini_kinetics_200", root)

    manifest = cd.fetch_all(rows, root, downloads, lists, workers=2, progress=False)

    assert len(manifest) == len(rows) == rows["video"].nunique()
    ok = manifest[manifest["status"] == "ok"]
    assert (manifest["status"] == "missing").sum() > 0 and set(manifest["status"]) == {"ok", "missing"}
    assert sorted(p.name for p in (root / "videos").iterdir()) == sorted(Path(v).name for v in ok["video"])
    records = [json.loads(p.read_text()) for p in sorted((root / ".cvdf").rglob("*.json"))]
    assert sum(r["skipped"] for r in records) > 0  # the Kinetics-400-only classes' clips stayed in their shards
    served = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.tar.gz")}
    for record in records:  # the sha256 of the bytes served, under a name that holds no host or path
        assert record["shard"].startswith("part_") and "127.0.0.1" not in json.dumps(record)
        assert record["sha256"] in served
    assert not list(downloads.rglob("*.tar.gz"))  # shards are not kept unless keep_shards
    # a rerun reads the records and downloads nothing (the served shards are gone)
    shutil.rmtree(folder / "kinetics" / "400" / "train")
    (folder / "kinetics" / "400" / "train").mkdir()
    (folder / "kinetics" / "400" / "train" / "k400_train_path.txt").write_text(
        (downloads / "cvdf" / "train_shards.txt").read_text())
    again = cd.fetch_all(rows, root, downloads, lists, workers=2, progress=False)
    assert again.equals(manifest)


def test_kinetics_600_class_shards_with_spaces_and_parentheses(published, mirror, tmp_path):
    base, folder = mirror
    lists = host(published, "k6", "600", base, folder)
    names = read_shard_list(Path(folder / "kinetics/600/val/k600_val_path.txt"), lists["val"])
    assert any("%20" in n and "(" in n for n in names)  # requested percent-encoded
    root = tmp_path / "root"
    rows = annotations(published, "k6", "kinetics_600", root)
    manifest = cd.fetch_all(rows, root, tmp_path / "dl", lists, workers=3, progress=False)
    assert (manifest["status"] == "ok").sum() == len(list((root / "videos").iterdir())) > 0
    records = [json.loads(p.read_text()) for p in (root / ".cvdf").rglob("*.json")]
    assert any(r["shard"] == "sliding square (left to right).tar.gz" for r in records)


def test_a_damaged_shard_fails_alone_and_is_fetched_again_on_the_next_run(published, mirror, tmp_path):
    base, folder = mirror
    lists = host(published, "k6", "600", base, folder)
    shard = folder / "kinetics/600/train/ball falling.tar.gz"
    good = shard.read_bytes()
    assert gzip.decompress(good)
    shard.write_bytes(good[: len(good) * 2 // 3])  # cut short: the server's Content-Length agrees with it
    root, downloads = tmp_path / "root", tmp_path / "dl"
    rows = annotations(published, "k6", "kinetics_600", root)

    with pytest.raises(ShardError, match=r"1 of \d+ shards failed.*ball%20falling.tar.gz.*damaged"):
        cd.fetch_all(rows, root, downloads, lists, workers=2, progress=False)
    fetched = {p.name for p in (root / ".cvdf" / "train").iterdir()}
    assert len(fetched) == len(read_shard_list(downloads / "cvdf/train_shards.txt", lists["train"])) - 1
    assert list(downloads.rglob("*.bad"))  # the damaged download kept aside, not reused

    shard.write_bytes(good)  # the mirror repaired: only the failed shard is fetched
    before = {p: p.stat().st_mtime_ns for p in (root / ".cvdf").rglob("*.json")}
    manifest = cd.fetch_all(rows, root, downloads, lists, workers=2, progress=False)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert set(manifest["status"]) <= {"ok", "missing"}


def test_shard_list_lines_that_are_not_shard_urls_name_the_file_and_line(tmp_path):
    listed = tmp_path / "k400_train_path.txt"
    listed.write_text("https://s3.amazonaws.com/kinetics/400/train/part_0.tar.gz\n\n<html>Access Denied</html>\n")
    with pytest.raises(ShardError, match=r"k400_train_path.txt, line 3: '<html>Access Denied</html>'"):
        read_shard_list(listed, "https://s3.amazonaws.com/kinetics/400/train/k400_train_path.txt")
    listed.write_text("")
    with pytest.raises(ShardError, match="names no shard"):
        read_shard_list(listed, "https://s3.amazonaws.com/kinetics/400/train/k400_train_path.txt")


def test_urls_are_percent_encoded_once():
    url = "https://s3.amazonaws.com/kinetics/600/val/mountain climber (exercise).tar.gz"
    assert quote_url(url) == "https://s3.amazonaws.com/kinetics/600/val/mountain%20climber%20(exercise).tar.gz"
    assert quote_url(quote_url(url)) == quote_url(url)


def test_the_mirror_and_the_youtube_route_give_the_same_clip_bytes(published, tmp_path):
    from ctm.acquire.youtube import fetch_clips

    root = tmp_path / "root"
    rows = annotations(published, "k6", "kinetics_600", root)
    lists = {s: (published / "k6" / "cvdf" / "600" / s / f"k600_{s}_path.txt").as_uri() for s in ("train", "val")}
    cd.fetch_all(rows, root, tmp_path / "dl", lists, workers=2, progress=False)
    other = tmp_path / "youtube"
    some = rows.head(4)
    fetched = fetch_clips(some, other, (published / "k6" / "youtube").as_uri() + "/{youtube_id}.mp4", workers=2,
                          progress=False)
    for video, status in zip(fetched["video"], fetched["status"], strict=True):
        assert (status == "ok") == (root / video).is_file()
        if status == "ok":
            assert (other / video).read_bytes() == (root / video).read_bytes()
