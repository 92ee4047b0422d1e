#!/usr/bin/env bash
# `carina bench train` for every method's tiny config, in both launch modes of this machine (one process
# with a thread per core; one rank per core under mpirun, one thread each), then one table: samples/s and
# the share of the SGEMM peak the step's GEMMs reach, measured in the same run. Not in CI (speed is never
# asserted); its output goes in the README's Speed section.
#
#   launch/bench-methods.sh [--steps 3] [--profile] [CONFIG...]   # CONFIG: names in configs/ (default: every tiny one)
#
# The configs that build on another run (PsPG, CoOp, DualCoOp and fine-tuning on runs/quickstart, M3AE
# fine-tuning on runs/m3ae-tiny) use it where it exists; where it does not, a one-step run of the config it
# names is made in a temporary directory: untrained weights time the same as trained ones.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=3
profile=()
names=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --steps) steps=$2; shift 2 ;;
        --profile) profile=(--profile); shift ;;
        -*) echo "launch/bench-methods.sh: unknown option $1" >&2; exit 2 ;;
        *) [[ -f configs/$1.yaml ]] || { echo "launch/bench-methods.sh: no configs/$1.yaml" >&2; exit 2; }
           names+=("$1"); shift ;;
    esac
done
[[ ${#names[@]} -gt 0 ]] || names=(clip-tiny finetune-tiny m3ae-tiny m3ae-finetune-tiny pspg-tiny pspg-tiny-fusion coop-tiny dualcoop-tiny prior-tiny)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
binary=${CARINA_BINARY:-.build/release/carina}
if [[ ! -x $binary ]]; then
    command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
    swift build -c release --product carina
fi
cores=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/carina-bench-methods.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A run to build on: the real one when present, else one step of its config (sizes are what matter).
base_run() {  # name config
    if [[ -d runs/$1/checkpoints ]]; then echo "runs/$1"; return; fi
    # One step, and a token evaluation (the run's own would take minutes): its eval section replaced.
    awk '/^eval:/ { skip = 1; next } /^[a-z]/ { skip = 0 } !skip' "$2" > "$work/$1.yaml"
    printf 'eval:\n  maxSamples: 32\n  probeFractions: [1.0]\n  pairRetrievalSamples: 8\n' >> "$work/$1.yaml"
    "$binary" train --config "$work/$1.yaml" --run-dir "$work/$1" --steps 1 >/dev/null 2>"$work/$1.log" \
        || { echo "launch/bench-methods.sh: making a stand-in for runs/$1 failed:" >&2; cat "$work/$1.log" >&2; exit 1; }
    echo "$work/$1"
}
quickstart=$(base_run quickstart configs/clip-tiny.yaml)
m3ae=$(base_run m3ae-tiny configs/m3ae-tiny.yaml)

summary=$work/summary
printf '%s\n' "| config | method | 1 process x $cores threads: samples/s | GEMM % of peak | $cores ranks x 1 thread: samples/s | GEMM % of peak |" \
    "|---|---|---:|---:|---:|---:|" > "$summary"
for name in "${names[@]}"; do
    config=$work/$name.yaml
    sed -e "s|runs/quickstart|$quickstart|" -e "s|runs/m3ae-tiny|$m3ae|" "configs/$name.yaml" > "$config"
    method=$(awk '/^method:/ { print $2; exit }' "$config")
    cells=()
    for mode in process ranks; do
        if [[ $mode == process ]]; then
            out=$(CARINA_THREADS=$cores "$binary" bench train --config "$config" --steps "$steps" "${profile[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
        else
            out=$(CARINA_BINARY=$binary launch/mpirun.sh "$cores" bench train --config "$config" --steps "$steps" "${profile[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
        fi
        echo "== $name ($method), $mode"
        echo "$out"
        # The data row follows the rule line; "1 x 2" takes three fields: samples/s is field 6, % of peak field 10.
        row=$(echo "$out" | awk '/^-+ / { getline; print; exit }')
        cells+=("$(echo "$row" | awk "{ print \$6 }")" "$(echo "$row" | awk "{ print \$10 }")")
    done
    echo "| $name | $method | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} |" >> "$summary"
done
echo
cat "$summary"
