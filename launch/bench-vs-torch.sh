#!/usr/bin/env bash
# Carina against PyTorch on the same cores, same model, same optimizer and batch: CLIP-tiny (configs/clip-tiny.yaml;
# PyTorch's twin is scripts/bench_torch_clip.py, written from docs/models.md), eager PyTorch, in both launch
# modes, alternating the two programs ROUNDS times (default 3) so machine noise hits both alike:
#   1 process x 2 threads      carina bench train            vs  python bench_torch_clip.py --threads 2
#   2 ranks x 1 thread         launch/mpirun.sh 2 bench train  vs  torchrun (DDP over gloo) --threads 1
# Prints each run's samples/s and peak RSS per rank, then per mode the median ratio Carina / PyTorch.
# Not in CI (a benchmark; the tests never assert speed). Needs PyTorch: it creates a virtual environment at
# $BENCH_VENV (default .build/bench-venv) with CARINA_TORCH (a wheel path or "torch"; default the CPU wheel in
# /opt/wheels when present) unless that environment already imports torch.
#     launch/bench-vs-torch.sh            ROUNDS=5 STEPS=8 launch/bench-vs-torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
steps=${STEPS:-6}
venv=${BENCH_VENV:-.build/bench-venv}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    wheel=${CARINA_TORCH:-$(ls /opt/wheels/torch-*cpu*.whl 2>/dev/null | head -1)}
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${wheel:-torch}" numpy
fi
swift build -c release --product carina >/dev/null
binary=.build/release/carina
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# samples/s and the largest rank's peak RSS (MiB) of one Carina run, from the bench's table (its last row).
carina_run() {  # mode
    local out
    if [[ $1 == 1x2 ]]; then
        out=$(CARINA_THREADS=2 OPENBLAS_NUM_THREADS=1 "$binary" bench train --config configs/clip-tiny.yaml --steps "$steps" 2>&1)
    else
        out=$(CARINA_BINARY=$binary launch/mpirun.sh 2 bench train --config configs/clip-tiny.yaml --steps "$steps" 2>&1)
    fi
    echo "$out" >> "$log/carina-$1.txt"
    echo "$out" | awk '/^[0-9]+ x [0-9]+ / { print $6, $NF }' | tail -1
}

torch_run() {  # mode
    local out
    if [[ $1 == 1x2 ]]; then
        out=$(OMP_NUM_THREADS=2 "$venv/bin/python" scripts/bench_torch_clip.py --threads 2 --steps "$steps" 2>&1)
    else
        out=$(OMP_NUM_THREADS=1 "$venv/bin/torchrun" --standalone --nproc-per-node 2 scripts/bench_torch_clip.py --threads 1 --steps "$steps" 2>&1)
    fi
    echo "$out" >> "$log/torch-$1.txt"
    echo "$(echo "$out" | grep -oE '[0-9.]+ samples/s' | head -1 | cut -d' ' -f1) $(echo "$out" | grep -oE 'per rank [0-9]+' | cut -d' ' -f3)"
}

printf '%-6s %-5s %-8s %12s %14s\n' mode round program samples/s "peak RSS MiB"
for mode in 1x2 2x1; do
    ratios=()
    for ((r = 1; r <= rounds; r++)); do
        read -r c crss < <(carina_run "$mode")
        read -r t trss < <(torch_run "$mode")
        printf '%-6s %-5s %-8s %12s %14s\n' "$mode" "$r" carina "$c" "$crss" "$mode" "$r" pytorch "$t" "$trss"
        ratios+=("$(python3 -c "print('%.2f' % ($c / $t))")")
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    echo "$mode: Carina / PyTorch samples/s per round: ${ratios[*]}; median $median"
done
