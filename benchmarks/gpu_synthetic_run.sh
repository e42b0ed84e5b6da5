#!/usr/bin/env bash
# One full-size run of the synthetic Mini-Kinetics stand-in on one GPU (preset gpu_synthetic of params.yaml):
# publish -> download/fetch -> decode (256) -> loader-fed vs synthetic-tensor throughput -> train TSN and CTM
# (3 blocks, full-width ResNet-50, 8x224, from scratch) -> 4x3-view test -> JSON under $OUT (default results/gpu_run).
#   OUT=/tmp/gpu_run bash benchmarks/gpu_synthetic_run.sh
# BENCH_ONLY=1 stops after the throughput measurements; BENCH_FLAGS are passed to `ctm bench train`.
set -euo pipefail
P=gpu_synthetic
D=mini_kinetics_200
OUT=${OUT:-results/gpu_run}
W=${WORKERS:-16}
EXPERIMENTS=${EXPERIMENTS:-"mk200_r50_tsn mk200_r50_ctm_res4x3"}
BENCH_FLAGS=${BENCH_FLAGS:-"--compile --compile-mode reduce-overhead"}
mkdir -p "$OUT"
ctm() { python -m ctm.cli "$@"; }
stamp() { echo "$(date +%s) $*" >> "$OUT/timeline.txt"; }

stamp start
ctm synth --dataset $D --preset $P --workers "$W" --no-progress > "$OUT/synth.json"
stamp published
ctm prepare --dataset $D --preset $P --workers "$W" --no-progress > "$OUT/prepare.json"
stamp prepared
ctm decode --dataset $D --preset $P --root resources/$P/$D --out results/$P/data/$D --workers "$W" \
    --no-progress > "$OUT/decode.json"
stamp decoded
# shellcheck disable=SC2086
ctm bench train --preset $P --experiment $EXPERIMENTS $BENCH_FLAGS --steps 40 > "$OUT/bench_synthetic.json"
# shellcheck disable=SC2086
ctm bench train --preset $P --experiment $EXPERIMENTS $BENCH_FLAGS --steps 40 --root resources/$P/$D \
    --store results/$P/data/$D --workers $((W - 1)) > "$OUT/bench_loader.json"
stamp benched
[ -n "${BENCH_ONLY:-}" ] && exit 0
for e in $EXPERIMENTS; do
    ctm train --experiment "$e" --preset $P --root resources/$P/$D --store results/$P/data/$D --no-progress \
        > "$OUT/train_$e.json"
    stamp "trained $e"
    ctm evaluate --experiment "$e" --preset $P --root resources/$P/$D --store results/$P/data/$D --no-progress \
        > "$OUT/evaluate_$e.json"
    cp "results/$P/runs/$e/log.jsonl" "$OUT/log_$e.jsonl"
    cp "results/$P/runs/$e/metrics.json" "$OUT/metrics_$e.json"
    stamp "evaluated $e"
done
