# lib.sh - what the command-line test scripts share; each script sources it
# with its own arguments: `. "$(dirname "$0")/lib.sh"`, run as
# `sh test_NAME.sh PATH_TO_backprop`. Gives $BP (the tool), $TMP (a scratch
# directory removed on exit) and the helpers below.
set -eu
BP=${1:?usage: sh $0 PATH_TO_backprop}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# fail MESSAGE: report and stop with a failure.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# run COMMAND...: run it, keeping stdout in $TMP/out, stderr in $TMP/err and
# the exit status in $rc.
run() {
    rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
}
# expect_rc CODE WHAT: the last run exited with CODE.
expect_rc() {
    [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1 (stderr: $(cat "$TMP/err"))"
}
# has TEXT WHAT / err_has TEXT WHAT: the last run's stdout / stderr holds TEXT.
has() {
    grep -F -q -e "$1" "$TMP/out" || fail "$2: output lacks '$1'"
}
err_has() {
    grep -F -q -e "$1" "$TMP/err" || fail "$2: stderr lacks '$1' (got: $(cat "$TMP/err"))"
}
# pred_outputs O IN OUT: the network's O outputs per row of `backprop
# predict`'s CSV IN (its last O columns: a classifier's probabilities, a
# regression's predictions), without the header line, into OUT.
pred_outputs() {
    awk -F, -v o="$1" 'NR > 1 { for (i = NF - o + 1; i <= NF; i++) printf "%s%s", $i, i < NF ? "," : "\n" }' \
        "$2" >"$3"
}
# gradient_images N SIDE SEED NOISE: N images of 1 x SIDE x SIDE as CSV rows
# of SIDE^2 pixels and a label, 3 classes from the gradient's direction
# (down, across, diagonal) plus uniform noise of up to NOISE.
gradient_images() {
    awk -v n="$1" -v side="$2" -v seed="$3" -v noise="$4" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) {
            k = i % 3
            for (j = 0; j < side * side; j++) {
                y = int(j / side); x = j % side
                printf "%.4f,", (k == 0 ? y : k == 1 ? x : x + y) / side + rand() * noise
            }
            printf "%d\n", k
        }
    }'
}
# Debian's python3, for the reference tests (not the one first on PATH).
PY=/usr/bin/python3
# need_python MODULES NAMES PACKAGES: skip the test (exit 0 with a message)
# unless $PY imports MODULES ("torch, numpy").
need_python() {
    if [ ! -x "$PY" ] || ! "$PY" -c "import $1" 2>/dev/null; then
        echo "SKIP: $2 are not installed (apt-get install $3)"
        exit 0
    fi
}
