"""One video must not stop a dataset (issue 27, item 4): a rotated phone video (display matrix), a video that decord
returns as 4-channel arrays, frames of absurd size, an unexpected failure inside one video. Each ends as that
video's manifest row (or a one-line VideoDecodeError when a raw video is read for `ctm predict`), rotated videos are
read upright, and frames too large for memory are refused before any is decoded.

decord 0.6 returns (H, W, 4) arrays for frames 16, 24, 48 or 72 pixels wide (rotated or not; it turns rotated
videos itself, so a 1080x1920 phone video comes out right): the JPEG store then failed with a traceback, at the same
video on every rerun. The portrait test frames are 72 pixels wide for that reason.

Test videos are written with PyAV. The rotation is a real display matrix: `VideoStream.set_display_rotation` (PyAV 18)
puts it in the stream's side data and FFmpeg's mp4 muxer writes it as the `tkhd` matrix, as phones do (90 degrees:
0, -1, 1, 0 in 16.16 fixed point). The 16000x16000 video is a 16x16 H.264 clip whose sequence parameter
set (in the mp4's `avcC` box), `avc1` sample entry and `tkhd` size are rewritten to 16000x16000 (`huge_h264`): its
frames really decode at that size (FFmpeg conceals the missing macroblocks), 768 MB of RGB each, which is what the
old code buffered, but the file takes 2 kB and no time to write; encoding a real one takes 10 s and 3 GB.
"""

import struct
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

import ctm.data.decode_one as decode_one
from ctm.config import EvalSpec, InputSpec
from ctm.data.decode import decode_videos
from ctm.data.store import StoreFormat, open_store, read_manifest
from ctm.data.video_clips import VideoClips, VideoDecodeError, read_frames
from ctm.data.video_io import MAX_PIXELS, probe_video, write_video

FMT = StoreFormat("jpeg", short_side=72)  # no resize of the 72-pixel short side: compare frames directly
SPEC = InputSpec(num_segments=4, frame_interval=2, resize_short=72, crop_size=48, hflip=False)
TEST = EvalSpec(num_clips=1, num_crops=1, averaging="softmax_mean", batch_views=4)


def portrait(t=8, h=96, w=72):
    """Upright portrait frames that no rotation or flip maps onto themselves: a smooth ramp, a bright block at the
    top left and a dark band at the bottom."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([60 + xx, 60 + yy, np.full_like(xx, 120)], -1)
    frames = np.repeat(base[None], t, 0).astype(np.uint8)
    frames[:, :24, :20] = 250
    frames[:, -12:] = 10
    return frames


def write_rotated(path: Path, upright_frames: np.ndarray, degrees: int) -> Path:
    """A video as a phone writes one: stored frames turned `degrees` clockwise and a display matrix that tells
    players to turn them `degrees` counter-clockwise, back upright."""
    stored = np.ascontiguousarray(np.rot90(upright_frames, -degrees // 90, axes=(1, 2)))
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = stored.shape[2], stored.shape[1], "yuv420p"
        stream.options = {"crf": "10", "x264-params": "threads=1"}
        stream.set_display_rotation(degrees)
        for i, image in enumerate(stored):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.abs(a.astype(int) - b).mean() < 4  # H.264 crf 10 and JPEG q90: about 2


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_video_is_decoded_upright_and_the_run_goes_on(tmp_path, degrees):
    up = portrait()
    write_rotated(tmp_path / "phone.mp4", up, degrees)
    write_video(tmp_path / "plain.mp4", up, 25, crf=10)
    summary = decode_videos(tmp_path, ["phone.mp4", "plain.mp4"], tmp_path / "store", FMT, progress=False)
    assert summary["status"] == {"ok": 2}
    row = read_manifest(tmp_path / "store").set_index("video").loc["phone.mp4"]
    assert (row.height, row.width, row.source_height, row.source_width, row.num_frames) == (96, 72, 96, 72, 8)
    assert f"rotates it {degrees} degrees" in row.reason
    got = open_store(tmp_path / "store").read("phone.mp4", np.arange(8))
    assert close(got, up) and not close(got, up[:, ::-1, ::-1])  # upright, not upside down


def test_video_that_decord_reads_with_4_channels_is_decoded_with_pyav(tmp_path):
    up = portrait()
    write_video(tmp_path / "plain.mp4", up, 25, crf=10)
    assert decode_videos(tmp_path, ["plain.mp4"], tmp_path / "store", FMT, progress=False)["status"] == {"ok": 1}
    row = read_manifest(tmp_path / "store").loc[0]
    assert (row.height, row.width, row.num_frames) == (96, 72, 8)
    assert row.reason == ("decord stopped at frame 0: decord returned a (96, 72, 4) array, not (96, 72, 3); "
                          "frames decoded with PyAV")
    assert close(open_store(tmp_path / "store").read("plain.mp4", np.arange(8)), up)
    assert close(read_frames(tmp_path / "plain.mp4", np.arange), up)  # and for `ctm predict`


def test_rotated_video_is_read_upright_for_predict(tmp_path):
    up = portrait()
    write_rotated(tmp_path / "phone.mp4", up, 90)
    assert probe_video(tmp_path / "phone.mp4")[:4] == (96, 72, 90, 8)
    assert close(read_frames(tmp_path / "phone.mp4", np.arange), up)
    views, _ = VideoClips(tmp_path, pd.DataFrame({"video": ["phone.mp4"], "label": [0]}), SPEC, "test", TEST,
                          uint8=True)[0]
    assert views.shape == (1, 4, 3, 48, 48)  # one centre crop of the upright 96x72 frames


# --- frames too large for memory ---------------------------------------------------------------------------------

def _ue(value: int) -> str:
    bits = f"{value + 1:b}"
    return "0" * (len(bits) - 1) + bits


def _resized_sps(nal: bytes, width: int, height: int) -> bytes:
    """A baseline-profile H.264 SPS NAL unit with its size fields (pic_width_in_mbs_minus1,
    pic_height_in_map_units_minus1, Exp-Golomb codes) rewritten."""
    bits = "".join(f"{b:08b}" for b in nal[1:].replace(b"\0\0\3", b"\0\0"))
    pos = 24  # after profile_idc, the constraint flags and level_idc

    def ue() -> int:
        nonlocal pos
        zeros = bits.index("1", pos) - pos
        value = int(bits[pos + zeros : pos + 2 * zeros + 1], 2) - 1
        pos += 2 * zeros + 1
        return value

    assert nal[1] == 66, "baseline profile expected"
    ue(), ue()                      # seq_parameter_set_id, log2_max_frame_num_minus4
    poc_type = ue()                 # pic_order_cnt_type
    assert poc_type in (0, 2)
    if poc_type == 0:
        ue()                        # log2_max_pic_order_cnt_lsb_minus4
    ue()                            # max_num_ref_frames
    pos += 1                        # gaps_in_frame_num_value_allowed_flag
    start = pos
    ue(), ue()
    rest = bits[pos:].rstrip("0")[:-1]  # up to the rbsp stop bit
    new = bits[:start] + _ue(width // 16 - 1) + _ue(height // 16 - 1) + rest + "1"
    new += "0" * (-len(new) % 8)
    rbsp, out, zeros = int(new, 2).to_bytes(len(new) // 8, "big"), bytearray(nal[:1]), 0
    for byte in rbsp:  # emulation prevention
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


_CONTAINERS = {b"moov": 8, b"trak": 8, b"mdia": 8, b"minf": 8, b"stbl": 8, b"stsd": 16, b"avc1": 86}


def _patched_boxes(data: bytes, start: int, end: int, width: int, height: int) -> bytes:
    out, pos = bytearray(), start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        box = bytearray(data[pos:pos + size])
        if kind in _CONTAINERS:
            head = box[:_CONTAINERS[kind]]
            if kind == b"avc1":
                head[32:36] = struct.pack(">HH", width, height)
            body = _patched_boxes(data, pos + len(head), pos + size, width, height)
            head[:4] = struct.pack(">I", len(head) + len(body))
            box = head + body
        elif kind == b"tkhd":
            box[-8:] = struct.pack(">II", width << 16, height << 16)
        elif kind == b"avcC":
            n = struct.unpack(">H", box[14:16])[0]
            sps = _resized_sps(bytes(box[16:16 + n]), width, height)
            body = box[8:14] + struct.pack(">H", len(sps)) + sps + box[16 + n:]
            box = struct.pack(">I", 8 + len(body)) + b"avcC" + body
        out += box
        pos += size
    return bytes(out)


def huge_h264(path: Path, width: int, height: int, frames: int = 3) -> Path:
    """An mp4 whose H.264 frames are `width` x `height` (multiples of 16), written as a 16x16 clip and resized in
    its headers (see the module docstring)."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 16
        stream.pix_fmt, stream.options = "yuv420p", {"profile": "baseline", "x264-params": "threads=1"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 100 + 40 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = path.read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")  # the index comes last: growing it moves no sample
    path.write_bytes(_patched_boxes(data, 0, len(data), width, height))
    return path


def test_huge_frames_are_refused_before_decoding_and_the_run_goes_on(tmp_path):
    huge_h264(tmp_path / "huge.mp4", 16000, 16000)
    small = huge_h264(tmp_path / "small.mp4", 96, 64)  # the same construction at a sane size decodes
    with av.open(str(small)) as container:
        assert next(container.decode(video=0)).to_ndarray(format="rgb24").shape == (64, 96, 3)
    summary = decode_videos(tmp_path, ["huge.mp4", "small.mp4"], tmp_path / "store", FMT, progress=False)
    assert summary["status"] == {"too_large": 1, "ok": 1}
    row = read_manifest(tmp_path / "store").set_index("video").loc["huge.mp4"]
    assert "16000x16000 (256000000 pixels)" in row.reason and str(MAX_PIXELS) in row.reason
    assert (row.source_height, row.source_width, row.num_frames, row.path) == (16000, 16000, 0, "")
    with pytest.raises(VideoDecodeError, match=r"huge.mp4: refused: its frames are 16000x16000"):
        read_frames(tmp_path / "huge.mp4", np.arange)


def test_any_failure_inside_one_video_is_its_row(tmp_path, monkeypatch):
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        write_video(tmp_path / name, portrait(), 25)
    real = decode_one.resize_short_side
    calls = []

    def failing(frames, short_side):
        calls.append(1)
        if len(calls) == 2:  # the second video
            raise MemoryError("cannot allocate 2.2 GiB")
        return real(frames, short_side)

    monkeypatch.setattr(decode_one, "resize_short_side", failing)
    summary = decode_videos(tmp_path, ["a.mp4", "b.mp4", "c.mp4"], tmp_path / "store", StoreFormat("raw", 32),
                            progress=False)  # a resize for every video
    assert summary["status"] == {"ok": 2, "undecodable": 1}
    reason = read_manifest(tmp_path / "store").set_index("video").loc["b.mp4", "reason"]
    assert reason == "reading it failed: MemoryError: cannot allocate 2.2 GiB"
