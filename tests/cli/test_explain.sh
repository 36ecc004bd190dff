# test_explain.sh - `backprop explain`: the forward pass, the loss and every
# slope as a product of three factors, and the errors of bad weights.
# Usage: sh test_explain.sh PATH_TO_backprop
set -eu
BP=${1:?usage: sh test_explain.sh PATH_TO_backprop}
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
    [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1 (stderr: $(cat "$TMP/err"))"
}
has() {
    grep -F -q -e "$1" "$TMP/out" || fail "$2: output lacks '$1'"
}
err_has() {
    grep -F -q -e "$1" "$TMP/err" || fail "$2: stderr lacks '$1' (got: $(cat "$TMP/err"))"
}

NET=2,2:relu:nobias,1:relu:nobias
W='2,1;1,2/1,1'

# The lesson's network: prediction 9 for target 3, dL/dy = 2 x 6 = 12.
run "$BP" explain --net "$NET" --weights "$W" --input 0,3 --target 3
expect_rc 0 "explain"
has "h[0] = relu(z = 2 x 0 + 1 x 3 = 3) = 3" "forward h[0]"
has "h[1] = relu(z = 1 x 0 + 2 x 3 = 6) = 6" "forward h[1]"
has "y[0] = relu(z = 1 x 3 + 1 x 6 = 9) = 9" "forward y[0]"
has "loss: mse = 36" "loss"
has "dL/dnode y[0] = 12" "output slope"
has "w[1][0][0] = 1   slope 36 = value 3 x dL/dnode 12 x act' 1" "slope of w[1][0][0]"
has "w[1][0][1] = 1   slope 72 = value 6 x dL/dnode 12 x act' 1" "slope of w[1][0][1]"
has "dL/d h[0] = 1 x 12 x 1 = 12" "node slope h[0]"
has "w[0][1][1] = 2   slope 36 = value 3 x dL/dnode 12 x act' 1" "slope of w[0][1][1]"
has "dL/d x[0] = 2 x 12 x 1 + 1 x 12 x 1 = 36" "node slope x[0]"
has "three factors" "the explanation at the top"

run "$BP" explain --net "$NET" --weights "$W" --input 0,3 --target 3 --json
expect_rc 0 "explain --json"
has '"loss_value": 36' "json loss"
has '"grad_w": [[36, 72]]' "json output-layer slopes"
has '"dinput": [36, 36]' "json input slopes"

# A bias: its slope is dL/dnode x act' (input 1).
run "$BP" explain --net 1,1:identity --weights 2 --biases 1 --input 3 --target 4
expect_rc 0 "bias"
has "y[0] = identity(z = 2 x 3 + 1 = 7) = 7" "bias forward"
has "loss: mse = 9" "bias loss"
has "b[0][0]    = 1   slope 6  = 1 x dL/dnode 6 x act' 1" "bias slope"

# Softmax with a class index: the slope shown is dL/dz = p - onehot.
run "$BP" explain --net 2,2:softmax --weights '0,0;0,0' --input 1,1 --target 1
expect_rc 0 "softmax"
has "dL/dz" "softmax names dL/dz"
has "dL/dz y[0] = 0.5" "softmax slope of class 0"
has "dL/dz y[1] = -0.5" "softmax slope of class 1"
has "cce = 0.693147" "softmax loss ln 2"

# He-normal weights from a seed are reproducible.
run "$BP" explain --net 3,4:tanh,2:sigmoid --seed 5 --input 1,2,3 --target 0,1
expect_rc 0 "seeded"
cp "$TMP/out" "$TMP/first"
run "$BP" explain --net 3,4:tanh,2:sigmoid --seed 5 --input 1,2,3 --target 0,1
cmp -s "$TMP/out" "$TMP/first" || fail "seeded: two runs differ"
has "loss: bce" "bce after sigmoid by default"

# Shape errors name the layer and the row, expected and found.
run "$BP" explain --net "$NET" --weights '2,1;1,2,3/1,1' --input 0,3 --target 3
expect_rc 2 "row too long"
err_has "--weights: layer 0 row 1: expected 2 values, found 3" "row too long"
run "$BP" explain --net "$NET" --weights '2,1/1,1' --input 0,3 --target 3
expect_rc 2 "missing row"
err_has "--weights: layer 0: expected 2 rows separated by ';', found 1" "missing row"
run "$BP" explain --net "$NET" --weights '2,1;1,2' --input 0,3 --target 3
expect_rc 2 "missing layer"
err_has "--weights: expected 2 layers separated by '/', found 1" "missing layer"
run "$BP" explain --net "$NET" --weights '2,1;1,q/1,1' --input 0,3 --target 3
expect_rc 2 "bad number"
err_has "--weights: layer 0 row 1: expected a number, got 'q'" "bad number"
run "$BP" explain --net 2,2:relu,1 --biases '1,2,3/0' --input 0,3 --target 3
expect_rc 2 "bias count"
err_has "--biases: layer 0: expected 2 values, found 3" "bias count"
run "$BP" explain --net "$NET" --weights "$W" --input 0,3,4 --target 3
expect_rc 2 "input width"
err_has "--input: expected 2 values" "input width"
run "$BP" explain --net "$NET" --weights "$W" --input 0,3 --target 3,4
expect_rc 2 "target width"
err_has "--target: expected 1 value" "target width"
run "$BP" explain --net 2,3:softmax --input 0,3 --target 5
expect_rc 2 "class index"
err_has "--target: expected a class index from 0 to 2, got '5'" "class index"
run "$BP" explain --net 2,3:relux --input 0,3 --target 3
expect_rc 2 "bad spec"
err_has "relux" "bad spec names the activation"
run "$BP" explain --net "$NET" --input 0,3
expect_rc 2 "missing --target"
err_has "--target is required" "missing --target"
run "$BP" explain --net "$NET" --input 0,3 --target 3 --loss hinge
expect_rc 2 "bad loss"
err_has "--loss: unknown loss 'hinge'" "bad loss"

run "$BP" explain --help
expect_rc 0 "explain --help"
for opt in --net --weights --biases --seed --input --target --loss --json; do
    has "  $opt" "explain --help lists $opt"
done

echo "ok: explain"
