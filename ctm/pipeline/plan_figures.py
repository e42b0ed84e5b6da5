"""The figures `ctm plan` (ctm.pipeline.plan) computes a run's cost from, once, each with where it comes from.

Three kinds: download volumes of the real datasets (users' reports of the mirrors and the official hosts), sizes of
the decoded stores (docs/decoded_store.md) and measured throughput (benchmarks/results/, reports/). A figure that
changes is changed here; tests/pipeline/test_plan_figures.py checks the measured ones against the files they cite.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctm.vocabulary import HMDB51, KINETICS_600, MINI_KINETICS_200, UCF101

GB = 1e9


@dataclass(frozen=True)
class Download:
    """The archives of one real dataset: their volume and the share of the videos in them that the dataset uses."""

    files: str  # what is downloaded
    gb: float
    source: str
    kept: float = 1.0  # share of the archives' videos extracted into the dataset's clips (the rest is not kept)


DOWNLOADS: dict[str, Download] = {
    # Mini-Kinetics-200 lists 80k train + 5k val YouTube ids of Kinetics-400's ~300k videos: its clips come from
    # K400's train+val shards of the CVDF mirror, and the ids are spread over every shard, so all are downloaded
    MINI_KINETICS_200: Download("Kinetics-400 shards (CVDF mirror)", 440.0,
                                  "users' reports of github.com/cvdfoundation/kinetics-dataset (K400 ~440 GB)",
                                  kept=85_000 / 300_000),
    KINETICS_600: Download("Kinetics-600 shards (CVDF mirror)", 730.0,
                             "users' reports of github.com/cvdfoundation/kinetics-dataset (K600 ~730 GB)"),
    UCF101: Download("UCF101.rar", 6.5, "www.crcv.ucf.edu/data/UCF101/UCF101.rar (~6.5 GB)"),
    HMDB51: Download("hmdb51_org.rar", 2.1, "serre-lab.clps.brown.edu hmdb51_org.rar (~2.1 GB)"),
}

DECODED_STORE = "docs/decoded_store.md"
# The decoded store (JPEG q90): bytes per frame measured at 340x256 on textured synthetic footage (real footage
# usually compresses better), and the frames per video of the real datasets.
STORE_BYTES_PER_FRAME = 25_344
STORE_FRAME_PIXELS = 340 * 256
REAL_FRAMES_PER_VIDEO = {
    MINI_KINETICS_200: 300,  # ~10 s clips at ~30 fps
    KINETICS_600: 300,
    UCF101: 2_500_000 / 13_320,  # ~2.5 M frames in 13 320 videos
    HMDB51: 600_000 / 6_766,  # ~0.6 M frames in 6 766 videos
}
REAL_STORE_VIDEOS = {HMDB51: 6_766}  # every video of the archive is decoded, also those no split uses
REAL_ASPECT = 340 / 256  # the long side of a stored frame over its short side (the measured frames')
# `ctm decode` in one process (decord + JPEG encoding, 340x256 sources): frames per second per CPU core
DECODE_FRAMES_PER_CORE_S = 583.0
# The synthetic stand-ins' frames (flat colours) compress far better: bytes per frame of the gpu_synthetic
# Mini-Kinetics store at 352x256 (5 398 B)
SYNTHETIC_STORE_BYTES_PER_PIXEL = 5398.1 / (352 * 256)
SYNTHETIC_STORE_SOURCE = "benchmarks/results/h100-torch2.11/loader_vs_synthetic/decode.json"


@dataclass(frozen=True)
class Rate:
    """Clips per second of one device for a backbone without CTM blocks (tsn) and with three full blocks (ctm3)."""

    tsn: float
    ctm3: float
    source: str


H100 = "benchmarks/results/h100-torch2.11"
# Training on one H100, batch 24 per GPU, bf16, channels_last, synthetic on-device tensors (the decoded-store loader
# reached 97% of it: docs/performance.md), the SGD step included. Key: (backbone, compiled).
H100_TRAIN: dict[tuple[str, bool], Rate] = {
    ("resnet50", True): Rate(675.0, 576.0, f"{H100}/throughput/perf_r50.jsonl (reduce-overhead)"),
    ("resnet50", False): Rate(465.0, 383.0, f"{H100}/throughput/perf_r50.jsonl (eager)"),
    ("resnet101", True): Rate(443.0, 404.0, f"{H100}/throughput/perf_r101_train.jsonl (reduce-overhead)"),
    ("resnet101", False): Rate(299.0, 263.0, f"{H100}/grouped_conv_tcc/throughput.jsonl (eager, older TCC)"),
}
# Testing on one H100, 24 views per forward. Key: (backbone, "folded" (BN folded, compiled) | "compiled" | "eager").
H100_EVAL: dict[tuple[str, str], Rate] = {
    ("resnet50", "folded"): Rate(3451.0, 2934.0, f"{H100}/throughput/perf_r50_fold_eval.jsonl (folded BN)"),
    ("resnet50", "compiled"): Rate(2549.0, 2207.0, f"{H100}/throughput/perf_r50.jsonl (reduce-overhead)"),
    ("resnet50", "eager"): Rate(1480.0, 1255.0, f"{H100}/throughput/perf_r50.jsonl (eager)"),
    ("resnet101", "folded"): Rate(2294.0, 2095.0, f"{H100}/throughput/perf_r101_fold_eval.jsonl (folded BN)"),
    ("resnet101", "compiled"): Rate(1677.0, 1543.0, f"{H100}/throughput/perf_r101_eval.jsonl (reduce-overhead)"),
    ("resnet101", "eager"): Rate(1032.0, 933.0, f"{H100}/grouped_conv_tcc/throughput.jsonl (eager, older TCC)"),
}

PROVENANCE = "reports/provenance.json"
# CPU presets (one pinned thread per job): the embedded preset's training clips/s, mean over its runs per backbone
# (`training` of reports/provenance.json; CTM and TSN runs differ less than runs do), and its tests' clips/s: the
# 12 408 test views of its 46 evaluate jobs over their summed CPU time, 127 s (`jobs`, start-up included; their wall
# time also counts the wait for a CPU slot, ctm.locking.cpu_slot).
CPU_TRAIN = {"resnet50": 115.32, "resnet101": 76.75}
CPU_EVAL = 97.7

# A GPU job's start-up: the longest wall time of its kind in the paper-sized rehearsal (4 steps or 12 test videos of the
# paper's networks, with the imports, the compile and the checkpoint writing; four jobs shared one H100).
REHEARSAL_JOBS = f"{H100}/rehearsal/jobs.csv"
STARTUP_S = {"train": 136.0, "evaluate": 35.0}

# What a cluster job asks for above its planned time (workflow/rules/train.smk `runtime`): multi-GPU training falls
# back from CUDA graphs to torch.compile's default mode (ctm.engine.train): session 1's default-mode TSN-R50 (602-615
# clips/s, an older TCC) is 0.89-0.91 of the graphs' 675; the same benchmark differs by ~5% between hosts
# (docs/performance.md); data
# loading, DDP's all-reduce and checkpoints add their share. A job that outlives its request is killed, one that
# ends early costs nothing: 1.5x.
REQUEST_MARGIN = 1.5
