"""ctm.pipeline.plan_figures: each measured figure is the one in the file it cites."""

import csv
import json
import statistics
from pathlib import Path

import pytest

from ctm.pipeline import plan_figures as fig

REPO = Path(__file__).resolve().parents[2]


def bench_rows(source: str) -> list[dict]:
    """The bench rows of a cited jsonl (`<path> (<note>)`)."""
    path = REPO / source.split(" (")[0]
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if "clips_per_s" in r]


def measured(source: str, mode: str, network: str, compiled: bool, folded: bool = False) -> float:
    [row] = [r for r in bench_rows(source) if r["mode"] == mode and r["experiment"].endswith(network)
             and r["compile"] == compiled and bool(r.get("fold_bn")) == folded]
    return row["clips_per_s"]


@pytest.mark.parametrize("key", sorted(fig.H100_TRAIN))
def test_training_rates_are_the_cited_measurements(key):
    rate, net = fig.H100_TRAIN[key], key[0].replace("resnet", "_r")
    compiled = key[1]
    assert rate.tsn == pytest.approx(measured(rate.source, "train", f"{net}_tsn", compiled), abs=0.5)
    assert rate.ctm3 == pytest.approx(measured(rate.source, "train", f"{net}_ctm_res4x3", compiled), abs=0.5)


@pytest.mark.parametrize("key", sorted(fig.H100_EVAL))
def test_test_rates_are_the_cited_measurements(key):
    rate, net = fig.H100_EVAL[key], key[0].replace("resnet", "_r")
    compiled, folded = key[1] != "eager", key[1] == "folded"
    assert rate.tsn == pytest.approx(measured(rate.source, "eval", f"{net}_tsn", compiled, folded), abs=0.5)
    assert rate.ctm3 == pytest.approx(measured(rate.source, "eval", f"{net}_ctm_res4x3", compiled, folded), abs=0.5)


def test_cpu_training_rates_are_the_embedded_runs_means():
    training = json.loads((REPO / fig.PROVENANCE).read_text())["training"]
    for backbone, rate in fig.CPU_TRAIN.items():
        short = {"resnet50": "_r50_", "resnet101": "_r101_"}[backbone]
        runs = [t["clips_per_s"] for t in training if short in t["experiment"]]
        assert rate == pytest.approx(statistics.mean(runs), abs=0.01)


def test_start_up_is_the_rehearsals_longest_job():
    with open(REPO / fig.REHEARSAL_JOBS) as f:
        rows = list(csv.DictReader(f))
    for step, seconds in fig.STARTUP_S.items():
        assert seconds == pytest.approx(max(float(r["seconds"]) for r in rows if r["rule"] == step), abs=0.5)


def test_synthetic_store_bytes_are_the_measured_stores():
    decode = json.loads((REPO / fig.SYNTHETIC_STORE_SOURCE).read_text())
    assert decode["format"]["short_side"] == 256
    pixels = decode["bytes_per_frame"] / fig.SYNTHETIC_STORE_BYTES_PER_PIXEL
    assert pixels == pytest.approx(352 * 256)  # gpu_synthetic's frames: 352x256


def test_decoded_store_figures_are_the_documented_ones():
    text = (REPO / fig.DECODED_STORE).read_text()
    assert f"{fig.STORE_BYTES_PER_FRAME:,}".replace(",", " ") in text
    assert f"{fig.DECODE_FRAMES_PER_CORE_S:.0f} frames/s in\none process" in text
