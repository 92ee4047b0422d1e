#!/usr/bin/env bash
# Installs the system libraries Carina links against, only those that are missing. Idempotent; run as
# root on Debian/Ubuntu (or with sudo available). Safe to call from every other launch script.
set -euo pipefail

# iproute2 (ip, tc): launch/netns-cluster.sh builds its network-namespace hosts with it (MultiHostNetnsTests).
packages=(libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev libpng-dev libjpeg-dev zlib1g-dev pkg-config iproute2)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "carina setup: installing ${missing[*]}"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "carina setup: add /opt/swift/usr/bin to PATH" >&2
    else
        echo "carina setup: no Swift toolchain found; install Swift 6 (https://swift.org/install) and retry" >&2
    fi
    exit 1
fi
