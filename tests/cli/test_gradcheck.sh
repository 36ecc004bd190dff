# test_gradcheck.sh - `backprop gradcheck`: backpropagation agrees with
# finite differences on several networks, a tolerance that no layer can
# meet fails with status 1, and bad options are usage errors.
# Usage: sh test_gradcheck.sh PATH_TO_backprop
set -eu
BP=${1:?usage: sh test_gradcheck.sh PATH_TO_backprop}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
run() {
    rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
}
expect_rc() {
    [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1 (stderr: $(cat "$TMP/err"); stdout: $(cat "$TMP/out"))"
}
has() {
    grep -F -q -e "$1" "$TMP/out" || fail "$2: output lacks '$1'"
}
err_has() {
    grep -F -q -e "$1" "$TMP/err" || fail "$2: stderr lacks '$1' (got: $(cat "$TMP/err"))"
}

# Every activation and loss, with the default loss rule and explicit ones.
for args in "--net 2,3:relu,3:softmax" \
    "--net 4,8:tanh,5:sigmoid --batch 3" \
    "--net 3,5:sigmoid,4:leaky_relu=0.2,2" \
    "--net 3,4:tanh,2:identity --loss mae" \
    "--net 5,6:relu:nobias,6:tanh,4:softmax --batch 8 --seed 9" \
    "--net 2,3:sigmoid,1:sigmoid --loss mse"; do
    # shellcheck disable=SC2086
    run "$BP" gradcheck $args
    expect_rc 0 "gradcheck $args"
    has "PASS" "gradcheck $args"
    if grep -q FAIL "$TMP/out"; then fail "gradcheck $args: a layer failed"; fi
    has "within the tolerance" "gradcheck $args summary"
done

run "$BP" gradcheck --net 2,3:relu,3:softmax
has "loss cce" "cce after softmax"
[ "$(grep -c -E '^ +[0-9]+ +[0-9]+x[0-9]+' "$TMP/out")" -eq 2 ] || fail "one row per layer"
has "3x2 + bias" "shape of layer 0"
run "$BP" gradcheck --net 4,8:tanh,5:sigmoid
has "loss bce" "bce after sigmoid"
run "$BP" gradcheck --net 4,8:tanh,5
has "loss mse" "mse otherwise"

run "$BP" gradcheck --net 2,3:relu,3:softmax --json
expect_rc 0 "gradcheck --json"
has '"loss": "cce"' "json loss"
has '"pass": true}' "json verdict"
has '"layer": 1' "json layers"

# The same seed gives the same report.
run "$BP" gradcheck --net 3,4:tanh,2 --seed 4
cp "$TMP/out" "$TMP/first"
run "$BP" gradcheck --net 3,4:tanh,2 --seed 4
cmp -s "$TMP/out" "$TMP/first" || fail "same seed, different reports"

# A tolerance below float precision fails: status 1 and FAIL.
run "$BP" gradcheck --net 2,3:relu,3:softmax --tol 1e-15
expect_rc 1 "impossible tolerance"
has "FAIL" "impossible tolerance"
has "above the tolerance" "impossible tolerance summary"

# Usage errors.
run "$BP" gradcheck
expect_rc 2 "no --net"
err_has "--net is required" "no --net"
run "$BP" gradcheck --net 2,3:relx
expect_rc 2 "bad spec"
err_has "--net:" "bad spec"
run "$BP" gradcheck --net 2,3 --batch 0
expect_rc 2 "--batch 0"
err_has "--batch: expected a positive integer" "--batch 0"
run "$BP" gradcheck --net 2,3 --eps abc
expect_rc 2 "--eps abc"
err_has "--eps: expected a positive number, got 'abc'" "--eps abc"
run "$BP" gradcheck --net 2,3 --tol 0
expect_rc 2 "--tol 0"
err_has "--tol: expected a positive number, got '0'" "--tol 0"
run "$BP" gradcheck --net 2,3 --loss nope
expect_rc 2 "--loss nope"
err_has "--loss: unknown loss 'nope'" "--loss nope"
run "$BP" gradcheck --net 2,3 --frobnicate
expect_rc 2 "unknown option"
err_has "unknown option '--frobnicate' (see backprop gradcheck --help)" "unknown option"

run "$BP" gradcheck --help
expect_rc 0 "gradcheck --help"
for opt in --net --loss --batch --seed --eps --tol --json; do
    has "  $opt" "gradcheck --help lists $opt"
done
has "(default: 1e-3)" "gradcheck --help defaults"

echo "ok: gradcheck"
