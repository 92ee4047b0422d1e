#!/usr/bin/env bash
# Runs carina on N ranks of this machine under OpenMPI:  launch/mpirun.sh 2 train --config configs/clip-tiny.yaml
# Sets what a single node needs: permission to run as root (containers), one OpenBLAS thread per rank
# (Carina partitions its own GEMMs; ranks that share cores must not each start a thread pool), and
# --oversubscribe when asking for more ranks than cores. On a cluster use launch/slurm.sbatch instead.
#
# Stopping: a SIGTERM to this script becomes a SIGUSR1 to mpirun, which forwards it to every rank at once;
# the ranks finish the same step, write one checkpoint and exit 0, and so does this script. OpenMPI 4.1's
# mpirun does not forward SIGTERM itself: on a SIGTERM of its own (Slurm signals every process of a job)
# it sends the ranks SIGCONT, then SIGTERM after odls_base_sigkill_timeout seconds (1 by default), then
# SIGKILL as long after that, and exits 1. CARINA_STOP_GRACE (default 30 s) sets that delay, so ranks
# signalled that way still have the time to finish their step and checkpoint before the SIGKILL.
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
mpirun -np "$ranks" --mca odls_base_sigkill_timeout "${CARINA_STOP_GRACE:-30}" "${extra[@]}" \
    -x OPENBLAS_NUM_THREADS -x CARINA_THREADS "$binary" "$@" &
child=$!
trap 'signalled=1; kill -USR1 "$child" 2>/dev/null || true' TERM
# A trapped signal interrupts `wait` (status 128+n) while mpirun still runs: wait again for its real status.
# (127: the previous wait had already collected it.)
status=0
while :; do
    signalled=0
    wait "$child" && s=0 || s=$?
    (( s == 127 )) || status=$s
    (( signalled )) || break
done
exit "$status"
