# test_gradcheck.sh - `backprop gradcheck`: backpropagation agrees with
# finite differences on several networks, on model files at their own
# weights and on rows of a data set; a tolerance that no layer can meet
# fails with status 1, bad files are runtime errors and bad options are
# usage errors.
# Usage: sh test_gradcheck.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
EX=$(dirname "$0")/../../examples

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

# ---- model files and data sets ------------------------------------------

# The lesson's network at its own weights on the lesson's four points.
run "$BP" gradcheck --model "$EX/lesson.json" --data "$EX/lesson-data.csv" --loss mse
expect_rc 0 "lesson model on lesson data"
has "gradient check of 2,2:relu:nobias,1:relu:nobias, loss mse, batch 4" "lesson model header"
has "weights: the model $EX/lesson.json" "lesson model weights"
has "samples: the first 4 rows of $EX/lesson-data.csv (4 rows, 2 inputs" "lesson data rows"
if grep -q FAIL "$TMP/out"; then fail "lesson model: a layer failed"; fi
has "all 2 layers within the tolerance" "lesson model summary"

# The slopes it checks, by hand. Weights: hidden [[2,1],[1,2]], output [1,1];
# mse averages over the 4 rows, so dL/dy = 2 (y - t) / 4 for each row:
#   x = (0,3),  t = 1: h = (3,6), y = 9,  dL/dy = 2 x 8 / 4 = 4
#   x = (1,2),  t = 3: h = (4,5), y = 9,  dL/dy = 2 x 6 / 4 = 3
#   x = (-1,-2),t = 5: h = (0,0), y = relu(0) = 0, and relu' = 0 at 0: slope 0
#   x = (4,0),  t = 7: h = (8,4), y = 12, dL/dy = 2 x 5 / 4 = 2.5
# output layer: w[1][0][0] = 4x3 + 3x4 + 2.5x8 = 44, w[1][0][1] = 4x6 + 3x5 + 2.5x4 = 49
# hidden layer (each h feeds y through a weight of 1, relu' = 1 where h > 0):
#   w[0][o][0] = 4x0 + 3x1 + 2.5x4 = 13, w[0][o][1] = 4x3 + 3x2 + 2.5x0 = 18
# The report shows each layer's worst entry, which is one of those.
run "$BP" gradcheck --model "$EX/lesson.json" --data "$EX/lesson-data.csv" --loss mse --json
expect_rc 0 "lesson model --json"
grep -q -E '"layer": 0,.*"analytic": (13|18),' "$TMP/out" || fail "lesson model: layer 0 slope is not 13 or 18"
grep -q -E '"layer": 1,.*"analytic": (44|49),' "$TMP/out" || fail "lesson model: layer 1 slope is not 44 or 49"
has "\"model\": \"$EX/lesson.json\"" "json names the model"
has '"data": "' "json describes the data"
has '"pass": true}' "lesson model json verdict"

# The model's metadata gives no loss and its last layer is relu: mse.
run "$BP" gradcheck --model "$EX/lesson.json" --data "$EX/lesson-data.csv"
expect_rc 0 "lesson model, default loss"
has "loss mse" "model default loss"

# One weight, one gradient entry: y = w x with w = 2 on rows (x, t) = (1, 0)
# and (2, 1): y = 2 and 4, dL/dw = mean of 2 (y - t) x = (2x2x1 + 2x3x2) / 2 = 8.
printf 'x,t\n1,0\n2,1\n' >"$TMP/one.csv"
printf '{"net": "1,1:identity:nobias", "weights": [[[2]]]}\n' >"$TMP/one.json"
run "$BP" gradcheck --model "$TMP/one.json" --data "$TMP/one.csv" --json
expect_rc 0 "one weight"
has '"worst": "w[0][0][0]", "analytic": 8,' "one weight: slope 8"
has '"batch": 2' "one weight: --batch capped at the data's 2 rows"
run "$BP" gradcheck --model "$TMP/one.json" --data "$TMP/one.csv" --batch 1 --json
has '"analytic": 4,' "first row only: 2 (2 - 0) x 1 = 4"

# A loss saved in the model's metadata is its default; --loss wins over it.
printf '{"net": "1,1:identity:nobias", "weights": [[[2]]], "metadata": {"loss": "mae"}}\n' >"$TMP/mae.json"
run "$BP" gradcheck --model "$TMP/mae.json" --data "$TMP/one.csv"
expect_rc 0 "saved loss"
has "loss mae" "the metadata's loss"
run "$BP" gradcheck --model "$TMP/mae.json" --data "$TMP/one.csv" --loss mse
has "loss mse" "--loss over the metadata"

# A model's input scaling applies to the data: x' = (x - 1) x 0.5 gives
# rows 0 and 0.5, y = 0 and 1, dL/dw = (2 (0 - 0) 0 + 2 (1 - 1) 0.5) / 2 = 0,
# so the worst entry's analytic slope is 0 (not the unscaled 8).
printf '{"net": "1,1:identity:nobias", "weights": [[[2]]], "metadata": {"scaling": "{\\"shift\\": [1], \\"mul\\": [0.5]}"}}\n' >"$TMP/scaled.json"
run "$BP" gradcheck --model "$TMP/scaled.json" --data "$TMP/one.csv" --json
expect_rc 0 "scaled model"
has '"analytic": 0,' "the model's scaling applied to the data"

# Without --data a model is checked on random samples.
run "$BP" gradcheck --model "$EX/two-weights.json"
expect_rc 0 "model, random samples"
has "samples: random" "model, random samples"
has "1x2" "two-weights shape"

# --net with --data: random weights, the data's rows and targets.
run "$BP" gradcheck --net 2,3:tanh,2:softmax --data xor
expect_rc 0 "net on xor"
has "samples: the first 4 rows of xor" "net on xor"
has "weights: Xavier normal from seed 1" "net on xor weights"

# A fresh network's zero biases put every ReLU node at its bend for xor's
# (0, 0) row: the check names the 3 nodes there as the likely cause.
run "$BP" gradcheck --net 2,3:relu,2:softmax --data xor --json
has '"kinks": 3,' "relu nodes at 0 counted"
run "$BP" gradcheck --net 2,3:relu,2:softmax --data xor
expect_rc 1 "relu nodes at 0"
has "FAIL" "relu nodes at 0"
has "note: 3 ReLU node inputs over these samples lie within a step of 0" "the note on kinks"

# Data that do not fit the network.
run "$BP" gradcheck --model "$EX/linear.json" --data "$EX/lesson-data.csv"
expect_rc 1 "data of another width, model"
err_has "the data have 2 inputs; the network takes 3" "data of another width, model"
run "$BP" gradcheck --net 3,2:tanh,1 --data xor
expect_rc 1 "data of another width, net"
err_has "--data xor: the data have 2 inputs; the network expects 3" "data of another width, net"
run "$BP" gradcheck --net 2,3:tanh,2 --data xor
expect_rc 1 "too few target columns"
err_has "the data have 1 target column; the network has 2 outputs, so loss mse needs 2" "target columns"
run "$BP" gradcheck --net 2,2 --data "$TMP/nope.csv"
expect_rc 1 "missing data file"
err_has "$TMP/nope.csv" "missing data file named"

# Bad model files: exit 1 with the library's message naming the file.
run "$BP" gradcheck --model "$TMP/nope.json"
expect_rc 1 "missing model"
err_has "backprop: cannot open $TMP/nope.json" "missing model named"
printf '{"net": "2,1", "weights": [[[1]]]}\n' >"$TMP/bad.json"
run "$BP" gradcheck --model "$TMP/bad.json"
expect_rc 1 "bad model"
err_has "$TMP/bad.json: weights[0][0] has 1 values, expected 2" "bad model named"
printf 'not a model' >"$TMP/junk.safetensors"
run "$BP" gradcheck --model "$TMP/junk.safetensors"
expect_rc 1 "junk model"
err_has "$TMP/junk.safetensors" "junk model named"

# --net with --model: the model's network, which must be the file's own.
run "$BP" gradcheck --net 2,1 --model "$EX/two-weights.json"
expect_rc 1 "--net and --model that disagree"
err_has "the spec given, 2,1, disagrees with the spec $EX/two-weights.json holds, 2,1:identity:nobias" \
    "--net and --model that disagree"
run "$BP" gradcheck --net 2,1:identity:nobias --model "$EX/two-weights.json"
expect_rc 0 "--net and --model that agree"
run "$BP" gradcheck --model "$EX/two-weights.json" --loss nope
expect_rc 2 "--loss nope with a model"
err_has "--loss: unknown loss 'nope'" "--loss nope with a model"

run "$BP" gradcheck --help
expect_rc 0 "gradcheck --help"
for opt in --net --model --loss --data --batch --seed --eps --tol --json; do
    has "  $opt" "gradcheck --help lists $opt"
done
has "(default: 1e-3)" "gradcheck --help defaults"

echo "ok: gradcheck"
