#!/usr/bin/env bash
# Soak test of "nothing lost" under MPI:  launch/soak.sh [N=50]
# A tiny CLIP run (the kill tests' config) under a real `mpirun -np 2` is SIGKILLed N times at random
# moments — during steps and during checkpoint writes; each time the whole job (mpirun and both ranks, as a
# node loss does) or one rank alone (rank 0, the writer, or rank 1; mpirun then ends the other) — and
# restarted with `--resume auto`. After every kill the checkpoints on disk must verify; at the end the
# parameters and optimizer state must equal, bit for bit, those of the same run never killed
# (`carina checkpoint compare`). Prints one line per kill and a summary; exits non-zero on any failure.
# CARINA_BINARY picks the binary (default: a release build, built if missing); SOAK_DIR keeps the runs.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-50}
source launch/carina-binary.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 CARINA_THREADS=1
dir=${SOAK_DIR:-$(mktemp -d /tmp/carina-soak.XXXXXX)}
mkdir -p "$dir"
steps=$(( 200 + 100 * n ))
cat > "$dir/tiny.yaml" <<YAML
method: clip
seed: 3
model: {patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8}
data: {syntheticCount: 120, imageSize: 32, contextLength: 16, vocabularySize: 200, textAugment: subset, workers: 2, prefetch: 2}
train: {globalBatch: 8, steps: $steps, warmupSteps: 2, learningRate: 2.0e-3, checkpointEvery: 3, logEvery: 1000}
eval: {zeroShot: false, linearProbe: false, compareUntrained: false, maxSamples: 8}
YAML
train=(mpirun -np 2 "$CARINA_BINARY" train --config "$dir/tiny.yaml" --resume auto --run-dir)
# The highest step with a checkpoint file in run directory $1 (nothing when none).
newest() { ls "$1/checkpoints" 2>/dev/null | grep -E '^step-[0-9]+\.ckpt$' | sort | tail -1 | sed -E 's/step-0*([0-9]+)\.ckpt/\1/' || true; }

echo "soak: $n kills of a $steps-step run under mpirun -np 2 ($CARINA_BINARY), in $dir"
start=$SECONDS
"${train[@]}" "$dir/clean" > "$dir/clean.log" 2>&1 || { echo "soak: the uninterrupted run failed:"; tail -20 "$dir/clean.log"; exit 1; }
echo "soak: uninterrupted run done in $(( SECONDS - start )) s"

run=$dir/killed
kills=0 midwrite=0 whole=0 rank0=0 rank1=0
for (( k = 1; k <= n; k++ )); do
    "${train[@]}" "$run" >> "$dir/killed.log" 2>&1 &
    job=$!  # mpirun itself
    # Kill once training is under way (a checkpoint newer than the last one exists), after a random delay
    # of 0-1.5 s: mostly inside a step, sometimes inside a checkpoint write.
    before=$(newest "$run"); before=${before:--1}
    for (( i = 0; i < 600; i++ )); do
        now=$(newest "$run"); [[ -n $now && $now -gt $before ]] && break
        kill -0 "$job" 2>/dev/null || break
        sleep 0.05
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32767 * 1.5 }')"
    if ! kill -0 "$job" 2>/dev/null; then
        wait "$job" || true
        echo "soak: the run finished before kill $k; stopping the kills there"
        break
    fi
    ranks=($(pgrep -P "$job" || true))  # mpirun's children: the two ranks
    # Every other kill aims at a checkpoint write and hits the writer (rank 0) or the whole job; the others
    # hit the whole job, rank 0 or rank 1. Victims are chosen first, so an aimed kill follows the write at once.
    aimed=""
    (( RANDOM % 2 )) && aimed=" (aimed at a write)"
    mode=$(( RANDOM % 3 ))  # 0: the whole job, 1: rank 0, 2: rank 1
    [[ -n $aimed ]] && mode=$(( RANDOM % 2 ))
    targets=("$job" "${ranks[@]}") what="the whole job"
    if (( mode > 0 )); then
        r=$(( mode - 1 )) what="rank $(( mode - 1 ))" targets=("$job")
        for p in "${ranks[@]}"; do
            tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$r" && targets=("$p")
        done
    fi
    # Wait (a builtin glob, no process started: ~µs per look) until a checkpoint's temporary file exists, at most a few s.
    if [[ -n $aimed ]]; then
        for (( i = 0; i < 500000; i++ )); do compgen -G "$run/checkpoints/.step-*.tmp-*" > /dev/null && break; done
    fi
    kill -9 "${targets[@]}" 2>/dev/null || true
    case $mode in 0) whole=$(( whole + 1 )) ;; 1) rank0=$(( rank0 + 1 )) ;; *) rank1=$(( rank1 + 1 )) ;; esac
    # mpirun ends the job when a rank dies; the 30 s limit only guards against a hang.
    for (( i = 0; i < 300; i++ )); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$job" 2>/dev/null; then echo "soak: FAIL: the job still runs 30 s after kill $k ($what)"; kill -9 "$job" "${ranks[@]}" 2>/dev/null; exit 1; fi
    wait "$job" 2>/dev/null || true
    for p in "${ranks[@]}"; do kill -9 "$p" 2>/dev/null || true; done  # a rank mpirun left behind, if any
    kills=$(( kills + 1 ))
    temporary=$(ls -a "$run/checkpoints" 2>/dev/null | grep -c '\.tmp-' || true)
    (( temporary > 0 )) && midwrite=$(( midwrite + 1 ))
    latest=$(cat "$run/checkpoints/latest" 2>/dev/null || echo none)
    if ! "$CARINA_BINARY" checkpoint verify "$run" > /dev/null 2>&1; then
        echo "soak: FAIL: after kill $k ($what) the latest checkpoint ($latest) does not verify"; exit 1
    fi
    echo "soak: kill $k$aimed: $what after step ~$(newest "$run"), latest $latest verifies$( (( temporary > 0 )) && echo ", killed inside a checkpoint write ($temporary temporary file(s) left)")"
done

"${train[@]}" "$run" >> "$dir/killed.log" 2>&1 || { echo "soak: FAIL: the final resume failed:"; tail -20 "$dir/killed.log"; exit 1; }
resumes=$(grep -c "resumed from" "$dir/killed.log" || true)
if "$CARINA_BINARY" checkpoint compare "$dir/clean" "$run"; then
    echo "soak: PASS: $kills kills ($whole whole job, $rank0 rank 0, $rank1 rank 1; $midwrite inside a checkpoint write), $resumes resumes; bit-identical to the uninterrupted run after $steps steps; $(( SECONDS - start )) s"
else
    echo "soak: FAIL: after $kills kills the parameters differ from the uninterrupted run"; exit 1
fi
