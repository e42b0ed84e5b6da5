import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from ctm.config import EvalSpec, InputSpec
from ctm.data.annotations import read_annotations
from ctm.data.decode import decode_videos
from ctm.data.sampling import eval_indices, train_indices
from ctm.data.store import StoreFormat, open_store
from ctm.data.video_clips import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VideoClips,
    VideoDecodeError,
    normalise_uint8,
    split_available,
)
from ctm.data.video_io import read_video, write_video
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

SPEC = InputSpec(num_segments=8, frame_interval=8, resize_short=48, crop_size=32, hflip=False)
TEST = EvalSpec(num_clips=2, num_crops=3, averaging="softmax_mean", batch_views=4)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mk200")
    write_mini_kinetics_200(root, train_per_class=1, val_per_class=1, num_frames=72, height=48, width=64,
                            seed=3, missing_fraction=0.1, progress=False)
    ann = read_annotations("mini_kinetics_200", root)
    present, missing = split_available(root, ann)
    return root, present, missing


def test_missing_videos_are_split_off(data):
    root, present, missing = data
    assert len(missing) == 2 and len(present) == 18
    assert present["video"].map(lambda v: (root / v).is_file()).all()


def test_train_clip_shape_and_determinism(data):
    root, present, _ = data
    ds = VideoClips(root, present, SPEC, "train", seed=0)
    x, label = ds[0]
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32 and label == present["label"][0]
    assert torch.equal(ds[0][0], x)  # same (seed, epoch, index): same clip
    ds.set_epoch(1)
    assert not torch.equal(ds[0][0], x)


def test_cache_gives_the_same_clips(data):
    root, present, _ = data
    plain = VideoClips(root, present, SPEC, "train", seed=0)
    cached = VideoClips(root, present, SPEC, "train", seed=0, cache=True)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(3):
            assert torch.equal(plain[i][0], cached[i][0])
    test_plain = VideoClips(root, present, SPEC, "test", TEST)
    test_cached = VideoClips(root, present, SPEC, "test", TEST, cache=True)
    assert torch.equal(test_plain[2][0], test_cached[2][0])


def test_test_views_are_clips_times_crops_in_order(data):
    root, present, _ = data
    views, _ = VideoClips(root, present, SPEC, "test", TEST)[0]
    assert views.shape == (6, 8, 3, 32, 32)
    frames = read_video(root / present["video"][0])  # (72, 48, 64, 3)
    idx = eval_indices(len(frames), 8, 8, 2)
    for v, (k, left) in enumerate([(k, left) for k in range(2) for left in (0, 16, 32)]):
        expected = torch.from_numpy(frames[idx[k], 8:40, left : left + 32]).permute(0, 3, 1, 2).float() / 255
        got = views[v] * IMAGENET_STD + IMAGENET_MEAN
        assert torch.allclose(got, expected, atol=1e-5)


def test_undecodable_video_names_the_file(data, tmp_path):
    _, present, _ = data
    bad = tmp_path / "videos" / "broken.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00" * 100)
    rows = present.iloc[:1].assign(video="videos/broken.mp4")
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        VideoClips(tmp_path, rows, SPEC, "train")[0]


def test_modes_are_checked(data):
    root, present, _ = data
    with pytest.raises(ValueError, match="mode"):
        VideoClips(root, present, SPEC, "val")
    with pytest.raises(ValueError, match="EvalSpec"):
        VideoClips(root, present, SPEC, "test")
    assert np.all(present["video"].str.startswith("videos/"))


@pytest.fixture(scope="module")
def stores(data, tmp_path_factory):
    """Stores of the module's videos: raw at the source's short side (no resize), raw resized to 40, JPEG q90."""
    root, present, _ = data
    out = tmp_path_factory.mktemp("stores")
    videos = present["video"].tolist()
    for name, fmt in {"raw48": StoreFormat("raw", 48), "raw40": StoreFormat("raw", 40),
                      "jpeg48": StoreFormat("jpeg", 48, quality=90)}.items():
        decode_videos(root, videos, out / name, fmt, progress=False)
    return {name: open_store(out / name) for name in ("raw48", "raw40", "jpeg48")}


def test_store_clips_equal_raw_clips(data, stores):
    root, present, _ = data
    flip = dataclasses.replace(SPEC, hflip=True)
    for mode, test in (("train", None), ("test", TEST)):
        raw = VideoClips(root, present, flip, mode, test, seed=1)
        stored = VideoClips(None, present, flip, mode, test, seed=1, store=stores["raw48"])
        for i in (0, 5):
            assert torch.equal(raw[i][0], stored[i][0])  # no resize, lossless store: identical
    spec40 = dataclasses.replace(flip, resize_short=40)
    raw = VideoClips(root, present, spec40, "train", seed=1)
    stored = VideoClips(root, present, spec40, "train", seed=1, store=stores["raw40"])
    raw_u8 = VideoClips(root, present, spec40, "train", seed=1, uint8=True)
    stored_u8 = VideoClips(root, present, spec40, "train", seed=1, store=stores["raw40"], uint8=True)
    for i in (0, 5):
        assert torch.equal(raw_u8[i][0], stored_u8[i][0])  # the same uint8 resize in the loader and the store
        # float loader resize vs the store's uint8 resize: within one grey level
        diff = (raw[i][0] - stored[i][0]) * IMAGENET_STD
        assert diff.abs().max() <= 1 / 255 + 1e-6
    jpeg = VideoClips(None, present, SPEC, "train", seed=1, store=stores["jpeg48"], uint8=True)
    exact = VideoClips(None, present, SPEC, "train", seed=1, store=stores["raw48"], uint8=True)
    err = np.mean([(jpeg[i][0].float() - exact[i][0].float()).abs().mean().item() for i in range(len(present))])
    assert err < 4.0  # JPEG q90 of these tiny, sharp-edged synthetic frames: mean |error| in grey levels (2.6)


def test_uint8_items_are_the_float_items_before_normalising(data, stores):
    root, present, _ = data
    u8 = VideoClips(root, present, SPEC, "train", seed=2, uint8=True)
    fl = VideoClips(root, present, SPEC, "train", seed=2)
    x, label = u8[3]
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.uint8 and label == present["label"][3]
    assert torch.allclose(normalise_uint8(x), fl[3][0], atol=1e-6)
    views, _ = VideoClips(None, present, SPEC, "test", TEST, store=stores["raw48"], uint8=True)[0]
    assert views.shape == (6, 8, 3, 32, 32) and views.dtype == torch.uint8


def test_short_video_wraps_in_the_store(tmp_path):
    frames = np.stack([np.full((48, 64, 3), 10 * i, np.uint8) for i in range(20)])  # frame i has grey level 10 i
    write_video(tmp_path / "short.mp4", frames, 8, crf=0)
    decode_videos(tmp_path, ["short.mp4"], tmp_path / "store", StoreFormat("raw", 48), progress=False)
    ann = pd.DataFrame({"video": ["short.mp4"], "label": [0]})
    x, _ = VideoClips(None, ann, SPEC, "train", seed=0, store=tmp_path / "store", uint8=True)[0]
    rng = np.random.default_rng([0, 0, 0])
    expected = train_indices(20, 8, 8, rng)  # 20 frames < the 64-frame window: offset 0, indices wrap mod 20
    assert expected.tolist() == [0, 8, 16, 4, 12, 0, 8, 16]
    assert np.allclose(x.float().mean(dim=(1, 2, 3)).numpy(), 10 * expected, atol=1.5)


def test_store_failures_are_decode_errors(data, tmp_path):
    root, present, missing = data
    decode_videos(root, missing["video"].tolist(), tmp_path / "store", StoreFormat("raw", 48), progress=False)
    with pytest.raises(VideoDecodeError, match="missing"):
        VideoClips(None, missing, SPEC, "train", store=tmp_path / "store")[0]


def test_loader_workers_do_not_change_batches(data, stores):
    _, present, _ = data
    ds = VideoClips(None, present, SPEC, "train", seed=4, store=stores["jpeg48"], uint8=True)
    one = next(iter(torch.utils.data.DataLoader(ds, batch_size=6, num_workers=0)))[0]
    two = next(iter(torch.utils.data.DataLoader(ds, batch_size=6, num_workers=2)))[0]
    assert torch.equal(one, two)
