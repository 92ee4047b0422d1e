#!/usr/bin/env bash
# The test command (README, CI): installs missing system libraries, builds everything, runs every test,
# the real `mpirun -np 2` path included. Run from anywhere; exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
bash launch/setup.sh

# mpirun refuses to run as root (containers, CI) without both; Carina partitions GEMMs over its own
# threads and ranks, so OpenBLAS gets one thread each.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1

# `swift build` first, so compile errors stand apart from test failures; the MPI tests run the `carina`
# binary it builds (under mpirun too).
swift build
swift test
# Every libFuzzer harness, briefly and with a fixed seed, so the harnesses keep building and the inputs that
# once crashed a reader stay fixed (launch/fuzz.sh; the long runs are not part of the suite).
bash launch/fuzz.sh all runs=2000

echo "launch/test.sh: build and all tests passed in $((SECONDS - start)) s"
