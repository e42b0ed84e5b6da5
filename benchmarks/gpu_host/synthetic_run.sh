#!/usr/bin/env bash
# One full-size run of the synthetic Mini-Kinetics stand-in on one GPU (preset gpu_synthetic of params.yaml), through
# the same Snakemake rules as every preset: publish -> download/fetch -> decode (256), then loader-fed vs
# synthetic-tensor throughput (`ctm bench train`), then train TSN and CTM (3 blocks, full-width ResNet-50, 8x224,
# from scratch) and their 4x3-view test. JSON and copies of the run's files under $OUT (default results/gpu_run);
# each job's log and timing under logs/gpu_synthetic/.
#   OUT=/tmp/gpu_run bash benchmarks/gpu_host/synthetic_run.sh
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
smk() { python -m snakemake --cores "$W" --resources gpu=1 "$@" --config preset=$P; }
stamp() { echo "$(date +%s) $*" >> "$OUT/timeline.txt"; }

stamp start
smk "results/$P/data/$D"
stamp decoded
# shellcheck disable=SC2086
ctm bench train --preset $P --experiment $EXPERIMENTS $BENCH_FLAGS --steps 40 > "$OUT/bench_synthetic.json"
# shellcheck disable=SC2086
ctm bench train --preset $P --experiment $EXPERIMENTS $BENCH_FLAGS --steps 40 --root resources/$P/$D \
    --store results/$P/data/$D --workers $((W - 1)) > "$OUT/bench_loader.json"
stamp benched
[ -n "${BENCH_ONLY:-}" ] && exit 0
for e in $EXPERIMENTS; do
    smk "results/$P/runs/$e/metrics.json"
    cp "results/$P/runs/$e/log.jsonl" "$OUT/log_$e.jsonl"
    cp "results/$P/runs/$e/metrics.json" "$OUT/metrics_$e.json"
    stamp "trained and evaluated $e"
done
cp -r "logs/$P" "$OUT/logs"
