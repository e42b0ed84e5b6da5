import numpy as np
import pandas as pd
import pytest
import simplejpeg
import torch

from ctm.config import InputSpec
from ctm.data.store import (
    JPEG_HEADER,
    JPEG_MAGIC,
    MANIFEST_COLUMNS,
    DamagedEntryError,
    Store,
    StoreError,
    StoreFormat,
    entry_checksum,
    open_store,
    read_entry,
    write_entry,
    write_format,
    write_manifest,
)
from ctm.data.video_clips import VideoClips, VideoDecodeError

SPEC = InputSpec(num_segments=4, frame_interval=2, resize_short=40, crop_size=32, hflip=False)


def frames(t=12, h=40, w=54, seed=0):
    """Smooth frames (JPEG/H.264-friendly) with a per-frame brightness ramp so frames are told apart."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / 7.0), np.cos(yy / 5.0), np.sin((xx + yy) / 9.0)], -1)
    out = [(110 + 60 * base + 8 * i + rng.normal(0, 1, base.shape)).clip(0, 255) for i in range(t)]
    return np.stack(out).astype(np.uint8)


def test_jpeg_pack_layout_and_reads(tmp_path):
    x = frames()
    path = tmp_path / "v.jpgs"
    size = write_entry(path, x, StoreFormat("jpeg", short_side=40, quality=95), fps=25)
    data = path.read_bytes()
    assert size == len(data) and data[:8] == JPEG_MAGIC
    assert np.frombuffer(data[8:24], "<u4").tolist() == [12, 40, 54, 0]
    offsets = np.frombuffer(data[JPEG_HEADER : JPEG_HEADER + 8 * 13], "<u8")
    assert offsets[0] == JPEG_HEADER + 8 * 13 and offsets[-1] == len(data)
    each = [simplejpeg.decode_jpeg(data[offsets[i] : offsets[i + 1]]) for i in range(12)]
    idx = np.array([11, 0, 5, 5, 3])  # any order, repeats allowed
    got = read_entry(path, "jpeg", idx, 12, 40, 54)
    assert got.shape == (5, 40, 54, 3) and got.dtype == np.uint8
    assert all(np.array_equal(got[k], each[i]) for k, i in enumerate(idx))
    assert np.abs(got.astype(int) - x[idx]).mean() < 2.0  # quality 95: close to the input
    with pytest.raises(IndexError, match="0, 12"):
        read_entry(path, "jpeg", np.array([12]), 12, 40, 54)


def test_raw_is_exact_and_h264_is_close_with_odd_sizes(tmp_path):
    x = frames(t=10, h=41, w=55)  # odd sides: the H.264 store pads and crops back
    idx = np.array([9, 2, 2])
    write_entry(tmp_path / "v.npy", x, StoreFormat("raw"), fps=25)
    assert np.array_equal(read_entry(tmp_path / "v.npy", "raw", idx, 10, 41, 55), x[idx])
    write_entry(tmp_path / "v.mp4", x, StoreFormat("h264", gop=4, crf=10), fps=25)
    got = read_entry(tmp_path / "v.mp4", "h264", idx, 10, 41, 55)
    assert got.shape == (3, 41, 55, 3)
    assert np.abs(got.astype(int) - x[idx]).mean() < 3.0


def test_store_api_and_errors(tmp_path):
    with pytest.raises(StoreError, match="ctm decode"):
        open_store(tmp_path)
    fmt = StoreFormat("raw", short_side=40)
    x = frames(t=6, h=40, w=54)
    rel = fmt.entry_path("videos/a.mp4")
    size = write_entry(tmp_path / rel, x, fmt, fps=25)
    blank = dict.fromkeys(MANIFEST_COLUMNS, 0)
    rows = [
        {**blank, "video": "videos/a.mp4", "status": "ok", "reason": "", "num_frames": 6, "fps": 25.0,
         "height": 40, "width": 54, "path": rel, "bytes": size},
        {**blank, "video": "videos/b.mp4", "status": "missing", "reason": "no such file", "path": ""},
    ]
    write_format(tmp_path, fmt)
    write_manifest(tmp_path, rows)
    store = open_store(tmp_path)
    assert isinstance(store, Store) and store.format == fmt
    assert store.videos() == ["videos/a.mp4"] and store.videos(None) == ["videos/a.mp4", "videos/b.mp4"]
    assert store.status("videos/b.mp4") == "missing" and store.num_frames("videos/a.mp4") == 6
    assert store.frame_size("videos/a.mp4") == (40, 54) and store.fps("videos/a.mp4") == 25.0
    assert np.array_equal(store.read("videos/a.mp4", np.array([5, 1])), x[[5, 1]])
    with pytest.raises(StoreError, match="missing"):
        store.read("videos/b.mp4", np.array([0]))
    with pytest.raises(KeyError, match="ctm decode"):
        store.num_frames("videos/c.mp4")
    ann = pd.DataFrame({"video": ["videos/c.mp4", "videos/a.mp4", "videos/b.mp4"], "label": [0, 1, 2]})
    ok, rest = store.split(ann)
    assert ok["video"].tolist() == ["videos/a.mp4"] and rest["video"].tolist() == ["videos/c.mp4", "videos/b.mp4"]


def test_bad_settings_are_refused():
    with pytest.raises(StoreError, match="available"):
        StoreFormat("png")
    with pytest.raises(StoreError, match="quality"):
        StoreFormat("jpeg", quality=0)


def one_entry_store(tmp_path, fmt, x):
    rel = fmt.entry_path("v.mp4")
    size = write_entry(tmp_path / rel, x, fmt, fps=25)
    write_format(tmp_path, fmt)
    write_manifest(tmp_path, [{**dict.fromkeys(MANIFEST_COLUMNS, 0), "video": "v.mp4", "status": "ok", "reason": "",
                               "num_frames": len(x), "fps": 25.0, "height": x.shape[1], "width": x.shape[2],
                               "path": rel, "bytes": size, "crc32": entry_checksum(tmp_path / rel)}])
    return tmp_path / rel


def damage(path, offset, data):
    """Overwrite bytes in place: the file keeps its size (what the store's size check cannot see)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize("where", ["frame data", "frame index", "header"])
def test_damaged_jpeg_entry_is_one_line_naming_it(tmp_path, where):
    path = one_entry_store(tmp_path, StoreFormat("jpeg", short_side=40), frames())
    offsets = np.frombuffer(path.read_bytes()[JPEG_HEADER : JPEG_HEADER + 8 * 13], "<u8")
    size = path.stat().st_size
    offset, data = {"frame data": (int(offsets[5]), bytes(64)),  # frame 5 loses its JPEG markers
                    "frame index": (JPEG_HEADER + 8 * 6, (1 << 60).to_bytes(8, "little")),  # frame 6 "starts" at 2^60
                    "header": (8, (10_000).to_bytes(4, "little"))}[where]  # 10000 frames
    damage(path, offset, data)
    assert path.stat().st_size == size
    store = open_store(tmp_path)
    if where == "frame data":  # the other frames still read; a damaged index or header fails every read
        assert store.read("v.mp4", np.array([0, 11])).shape == (2, 40, 54, 3)
    with pytest.raises(DamagedEntryError, match=r"^[^\n]*v.mp4.jpgs: damaged store file \(.+\); rerun `ctm decode` "
                                                r"with the same arguments[^\n]*$"):
        store.read("v.mp4", np.array([4, 5, 6]))
    with pytest.raises(VideoDecodeError, match=r"^v.mp4 in the store .*: damaged store file .*rerun `ctm decode`"):
        VideoClips(None, pd.DataFrame({"video": ["v.mp4"], "label": [0]}), SPEC, "train", store=store, cache=True)[0]


def test_damaged_raw_entry_is_one_line_naming_it(tmp_path):
    path = one_entry_store(tmp_path, StoreFormat("raw", short_side=40), frames())
    damage(path, 20, b"garbage!")  # inside the .npy header
    with pytest.raises(DamagedEntryError, match=r"v.mp4.npy: damaged store file .*rerun `ctm decode`"):
        open_store(tmp_path).read("v.mp4", np.array([0]))


def test_damaged_entry_read_in_a_loader_worker_is_still_one_line(tmp_path):
    path = one_entry_store(tmp_path, StoreFormat("jpeg", short_side=40), frames())
    damage(path, 8, (10_000).to_bytes(4, "little"))
    clips = VideoClips(None, pd.DataFrame({"video": ["v.mp4"], "label": [0]}), SPEC, "train", store=tmp_path)
    with pytest.raises(VideoDecodeError) as err:
        next(iter(torch.utils.data.DataLoader(clips, batch_size=1, num_workers=1)))
    assert "\n" not in str(err.value) and "v.mp4.jpgs: damaged store file" in str(err.value)
