import numpy as np
import pytest
import torch

from ctm.config import EvalSpec, InputSpec
from ctm.data.annotations import read_annotations
from ctm.data.clips import IMAGENET_MEAN, IMAGENET_STD, VideoClips, VideoDecodeError, split_available
from ctm.data.sampling import eval_indices
from ctm.data.synthetic import write_mini_kinetics_200
from ctm.data.video_io import read_video

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
