#!/usr/bin/env bash
# The embedded recipe study on a many-core host (benchmarks/probes/embedded_recipe/recipe_sweep.py says what it runs). From a checkout's
# root: publishes, prepares and decodes the embedded Mini-Kinetics stand-in, then trains and tests Table 1's three
# single-block networks for every VARIANT x seed, JOBS side by side (one thread each: the embedded preset's pinned
# CPU kernels). Results: $OUT/results.jsonl (one line per run), $OUT/summary.txt.
#   OUT=/tmp/sweep WHEELS=dir-of-wheels JOBS=15 SEEDS="0 1 2 3 4 5" VARIANTS="control no_dropout" DEADLINE=540 \
#     bash benchmarks/gpu_host/recipe_sweep.sh
set -uo pipefail
OUT=${OUT:-results/recipe_sweep}
JOBS=${JOBS:-$(nproc)}
SEEDS=${SEEDS:-"0 1 2 3 4 5"}
VARIANTS=${VARIANTS:-""}
DEADLINE=${DEADLINE:-540}
T0=$(date +%s)
mkdir -p "$OUT"
if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/ctm_site \
    --find-links "$WHEELS" decord av simplejpeg yt-dlp jsonschema jsonschema-specifications referencing rpds-py \
    >"$OUT/pip.log" 2>&1 || { tail "$OUT/pip.log"; exit 1; }
  export PYTHONPATH="$PWD:/tmp/ctm_site:${PYTHONPATH:-}"
  mkdir -p /tmp/ctm_bin && printf '#!/usr/bin/env bash\nexec python3 -m ctm.cli "$@"\n' >/tmp/ctm_bin/ctm
  chmod +x /tmp/ctm_bin/ctm && export PATH=/tmp/ctm_bin:$PATH
fi
export CTM_PROGRESS_INTERVAL=60
D=mini_kinetics_200
ctm synth --dataset $D --preset embedded --workers "$JOBS" --no-progress >"$OUT/synth.log" 2>&1 || { tail "$OUT/synth.log"; exit 1; }
ctm prepare --dataset $D --preset embedded --workers "$JOBS" --no-progress >"$OUT/prepare.log" 2>&1 || { tail "$OUT/prepare.log"; exit 1; }
ctm decode --dataset $D --preset embedded --root resources/embedded/$D --out results/embedded/data/$D \
  --workers "$JOBS" --no-progress >"$OUT/decode.log" 2>&1 || { tail "$OUT/decode.log"; exit 1; }
echo "data ready at $(($(date +%s) - T0)) s"
python3 -m benchmarks.probes.embedded_recipe.recipe_sweep params "$OUT/params"
python3 -m benchmarks.probes.embedded_recipe.recipe_sweep jobs --seeds $SEEDS ${VARIANTS:+--variants $VARIANTS} >"$OUT/jobs.txt"
echo "$(wc -l <"$OUT/jobs.txt") runs, $JOBS side by side"
timeout $((DEADLINE - ($(date +%s) - T0))) xargs -P "$JOBS" -L 1 sh -c \
  'python3 -m benchmarks.probes.embedded_recipe.recipe_sweep run_one "$0" "$1" "$2" --params-dir "'"$OUT"'/params" --out "'"${RUNS:-$OUT/runs}"'" --store results/embedded/data/'"$D" \
  <"$OUT/jobs.txt" >>"$OUT/results.jsonl" 2>"$OUT/errors.log"
python3 -m benchmarks.probes.embedded_recipe.recipe_sweep summary "$OUT/results.jsonl" | tee "$OUT/summary.txt"
echo "done at $(($(date +%s) - T0)) s"
