import numpy as np
import pytest

from ctm.data.sampling import crop_offsets, eval_indices, train_indices


def test_train_clip_is_8_frames_at_interval_8_inside_a_64_frame_window():
    rng = np.random.default_rng(0)
    offsets = set()
    for _ in range(500):
        idx = train_indices(100, 8, 8, rng)
        assert np.array_equal(np.diff(idx), np.full(7, 8))
        assert 0 <= idx[0] <= 100 - 64 and idx[-1] < 100
        offsets.add(int(idx[0]))
    assert offsets == set(range(37))  # every window start in [0, N-64] occurs


def test_train_clip_wraps_for_short_videos():
    idx = train_indices(40, 8, 8, np.random.default_rng(0))
    assert np.array_equal(idx, np.arange(0, 64, 8) % 40)


def test_test_clips_follow_the_documented_formula():
    idx = eval_indices(300, 8, 8, 10)
    span = 7 * 8 + 1
    expected = np.round(np.arange(10) * (300 - span) / 9).astype(int)
    assert np.array_equal(idx[:, 0], expected)
    assert idx[0, 0] == 0 and idx[-1, -1] == 299
    assert np.array_equal(eval_indices(101, 8, 8, 1)[0], 22 + 8 * np.arange(8))


def test_crop_offsets():
    assert crop_offsets(256, 224, 3) == [0, 16, 32]
    assert crop_offsets(96, 64, 1) == [16]
    with pytest.raises(ValueError, match="larger"):
        crop_offsets(60, 64, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one frame"):
        train_indices(0, 8, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_clips"):
        eval_indices(10, 8, 8, 0)
