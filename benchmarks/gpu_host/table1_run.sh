#!/usr/bin/env bash
# Table 1 at full size on one GPU: TSN, TCCM alone, Path 2 alone and CTM (one block in Res4) of preset gpu_synthetic in
# params.yaml (full-width ResNet-50 from scratch, 8x224 clips, the synthetic Mini-Kinetics stand-in published in the
# real formats at 256-pixel height). The `ctm` commands that the Snakemake rules run: synth -> prepare (download,
# extract, fetch + trim) -> decode (256, JPEG store) -> the four trainings side by side on the one GPU (eager; the
# recipe's num_workers loader processes each) -> each one's 4x3-view test; then the diagnostics of
# benchmarks/gpu_host/table1_tools.py (the TCC against Eq. 1 on the GPU, the CTM paths' BN gammas). Timeline, logs,
# metrics and runs.tar.gz under $OUT. Result and findings: docs/table1_full_size.md.
#
# Run from a checkout's root (ctm/ and params.yaml) on a GPU host with 16 cores (about 7.5 minutes on an H100):
#   OUT=/tmp/gpu_table1 bash benchmarks/gpu_host/table1_run.sh
# As it was run for docs/table1_full_size.md (one device call, H100, the checkout carried; the wheels of decord, av,
# simplejpeg, yt-dlp and jsonschema in .gpu_evidence/whl because the host has no network; SET gave the preset block
# that params.yaml holds since):
#   SET="model.zero_init_residual=false model.path_gamma_init=1.0 input.frame_interval=4 \
#        datasets.mini_kinetics_200.synthetic.num_frames=40 recipes.mini_kinetics_200.epochs=15 \
#        recipes.mini_kinetics_200.lr_milestones=[12]" OUT=$OUT WHEELS=.gpu_evidence/whl DEADLINE=555 \
#       bash benchmarks/gpu_host/table1_run.sh
# then, here:
#   python -m benchmarks.render.full_size collect FETCHED_OUT --data benchmarks/results/h100-torch2.11/table1_full_size
#   python -m benchmarks.render.full_size render --data benchmarks/results/h100-torch2.11/table1_full_size \
#       --out docs/table1_full_size.md
# The runs with one setting changed: the same with SET changed, collected under table1_full_size_ablations/<name>/.
#
# Knobs: WORKERS (data preparation processes, default 16); DEADLINE (seconds after the start at which a training still
# running gets SIGTERM -- it saves resume.pt -- and is tested as it stands, marked as stopped; default 545, so that
# everything ends inside a 10-minute call; 480 in the first run, which stopped all four before their last epoch);
# EXPERIMENTS (default the four Table 1 networks); SET (space-separated dotted keys of the gpu_synthetic preset, e.g.
# "model.zero_init_residual=false"): run on a copy of params.yaml changed so, written to $OUT/params.yaml.
set -uo pipefail
P=gpu_synthetic
D=mini_kinetics_200
OUT=${OUT:-results/gpu_table1}
W=${WORKERS:-16}
DEADLINE=${DEADLINE:-545}
TOOLS=${TOOLS:-benchmarks/gpu_host/table1_tools.py}
EXPERIMENTS=${EXPERIMENTS:-"mk200_r50_tsn mk200_r50_tccm_res4x1 mk200_r50_path2_res4x1 mk200_r50_ctm_res4x1"}
ROOT=resources/$P/$D
STORE=results/$P/data/$D
RUNS=results/$P/runs
mkdir -p "$OUT" "$RUNS"
export PYTHONUNBUFFERED=1 CTM_PROGRESS_INTERVAL=${CTM_PROGRESS_INTERVAL:-30}
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
T0=$(date +%s)
stamp() { echo "$(($(date +%s) - T0)) $*" | tee -a "$OUT/timeline.txt"; }
if [ -n "${WHEELS:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        --find-links "$WHEELS" decord av simplejpeg yt-dlp jsonschema jsonschema-specifications referencing rpds-py \
        || exit 1
    export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
PARAMS=params.yaml
if [ -n "${SET:-}" ]; then
    PARAMS="$OUT/params.yaml"
    python3 - "$PARAMS" $SET <<'PY' || exit 1
import sys, yaml
raw = yaml.safe_load(open("params.yaml"))
for item in sys.argv[2:]:
    dotted, value = item.split("=", 1)
    *parents, key = dotted.split(".")
    node = raw["presets"]["gpu_synthetic"]
    for p in parents:
        node = node[p]
    node[key] = yaml.safe_load(value)
open(sys.argv[1], "w").write(yaml.safe_dump(raw, sort_keys=False))
PY
fi
ctm() { python3 -m ctm.cli "$@"; }
collect() {  # the small files of every run in one archive (the device returns at most 8 files)
    tar -czf "$OUT/runs.tar.gz.tmp" --exclude='*.pt' --exclude='*.pt.*' -C results/$P runs 2>/dev/null \
        && mv "$OUT/runs.tar.gz.tmp" "$OUT/runs.tar.gz"
}

stamp start "$(nproc) cores, torch $(python3 -c 'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null
python3 "$TOOLS" tcc-check > "$OUT/diagnostics.jsonl" 2> "$OUT/tools.err" &
ctm synth --params "$PARAMS" --dataset $D --preset $P --workers "$W" --no-progress > "$OUT/data.log" 2>&1 || { stamp synth failed; exit 1; }
stamp published
ctm prepare --params "$PARAMS" --dataset $D --preset $P --workers "$W" --no-progress >> "$OUT/data.log" 2>&1 || { stamp prepare failed; exit 1; }
stamp prepared
ctm decode --params "$PARAMS" --dataset $D --preset $P --root $ROOT --out $STORE --workers "$W" --no-progress >> "$OUT/data.log" 2>&1 \
    || { stamp decode failed; exit 1; }
stamp decoded

pids=()
for e in $EXPERIMENTS; do
    mkdir -p "$RUNS/$e"
    ( s=$(date +%s)
      python3 -m ctm.cli train --params "$PARAMS" --experiment "$e" --preset $P --root $ROOT --store $STORE --out "$RUNS/$e" \
          > "$RUNS/$e/train.out" 2>&1 &
      echo $! > "$RUNS/$e/train.pid"; wait $!
      rc=$?; stamp "trained $e rc=$rc in $(($(date +%s) - s)) s"
      if [ $rc = 75 ]; then  # stopped by the watchdog: test the state it saved, marked as stopped
          python3 "$TOOLS" salvage --params "$PARAMS" --experiment "$e" --run-dir "$RUNS/$e" --root $ROOT --store $STORE \
              >> "$OUT/diagnostics.jsonl" 2>> "$OUT/tools.err" || exit 0
      elif [ $rc != 0 ]; then exit 0; fi
      s=$(date +%s)
      ctm evaluate --params "$PARAMS" --experiment "$e" --preset $P --root $ROOT --store $STORE --run-dir "$RUNS/$e" \
          > "$RUNS/$e/evaluate.out" 2>&1
      stamp "evaluated $e rc=$? in $(($(date +%s) - s)) s" ) &
    pids+=($!)
done
( while true; do sleep 20; collect; done ) &
monitor=$!
( sleep $((DEADLINE - ($(date +%s) - T0)))
  for f in "$RUNS"/*/train.pid; do
      kill -0 "$(cat "$f")" 2>/dev/null && kill -TERM "$(cat "$f")" && stamp "watchdog: SIGTERM to $f"
  done ) &
dog=$!
for p in "${pids[@]}"; do wait "$p"; done
kill "$dog" "$monitor" 2>/dev/null
python3 "$TOOLS" inspect "$RUNS"/* >> "$OUT/diagnostics.jsonl" 2>> "$OUT/tools.err"
stamp done
collect
