"""Published synthetic datasets: real archives extracted by real tools, the official layouts and quirks, source
videos decoded by decord, determinism, SHA256SUMS and atomic replacement."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import decord
import numpy as np
import pytest

from ctm.standins.motion import SYNTHETIC_CLASS_NAMES, render_clip
from ctm.standins.published import size_arguments, write_published

VIDEO = {"num_frames": 16, "fps": 8, "height": 48, "width": 64}  # 2 s windows
SIZES = {
    "mini_kinetics_200": {"pairs": ["hand"], "train_per_class": 3, "val_per_class": 2, "missing_fraction": 0.2,
                          "margin_seconds": 1},
    "kinetics_600": {"pairs": ["square"], "train_per_class": 3, "val_per_class": 2, "missing_fraction": 0.2,
                     "margin_seconds": 1},
    "ucf101": {"pairs": ["ball", "hand"], "groups": 4, "clips_per_group": 1},
    "hmdb51": {"pairs": ["ball"], "clips_per_class": 5},
}


def publish(dataset: str, out: Path, **overrides) -> dict:
    return write_published(dataset, out, progress=False, **{"seed": 3, **SIZES[dataset], **VIDEO, **overrides})


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("published")
    return {dataset: (root / dataset, publish(dataset, root / dataset)) for dataset in SIZES}


def tool(name: str, package: str) -> str:
    if shutil.which(name) is None:
        pytest.skip(f"{name} not on PATH: apt-get install {package}")
    return name


def extract(archive: Path, out: Path) -> Path:
    """Extract with bsdtar (tar.gz, zip, RAR), as a user following the official instructions might."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([tool("bsdtar", "libarchive-tools"), "-xf", str(archive), "-C", str(out)], check=True)
    return out


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def frame_count(path: Path) -> int:
    reader = decord.VideoReader(str(path))
    assert reader.get_batch([len(reader) - 1]).shape == (1, VIDEO["height"], VIDEO["width"], 3)
    return len(reader)


def test_layouts_and_checksums(published):
    expected = {
        "mini_kinetics_200": ["SHA256SUMS", "cvdf", "kinetics400.tar.gz", "train_ytid_list.txt", "val_ytid_list.txt",
                              "youtube"],
        "kinetics_600": ["SHA256SUMS", "cvdf", "kinetics600.tar.gz", "youtube"],
        "ucf101": ["SHA256SUMS", "UCF101.rar", "UCF101TrainTestSplits-RecognitionTask.zip"],
        "hmdb51": ["SHA256SUMS", "hmdb51_org.rar", "test_train_splits.rar"],
    }
    for dataset, (out, summary) in published.items():
        assert sorted(p.name for p in out.iterdir()) == expected[dataset]
        assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folders left
        listed = [line.split("  ")[1] for line in (out / "SHA256SUMS").read_text().splitlines()]
        unlisted = ("SHA256SUMS", "youtube", "cvdf")  # fetched one by one (sources, shards), not checksummed
        assert listed == summary["files"] == [n for n in expected[dataset] if n not in unlisted]
        subprocess.run(["sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS"], cwd=out, check=True)


def test_ucf101_archives_and_list_quirks(published, tmp_path):
    out, summary = published["ucf101"]
    extract(out / "UCF101.rar", tmp_path)
    with zipfile.ZipFile(out / "UCF101TrainTestSplits-RecognitionTask.zip") as archive:
        archive.extractall(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["UCF-101", "ucfTrainTestlist"]
    lists = tmp_path / "ucfTrainTestlist"
    assert sorted(p.name for p in lists.iterdir()) == ["classInd.txt"] + [
        f"{kind}list0{k}.txt" for kind in ("test", "train") for k in (1, 2, 3)]
    raw = {p.name: p.read_bytes() for p in lists.iterdir()}
    for name, data in raw.items():
        assert b"\n" not in data.replace(b"\r\n", b""), name  # every line ends in CRLF
        assert data.endswith(b"\r\n") == (name != "trainlist02.txt"), name
    class_ind = [line.split(" ") for line in raw["classInd.txt"].decode().splitlines()]
    names = [name for _, name in class_ind]
    assert [int(i) for i, _ in class_ind] == [1, 2, 3, 4]
    assert names == sorted(names, key=str.lower) == ["Ballooning", "BallSinking", "HandstandPushups", "HandTurningBack"]
    assert sorted(names) != names  # case-sensitive order differs, like Hammering / HammerThrow
    assert sorted(p.name for p in (tmp_path / "UCF-101").iterdir()) == sorted(names)
    assert {p.name[:19] for p in (tmp_path / "UCF-101" / "HandstandPushups").iterdir()} == {"v_HandStandPushups_"}
    tested = []
    for k in (1, 2, 3):
        train = [line.split(" ") for line in raw[f"trainlist0{k}.txt"].decode().splitlines()]
        test = raw[f"testlist0{k}.txt"].decode().splitlines()
        assert all(" " not in line for line in test)
        for video, label in train:
            assert names[int(label) - 1] == video.split("/")[0]
        paths = [video for video, _ in train] + test
        assert sorted(paths) == sorted(p.relative_to(tmp_path / "UCF-101").as_posix()
                                       for p in (tmp_path / "UCF-101").rglob("*.avi"))
        assert "HandstandPushups/v_HandStandPushups_g04_c01.avi 3" in [" ".join(t) for t in train]
        groups = {int(v.split("_g")[1][:2]) for v in test}
        assert groups == {k} and summary["splits"][k] == {"train": 12, "test": 4, "test_groups": [k]}
        tested.append(groups)
    assert set.union(*tested) == {1, 2, 3}  # disjoint groups; group 4 always trains
    assert frame_count(tmp_path / "UCF-101" / "HandstandPushups" / "v_HandStandPushups_g01_c01.avi") == 16


def test_hmdb51_rar_of_rars_and_split_tags(published, tmp_path):
    out, summary = published["hmdb51"]
    unar = tool("unar", "unar")
    subprocess.run([unar, "-q", "-D", "-o", str(tmp_path / "outer"), str(out / "hmdb51_org.rar")], check=True)
    assert sorted(p.name for p in (tmp_path / "outer").iterdir()) == ["drop_ball.rar", "lift_ball.rar"]
    for inner in (tmp_path / "outer").iterdir():
        subprocess.run([unar, "-q", "-o", str(tmp_path / "videos"), str(inner)], check=True)
    extract(out / "test_train_splits.rar", tmp_path / "splits")
    split_dir = tmp_path / "splits" / "testTrainMulti_7030_splits"
    assert sorted(p.name for p in split_dir.iterdir()) == [
        f"{c}_test_split{k}.txt" for c in ("drop_ball", "lift_ball") for k in (1, 2, 3)]
    assert summary["classes"] == ["drop_ball", "lift_ball"]
    for cls in summary["classes"]:
        videos = sorted(p.name for p in (tmp_path / "videos" / cls).iterdir())
        assert len(videos) == 5 and all(f"_{cls}_" in v and v.endswith(".avi") for v in videos)
        for k in (1, 2, 3):
            lines = (split_dir / f"{cls}_test_split{k}.txt").read_text().split("\n")
            assert lines[-1] == "" and all(line.endswith(" ") for line in lines[:-1])  # "<video> <tag> \n"
            pairs = [line.split(" ")[:2] for line in lines[:-1]]
            assert [v for v, _ in pairs] == videos
            assert sorted(tag for _, tag in pairs) == ["0", "1", "1", "1", "2"]  # 1 unused, 3 train, 1 test
        assert frame_count(tmp_path / "videos" / cls / videos[0]) == 16
    assert summary["splits"][1] == {"train": 6, "test": 2, "unused": 2}


def read_csv(archive: Path, member: str) -> tuple[str, list[dict[str, str]]]:
    with tarfile.open(archive) as tar:
        text = tar.extractfile(member).read().decode("utf-8")
    return text, list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("dataset", ["kinetics_600", "mini_kinetics_200"])
def test_kinetics_tarball_and_sources(published, tmp_path, dataset):
    out, summary = published[dataset]
    stem = {"kinetics_600": "kinetics600", "mini_kinetics_200": "kinetics400"}[dataset]
    archive = out / f"{stem}.tar.gz"
    extract(archive, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [stem]
    assert sorted(p.name for p in (tmp_path / stem).iterdir()) == ["test.csv", "train.csv", "validate.csv"]
    is_cc = ",is_cc" if dataset == "mini_kinetics_200" else ""
    text, test_rows = read_csv(archive, f"{stem}/test.csv")
    test_header = "label,youtube_id" if is_cc else "youtube_id"  # Kinetics-600's test.csv has no label column
    assert text.startswith(f"{test_header},time_start,time_end,split{is_cc}\n") and test_rows
    sources = {p.name for p in (out / "youtube").iterdir()}
    all_ids = set()
    for split, csv_name, per_class in (("train", "train.csv", 3), ("val", "validate.csv", 2)):
        text, rows = read_csv(archive, f"{stem}/{csv_name}")
        assert text.startswith(f"label,youtube_id,time_start,time_end,split{is_cc}\n")
        assert f'\n"{summary["classes"][0]}",' in text  # multi-word labels double-quoted, csv parses them
        ours = [row for row in rows if row["label"] in summary["classes"]]
        assert len(ours) == per_class * 2 and {row["split"] for row in rows} == {split}
        if dataset == "mini_kinetics_200":  # the id list joins with the CSV; K400-only rows are in no list
            ids = (out / f"{split}_ytid_list.txt").read_text().split("\n")
            assert ids[-1] == "" and sorted(ids[:-1]) == sorted(row["youtube_id"] for row in ours)
            assert len(rows) > len(ours)
        missing = set(summary[split]["missing_ids"])
        assert len(missing) == 1 and summary[split]["written"] == len(ours) - 1
        for row in ours:
            all_ids.add(row["youtube_id"])
            path = out / "youtube" / f"{row['youtube_id']}.mp4"
            assert path.exists() == (row["youtube_id"] not in missing)
            start, end = int(row["time_start"]), int(row["time_end"])
            assert end - start == 2 and 0 <= start <= 1
            if path.exists():  # time_start seconds before the window, 1 s (margin_seconds) after it
                assert frame_count(path) == (start + 3) * 8
    assert summary["source_videos"] == len(sources) == len(all_ids) - 2
    assert any(i.startswith("--") for i in all_ids)  # like the real `--nQbRBEz2s`


def test_source_window_holds_the_labelled_motion_and_margins_do_not(published):
    """The window of list id i is class `label`'s clip from default_rng([seed, 10, 1, i]) (docs/synthetic_data.md);
    the seconds around it hold another class's motion."""
    out, summary = published["mini_kinetics_200"]
    _, rows = read_csv(out / "kinetics400.tar.gz", "kinetics400/train.csv")
    by_id = {row["youtube_id"]: row for row in rows}
    ids = (out / "train_ytid_list.txt").read_text().split()
    checked = 0
    for index, youtube_id in enumerate(ids):
        if youtube_id in summary["train"]["missing_ids"]:
            continue
        row = by_id[youtube_id]
        start = int(row["time_start"])
        reader = decord.VideoReader(str(out / "youtube" / f"{youtube_id}.mp4"))
        frames = reader.get_batch(list(range(len(reader)))).asnumpy().astype(int)
        label = SYNTHETIC_CLASS_NAMES.index(row["label"])
        clip = render_clip(label, np.random.default_rng([3, 10, 1, index]), 16, 48, 64)
        assert np.abs(frames[start * 8 : start * 8 + 16] - clip).mean() < 4
        assert np.abs(frames[-8:] - clip[-8:]).mean() > 10  # the margin after the window is another clip
        checked += 1
    assert checked == 5


def test_deterministic_also_in_parallel(published, tmp_path):
    for dataset, (out, _) in published.items():
        again = publish(dataset, tmp_path / dataset, workers=2 if dataset in ("ucf101", "kinetics_600") else 1)
        assert tree(tmp_path / dataset) == tree(out), dataset
        assert again["files"] == published[dataset][1]["files"]
    other = publish("ucf101", tmp_path / "other", seed=4)
    assert tree(tmp_path / "other") != tree(published["ucf101"][0]) and other["videos"] == 16


def test_rewrite_replaces_folder_and_failure_keeps_it(tmp_path):
    out = tmp_path / "hmdb51"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    publish("hmdb51", out)
    assert "stale.txt" not in {p.name for p in out.iterdir()}
    before = tree(out)
    with pytest.raises(ValueError, match="synthetic pairs"):
        publish("hmdb51", out, pairs=["nope"])
    with pytest.raises(ValueError, match="unknown size argument"):
        publish("hmdb51", out, groups=3)
    with pytest.raises(ValueError, match="multiple of 32"):
        publish("hmdb51", out, width=48)
    assert tree(out) == before and [p.name for p in tmp_path.iterdir()] == ["hmdb51"]


def test_size_arguments_are_documented():
    assert size_arguments("ucf101") == ["groups", "clips_per_group", "num_frames", "fps", "height", "width"]
    assert size_arguments("hmdb51")[0] == "clips_per_class"
    assert size_arguments("kinetics_600")[:4] == ["train_per_class", "val_per_class", "missing_fraction",
                                                  "margin_seconds"]
    with pytest.raises(ValueError, match="no published synthetic writer"):
        write_published("kinetics_700", "unused", pairs=["ball"])
