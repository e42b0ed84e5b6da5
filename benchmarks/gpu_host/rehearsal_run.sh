#!/usr/bin/env bash
# The paper preset rehearsed on one GPU host (docs/rehearsal.md): `snakemake all_tables --config preset=rehearsal`,
# every job of the paper's DAG at full size, each capped in length (params.yaml `limits`). JOBS jobs share the GPU
# (their compilations, which take the CPU, overlap). Call it again to continue: finished jobs are kept, killed ones
# rerun (training resumes from resume.pt). DEADLINE (seconds) interrupts Snakemake in time for the caller to collect
# the logs; benchmarks/render/rehearsal.py turns them into docs/rehearsal_run.md.
#   source benchmarks/gpu_host/env.sh; OUT=/tmp/rehearsal DEADLINE=540 JOBS=5 bash benchmarks/gpu_host/rehearsal_run.sh
set -uo pipefail
OUT=${OUT:-results/rehearsal_run}
JOBS=${JOBS:-5}
CORES=${CORES:-$(nproc)}
THREADS=$(( CORES / JOBS > 0 ? CORES / JOBS : 1 ))
mkdir -p "$OUT"
echo "$(date +%s) start JOBS=$JOBS CORES=$CORES $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" \
    >> "$OUT/calls.txt"
timeout --signal=INT --kill-after=45 "${DEADLINE:-86400}" \
    snakemake all_tables --config preset=rehearsal --cores "$CORES" --resources gpu="$JOBS" \
    --set-threads train="$THREADS" evaluate="$THREADS" decode="$THREADS" --scheduler greedy --rerun-incomplete \
    --keep-going \
    >> "$OUT/snakemake.log" 2>&1
rc=$?
echo "$(date +%s) end rc=$rc" >> "$OUT/calls.txt"
# what benchmarks/render/rehearsal.py reads: per-job benchmarks and logs, epoch logs, metrics, tables
tar czf "$OUT/rehearsal_logs.tar.gz" logs/rehearsal $(ls -d results/rehearsal/runs/*/log.jsonl \
    results/rehearsal/runs/*/metrics.json results/rehearsal/tables 2>/dev/null) 2>/dev/null
exit $rc
