"""YouTube as a paced fallback: refusals (HTTP 429, the rate-limit and bot-check messages) end `rate_limited` or
`blocked` and are retried by the next run, the fetch stops after K consecutive refusals with its manifest written,
requests are spaced on a fake clock, and a source shared by two datasets is downloaded once.

Real yt-dlp downloads from the local server of youtube_server.py (fixture `server`). That server cannot speak
YouTube's player API, so YouTube's exact messages travel in an HTTP reason phrase: they still pass through
yt-dlp's error chain."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from youtube_server import (
    BOT_CHECK,
    DASH_ID,
    MISSING_ID,
    PLAIN_ID,
    RATE_LIMITED,
    check_clip,
    clip_rows,
    write_source,
)

from ctm.acquire.pacing import FetchGate, RequestPacer, pacer_for
from ctm.acquire.youtube import (
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    ClipFetchError,
    FetchOptions,
    fetch_clips,
    read_manifest,
)

BOT_ID, LIMIT_ID = "botcheck001", "ratelimit01"


class FakeClock:
    """Seconds that move only when `sleep` is called (or never, with frozen=True); records every sleep."""

    def __init__(self, frozen: bool = False):
        self.t, self.frozen, self.sleeps, self.lock = 0.0, frozen, [], threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            if not self.frozen:
                self.t += seconds


def options(**kw) -> FetchOptions:
    return FetchOptions(**{"retries": 2, "backoff_s": 0.01, "per_hour": 0, **kw})


def test_refusals_end_rate_limited_or_blocked_are_not_retried_in_the_run_and_the_next_run_retries_them(
        server, sources, tmp_path):
    root = tmp_path / "k600"
    rows = clip_rows([(PLAIN_ID, 0, 2), (LIMIT_ID, 0, 2), (BOT_ID, 0, 2), (MISSING_ID, 0, 2)])
    server.refuse = {f"/{PLAIN_ID}.mp4": (429, "Too Many Requests"),
                     f"/{LIMIT_ID}.mp4": (403, RATE_LIMITED),  # begins "Video unavailable": must not end unavailable
                     f"/{BOT_ID}.mp4": (403, BOT_CHECK.replace("\u2019", "'"))}  # a reason phrase is Latin-1
    manifest = fetch_clips(rows, root, server.template, workers=2, progress=False, options=options())
    assert manifest["status"].tolist() == ["rate_limited", "rate_limited", "blocked", "unavailable"]
    assert "HTTP Error 429" in manifest["reason"][0] and "rate-limited by YouTube" in manifest["reason"][1]
    assert manifest["attempts"].tolist() == [1, 1, 1, 1]  # retries=2, yet a refusal is not asked again at once
    assert all(server.requests[path] == 1 for path in server.refuse)

    # YouTube lets us in again: --skip-unavailable still retries the refused rows, and only them.
    server.refuse, server.requests = {}, Counter()
    for youtube_id in (LIMIT_ID, BOT_ID):
        write_source(sources, youtube_id)
    manifest = fetch_clips(rows, root, server.template, workers=2, progress=False, options=options(),
                           retry_unavailable=False)
    assert manifest["status"].tolist() == ["ok", "ok", "ok", "unavailable"]
    assert manifest["attempts"].tolist() == [2, 2, 2, 1]
    assert {p.strip("/") for p in server.requests} == {f"{i}.mp4" for i in (PLAIN_ID, LIMIT_ID, BOT_ID)}
    check_clip(root / rows["video"][1], first=0, last=15)


def test_skip_unavailable_still_retries_rate_limits_that_older_versions_recorded_as_unavailable(sources, tmp_path):
    rows = clip_rows([(PLAIN_ID, 0, 2), (DASH_ID, 0, 2)])
    old = rows.assign(status="unavailable", reason=[f"[youtube] {PLAIN_ID}: {RATE_LIMITED}",
                                                    f"[youtube] {DASH_ID}: Video unavailable. This video is private"],
                      attempts=1, bytes=0)
    old[MANIFEST_COLUMNS].to_csv(tmp_path / MANIFEST_NAME, index=False)
    manifest = fetch_clips(rows, tmp_path, sources.as_uri() + "/{youtube_id}.mp4", progress=False,
                           retry_unavailable=False)
    assert manifest[["status", "attempts"]].values.tolist() == [["ok", 2], ["unavailable", 1]]


def test_fetch_stops_after_consecutive_refusals_and_writes_the_manifest_first(server, sources, tmp_path):
    root = tmp_path / "k600"
    fetch_clips(clip_rows([(PLAIN_ID, 0, 2)]), root, server.template, progress=False, options=options())
    refused = [f"ratelimit{i:02d}" for i in range(6)]
    server.refuse = {f"/{i}.mp4": (429, "Too Many Requests") for i in refused}
    rows = clip_rows([(PLAIN_ID, 0, 2)] + [(i, 0, 2) for i in refused])
    with pytest.raises(ClipFetchError) as caught:
        fetch_clips(rows, root, server.template, workers=1, progress=False, options=options(stop_after_blocks=3))
    message = str(caught.value)
    assert message.startswith("stopped after 3 consecutive blocked or rate-limited answers (--stop-after-blocks 3); "
                              "the last: '[generic] ratelimit02: Unable to download webpage: HTTP Error 429")
    assert "3 rows were left untried" in message and str(root / MANIFEST_NAME) in message
    assert "Wait an hour" in message and "--per-hour" in message and "\n" not in message
    assert sorted(server.requests) == [f"/{PLAIN_ID}.mp4", *(f"/{i}.mp4" for i in refused[:3])]  # PLAIN: 1st run
    on_disk = read_manifest(root / MANIFEST_NAME)
    assert on_disk[["youtube_id", "status"]].values.tolist() == [
        [PLAIN_ID, "ok"], *([i, "rate_limited"] for i in refused[:3])]  # earlier rows kept, untried rows absent

    server.refuse = {}
    for youtube_id in refused:
        write_source(sources, youtube_id)
    manifest = fetch_clips(rows, root, server.template, workers=2, progress=False, options=options())
    assert manifest["status"].tolist() == ["ok"] * 7
    assert manifest["attempts"].tolist() == [1, 2, 2, 2, 1, 1, 1]


def test_gate_counts_only_consecutive_refusals_and_stops_waiting_requests():
    gate = FetchGate(RequestPacer(0), stop_after=3)
    for status in ["blocked", "rate_limited", "ok", "blocked", "failed", "rate_limited", "unavailable", "blocked"]:
        gate.answered(status, "why")
    assert (gate.tripped, gate.streak) == (False, 1)
    gate.answered("rate_limited", "second")
    gate.answered("blocked", "third")
    assert (gate.tripped, gate.last_status, gate.last_reason) == (True, "blocked", "third")
    assert gate.before_request() is False

    never = FetchGate(RequestPacer(0), stop_after=0)
    for _ in range(100):
        never.answered("rate_limited")
    assert not never.tripped and never.before_request()

    pacer = RequestPacer(1)  # real clock: the second request would wait an hour
    assert pacer.wait() is not None
    results = []
    waiter = threading.Thread(target=lambda: results.append(pacer.wait()))
    waiter.start()
    pacer.stop()
    waiter.join(timeout=10)
    assert not waiter.is_alive() and results == [None]


def test_pacer_gives_threads_slots_an_interval_apart():
    clock = FakeClock(frozen=True)  # every caller arrives at t=0: the k-th must wait k intervals
    pacer = RequestPacer(4, clock=clock.now, sleep=clock.sleep)
    slots = []
    threads = [threading.Thread(target=lambda: slots.append(pacer.wait())) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slots) == [900.0 * k for k in range(12)]
    assert sorted(clock.sleeps) == [900.0 * k for k in range(1, 12)]

    clock.t = 1e6  # after a long pause no slot is owed: the next request starts at once
    assert pacer.wait() == 1e6
    with pytest.raises(ValueError, match="per_hour=-1"):
        RequestPacer(-1)


def test_fetch_paces_every_download_and_retry_on_a_fake_clock(server, tmp_path):
    clock = FakeClock()
    server.clock = clock.now
    server.fail_first[f"/{DASH_ID}.mp4"] = 1
    rows = clip_rows([(PLAIN_ID, 0, 2), (DASH_ID, 0, 2)])
    pacer = RequestPacer(720, clock=clock.now, sleep=clock.sleep)  # one download start every 5 s
    manifest = fetch_clips(rows, tmp_path, server.template, workers=1, progress=False, pacer=pacer,
                           options=options(retries=1))
    assert manifest["status"].tolist() == ["ok", "ok"]
    starts = sorted({(t, path.strip("/")) for path, t, _ in server.log})
    assert starts == [(0.0, f"{PLAIN_ID}.mp4"), (5.0, f"{DASH_ID}.mp4"), (10.0, f"{DASH_ID}.mp4")]

    assert pacer_for("https://www.youtube.com/watch?v={youtube_id}", 250).interval == pytest.approx(14.4)
    assert pacer_for("http://mirror/{youtube_id}.mp4", 0).interval == 0
    assert pacer_for("file:///videos/{youtube_id}.mp4", 250).interval == 0
    with pytest.raises(ClipFetchError, match=r"FetchOptions.per_hour=-5: need a whole number"):
        FetchOptions(per_hour=-5)


def test_source_cache_downloads_an_id_listed_by_two_datasets_once(server, tmp_path):
    cache = tmp_path / "sources"
    mini, k600 = tmp_path / "mini", tmp_path / "k600"
    mini_rows = clip_rows([(PLAIN_ID, 0, 2), (PLAIN_ID, 1, 3)])  # two windows of one video in one run
    k600_rows = clip_rows([(PLAIN_ID, 2, 4), (DASH_ID, 0, 2)])
    opts = options(source_cache=str(cache))
    manifest = fetch_clips(mini_rows, mini, server.template, workers=2, progress=False, options=opts)
    assert manifest["status"].tolist() == ["ok", "ok"] and manifest["attempts"].sum() == 1
    plain_requests = server.requests[f"/{PLAIN_ID}.mp4"]

    manifest = fetch_clips(k600_rows, k600, server.template, workers=2, progress=False, options=opts)
    assert manifest[["status", "attempts"]].values.tolist() == [["ok", 0], ["ok", 1]]
    assert server.requests[f"/{PLAIN_ID}.mp4"] == plain_requests == server.requests[f"/{DASH_ID}.mp4"]
    check_clip(mini / mini_rows["video"][1], first=8, last=23)
    check_clip(k600 / k600_rows["video"][0], first=16, last=31)
    assert sorted(p.name for p in cache.iterdir()) == [f"{DASH_ID}.mp4", f"{PLAIN_ID}.mp4"]  # no scratch left

    (tmp_path / "a_file").write_text("")
    with pytest.raises(ClipFetchError, match=r"source cache .*a_file is a file: pass a folder"):
        fetch_clips(k600_rows, tmp_path / "other", server.template, progress=False,
                    options=options(source_cache=str(tmp_path / "a_file")))


def mini_root(tmp_path: Path, ids: list[str]) -> Path:
    root = tmp_path / "mini_kinetics_200"
    root.mkdir()
    header = "label,youtube_id,time_start,time_end,split,is_cc\n"
    (root / "train.csv").write_text(header + "".join(f'"air drumming",{i},0,2,train,0\n' for i in ids))
    (root / "validate.csv").write_text(header + f'"abseiling",{DASH_ID},0,2,val,0\n')
    (root / "train_ytid_list.txt").write_text("".join(f"{i}\n" for i in ids))
    (root / "val_ytid_list.txt").write_text(f"{DASH_ID}\n")
    return root


def test_cli_passes_cookies_js_runtime_pace_and_cache_to_yt_dlp(server, tmp_path, capsys, monkeypatch):
    import ctm.acquire.youtube_source as youtube_source
    from ctm.cli import main

    seen = []
    real_params = youtube_source.ydl_params
    monkeypatch.setattr(youtube_source, "ydl_params", lambda *a: seen.append(real_params(*a)) or seen[-1])
    cookies = tmp_path / "cookies.txt"
    jar = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\tsecret42\n"
    cookies.write_text(jar)
    root = mini_root(tmp_path, [PLAIN_ID])
    argv = ["fetch-clips", "--dataset", "mini_kinetics_200", "--root", str(root), "--no-progress", "--workers", "1",
            "--url-template", server.template, "--cookies", str(cookies), "--js-runtime", "node", "--per-hour", "0",
            "--stop-after-blocks", "5", "--source-cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == {"ok": 2}
    assert {cookie for _, _, cookie in server.log} == {"SID=secret42"}  # every request carried the cookie
    assert cookies.read_text() == jar  # read, never rewritten
    assert seen and all(p["cookiefile"] == str(cookies) and p["js_runtimes"] == {"node": {}} for p in seen)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [f"{DASH_ID}.mp4", f"{PLAIN_ID}.mp4"]


@pytest.mark.parametrize(("extra", "error"), [
    (["--cookies", "{tmp}/absent.txt"], r"cookies file {tmp}/absent.txt cannot be used \(.*No such file.*\): export"),
    (["--cookies", "{tmp}/bad.txt"], r"cookies file {tmp}/bad.txt cannot be used \(.*Netscape format.*\): export"),
    (["--cookies", "{tmp}/empty.txt"], r"cookies file {tmp}/empty.txt cannot be used \(no cookie in it; skipping .*"
                                       r"invalid length 1.*\): export"),
    (["--js-runtime", "nodejs"], "JavaScript runtime 'nodejs' is not one yt-dlp knows .*node.*: pick one"),
    (["--js-runtime", "node:{tmp}/no-node"], "JavaScript runtime node: {tmp}/no-node is not a file"),
])
def test_cli_refuses_a_cookie_file_or_runtime_that_yt_dlp_would_ignore(server, tmp_path, capsys, extra, error):
    from ctm.cli import main

    (tmp_path / "bad.txt").write_text('[{"name": "SID", "value": "json is not Netscape"}]\n')
    (tmp_path / "empty.txt").write_text("# Netscape HTTP Cookie File\nnot a cookie line\n")
    root = mini_root(tmp_path, [PLAIN_ID])
    argv = ["fetch-clips", "--dataset", "mini_kinetics_200", "--root", str(root), "--no-progress",
            "--url-template", server.template, *(a.format(tmp=tmp_path) for a in extra)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(error.format(tmp=tmp_path), err), err
    assert not server.requests and not (root / MANIFEST_NAME).exists()


def test_cli_stop_is_one_line_naming_the_manifest(server, sources, tmp_path, capsys):
    from ctm.cli import main

    ids = [f"ratelimit{i:02d}" for i in range(4)]
    server.refuse = {f"/{i}.mp4": (403, BOT_CHECK.replace("\u2019", "'")) for i in ids}
    root = mini_root(tmp_path, ids)
    argv = ["fetch-clips", "--dataset", "mini_kinetics_200", "--root", str(root), "--no-progress", "--workers", "1",
            "--url-template", server.template, "--per-hour", "0", "--stop-after-blocks", "2", "--subsets", "train"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stopped after 2 consecutive" in err and str(root / MANIFEST_NAME) in err
    assert "Pass --cookies FILE" in err and "2 rows were left untried" in err
    assert read_manifest(root / MANIFEST_NAME)["status"].tolist() == ["blocked", "blocked"]
