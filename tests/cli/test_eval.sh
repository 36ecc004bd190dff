# test_eval.sh - `backprop eval`: the loss and accuracy of a saved model,
# exact for a hand-written one, the saved loss and scaling used, --json,
# and errors. Usage: sh test_eval.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# The lesson's network and four samples: predictions 9, 9, 0, 12 against
# targets 1, 3, 5, 7, so the errors are 8, 6, -5, 5: MSE 150 / 4 = 37.5,
# MAE 24 / 4 = 6.
cat >"$TMP/lesson.json" <<'JSON'
{"net": "2,2:relu:nobias,1:relu:nobias", "weights": [[[2, 1], [1, 2]], [[1, 1]]]}
JSON
printf 'x1,x2,t\n0,3,1\n1,2,3\n-1,-2,5\n4,0,7\n' >"$TMP/four.csv"
printf 'x1,x2,y\n0,3,1.5\n1,2,3.25\n-1,-2,5\n4,0,7\n0.5,1,2\n2,2,0.1\n' >"$TMP/reg.csv"

# No accuracy: MSE is not a classification loss, even though the
# whole-number targets read as class labels to the data set.
run "$BP" eval --model "$TMP/lesson.json" --data "$TMP/four.csv"
expect_rc 0 "lesson model"
[ "$(cat "$TMP/out")" = "loss 37.5  n 4" ] ||
    fail "lesson model: got '$(cat "$TMP/out")'"
run "$BP" eval --model "$TMP/lesson.json" --data "$TMP/four.csv" --json
expect_rc 0 "lesson model --json"
[ "$(cat "$TMP/out")" = '{"loss": 37.5, "n": 4}' ] ||
    fail "lesson model --json: got '$(cat "$TMP/out")'"
# The lesson's second weights: errors 8.75, 7, -5, 7, so MSE
# (76.5625 + 49 + 25 + 49) / 4 = 49.890625, printed exactly.
cat >"$TMP/lesson2.json" <<'JSON'
{"net": "2,2:relu:nobias,1:relu:nobias", "weights": [[[2, 1], [1, 1.5]], [[1, 1.5]]]}
JSON
run "$BP" eval --model "$TMP/lesson2.json" --data "$TMP/four.csv"
expect_rc 0 "lesson model, second weights"
[ "$(cat "$TMP/out")" = "loss 49.890625  n 4" ] ||
    fail "lesson model, second weights: got '$(cat "$TMP/out")'"
run "$BP" eval --model "$TMP/lesson.json" --data "$TMP/four.csv" --loss mae --json
expect_rc 0 "--loss mae"
has '{"loss": 6, ' "--loss mae"

# A trained classifier: its saved loss (bce) and accuracy.
run "$BP" train --data xor --net 2,8:tanh,1:sigmoid --loss bce --optimizer adam --lr 0.05 \
    --batch 0 --epochs 500 --quiet --out "$TMP/xor.safetensors"
expect_rc 0 "train xor"
run "$BP" eval --model "$TMP/xor.safetensors" --data xor --json
expect_rc 0 "xor --json"
grep -q -E '^\{"loss": 0\.00[0-9]+, "accuracy": 1, "n": 4\}$' "$TMP/out" ||
    fail "xor --json: got '$(cat "$TMP/out")'"
# --loss bce gives the same figure (the saved loss), --loss mse another.
cp "$TMP/out" "$TMP/saved"
run "$BP" eval --model "$TMP/xor.safetensors" --data xor --loss bce --json
cmp -s "$TMP/out" "$TMP/saved" || fail "xor: the saved loss is not bce"
run "$BP" eval --model "$TMP/xor.safetensors" --data xor --loss mse --json
expect_rc 0 "xor --loss mse"
cmp -s "$TMP/out" "$TMP/saved" && fail "xor: --loss mse changed nothing"

# A regression model: no accuracy.
run "$BP" train --data "$TMP/reg.csv" --epochs 3 --lr 0.005 --quiet --out "$TMP/reg.safetensors"
expect_rc 0 "train regression"
run "$BP" eval --model "$TMP/reg.safetensors" --data "$TMP/reg.csv"
expect_rc 0 "regression"
grep -q -E '^loss [0-9.e+-]+  n 6$' "$TMP/out" || fail "regression: got '$(cat "$TMP/out")'"
run "$BP" eval --model "$TMP/reg.safetensors" --data "$TMP/reg.csv" --json
grep -q accuracy "$TMP/out" && fail "regression --json has an accuracy"

# A synthetic set is drawn with --seed: the training draw by default.
run "$BP" train --data vertical:30:3 --epochs 2 --quiet --out "$TMP/v.safetensors"
expect_rc 0 "train vertical"
run "$BP" eval --model "$TMP/v.safetensors" --data vertical:30:3 --json
cp "$TMP/out" "$TMP/seed1"
run "$BP" eval --model "$TMP/v.safetensors" --data vertical:30:3 --seed 1 --json
cmp -s "$TMP/out" "$TMP/seed1" || fail "--seed 1 is not the default"
run "$BP" eval --model "$TMP/v.safetensors" --data vertical:30:3 --seed 2 --json
cmp -s "$TMP/out" "$TMP/seed1" && fail "--seed 2 drew the same data"

# Errors.
run "$BP" eval --data xor
expect_rc 2 "no --model"
err_has "--model is required" "no --model"
run "$BP" eval --model "$TMP/xor.safetensors"
expect_rc 2 "no --data"
err_has "--data is required" "no --data"
run "$BP" eval --model "$TMP/xor.safetensors" --data xor --loss hinge
expect_rc 2 "unknown loss"
err_has "unknown loss 'hinge'" "unknown loss"
run "$BP" eval --model "$TMP/none.safetensors" --data xor
expect_rc 1 "missing model"
err_has "none.safetensors" "missing model named"
head -c 100 "$TMP/xor.safetensors" >"$TMP/cut.safetensors"
run "$BP" eval --model "$TMP/cut.safetensors" --data xor
expect_rc 1 "truncated model"
err_has "cut.safetensors" "truncated model named"
printf 'a,b,c,y\n1,2,3,0\n' >"$TMP/three.csv"
run "$BP" eval --model "$TMP/xor.safetensors" --data "$TMP/three.csv"
expect_rc 1 "data of another width"
err_has "the data have 3 inputs; the model expects 2" "data of another width"
run "$BP" eval --model "$TMP/xor.safetensors" --data "$TMP/reg.csv:label=nope"
expect_rc 1 "bad label column"

run "$BP" eval --help
expect_rc 0 "eval --help"
for opt in --model --data --loss --seed --json; do
    has "  $opt " "eval --help lists $opt"
done
has "(default: 1" "eval --help default seed"

echo "ok: eval"
