#!/usr/bin/env bash
# Runs carina on N ranks of this machine under OpenMPI:  launch/mpirun.sh 2 train --config configs/clip-tiny.yaml
# Sets what a single node needs: permission to run as root (containers), one OpenBLAS thread per rank
# (Carina partitions its own GEMMs; ranks that share cores must not each start a thread pool), and
# --oversubscribe when asking for more ranks than cores. On a cluster use launch/slurm.sbatch instead.
set -euo pipefail
cd "$(dirname "$0")/.."

ranks=${1:?usage: launch/mpirun.sh RANKS carina-arguments...}
shift

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc)
extra=()
if (( ranks > cores )); then
    extra+=(--oversubscribe --bind-to none)
fi
# Threads per rank for Carina's own kernels: the cores divided among the ranks, at least one.
per_rank=$(( cores / ranks ))
(( per_rank >= 1 )) || per_rank=1
export OPENBLAS_NUM_THREADS=1 CARINA_THREADS=${CARINA_THREADS:-$per_rank}

binary=${CARINA_BINARY:-.build/release/carina}
if [[ ! -x $binary ]]; then
    echo "launch/mpirun.sh: $binary not found; build it with: swift build -c release" >&2
    exit 1
fi
exec mpirun -np "$ranks" "${extra[@]}" -x OPENBLAS_NUM_THREADS -x CARINA_THREADS "$binary" "$@"
