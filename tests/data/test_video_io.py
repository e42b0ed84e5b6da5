"""write_video / read_video: real H.264 (.mp4) and MPEG-4 Part 2 (.avi) encoding with PyAV, decoding with decord."""

from __future__ import annotations

import hashlib

import av
import decord
import numpy as np
import pytest

from ctm.data import video_io
from ctm.data.video_io import read_video, write_video


def smooth_pattern(num_frames: int = 24, height: int = 72, width: int = 96) -> np.ndarray:
    """Moving smooth colour waves, uint8 (T, H, W, 3)."""
    t = np.arange(num_frames)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    channels = [
        128 + 60 * np.sin(x / 9 + t / 5) + 0 * y,
        128 + 60 * np.cos(y / 7 - t / 6) + 0 * x,
        100 + 50 * np.sin((x + y) / 11 + t / 4),
    ]
    return np.stack(channels, axis=-1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_round_trip_with_decord(tmp_path, suffix):
    frames = smooth_pattern(num_frames=40)
    path = tmp_path / f"clip{suffix}"
    write_video(path, frames, fps=8)
    decoded = read_video(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - frames).mean() < 4
    reader = decord.VideoReader(str(path))
    assert len(reader) == 40 and reader.get_avg_fps() == pytest.approx(8.0)
    # random access (key frame every 8 frames) gives the same frames as the sequential decode
    index = [33, 0, 17, 8, 39]
    assert np.array_equal(reader.get_batch(index).asnumpy(), decoded[index])


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_same_frames_give_identical_bytes(tmp_path, suffix):
    frames = smooth_pattern()
    noise = np.random.default_rng(0).integers(0, 256, size=frames.shape, dtype=np.uint8)
    for name, clip in [("smooth", frames), ("noise", noise)]:
        digests = set()
        for k in range(3):
            write_video(tmp_path / f"{name}{k}{suffix}", clip, fps=8)
            digests.add(hashlib.sha256((tmp_path / f"{name}{k}{suffix}").read_bytes()).hexdigest())
        assert len(digests) == 1, name


def test_container_and_codec_follow_the_suffix(tmp_path):
    frames = smooth_pattern(num_frames=16)
    write_video(tmp_path / "a.avi", frames, fps=8)
    write_video(tmp_path / "b.MP4", frames, fps=8)
    avi, mp4 = (tmp_path / "a.avi").read_bytes(), (tmp_path / "b.MP4").read_bytes()
    assert avi[:4] == b"RIFF" and avi[8:12] == b"AVI " and b"XVID" in avi[:512]  # like UCF-101's Xvid files
    assert mp4[4:8] == b"ftyp"
    with av.open(str(tmp_path / "a.avi")) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    with av.open(str(tmp_path / "b.MP4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    with pytest.raises(ValueError, match=r"\.mp4 \(H\.264\) or \.avi"):
        write_video(tmp_path / "c.mkv", frames, fps=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.avi", "b.MP4"]


def test_write_is_atomic(tmp_path, monkeypatch):
    frames = smooth_pattern(num_frames=8)
    target = tmp_path / "sub" / "clip.mp4"
    write_video(target, frames, fps=8)
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert target.stat().st_mode == reference.stat().st_mode  # usual permissions, not a private temp file's
    old = target.read_bytes()

    calls = []

    def failing_from_ndarray(array, format):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("disk on fire")
        return original(array, format=format)

    original = video_io.av.VideoFrame.from_ndarray
    monkeypatch.setattr(video_io.av.VideoFrame, "from_ndarray", failing_from_ndarray)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_video(target, smooth_pattern(num_frames=8)[::-1].copy(), fps=8)
    # the old file is untouched and no temporary file is left behind
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]
    assert target.read_bytes() == old


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (np.zeros((4, 8, 8, 3), dtype=np.float32), "uint8"),
        (np.zeros((4, 8, 8), dtype=np.uint8), "shape"),
        (np.zeros((4, 8, 8, 4), dtype=np.uint8), "shape"),
        (np.zeros((0, 8, 8, 3), dtype=np.uint8), "shape"),
        (np.zeros((4, 7, 8, 3), dtype=np.uint8), "even"),
        (np.zeros((4, 8, 9, 3), dtype=np.uint8), "even"),
    ],
)
def test_bad_frames_raise(tmp_path, frames, message):
    with pytest.raises(ValueError, match=message):
        write_video(tmp_path / "bad.mp4", frames, fps=8)
    assert list(tmp_path.iterdir()) == []


def test_non_array_and_bad_fps_raise(tmp_path):
    with pytest.raises(TypeError, match="numpy array"):
        write_video(tmp_path / "bad.mp4", [[[[0, 0, 0]]]], fps=8)
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "bad.mp4", np.zeros((2, 8, 8, 3), dtype=np.uint8), fps=0)
