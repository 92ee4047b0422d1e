#!/usr/bin/env bash
# The main job, from a fresh machine: installs what is missing, builds in release mode, trains CLIP-tiny on
# the built-in synthetic chest X-ray dataset (under `mpirun -np 2` when the machine has 2 or more cores),
# writes checkpoints, evaluates zero-shot AUC, linear-probe AUC and retrieval on held-out phantoms, prints
# the table and draws the curves. Resumes by itself if interrupted and run again.
#   launch/quickstart.sh                 # configs/clip-tiny.yaml into runs/quickstart
#   STEPS=100 launch/quickstart.sh       # a shorter run
#   CONFIG=... RUN_DIR=...               # another config or run directory
#   CARINA_BINARY=path                   # use this carina binary instead of building a release one (tests)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

source launch/carina-binary.sh

config=${CONFIG:-configs/clip-tiny.yaml}
run_dir=${RUN_DIR:-runs/quickstart}
args=(train --config "$config" --run-dir "$run_dir")
if [[ -n ${STEPS:-} ]]; then args+=(--steps "$STEPS"); fi

if (( $(nproc) >= 2 )) && command -v mpirun >/dev/null 2>&1; then
    launch/mpirun.sh 2 "${args[@]}"
else
    OPENBLAS_NUM_THREADS=1 "$CARINA_BINARY" "${args[@]}"
fi
echo "quickstart: done in $((SECONDS - start)) s; curves: $run_dir/curves.svg, metrics: $run_dir/metrics.jsonl"
