#!/usr/bin/env bash
# libFuzzer over every reader of untrusted input (Fuzz/CarinaFuzz.swift):
#   launch/fuzz.sh [TARGET|all] [SECONDS|runs=N]    default: all targets, 600 s each
# `runs=N` runs N inputs per target with a fixed seed and no saved corpus: the same inputs every time, which is
# what the test command uses so the harnesses keep building and a crash there is reproducible, never chance.
# Builds the harnesses with the fuzzer and address sanitizers into .build-fuzz/, writes seed corpora from
# Carina's own writers, fuzzes each target in turn with a growing corpus (.build-fuzz/corpus/TARGET), and
# prints executions, coverage and crashes per target. A crash leaves its input in .build-fuzz/crashes/ (replay:
# .build-fuzz/release/CarinaFuzz TARGET FILE); every crash becomes a regression test in the suite. A single
# allocation over 2 GiB, 2 GiB of memory, or 10 s on one input counts as a crash. Exits non-zero on any crash.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
targets=(checkpoint safetensors shard png jpeg csv jsonl yaml wordpiece bpe)
which=${1:-all}
budget=${2:-600}
if [[ $which != all ]] && [[ ! " ${targets[*]} " == *" $which "* ]]; then
    echo "launch/fuzz.sh: unknown target '$which' (targets: ${targets[*]})" >&2
    exit 2
fi
[[ $which == all ]] || targets=("$which")

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
bash launch/setup.sh
export OPENBLAS_NUM_THREADS=1
# ASan reports the crash; the Swift runtime's own backtracer would only add a second report (and can hang).
export SWIFT_BACKTRACE=enable=no

# lld: gold fails to link the sanitizer runtime beside SwiftPM's renamed entry point.
CARINA_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product CarinaFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,address
bin=.build-fuzz/release/CarinaFuzz
rm -rf .build-fuzz/seeds
"$bin" seeds .build-fuzz/seeds
mkdir -p .build-fuzz/crashes .build-fuzz/logs

failed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p ".build-fuzz/corpus/$t"
    log=".build-fuzz/logs/$t.log"
    status=0
    if [[ $budget == runs=* ]]; then
        limit=(-runs="${budget#runs=}" -seed=1)
        corpus=()
        echo "launch/fuzz.sh: fuzzing $t for ${budget#runs=} inputs (seed 1)"
    else
        limit=(-max_total_time="$budget")
        corpus=(".build-fuzz/corpus/$t")
        echo "launch/fuzz.sh: fuzzing $t for $budget s"
    fi
    # Leak checking is off: Swift's runtime caches (metadata, Foundation) look like leaks to LeakSanitizer.
    "$bin" "$t" ${corpus[@]+"${corpus[@]}"} ".build-fuzz/seeds/$t" "${limit[@]}" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/crashes/$t-" >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    units=$(find ".build-fuzz/corpus/$t" -type f | wc -l)
    crashes=$(find .build-fuzz/crashes -name "$t-*" -type f | wc -l)
    summary+=("$(printf '%-12s %12s executions  %-22s corpus %5s  crash files %s  exit %s' "$t" "$runs" "${cov:-cov: ?}" "$units" "$crashes" "$status")")
    if ((status != 0)); then
        failed=1
        echo "launch/fuzz.sh: $t found a problem; the end of $log:" >&2
        tail -30 "$log" >&2
    fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
