#!/usr/bin/env bash
# The preset comparison: every preset in $PRESETS x every seed in $SEEDS, same config (tasks, budgets),
# one run directory each, runs/compare/<preset>-s<seed>; then the figure and the table mean ± std per
# iteration (`symbol-llm compare`). Re-running resumes unfinished runs and skips finished ones, so it can
# be stopped at any time. The analysis notebook (nbs/50_analysis.ipynb, `slow` cells) reads the same folders.
#
#   bash bench/compare_presets.sh                                   # all presets, seeds 0 1 2, the embedded default
#   PRESETS="rft envisions" SEEDS="0 1" bash bench/compare_presets.sh
#   CONFIG=configs/gpu_small.yaml OUT=runs/compare_gpu bash bench/compare_presets.sh
#
# The seed (model initialisation and sampling) is the only thing that changes between the runs of one preset;
# the tasks (data.split_seed) stay the same for all runs. All presets of one seed start from the same seed
# model: the first preset's run trains it, the others copy it (`--seed-from`; presets differ only after
# iteration 0), which makes the comparison one switch at a time and saves the pretraining and seed SFT.
# Budget knobs for a shorter comparison, applied to every run: ITERATIONS, TASKS (tasks sampled per iteration).
# SEED_FROM='runs/compare/rft-s$seed' starts every run from that finished run's seed model instead (e.g. ablations
# with a shorter budget beside a finished comparison).
#
# The comparison in nbs/50_analysis.ipynb (2026-11-28, 2 CPU cores, two streams of OMP_NUM_THREADS=1):
#   PRESETS="rft envisions" SEEDS="0 1 2" ITERATIONS=3 TASKS=200 bash bench/compare_presets.sh
#   PRESETS="no_refine no_repair_pairs no_soft_reward no_negatives continue_training" SEEDS=0 ITERATIONS=2 TASKS=200 \
#     SEED_FROM='runs/compare/rft-s$seed' bash bench/compare_presets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRESETS="${PRESETS:-rft star restem envisions envisions_ref no_refine no_repair_pairs no_soft_reward no_negatives continue_training}"
SEEDS="${SEEDS:-0 1 2}"
OUT="${OUT:-runs/compare}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
budget="${ITERATIONS:+-it$ITERATIONS}${TASKS:+-t$TASKS}"
for seed in $SEEDS; do
  # the config of this seed: $CONFIG (or the defaults) with `seed` set
  CONFIG="${CONFIG:-}" SEED="$seed" ITERATIONS="${ITERATIONS:-}" TASKS="${TASKS:-}" "$PY" - "$OUT/seed$seed$budget.yaml" <<'PY'
import os, sys, yaml
src = os.environ['CONFIG']
d = (yaml.safe_load(open(src)) or {}) if src else {}
d['seed'] = int(os.environ['SEED'])
for key, sec, name in (('ITERATIONS', 'loop', 'iterations'), ('TASKS', 'sample', 'tasks_per_iteration')):
    if os.environ.get(key): d.setdefault(sec, {})[name] = int(os.environ[key])
open(sys.argv[1], 'w').write(yaml.safe_dump(d, sort_keys=False))
PY
done
for seed in $SEEDS; do
  first="$(eval echo "${SEED_FROM:-}")"
  for preset in $PRESETS; do
    run="$OUT/$preset-s$seed"
    echo "=== $preset, seed $seed -> $run"
    start=$(date +%s)
    "$PY" -m symbol_llm_nb.cli selftrain --config "$OUT/seed$seed$budget.yaml" --preset "$preset" --run-dir "$run" --quiet \
      ${first:+--seed-from "$first"}
    first="${first:-$run}"
    echo "    $(( $(date +%s) - start ))s; last row: $(tail -n 1 "$run/metrics.jsonl" | cut -c1-160)"
  done
done
"$PY" -m symbol_llm_nb.cli compare "$OUT"/*-s* --out "$OUT/compare.png"
