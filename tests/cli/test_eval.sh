# test_eval.sh - `backprop eval`: the loss and metrics of a saved model,
# exact for hand-written ones (regression: MAE, RMSE, R^2; classification:
# accuracy, per-class table, confusion matrix), the saved loss and scaling
# used, --json, a non-finite output, and errors. Usage: sh test_eval.sh PATH_TO_backprop
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
# whole-number targets read as class labels to the data set. The targets
# 1, 3, 5, 7 have mean 4 and SS_tot 9 + 1 + 1 + 9 = 20, so R^2 =
# 1 - 150 / 20 = -6.5; RMSE sqrt(37.5).
run "$BP" eval --model "$TMP/lesson.json" --data "$TMP/four.csv"
expect_rc 0 "lesson model"
printf 'loss 37.5  n 4\nmae 6  rmse 6.123724356957945  r2 -6.5\n' >"$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "lesson model: got '$(cat "$TMP/out")'"
run "$BP" eval --model "$TMP/lesson.json" --data "$TMP/four.csv" --json
expect_rc 0 "lesson model --json"
[ "$(tr -d '\n' <"$TMP/out")" = '{"loss": 37.5, "n": 4, "task": "regression", "mae": 6, "rmse": 6.123724356957945, "r2": -6.5, "network": {"spec": "2,2:relu:nobias,1:relu:nobias", "inputs": 2, "outputs": 1, "input_shape": [2], "layers": [  {"layer": 0, "entry": "2:relu:nobias", "kind": "dense", "inputs": 2, "outputs": 2, "shape": [2], "activation": "relu", "weight_dims": [2, 2], "bias": false, "parameters": 4},  {"layer": 1, "entry": "1:relu:nobias", "kind": "dense", "inputs": 2, "outputs": 1, "shape": [1], "activation": "relu", "weight_dims": [1, 2], "bias": false, "parameters": 2}], "parameters": 6}}' ] ||
    fail "lesson model --json: got '$(cat "$TMP/out")'"
# The lesson's second weights: errors 8.75, 7, -5, 7, so MSE
# (76.5625 + 49 + 25 + 49) / 4 = 49.890625, printed exactly.
cat >"$TMP/lesson2.json" <<'JSON'
{"net": "2,2:relu:nobias,1:relu:nobias", "weights": [[[2, 1], [1, 1.5]], [[1, 1.5]]]}
JSON
run "$BP" eval --model "$TMP/lesson2.json" --data "$TMP/four.csv"
expect_rc 0 "lesson model, second weights"
[ "$(head -n 1 "$TMP/out")" = "loss 49.890625  n 4" ] ||
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
grep -q -E '^\{"loss": 0\.00[0-9]+, "n": 4, "task": "classification", "accuracy": 1, ' "$TMP/out" ||
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
grep -q -E '^mae [0-9.e+-]+  rmse [0-9.e+-]+  r2 -?[0-9.e+-]+$' "$TMP/out" ||
    fail "regression metrics: got '$(cat "$TMP/out")'"
run "$BP" eval --model "$TMP/reg.safetensors" --data "$TMP/reg.csv" --json
grep -q accuracy "$TMP/out" && fail "regression --json has an accuracy"
has '"task": "regression", "mae": ' "regression --json"

# A hand-written classifier: class scores x1, x2 and -x1 - x2. Predicted
# 0 1 2 0 2 1 against true 0 1 2 1 2 0: confusion [1 1 0; 1 1 0; 0 0 2],
# accuracy 4/6; classes 0 and 1 have precision, recall and F1 1/2, class 2
# all 1; the macro averages 2/3.
cat >"$TMP/three.json" <<'JSON'
{"net": "2,3:softmax:nobias", "weights": [[[1, 0], [0, 1], [-1, -1]]]}
JSON
printf 'x1,x2,label\n2,0,0\n0,2,1\n-1,-1,2\n3,1,1\n-2,-1,2\n1,2,0\n' >"$TMP/cls.csv"
run "$BP" eval --model "$TMP/three.json" --data "$TMP/cls.csv"
expect_rc 0 "classifier"
grep -q -E '^loss [0-9.e+-]+  n 6$' "$TMP/out" || fail "classifier: got '$(cat "$TMP/out")'"
tail -n +2 "$TMP/out" >"$TMP/got"
cat >"$TMP/want" <<'TEXT'
accuracy 0.6666666666666666 (4 of 6)

class      precision           recall              f1                  support
0          0.5                 0.5                 0.5                 2
1          0.5                 0.5                 0.5                 2
2          1                   1                   1                   2
macro avg  0.6666666666666666  0.6666666666666666  0.6666666666666666  6

confusion matrix (rows: true class, columns: predicted class)
true\predicted  0  1  2
0               1  1  0
1               1  1  0
2               0  0  2
TEXT
cmp -s "$TMP/got" "$TMP/want" || fail "classifier: got
$(cat "$TMP/got")"
run "$BP" eval --model "$TMP/three.json" --data "$TMP/cls.csv" --json
expect_rc 0 "classifier --json"
sed -n '1s/^{"loss": [0-9.e+-]*, /{/p' "$TMP/out" >"$TMP/got"
[ "$(cat "$TMP/got")" = '{"n": 6, "task": "classification", "accuracy": 0.6666666666666666, "macro_precision": 0.6666666666666666, "macro_recall": 0.6666666666666666, "macro_f1": 0.6666666666666666, "classes": [{"class": 0, "name": "0", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}, {"class": 1, "name": "1", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}, {"class": 2, "name": "2", "precision": 1, "recall": 1, "f1": 1, "support": 2}], "confusion": [[1, 1, 0], [1, 1, 0], [0, 0, 2]], "network": {"spec": "2,3:softmax:nobias", "inputs": 2, "outputs": 3, "input_shape": [2], "layers": [' ] ||
    fail "classifier --json: got '$(cat "$TMP/out")'"

# A trained spiral classifier: the table and matrix of its 3 classes, whose
# counts add up to the rows.
run "$BP" train --data spiral:40:3 --net 2,16:tanh,3:softmax --optimizer adam --lr 0.05 \
    --epochs 20 --quiet --out "$TMP/spiral.safetensors"
expect_rc 0 "train spiral"
run "$BP" eval --model "$TMP/spiral.safetensors" --data spiral:40:3
expect_rc 0 "spiral"
grep -q -E '^accuracy 0?\.?[0-9]+ \([0-9]+ of 120\)$' "$TMP/out" || fail "spiral: got '$(cat "$TMP/out")'"
grep -q -E '^2  +[0-9.e-]+  +[0-9.e-]+  +[0-9.e-]+  +40$' "$TMP/out" || fail "spiral: class 2's row"
has "confusion matrix (rows: true class, columns: predicted class)" "spiral: matrix"
sum=$(sed -n '/^true/,$p' "$TMP/out" | awk 'NR > 1 { for (i = 2; i <= NF; i++) s += $i } END { print s }')
[ "$sum" = 120 ] || fail "spiral: the confusion matrix sums to $sum"
run "$BP" eval --model "$TMP/spiral.safetensors" --data spiral:40:3 --json
expect_rc 0 "spiral --json"
grep -q -E '"confusion": \[\[[0-9]+, [0-9]+, [0-9]+\], \[[0-9]+, [0-9]+, [0-9]+\], \[[0-9]+, [0-9]+, [0-9]+\]\], "network": \{"spec": "2,16:tanh,3:softmax", ' \
    "$TMP/out" || fail "spiral --json: got '$(cat "$TMP/out")'"
# Over 20 classes: the averages in the terminal, the rest in --json.
run "$BP" train --data spiral:3:21 --net 2,21:softmax --epochs 1 --quiet --out "$TMP/s21.safetensors"
expect_rc 0 "train 21 classes"
run "$BP" eval --model "$TMP/s21.safetensors" --data spiral:3:21
expect_rc 0 "21 classes"
has "of the 21 classes: add --json" "21 classes: --json named"
grep -q "^confusion matrix" "$TMP/out" && fail "21 classes: the matrix printed"
run "$BP" eval --model "$TMP/s21.safetensors" --data spiral:3:21 --json
[ "$(grep -o '"support"' "$TMP/out" | wc -l)" -eq 21 ] || fail "21 classes --json: not 21 classes"

# A non-finite output: 1e38 * 4 overflows float on the fourth row.
cat >"$TMP/huge.json" <<'JSON'
{"net": "2,1:identity:nobias", "weights": [[[1e38, 1e38]]]}
JSON
run "$BP" eval --model "$TMP/huge.json" --data "$TMP/four.csv"
expect_rc 1 "non-finite output"
err_has "non-finite output on these data (output 0 of data row 4 is inf)" "non-finite output"
err_has "lower --lr" "non-finite output: what to check"
[ -s "$TMP/out" ] && fail "non-finite output: figures printed"

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
err_has "the data have 3 inputs; the network takes 2" "data of another width"
run "$BP" eval --model "$TMP/xor.safetensors" --data "$TMP/reg.csv:label=nope"
expect_rc 1 "bad label column"

run "$BP" eval --help
expect_rc 0 "eval --help"
for opt in --model --data --loss --seed --json; do
    has "  $opt " "eval --help lists $opt"
done
has "(default: 1" "eval --help default seed"

echo "ok: eval"
