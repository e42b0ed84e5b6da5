import zlib

import numpy as np
import pandas as pd
import pytest

from ctm.data.decode import container_truncation, decode_dataset, decode_videos, resize_short_side
from ctm.data.store import MANIFEST, StoreError, StoreFormat, open_store, read_manifest
from ctm.data.video_io import read_video, write_video
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

FMT = StoreFormat("jpeg", short_side=48, quality=90)


def clip(t, h=64, w=96, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([np.stack([(xx * 2 + 5 * i) % 256, (yy * 3) % 256, (xx + yy + i) % 256], -1)
                     + rng.integers(0, 8, (h, w, 3)) for i in range(t)]).clip(0, 255).astype(np.uint8)


@pytest.fixture
def videos(tmp_path):
    """A good, a short, a zero-byte, a truncated (cut in the middle), a garbage and a missing video."""
    root = tmp_path / "root"
    write_video(root / "good.mp4", clip(40), 25)
    write_video(root / "short.mp4", clip(20, seed=1), 25)
    (root / "empty.mp4").write_bytes(b"")
    write_video(root / "whole.mp4", clip(40, seed=2), 25)
    data = (root / "whole.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(data[: len(data) // 2])
    (root / "garbage.mp4").write_bytes(np.random.default_rng(3).bytes(3000))
    return root, ["good.mp4", "short.mp4", "empty.mp4", "cut.mp4", "garbage.mp4", "gone.mp4"]


def test_manifest_statuses(videos, tmp_path):
    root, names = videos
    out = tmp_path / "store"
    summary = decode_videos(root, names, out, FMT, progress=False)
    assert summary["status"] == {"ok": 2, "empty": 1, "truncated": 1, "undecodable": 1, "missing": 1}
    assert summary["short_videos"] == 2 and summary["frames"] == 60
    m = read_manifest(out).set_index("video")
    assert m.loc["gone.mp4", "reason"].endswith("gone.mp4: no such file")
    assert m.loc["empty.mp4", "reason"].endswith("zero bytes")
    assert "mp4 box 'mdat'" in m.loc["cut.mp4", "reason"]
    assert "cannot open" in m.loc["garbage.mp4", "reason"]
    good = m.loc["good.mp4"]
    assert (good.num_frames, good.declared_frames, good.fps, good.height, good.width) == (40, 40, 25.0, 48, 72)
    assert (good.source_height, good.source_width, good.reason) == (64, 96, "")
    assert m.loc["short.mp4", "num_frames"] == 20  # shorter than the 64-frame window: kept, sampling wraps
    store = open_store(out)
    assert store.videos() == ["good.mp4", "short.mp4"] and store.status("cut.mp4") == "truncated"
    expected = resize_short_side(read_video(root / "good.mp4"), 48)
    got = store.read("good.mp4", np.arange(40))
    assert got.shape == (40, 48, 72, 3) and np.abs(got.astype(int) - expected).mean() < 2.0
    assert not list(out.rglob("*.tmp"))


def test_container_truncation(videos):
    root, _ = videos
    assert container_truncation(root / "whole.mp4") is None
    assert "needs" in container_truncation(root / "cut.mp4")
    data = (root / "whole.mp4").read_bytes()
    moov = data.index(b"moov") - 4
    (root / "no_index.mp4").write_bytes(data[:moov])  # cut exactly before the index box
    assert "no 'moov' box" in container_truncation(root / "no_index.mp4")
    riff = b"RIFF" + (10_000).to_bytes(4, "little") + b"AVI LIST"
    (root / "cut.avi").write_bytes(riff + bytes(100))
    assert "RIFF header says 10008 bytes" in container_truncation(root / "cut.avi")
    assert container_truncation(root / "garbage.mp4") is None


def zero_mdat_tail(path, fraction):
    """Overwrite the mdat payload from `fraction` on with zeros: a complete container with corrupt frame data."""
    data = bytearray(path.read_bytes())
    start = data.index(b"mdat") + 4
    end = start - 8 + int.from_bytes(data[start - 8 : start - 4], "big")
    cut = start + int((end - start) * fraction)
    data[cut:end] = bytes(end - cut)
    path.write_bytes(bytes(data))


def test_partly_corrupt_video_keeps_what_decodes_if_at_least_half(videos, tmp_path):
    root, _ = videos
    for name, fraction in (("mostly.mp4", 0.8), ("barely.mp4", 0.2)):
        write_video(root / name, clip(40, seed=5), 25)
        zero_mdat_tail(root / name, fraction)
    summary = decode_videos(root, ["mostly.mp4", "barely.mp4"], tmp_path / "store", FMT, progress=False)
    assert summary["status"] == {"ok": 1, "undecodable": 1}, read_manifest(tmp_path / "store").reason.tolist()
    m = read_manifest(tmp_path / "store").set_index("video")
    kept = m.loc["mostly.mp4"]
    assert 20 <= kept.num_frames < 40 and kept.declared_frames == 40
    assert kept.reason.startswith(f"the container declares 40 frames, {kept.num_frames} decode (frame ")
    assert "of 40 frames decode" in m.loc["barely.mp4", "reason"]
    assert open_store(tmp_path / "store").read("mostly.mp4", np.array([kept.num_frames - 1])).shape == (1, 48, 72, 3)


def test_resume_skips_done_and_redoes_broken_entries(videos, tmp_path):
    root, names = videos
    out = tmp_path / "store"
    decode_videos(root, names, out, FMT, progress=False)
    entry = out / FMT.entry_path("good.mp4")
    original = entry.read_bytes()
    again = decode_videos(root, names, out, FMT, progress=False)
    assert again["decoded"] == 0 and again["skipped"] == 6
    # A "killed" run: a half-written entry in place, its temporary file left behind, a video that appeared since.
    entry.write_bytes(original[: len(original) // 2])
    stale = entry.with_name(f".{entry.name}.1234.abcd.tmp")
    stale.write_bytes(b"partial")
    write_video(root / "gone.mp4", clip(16, seed=4), 25)
    third = decode_videos(root, names, out, FMT, progress=False)
    assert third["decoded"] == 2 and third["status"]["ok"] == 3 and "missing" not in third["status"]
    assert entry.read_bytes() == original and not stale.exists()
    with pytest.raises(StoreError, match="another folder"):
        decode_videos(root, names, out, StoreFormat("raw", short_side=48), progress=False)


def test_decode_dataset_in_parallel(tmp_path):
    root = tmp_path / "mk"
    write_mini_kinetics_200(root, train_per_class=1, val_per_class=1, num_frames=24, height=48, width=64, seed=5,
                            missing_fraction=0.5, progress=False, pairs=("ball",))
    out = tmp_path / "store"
    summary = decode_dataset("mini_kinetics_200", root, out, short_side=32, workers=2, progress=False)
    assert summary["videos"] == 4 and summary["decoded"] == 4
    assert summary["status"] == {"ok": 2, "missing": 2}
    manifest = pd.read_csv(out / MANIFEST)
    assert manifest["video"].str.startswith("videos/").all()
    assert set(manifest.loc[manifest["status"] == "ok", "width"]) == {43}  # 64 * 32 / 48, rounded


def test_decode_command_names_the_datasets_it_knows_instead_of_a_traceback(tmp_path, capsys):
    from ctm.cli import main
    from ctm.data.annotations import READERS
    from ctm.vocabulary import DATASETS

    assert set(DATASETS) == set(READERS)
    with pytest.raises(SystemExit) as exit_:
        main(["decode", "--dataset", "ucf", "--root", str(tmp_path), "--out", str(tmp_path / "store")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'ucf'" in err and "ucf101" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


def test_rerun_repairs_an_entry_damaged_in_place(videos, tmp_path):
    root, names = videos
    out = tmp_path / "store"
    decode_videos(root, names, out, FMT, progress=False)
    entry = out / FMT.entry_path("good.mp4")
    original = entry.read_bytes()
    assert read_manifest(out).set_index("video").loc["good.mp4", "crc32"] == f"{zlib.crc32(original):08x}"
    damaged = bytearray(original)
    damaged[len(damaged) // 2 : len(damaged) // 2 + 16] = bytes(16)  # same size: only a checksum sees it
    entry.write_bytes(bytes(damaged))
    again = decode_videos(root, names, out, FMT, progress=False)
    assert again["decoded"] == 1 and again["skipped"] == 5 and entry.read_bytes() == original


def test_manifest_without_checksums_is_decoded_again(videos, tmp_path):
    root, names = videos
    out = tmp_path / "store"
    decode_videos(root, names, out, FMT, progress=False)
    old = pd.read_csv(out / MANIFEST, keep_default_na=False).drop(columns="crc32")  # as an older version wrote it
    old.to_csv(out / MANIFEST, index=False)
    again = decode_videos(root, names, out, FMT, progress=False)
    assert again["decoded"] == 2 and again["status"]["ok"] == 2  # the two ok rows; failure rows stand
    assert read_manifest(out)["crc32"].str.fullmatch("[0-9a-f]{8}|").all()
