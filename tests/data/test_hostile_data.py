"""Hostile or broken data files (issue 19): annotation files that would send paths outside their root, cut videos,
damaged or oversized archives, odd encodings. Each case ends in a sentence naming the file (and line) or in the
right manifest status, never in a traceback or a file written outside its folder."""

import io
import os
import signal
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctm.acquire.extract import ExtractError, extract
from ctm.acquire.youtube import ClipFetchError, fetch_clips
from ctm.data.annotations import read_annotations
from ctm.data.annotations.base import AnnotationError
from ctm.data.decode import decode_video, decode_videos
from ctm.data.store import StoreFormat, read_manifest
from ctm.data.video_io import write_video

FMT = StoreFormat("jpeg", short_side=48, quality=90)
K600_HEADER = "label,youtube_id,time_start,time_end,split\n"


def k600(root: Path, train_rows: str, val_rows: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text(K600_HEADER + train_rows)
    (root / "validate.csv").write_text(K600_HEADER + val_rows)
    return root


def hmdb(root: Path, line: str) -> Path:
    folder = root / "testTrainMulti_7030_splits"
    folder.mkdir(parents=True)
    for k in (1, 2, 3):
        (folder / f"run_test_split{k}.txt").write_text(f"a.avi 1 \n{line}\n")
    return root


def ucf(root: Path, train_line: str) -> Path:
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 Run\r\n")
    (lists / "trainlist01.txt").write_text(f"Run/v_Run_g01_c01.avi 1\r\n{train_line}\r\n")
    (lists / "testlist01.txt").write_text("Run/v_Run_g02_c01.avi\r\n")
    return root


# --- 1. paths built from file contents stay inside their root ---------------------------------------------------

@pytest.mark.parametrize("youtube_id", ["../../../../tmp/x", "a/b", "..", "x\\y"])
def test_kinetics_youtube_id_that_is_a_path_is_refused_with_file_and_line(tmp_path, youtube_id):
    root = k600(tmp_path / "k600", f"run,abcdefghijk,1,11,train\nrun,{youtube_id},1,11,train\n")
    with pytest.raises(AnnotationError, match=r"train.csv:3: youtube_id .* is not a YouTube id"):
        read_annotations("kinetics_600", root)


@pytest.mark.parametrize("line", ["../../../../etc/passwd 1", "sub/x.avi 2", ".. 1"])
def test_hmdb51_split_line_that_leaves_the_class_folder_is_refused(tmp_path, line):
    root = hmdb(tmp_path / "hmdb", line)
    with pytest.raises(AnnotationError, match=r"run_test_split1.txt:2: .* (is not a file name|not a path inside)"):
        read_annotations("hmdb51", root)


def test_ucf101_list_line_with_dot_dot_is_refused(tmp_path):
    root = ucf(tmp_path / "ucf", "Run/../../../x.avi 1")
    with pytest.raises(AnnotationError, match=r"trainlist01.txt:2: .* is not a path inside the dataset root"):
        read_annotations("ucf101", root)


def test_fetch_clips_never_writes_outside_its_root(tmp_path):
    rows = pd.DataFrame([{"youtube_id": "abcdefghijk", "video": "../../outside.mp4", "time_start": 0, "time_end": 2}])
    with pytest.raises(AnnotationError, match="not a path inside"):
        fetch_clips(rows, tmp_path / "root", "file:///nowhere/{youtube_id}.mp4", progress=False)
    rows["video"], rows["youtube_id"] = "videos/x.mp4", "../../x"
    with pytest.raises(ClipFetchError, match="is not a YouTube id"):
        fetch_clips(rows, tmp_path / "root", "file:///nowhere/{youtube_id}.mp4", progress=False)
    assert not (tmp_path / "outside.mp4").exists() and not list(tmp_path.rglob("*.mp4"))


def test_decode_refuses_a_video_path_outside_the_root_before_writing(tmp_path):
    with pytest.raises(AnnotationError, match="not a path inside"):
        decode_videos(tmp_path / "root", ["ok.mp4", "../../etc/passwd"], tmp_path / "store", FMT, progress=False)
    assert not (tmp_path / "store").exists()


# --- 3. a cut AVI is truncated, not ok -------------------------------------------------------------------------

def frames(t=48, h=64, w=96):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([np.stack([(xx * 2 + 5 * i) % 256, (yy * 3) % 256, (xx + yy + i) % 256], -1)
                     for i in range(t)]).astype(np.uint8)


@pytest.mark.parametrize("fraction", [0.3, 0.7, 0.95])
def test_cut_avi_is_truncated_whatever_it_declares(tmp_path, fraction):
    write_video(tmp_path / "whole.avi", frames(), 25)
    data = (tmp_path / "whole.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: int(len(data) * fraction)])
    assert decode_video(tmp_path, "whole.avi", tmp_path / "store", FMT)["status"] == "ok"
    row = decode_video(tmp_path, "cut.avi", tmp_path / "store", FMT)
    assert row["status"] == "truncated" and "RIFF header says" in row["reason"]


# --- 6. damaged and oversized archives ---------------------------------------------------------------------------

def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def tar_gz(path: Path, members: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in dict(links).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return path


def test_truncated_zip_and_tar_are_sentences(tmp_path):
    rng = np.random.default_rng(0)
    whole = zip_bytes({f"d/{i}.bin": rng.bytes(20_000) for i in range(5)})
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    tar_gz(tmp_path / "whole.tar.gz", {f"d/{i}.bin": rng.bytes(20_000) for i in range(5)})
    data = (tmp_path / "whole.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    for name in ("cut.zip", "cut.tar.gz"):
        with pytest.raises(ExtractError, match=rf"{name}: (cannot be extracted|not a zip).*download it again|"
                                               rf"{name}: not a zip"):
            extract(tmp_path / name, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_file_then_folder_of_the_same_name_is_a_sentence(tmp_path):
    (tmp_path / "clash.zip").write_bytes(zip_bytes({"a": b"file", "a/b": b"inside"}))
    with pytest.raises(ExtractError, match="clash.zip: cannot be extracted .*entries clash"):
        extract(tmp_path / "clash.zip", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_two_step_symlink_chain_out_of_the_folder_is_refused(tmp_path):
    # each link alone looks inside ("d -> .", "d/e -> ../f" is "e/../f" = "f"), together "d/e" points above the root
    archive = tar_gz(tmp_path / "chain.tar.gz", {"x": b"x"}, {"d": ".", "d/e": "../f"})
    with pytest.raises(ExtractError, match="chain.tar.gz: (cannot be extracted|refusing the whole archive)"):
        extract(archive, tmp_path / "out" / "in", progress=False)
    assert not (tmp_path / "out" / "in").exists() and not (tmp_path / "out" / "f").exists()


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(zip_bytes({"zeros.bin": bytes(200 << 20)}))  # about 200 kB that expand to 200 MiB
    assert bomb.stat().st_size < 300_000
    with pytest.raises(ExtractError, match=r"bomb.zip: refusing the whole archive, it declares 209715200 bytes"):
        extract(bomb, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    assert extract(bomb, tmp_path / "out", progress=False, max_ratio=2000) == [tmp_path / "out" / "zeros.bin"]


# --- 6. annotation files with odd contents ----------------------------------------------------------------------

@pytest.mark.parametrize("times", ["inf,11", "1,nan", "1e999,2", "12,11"])
def test_kinetics_times_that_are_not_a_window_name_the_line(tmp_path, times):
    root = k600(tmp_path / "k600", f"run,abcdefghijk,1,11,train\nrun,bcdefghijkl,{times},train\n")
    with pytest.raises(AnnotationError, match=r"train.csv:3: (time_start/time_end are not finite|the window)"):
        read_annotations("kinetics_600", root)


def test_latin1_bytes_in_a_csv_name_the_line(tmp_path):
    root = k600(tmp_path / "k600", "run,abcdefghijk,1,11,train\n")
    (root / "validate.csv").write_bytes(K600_HEADER.encode() + "run,bcdefghijkl,1,11,val\ncaf\xe9,x,1,2,val\n"
                                        .encode("latin-1"))
    with pytest.raises(AnnotationError, match=r"validate.csv:3: byte 0xe9 is not UTF-8"):
        read_annotations("kinetics_600", root)


def test_bom_in_a_mini_kinetics_id_list_is_read(tmp_path):
    root = tmp_path / "mk"
    root.mkdir()
    header = "label,youtube_id,time_start,time_end,split,is_cc\n"
    (root / "train.csv").write_text(header + "run,abcdefghijk,1,11,train,0\n")
    (root / "validate.csv").write_text(header + "jump,bcdefghijkl,1,11,val,0\n")
    (root / "train_ytid_list.txt").write_bytes(b"\xef\xbb\xbfabcdefghijk\r\n")
    (root / "val_ytid_list.txt").write_bytes(b"\xef\xbb\xbfbcdefghijkl\n")
    ann = read_annotations("mini_kinetics_200", root)
    assert list(ann["youtube_id"]) == ["abcdefghijk", "bcdefghijkl"]


# --- 6. SIGTERM during `ctm decode` saves the manifest -----------------------------------------------------------

def test_sigterm_during_decode_saves_the_manifest(tmp_path):
    root = tmp_path / "root"
    for i in range(6):
        write_video(root / f"v{i}.mp4", frames(24), 25)
    names = [f"v{i}.mp4" for i in range(6)] * 1
    import ctm.data.decode as decode_module

    real = decode_module.decode_video
    calls = []

    def slow(*args):  # the third video takes long enough for the signal to arrive during it
        calls.append(args[1])
        if len(calls) == 3:
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
            time.sleep(5)
        return real(*args)

    decode_module.decode_video = slow
    try:
        with pytest.raises(KeyboardInterrupt):
            decode_videos(root, names, tmp_path / "store", FMT, progress=False)
    finally:
        decode_module.decode_video = real
    manifest = read_manifest(tmp_path / "store")
    assert manifest is not None and len(manifest) == 2 and (manifest["status"] == "ok").all()
    summary = decode_videos(root, names, tmp_path / "store", FMT, progress=False)  # resumes
    assert summary["skipped"] == 2 and summary["status"] == {"ok": 6}
