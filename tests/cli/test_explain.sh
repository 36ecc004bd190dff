# test_explain.sh - `backprop explain`: the forward pass, the loss and every
# slope as a product of three factors, one gradient-descent step with --lr,
# networks from model files, and the errors of bad weights and bad files.
# Usage: sh test_explain.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
EX=$(dirname "$0")/../../examples

# The step's part of the output: from "One step of gradient descent" on.
step_has() {
    sed -n '/^One step of gradient descent/,$p' "$TMP/out" >"$TMP/step"
    grep -F -q -e "$1" "$TMP/step" || fail "$2: the step lacks '$1'"
}
# near PREFIX EXPECTED WHAT: in the step's part, the number right after
# PREFIX is printed as EXPECTED, exactly. The step is computed in double
# from the network's floats and each figure shown as the shortest decimal
# that reads back as the float nearest it: 1 - 0.01 x 30 is 0.7, as the
# lessons print it, not the float step's 0.70000005.
near() {
    sed -n '/^One step of gradient descent/,$p' "$TMP/out" >"$TMP/step"
    line=$(grep -F -e "$1" "$TMP/step" | head -n 1)
    [ -n "$line" ] || fail "$3: the step lacks '$1'"
    got=${line#*"$1"}
    got=${got%%[ ,]*}
    [ "$got" = "$2" ] || fail "$3: '$1' is followed by '$got', expected $2"
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

# ---- one step of gradient descent ---------------------------------------

# The lesson's example from its model file. Worked by hand:
#   forward:  h = relu(2x0 + 1x3, 1x0 + 2x3) = (3, 6), y = 1x3 + 1x6 = 9,
#             loss (9 - 3)^2 = 36, dL/dy = 2 (9 - 3) = 12
#   slopes:   output w: 3 x 12 = 36 and 6 x 12 = 72; each hidden node gets
#             1 x 12 = 12, so w[0][o][0]: 0 x 12 = 0, w[0][o][1]: 3 x 12 = 36
#   step:     w - 0.01 x slope: output 1 - 0.36 = 0.64, 1 - 0.72 = 0.28;
#             hidden [[2, 1 - 0.36], [1, 2 - 0.36]] = [[2, 0.64], [1, 1.64]]
#   after:    h = (0.64 x 3, 1.64 x 3) = (1.92, 4.92),
#             y = 0.64 x 1.92 + 0.28 x 4.92 = 1.2288 + 1.3776 = 2.6064,
#             error 2.6064 - 3 = -0.3936, loss 0.3936^2 = 0.15492096
run "$BP" explain --model "$EX/lesson.json" --input 0,3 --target 3 --lr 0.01
expect_rc 0 "lesson --lr"
has "model: $EX/lesson.json" "lesson --lr names the model"
has "loss: mse = 36" "lesson --lr loss before"
has "w[1][0][0] = 1   slope 36 = value 3 x dL/dnode 12 x act' 1" "breakdown shows the weights before the step"
step_has "learning rate 0.01" "lesson --lr rate"
near "w[1][0][0]: 1 - 0.01 x 36 = " 0.64 "output weight 0"
near "w[1][0][1]: 1 - 0.01 x 72 = " 0.28 "output weight 1"
near "w[0][0][0]: 2 - 0.01 x 0 = " 2 "hidden weight without slope"
near "w[0][0][1]: 1 - 0.01 x 36 = " 0.64 "hidden weight [0][1]"
near "w[0][1][0]: 1 - 0.01 x 0 = " 1 "hidden weight [1][0]"
near "w[0][1][1]: 2 - 0.01 x 36 = " 1.64 "hidden weight [1][1]"
near "y[0] = " 2.6064 "prediction after the step"
step_has "(was 9), target 3" "prediction before the step"
near "error " -0.3936 "error after the step"
near "loss: mse = " 0.15492096 "loss after the step"
step_has "(was 36)" "loss before the step"

# The same through --net and --weights.
run "$BP" explain --net "$NET" --weights "$W" --input 0,3 --target 3 --lr 0.01
expect_rc 0 "--net --lr"
near "w[1][0][0]: 1 - 0.01 x 36 = " 0.64 "--net --lr output weight 0"
near "y[0] = " 2.6064 "--net --lr prediction"

# y = 0 x 1 + 2 x 2 + 1 x 3 = 7 for target 0: loss 49, dL/dy = 14, slopes
# 14 x (1, 2, 3) = (14, 28, 42); weights become (0 - 0.14, 2 - 0.28,
# 1 - 0.42) = (-0.14, 1.72, 0.58); y = -0.14 + 3.44 + 1.74 = 5.04, error
# 5.04, loss 5.04^2 = 25.4016.
run "$BP" explain --model "$EX/linear.json" --input 1,2,3 --target 0 --lr 0.01
expect_rc 0 "linear --lr"
has "loss: mse = 49" "linear loss"
has "slope 14 = value 1 x dL/dnode 14 x act' 1" "linear slope 14"
has "slope 28 = value 2 x dL/dnode 14 x act' 1" "linear slope 28"
has "slope 42 = value 3 x dL/dnode 14 x act' 1" "linear slope 42"
near "w[0][0][0]: 0 - 0.01 x 14 = " -0.14 "linear weight 0"
near "w[0][0][1]: 2 - 0.01 x 28 = " 1.72 "linear weight 1"
near "w[0][0][2]: 1 - 0.01 x 42 = " 0.58 "linear weight 2"
near "y[0] = " 5.04 "linear prediction"
near "error " 5.04 "linear error"
near "loss: mse = " 25.4016 "linear loss after"
run "$BP" explain --net 3,1:identity:nobias --weights '0,2,1' --input 1,2,3 --target 0 --lr 0.01 --json
expect_rc 0 "linear --lr --json"
has '"weights": [[-0.14, 1.72, 0.58]]' "json: the weights after the step as the lesson prints them"
has '"output": [5.04], "error": [5.04], "loss_value": 25.4016}' "json: after the step"

# The lesson's second weights (hidden node 1 [1, 1.5], output [1, 1.5]):
# h = [3, 4.5], y = 9.75, dL/dy = 13.5; after a step of 0.01 the weights
# 0.595 and 0.8925, y = 0.595 x 1.785 + 0.8925 x 2.6775 = 3.45174375 and
# the loss 0.45174375^2 = 0.2040724156..., each printed as in decimal.
run "$BP" explain --net "$NET" --weights '2,1;1,1.5/1,1.5' --input 0,3 --target 3 --lr 0.01
expect_rc 0 "second weights"
has "h[1] = relu(z = 1 x 0 + 1.5 x 3 = 4.5) = 4.5" "second weights h[1]"
has "y[0] = relu(z = 1 x 3 + 1.5 x 4.5 = 9.75) = 9.75" "second weights y[0]"
has "loss: mse = 45.5625" "second weights loss"
has "dL/d x[1] = 1 x 13.5 x 1 + 1.5 x 20.25 x 1 = 43.875" "second weights dL/dx[1]"
near "w[0][1][1]: 1.5 - 0.01 x 60.75 = " 0.8925 "second weights: 0.8925"
near "w[1][0][0]: 1 - 0.01 x 40.5 = " 0.595 "second weights: 0.595"
near "y[0] = " 3.45174375 "second weights prediction"
near "error " 0.45174375 "second weights error"
near "loss: mse = " 0.20407242 "second weights loss after"

# A decimal input is taken as given, in double: 2 x 0.1 + 1 x 0.3 = 0.5 and
# 1 x 0.1 + 2 x 0.3 = 0.7, not the floats' 0.50000001 and 0.70000005.
run "$BP" explain --net 2,2:relu:nobias,1:relu:nobias --weights '2,1;1,2/1,1' --input 0.1,0.3 --target 3
expect_rc 0 "decimal input"
has "h[0] = relu(z = 2 x 0.1 + 1 x 0.3 = 0.5) = 0.5" "decimal input h[0]"
has "h[1] = relu(z = 1 x 0.1 + 2 x 0.3 = 0.7) = 0.7" "decimal input h[1]"
has "y[0] = relu(z = 1 x 0.5 + 1 x 0.7 = 1.2) = 1.2" "decimal input y[0]"
has "loss: mse = 3.24" "decimal input loss"

# y = 1 x 3 + 2 x 4 = 11 for target 6: loss 25, dL/dy = 10, slopes 30 and
# 40; weights 1 - 0.3 = 0.7 and 2 - 0.4 = 1.6; y = 2.1 + 6.4 = 8.5, error
# 2.5, loss 6.25.
run "$BP" explain --model "$EX/two-weights.json" --input 3,4 --target 6 --lr 0.01
expect_rc 0 "two weights --lr"
has "slope 30 = value 3 x dL/dnode 10 x act' 1" "two weights slope 30"
has "slope 40 = value 4 x dL/dnode 10 x act' 1" "two weights slope 40"
near "w[0][0][0]: 1 - 0.01 x 30 = " 0.7 "two weights: 0.7"
near "w[0][0][1]: 2 - 0.01 x 40 = " 1.6 "two weights: 1.6"
near "y[0] = " 8.5 "two weights prediction"
near "error " 2.5 "two weights error"
near "loss: mse = " 6.25 "two weights loss after"

run "$BP" explain --model "$EX/two-weights.json" --input 3,4 --target 6 --lr 0.01 --json
expect_rc 0 "two weights --lr --json"
has '"model": "' "json names the model"
has '"step": {"lr": 0.01' "json step"
[ "$(grep -c -F '"grad_w": [[30, 40]]' "$TMP/out")" -eq 2 ] || fail "json: the step's slopes as in the breakdown"
has '"loss_value": 25,' "json loss before"
has '"output": [' "json prediction after"

# Without --lr there is no step.
run "$BP" explain --model "$EX/two-weights.json" --input 3,4 --target 6
if grep -q "One step" "$TMP/out"; then fail "a step without --lr"; fi
run "$BP" explain --model "$EX/two-weights.json" --input 3,4 --target 6 --json
if grep -q '"step"' "$TMP/out"; then fail "a json step without --lr"; fi

run "$BP" explain --model "$EX/two-weights.json" --input 3,4 --target 6 --lr 0
expect_rc 2 "--lr 0"
err_has "--lr: expected a positive number, got '0'" "--lr 0"

# ---- model files --------------------------------------------------------

# The loss saved with a model is its default: mae, slope sign(11 - 6) = 1.
printf '{"net": "2,1:identity:nobias", "weights": [[[1, 2]]], "metadata": {"loss": "mae"}}\n' >"$TMP/mae.json"
run "$BP" explain --model "$TMP/mae.json" --input 3,4 --target 6
expect_rc 0 "saved loss"
has "loss: mae = 5" "the model's loss"
has "dL/dnode y[0] = 1" "mae slope"
run "$BP" explain --model "$TMP/mae.json" --input 3,4 --target 6 --loss mse
has "loss: mse = 25" "--loss over the model's"

# A model's input scaling applies to --input: x = (5 - 1) x 0.5 = 2, y = 2 x
# 2 = 4, loss (4 - 0)^2 = 16.
printf '{"net": "1,1:identity:nobias", "weights": [[[2]]], "metadata": {"scaling": "{\\"shift\\": [1], \\"mul\\": [0.5]}"}}\n' >"$TMP/scaled.json"
run "$BP" explain --model "$TMP/scaled.json" --input 5 --target 0
expect_rc 0 "scaled input"
has "given:  5" "the value given"
has "the model's input scaling" "scaling named"
has "input:  x[0] = 2" "the scaled input"
has "loss: mse = 16" "loss of the scaled input"
run "$BP" explain --model "$TMP/scaled.json" --input 5 --target 0 --json
has '"input": [5], "scaled": true' "json scaled input"
has '"input": [2]' "json network input"

# Bad model files: exit 1 with the library's message naming the file.
run "$BP" explain --model "$TMP/nope.json" --input 0,3 --target 3
expect_rc 1 "missing model"
err_has "backprop: cannot open $TMP/nope.json" "missing model named"
printf '{"net": "2,1", "weights": [[[1]]]}\n' >"$TMP/bad.json"
run "$BP" explain --model "$TMP/bad.json" --input 0,3 --target 3
expect_rc 1 "bad model"
err_has "$TMP/bad.json: weights[0][0] has 1 values, expected 2" "bad model named"

# Usage errors with a model.
run "$BP" explain --net "$NET" --model "$EX/lesson.json" --input 0,3 --target 3
expect_rc 2 "--net and --model"
err_has "give either --net or --model, not both" "--net and --model"
run "$BP" explain --model "$EX/lesson.json" --weights "$W" --input 0,3 --target 3
expect_rc 2 "--weights with --model"
err_has "--weights goes with --net" "--weights with --model"
run "$BP" explain --model "$EX/lesson.json" --input 0,3,1 --target 3
expect_rc 2 "model input width"
err_has "--input: expected 2 values (the network's inputs), got 3 in '0,3,1'" "model input width"
run "$BP" explain --model "$EX/lesson.json" --input 0,3 --target 3,1
expect_rc 2 "model target width"
err_has "--target: expected 1 value" "model target width"
run "$BP" explain --input 0,3 --target 3
expect_rc 2 "no network"
err_has "--net is required (or --model)" "no network"

run "$BP" explain --help
expect_rc 0 "explain --help"
for opt in --net --model --weights --biases --seed --input --target --loss --lr --json; do
    has "  $opt" "explain --help lists $opt"
done

echo "ok: explain"
