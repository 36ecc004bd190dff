#!/bin/sh
# Run every fuzz harness (or those named) for FUZZ_SECONDS each, one after
# the other, from its committed seed corpus. New inputs the fuzzer finds go
# to FUZZ_WORK/NAME (not into the repository); a crash or a leak stops the
# run with the input saved as FUZZ_WORK/NAME-crash-* and a non-zero exit.
# Usage: fuzz/run.sh BUILD_DIR [NAME...]
set -eu
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-600}
work=${FUZZ_WORK:-${TMPDIR:-/tmp}/backprop-fuzz}
names=${*:-"csv idx idx_gz safetensors model_json data_spec net_spec expr checkpoint onnx"}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for name in $names; do
    mkdir -p "$work/$name"
    echo "fuzz: $name for $seconds s (corpus $work/$name)"
    if ! "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$name-" \
        "$work/$name" "$here/corpus/$name" </dev/null; then
        echo "fuzz: $name FAILED; the input is under $work/$name-*" >&2
        status=1
    fi
done
exit $status
