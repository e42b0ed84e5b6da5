"""fetch_clips end to end: real yt-dlp downloads from a local HTTP server and file:// URLs (youtube_server.py),
real PyAV trims, clips decoded with decord; and classify_error on yt-dlp's exact YouTube messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from youtube_server import BOT_CHECK, DASH_ID, MISSING_ID, PLAIN_ID, RATE_LIMITED, check_clip, clip_rows, write_source

from ctm.acquire.trim import _output_size
from ctm.acquire.youtube import (
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    ClipFetchError,
    FetchOptions,
    fetch_clips,
    read_manifest,
)
from ctm.acquire.youtube_source import classify_error

UNPACED = FetchOptions(retries=0, per_hour=0)  # the local server needs no pacing


def test_http_fetch_trims_windows_records_missing_and_rerun_retries_only_failures(server, sources, tmp_path):
    root = tmp_path / "k600"
    rows = clip_rows([(DASH_ID, 1, 3), (PLAIN_ID, 0, 2), (MISSING_ID, 0, 2)])
    manifest = fetch_clips(rows, root, server.template, workers=2, progress=False, options=UNPACED)

    assert manifest.columns.tolist() == MANIFEST_COLUMNS
    assert manifest["status"].tolist() == ["ok", "ok", "unavailable"]
    assert "404" in manifest["reason"][2]
    check_clip(root / rows["video"][0], first=8, last=23)  # [1, 3) s at 8 fps: frames 8..23
    check_clip(root / rows["video"][1], first=0, last=15)
    assert manifest["bytes"][0] == (root / rows["video"][0]).stat().st_size
    assert not (root / rows["video"][2]).exists()
    on_disk = pd.read_csv(root / MANIFEST_NAME, dtype={"youtube_id": str}, keep_default_na=False)
    assert on_disk.columns.tolist() == MANIFEST_COLUMNS
    assert set(on_disk["youtube_id"]) == {DASH_ID, PLAIN_ID, MISSING_ID}
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted(
        [MANIFEST_NAME, *(Path(v).name for v in rows["video"][:2])])  # no temporary files left

    # The missing video appears; a rerun asks the server for it alone and leaves finished clips alone.
    write_source(sources, MISSING_ID)
    server.requests.clear()
    mtime = (root / rows["video"][0]).stat().st_mtime_ns
    manifest = fetch_clips(rows, root, server.template, workers=2, progress=False, options=UNPACED)
    assert {path.strip("/") for path in server.requests} == {f"{MISSING_ID}.mp4"}
    assert manifest["status"].tolist() == ["ok", "ok", "ok"]
    assert manifest["attempts"].tolist() == [1, 1, 2]
    assert (root / rows["video"][0]).stat().st_mtime_ns == mtime
    check_clip(root / rows["video"][2], first=0, last=15)


def test_transient_errors_are_retried_with_backoff(server, tmp_path):
    rows = clip_rows([(PLAIN_ID, 2, 4)])
    server.fail_first[f"/{PLAIN_ID}.mp4"] = 1
    manifest = fetch_clips(rows, tmp_path / "a", server.template, progress=False,
                           options=FetchOptions(retries=1, backoff_s=0.01, per_hour=0))
    assert manifest[["status", "attempts"]].values.tolist() == [["ok", 2]]
    check_clip(tmp_path / "a" / rows["video"][0], first=16, last=31)

    server.fail_first[f"/{PLAIN_ID}.mp4"] = 5
    manifest = fetch_clips(rows, tmp_path / "b", server.template, progress=False,
                           options=FetchOptions(retries=1, backoff_s=0.01, per_hour=0))
    assert manifest[["status", "attempts"]].values.tolist() == [["failed", 2]]
    assert "503" in manifest["reason"][0]


def test_file_urls_window_past_the_end_and_existing_clips(sources, tmp_path):
    root = tmp_path / "mini"
    rows = clip_rows([(DASH_ID, 0, 4), (MISSING_ID, 0, 2), (PLAIN_ID, 10, 20), (PLAIN_ID, 3, 13)])
    present = root / "videos" / "present.mp4"
    write_source(present.parent, "present")
    rows.loc[len(rows)] = ["not-fetched", 0, 1, "videos/present.mp4"]
    template = sources.as_uri() + "/{youtube_id}.mp4"
    manifest = fetch_clips(rows, root, template, workers=3, progress=False)

    assert manifest["status"].tolist() == ["ok", "unavailable", "trim_failed", "ok", "ok"]
    assert "No such file" in manifest["reason"][1]
    assert manifest["reason"][2] == "no frame in [10, 20) s: the video lasts 4.00 s"
    assert manifest["reason"][3] == "window truncated: 1.00 of 10 s"
    assert manifest["reason"][4] == "present before fetch"
    check_clip(root / rows["video"][0], first=0, last=31)
    check_clip(root / rows["video"][3], first=24, last=31)


def test_bad_template_is_a_user_error(tmp_path):
    with pytest.raises(ClipFetchError, match="youtube_id"):
        fetch_clips(clip_rows([(PLAIN_ID, 0, 1)]), tmp_path, "https://www.youtube.com/watch?v={id}")


def test_output_size_is_even():
    assert _output_size(853, 480, None) == (852, 480)
    assert _output_size(640, 360, 256) == (454, 256)


def test_cli_fetches_mini_kinetics_clips(sources, tmp_path, capsys):
    from ctm.cli import main

    root = tmp_path / "mini_kinetics_200"
    root.mkdir()
    header = "label,youtube_id,time_start,time_end,split,is_cc\n"
    (root / "train.csv").write_text(header + f'"air drumming",{PLAIN_ID},0,2,train,0\n')
    val = f'"abseiling",{DASH_ID},1,3,val,0\n"abseiling",{MISSING_ID},0,2,val,0\n'
    (root / "validate.csv").write_text(header + val)
    (root / "train_ytid_list.txt").write_text(f"{PLAIN_ID}\n")
    (root / "val_ytid_list.txt").write_text(f"{DASH_ID}\n{MISSING_ID}\n")
    argv = ["fetch-clips", "--dataset", "mini_kinetics_200", "--root", str(root), "--no-progress",
            "--url-template", sources.as_uri() + "/{youtube_id}.mp4", "--workers", "2"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == {"ok": 2, "unavailable": 1}
    assert result["status_by_subset"] == {"train": {"ok": 1}, "val": {"ok": 1, "unavailable": 1}}
    check_clip(root / f"videos/{DASH_ID}_000001_000003.mp4", first=8, last=23)


def test_cli_stops_when_a_subset_has_no_clip_and_keeps_what_it_fetched(sources, tmp_path, capsys):
    from ctm.cli import main

    root = tmp_path / "mini_kinetics_200"
    root.mkdir()
    header = "label,youtube_id,time_start,time_end,split,is_cc\n"
    (root / "train.csv").write_text(header + f'"air drumming",{PLAIN_ID},0,2,train,0\n')
    (root / "validate.csv").write_text(header + f'"abseiling",{MISSING_ID},0,2,val,0\n')
    (root / "train_ytid_list.txt").write_text(f"{PLAIN_ID}\n")
    (root / "val_ytid_list.txt").write_text(f"{MISSING_ID}\n")
    argv = ["fetch-clips", "--dataset", "mini_kinetics_200", "--root", str(root), "--no-progress",
            "--url-template", sources.as_uri() + "/{youtube_id}.mp4"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "none of the 1 val clips of mini_kinetics_200 was fetched; 1 ended 'unavailable: " in err
    assert str(root / MANIFEST_NAME) in err and "Traceback" not in err
    assert read_manifest(root / MANIFEST_NAME)["status"].tolist() == ["ok", "unavailable"]
    check_clip(root / f"videos/{PLAIN_ID}_000000_000002.mp4", first=0, last=15)


def test_missing_yt_dlp_stops_before_the_first_clip(sources, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # `import yt_dlp` now raises ImportError
    with pytest.raises(ClipFetchError, match=r"yt-dlp cannot be imported .*pip install yt-dlp"):
        fetch_clips(clip_rows([(PLAIN_ID, 0, 2)]), tmp_path, sources.as_uri() + "/{youtube_id}.mp4", progress=False)
    assert not (tmp_path / MANIFEST_NAME).exists() and not (tmp_path / "videos").exists()


@pytest.mark.parametrize(("message", "status"), [
    ("Video unavailable. This video has been removed by the uploader", "unavailable"),
    ("Video unavailable", "unavailable"),
    ("Private video. Sign in if you've been granted access to this video", "unavailable"),
    ("The uploader has not made this video available in your country", "unavailable"),
    ("Sign in to confirm your age. This video may be inappropriate for some users.", "unavailable"),
    (RATE_LIMITED, "rate_limited"),
    (RATE_LIMITED.replace("isn't", "isn\u2019t").split(". The current")[0], "rate_limited"),  # subreason alone
    ("Unable to download webpage: HTTP Error 429: Too Many Requests", "rate_limited"),
    (BOT_CHECK, "blocked"),
    (BOT_CHECK.replace("\u2019", "'"), "blocked"),
    ("Video unavailable. YouTube is requiring a captcha challenge before playback", "blocked"),
    ("Unable to download webpage: HTTP Error 503: Service Unavailable", "failed"),
])
def test_youtube_errors_are_classified(message, status):
    from yt_dlp.utils import DownloadError, ExtractorError

    cause = ExtractorError(f"[youtube] --nQbRBEz2s: {message}", expected=True)
    assert classify_error(DownloadError(f"ERROR: [youtube] --nQbRBEz2s: {message}", (None, cause, None))) == status
    assert classify_error(cause) == status


def test_the_phrases_classify_error_keys_on_are_still_in_yt_dlp():
    """A yt-dlp upgrade that rewords its YouTube messages would turn refusals back into `unavailable` rows."""
    import yt_dlp.extractor.youtube._video as video

    source = Path(video.__file__).read_text()
    assert "This content isn't available, try again later" in source
    assert "has been rate-limited by YouTube" in source
    assert "YouTube is requiring a captcha challenge" in source


def test_a_refusal_anywhere_in_the_error_chain_wins_over_unavailable():
    from yt_dlp.utils import DownloadError

    class TooMany(Exception):
        status = 429

    outer = DownloadError("ERROR: [youtube] --nQbRBEz2s: Video unavailable", (None, TooMany("no text"), None))
    assert classify_error(outer) == "rate_limited"
