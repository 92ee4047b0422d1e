#!/usr/bin/env bash
# A single-node Slurm on this machine, to try launch/slurm.sbatch for real (its time-limit requeue):
#   launch/slurm-local.sh start   # installs slurmctld, slurmd, munge (Debian/Ubuntu, as root) and starts them
#   launch/slurm-local.sh stop    # stops the daemons this script started
# The node is this host with its cores; state lives under /tmp/carina-slurm. Not for: a real cluster.
set -euo pipefail
state=/tmp/carina-slurm
node=$(hostname -s)

stop() {
    for daemon in slurmd slurmctld munged; do
        [[ -f $state/$daemon.pid ]] && kill "$(cat "$state/$daemon.pid")" 2>/dev/null || true
    done
    sleep 1
    rm -f "$state"/*.pid
}

case ${1:-start} in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: launch/slurm-local.sh start|stop" >&2; exit 2 ;;
esac

[[ $(id -u) -eq 0 ]] || { echo "slurm-local: needs root (installs packages, runs the daemons)" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
stop
mkdir -p "$state"/{spool,ctld,log} /run/munge
chown munge:munge /run/munge
[[ -s /etc/munge/munge.key ]] || { mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
cat > /etc/slurm/slurm.conf <<CONF
# Written by launch/slurm-local.sh: one node ($node), root runs everything, no cgroups.
ClusterName=carina-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
JobRequeue=1
ReturnToService=2
KillWait=30
OverTimeLimit=0
InactiveLimit=0
MinJobAge=600
# A requeued job waits cred_expire seconds (default 120) before it may start again; 10 s keeps tests short.
AuthInfo=cred_expire=10
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
# munged as its own user (it refuses root); its pid file under our state for stop().
runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid 2>/dev/null || /usr/sbin/munged --force
cp /run/munge/munged.pid "$state/munged.pid" 2>/dev/null || true
slurmctld -i
slurmd
for (( i = 0; i < 60; i++ )); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && { echo "slurm-local: node $node is up"; exit 0; }
    sleep 1
done
echo "slurm-local: the node did not come up; logs in $state/log" >&2
tail -5 "$state"/log/*.log >&2
exit 1
