#!/usr/bin/env bash
# A cluster of N "hosts" on this one machine, joined by a real network stack, and carina run across them
# under mpirun over OpenMPI's TCP transport:
#
#   launch/netns-cluster.sh [--hosts N] [--rate 10gbit] [--delay 50us] -- carina-arguments...
#   launch/netns-cluster.sh --hosts 2 --rate 1gbit -- bench ddp --model vit-s --local-batch 8
#
# Each host is a network namespace (with its own host name: a UTS namespace) holding one end of a veth
# pair; the other ends join a Linux bridge in this namespace, where mpirun runs. Every link is shaped in
# both directions with a token bucket (tc tbf) at --rate, and delayed by --delay with netem where this
# kernel has netem (it is a module some kernels lack: then the script says so and adds no delay).
# mpirun starts one orted per host through a launch agent that enters the host's namespaces instead of
# ssh; ranks talk over TCP only (btl tcp,self: no shared memory between "hosts"), one rank per host.
# Needs root and a kernel that allows network namespaces; exits 77 (skip) with a message where it cannot
# build them. Everything it creates is removed on exit. Not in CI's test command itself: the Swift test
# MultiHostNetnsTests calls it (and skips the same way).
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=2
rate=10gbit
delay=
while [[ $# -gt 0 ]]; do
    case $1 in
        --hosts) hosts=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --delay) delay=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "launch/netns-cluster.sh: unknown option $1 (usage: [--hosts N] [--rate R] [--delay D] -- carina-arguments)" >&2; exit 2 ;;
    esac
done
[[ $# -gt 0 ]] || { echo "launch/netns-cluster.sh: no carina arguments after --" >&2; exit 2; }
(( hosts >= 1 && hosts <= 16 )) || { echo "launch/netns-cluster.sh: --hosts $hosts: between 1 and 16" >&2; exit 2; }

skip() { echo "launch/netns-cluster.sh: skipped: $*" >&2; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root to create network namespaces"
for tool in ip tc unshare mpirun; do command -v "$tool" >/dev/null || skip "$tool is not installed"; done

binary=${CARINA_BINARY:-.build/release/carina}
[[ -x $binary ]] || { echo "launch/netns-cluster.sh: $binary not found; build it with: swift build -c release" >&2; exit 1; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

# Names unique to this invocation, so two runs (or a leftover of a killed one) never collide.
tag=c$$
subnet_octet=$(( ($$ % 200) + 20 ))
net=10.$subnet_octet.77
bridge=${tag}br
work=$(mktemp -d "${TMPDIR:-/tmp}/carina-netns.XXXXXX")

cleanup() {
    # A namespace outlives `ip netns del` while a process (a dying rank) still runs in it, and the kernel
    # tears a namespace down asynchronously: kill what is left in it, and delete each veth pair from the
    # host's side (synchronous, takes the peer with it) before dropping the namespace.
    for ((i = 0; i < hosts; i++)); do
        ip netns pids "${tag}h$i" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip link del "${tag}v$i" 2>/dev/null || true
        ip netns del "${tag}h$i" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "${tag}probe" 2>/dev/null || skip "this kernel or container does not allow network namespaces (ip netns add failed)"
ip netns del "${tag}probe"
ip link add "$bridge" type bridge 2>/dev/null || skip "cannot create a bridge (ip link add type bridge failed)"
ip addr add "$net.254/24" dev "$bridge"
ip link set "$bridge" up

# Shapes one egress direction: netem (delay) feeding a token bucket (rate), or the bucket alone.
have_netem=1
shape() {  # netns-or-empty device
    local run=(); [[ -n $1 ]] && run=(ip netns exec "$1")
    # tbf needs a burst of at least rate/HZ; 1 ms worth of bytes, at least 64 KiB.
    local bits r; r=${rate%bit}; bits=$(numfmt --from=si "${r^^}")
    local burst=$(( bits / 8 / 1000 )); (( burst >= 65536 )) || burst=65536
    if [[ -n $delay && $have_netem == 1 ]]; then
        if "${run[@]}" tc qdisc add dev "$2" root handle 1: netem delay "$delay" 2>/dev/null; then
            "${run[@]}" tc qdisc add dev "$2" parent 1: handle 2: tbf rate "$rate" burst "$burst" latency 50ms
            return
        fi
        have_netem=0
        echo "launch/netns-cluster.sh: this kernel has no netem qdisc: --delay $delay is not applied (links add only their own latency)" >&2
    fi
    "${run[@]}" tc qdisc add dev "$2" root tbf rate "$rate" burst "$burst" latency 50ms
}

hostfile=$work/hosts
: > "$hostfile"
for ((i = 0; i < hosts; i++)); do
    ns=${tag}h$i
    ip netns add "$ns"
    ip link add "${tag}v$i" type veth peer name "${tag}p$i"
    ip link set "${tag}p$i" netns "$ns"
    ip -n "$ns" link set "${tag}p$i" name eth0
    ip -n "$ns" addr add "$net.$((i + 1))/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip link set "${tag}v$i" master "$bridge" up
    shape "$ns" eth0          # host -> bridge
    shape "" "${tag}v$i"      # bridge -> host
    echo "$net.$((i + 1)) slots=1" >> "$hostfile"
    echo "$net.$((i + 1)) $ns" >> "$work/namespaces"
done

# The launch agent: mpirun calls it as `agent HOST COMMAND...` (as it would call ssh); it runs the command,
# a shell line, in HOST's network namespace under a host name of its own.
agent=$work/agent
cat > "$agent" <<EOF
#!/usr/bin/env bash
host=\$1; shift
ns=\$(awk -v h="\$host" '\$1 == h { print \$2 }' "$work/namespaces")
[[ -n \$ns ]] || { echo "netns agent: unknown host \$host" >&2; exit 1; }
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$ns; \$*"
EOF
chmod +x "$agent"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export CARINA_THREADS=${CARINA_THREADS:-1}
[[ $have_netem == 1 ]] || delay=
echo "launch/netns-cluster.sh: $hosts hosts on $net.0/24 (namespaces ${tag}h0.., bridge $bridge), links $rate each way${delay:+, delay $delay}; running carina $*" >&2
status=0
mpirun -np "$hosts" --hostfile "$hostfile" --map-by node --bind-to none --oversubscribe \
    --mca plm_rsh_agent "$agent" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" \
    -x OPENBLAS_NUM_THREADS -x CARINA_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
    "$binary" "$@" || status=$?
exit "$status"
