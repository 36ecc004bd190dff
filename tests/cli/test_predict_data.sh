# test_predict_data.sh - `backprop predict` and `eval` on the user's own
# files, read by the preprocessing a model saved (its "schema"): features in
# any order with an extra column, a text label ignored, class names and
# probabilities in the header, a regression in the target's units, an
# unseen category, --json, and a PyTorch state dict read with --net.
# Usage: sh test_predict_data.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# model NAME NET WEIGHTS BIASES LOSS SCHEMA_FILE: a JSON-form model whose
# metadata holds the loss and the data schema (as training saves them).
model() {
    esc=$(tr -d '\n' <"$6" | sed 's/"/\\"/g')
    printf '{"net": "%s", "weights": %s, "biases": %s, "metadata": {"loss": "%s", "schema": "%s"}}\n' \
        "$2" "$3" "$4" "$5" "$esc" >"$TMP/$1.json"
}

# A classifier of a number and a colour (one-hot: blue, red) into two
# named classes, one holding a comma; its logits are the colour's one-hot.
cat >"$TMP/cls.schema" <<'JSON'
{"format": "backprop-data", "version": 1, "header": true, "columns": 3, "missing": "error",
 "inputs": [{"name": "size", "position": 0, "kind": "number"},
            {"name": "color", "position": 1, "kind": "text", "values": ["blue", "red"]}],
 "label": {"name": "answer", "position": 2, "kind": "text"},
 "task": "classify", "reason": "2 distinct text labels", "classes": ["no", "yes, sure"]}
JSON
model cls 3,2:softmax "[[[0, 1, 0], [0, 0, 1]]]" "[[0, 0]]" cce "$TMP/cls.schema"

# Features only, in another order, with an extra column: a notice names it.
printf 'extra,color,size\n7,red,1\n8,blue,2\n9,red,3\n' >"$TMP/feat.csv"
run "$BP" predict --model "$TMP/cls.json" --data "$TMP/feat.csv"
expect_rc 0 "features in another order"
err_has "columns the model does not use, left out: 'extra'" "the extra column's notice"
cat >"$TMP/want" <<'CSV'
row,prediction,p_no,"p_yes, sure"
1,"yes, sure",0.26894143,0.7310586
2,no,0.7310586,0.26894143
3,"yes, sure",0.26894143,0.7310586
CSV
cmp -s "$TMP/out" "$TMP/want" || fail "classifier rows: got
$(cat "$TMP/out")"

# By position without a header; a text label column present is ignored,
# whatever its values.
printf '1,red,maybe\n2,blue,never seen\n' >"$TMP/nohead.csv"
run "$BP" predict --model "$TMP/cls.json" --data "$TMP/nohead.csv"
expect_rc 0 "no header, with a label column"
sed -n 2,3p "$TMP/want" >"$TMP/want2"
sed -n 2,3p "$TMP/out" | cmp -s - "$TMP/want2" || fail "no header: got $(cat "$TMP/out")"

# --json: the same columns and rows.
run "$BP" predict --model "$TMP/cls.json" --data "$TMP/feat.csv" --json
expect_rc 0 "--json"
[ "$(tr -d '\n' <"$TMP/out")" = '{"columns": ["row", "prediction", "p_no", "p_yes, sure"], "rows": [  [1, "yes, sure", 0.26894143, 0.7310586],  [2, "no", 0.7310586, 0.26894143],  [3, "yes, sure", 0.26894143, 0.7310586]], "network": {"spec": "3,2:softmax", "inputs": 3, "outputs": 2, "input_shape": [3], "layers": [  {"layer": 0, "entry": "2:softmax", "kind": "dense", "inputs": 3, "outputs": 2, "shape": [2], "activation": "softmax", "weight_dims": [2, 3], "bias": true, "parameters": 8}], "parameters": 8}}' ] ||
    fail "--json: got $(cat "$TMP/out")"

# An unseen category: exit 1 naming the line, the column and the value.
printf 'size,color\n1,red\n2,green\n' >"$TMP/unseen.csv"
run "$BP" predict --model "$TMP/cls.json" --data "$TMP/unseen.csv"
expect_rc 1 "an unseen category"
err_has "unseen.csv:3: 'green' in column 1 ('color') was not among its values in the training data (blue, red)" "an unseen category"
[ ! -s "$TMP/out" ] || fail "an unseen category: rows written"

# eval reads the label by its name, the classes by theirs.
printf 'answer,size,color\nno,1,blue\n"yes, sure",2,blue\n"yes, sure",3,red\n' >"$TMP/lab.csv"
run "$BP" eval --model "$TMP/cls.json" --data "$TMP/lab.csv"
expect_rc 0 "eval with class names"
has "accuracy 0.6666666666666666 (2 of 3)" "eval with class names"
has "yes, sure  1          0.5     0.6666666666666666  2" "eval: a named class's row"
has "true\\predicted  no  yes, sure" "eval: the matrix's named columns"
run "$BP" eval --model "$TMP/cls.json" --data "$TMP/lab.csv" --json
has '{"class": 1, "name": "yes, sure", "precision": 1, "recall": 0.5' "eval --json: class names"
run "$BP" eval --model "$TMP/cls.json" --data "$TMP/feat.csv"
expect_rc 1 "eval without the label"
err_has "no label column 'answer'" "eval without the label"

# A regression on a standardized target near 1e5 (mean 100000, scale
# 20000): the network's 2 x + 0.5 comes back as 40000 x + 110000.
cat >"$TMP/reg.schema" <<'JSON'
{"format": "backprop-data", "version": 1, "header": true, "columns": 3, "missing": "error",
 "inputs": [{"name": "x", "position": 0, "kind": "number"},
            {"name": "z", "position": 1, "kind": "number"}],
 "label": {"name": "price", "position": 2, "kind": "number"},
 "task": "regress", "reason": "non-integer values", "target": {"mean": 100000, "scale": 20000}}
JSON
model reg 2,1:identity "[[[2, 0]]]" "[[0.5]]" mse "$TMP/reg.schema"
printf 'z,x\n5,1\n5,0\n5,-0.25\n' >"$TMP/rx.csv"
run "$BP" predict --model "$TMP/reg.json" --data "$TMP/rx.csv"
expect_rc 0 "regression"
printf 'row,prediction\n1,150000\n2,110000\n3,100000\n' >"$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "regression: got $(cat "$TMP/out")"
# eval: errors 0 and 10000 in the target's units; the loss too (mse 0.125
# standardized, times 20000^2).
printf 'x,z,price\n1,0,150000\n0,0,100000\n' >"$TMP/ry.csv"
run "$BP" eval --model "$TMP/reg.json" --data "$TMP/ry.csv"
expect_rc 0 "eval regression"
has "loss 50000000  n 2" "eval: the loss in the target's units"
has "mae 5000  rmse 7071.067811865475  r2 0.92" "eval: mae, rmse, r2 in the target's units"
run "$BP" eval --model "$TMP/reg.json" --data "$TMP/ry.csv" --json
[ "$(tr -d '\n' <"$TMP/out")" = '{"loss": 50000000, "n": 2, "task": "regression", "mae": 5000, "rmse": 7071.067811865475, "r2": 0.92, "target_mean": 100000, "target_scale": 20000, "network": {"spec": "2,1:identity", "inputs": 2, "outputs": 1, "input_shape": [2], "layers": [  {"layer": 0, "entry": "1:identity", "kind": "dense", "inputs": 2, "outputs": 1, "shape": [1], "activation": "identity", "weight_dims": [1, 2], "bias": true, "parameters": 3}], "parameters": 3}}' ] ||
    fail "eval --json regression: got $(cat "$TMP/out")"

# A model without a schema: a features-only file gives all its columns as
# inputs; with one column more, the last (text here) is a label, ignored.
cat >"$TMP/lesson.json" <<'JSON'
{"net": "2,2:relu:nobias,1:relu:nobias", "weights": [[[2, 1], [1, 2]], [[1, 1]]]}
JSON
printf 'x1,x2\n0,3\n1,2\n' >"$TMP/f.csv"
printf 'x1,x2,t\n0,3,yes\n1,2,no\n' >"$TMP/t.csv"
for f in f t; do
    run "$BP" predict --model "$TMP/lesson.json" --data "$TMP/$f.csv"
    expect_rc 0 "no schema: $f.csv"
    [ "$(tr '\n' ' ' <"$TMP/out")" = "row,prediction 1,9 2,9 " ] ||
        fail "no schema: $f.csv: got $(cat "$TMP/out")"
done

# One sigmoid output under bce: two classes, class 1 from 0.5 on (as eval
# counts it), its probability the output.
printf '{"net": "2,1:sigmoid", "weights": [[[1, -1]]], "metadata": {"loss": "bce"}}' >"$TMP/bin.json"
printf '2,1\n1,2\n1,1\n' >"$TMP/b.csv"
run "$BP" predict --model "$TMP/bin.json" --data "$TMP/b.csv"
expect_rc 0 "one sigmoid output"
printf 'row,prediction,p_0,p_1\n1,1,0.2689414,0.7310586\n2,0,0.7310586,0.26894143\n3,1,0.5,0.5\n' \
    >"$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "one sigmoid output: got $(cat "$TMP/out")"

# A plain PyTorch state dict (no metadata): 0.weight [2, 3] picking inputs
# 1 and 2, 0.bias zero, as safetensors.torch.save_file writes it.
h='{"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}'
n=$(printf '%s' "$h" | wc -c)
one='\000\000\200\077' z='\000\000\000\000'
{
    printf "\\$(printf '%03o' "$n")\\000\\000\\000\\000\\000\\000\\000"
    printf '%s' "$h"
    printf "$z$one$z$z$z$one$z$z"
} >"$TMP/sd.safetensors"
printf '1,2,0\n3,0,2\n' >"$TMP/three.csv"
run "$BP" predict --model "$TMP/sd.safetensors" --data "$TMP/three.csv"
expect_rc 1 "a state dict without --net"
err_has "has no network spec (a plain PyTorch state dict?); give it with --net SPEC, e.g. --net 3,2:identity" \
    "a state dict without --net"
run "$BP" predict --model "$TMP/sd.safetensors" --net 3,2:identity --loss cce --data "$TMP/three.csv"
expect_rc 0 "a state dict with --net and --loss cce"
printf 'row,prediction,p_0,p_1\n1,0,0.8807971,0.11920292\n2,1,0.11920292,0.8807971\n' >"$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "state dict, cce: got $(cat "$TMP/out")"
run "$BP" predict --model "$TMP/sd.safetensors" --net 3,2:identity --data "$TMP/three.csv"
expect_rc 0 "a state dict with --net"
printf 'row,prediction_0,prediction_1\n1,2,0\n2,0,2\n' >"$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "state dict, outputs: got $(cat "$TMP/out")"
for c in eval export info report gradcheck; do
    "$BP" "$c" --help | grep -q -e '  --net ' || fail "$c --help lacks --net"
done
run "$BP" info --model "$TMP/sd.safetensors" --net 3,2:identity
expect_rc 0 "info --net"
has "spec: 3,2:identity" "info --net"

# Trained through the tool, with the defaults: house prices near 1e5 from
# two features; predictions on a features-only file, columns swapped, come
# back in dollars (the formula within 5%), and eval names the scaling.
# Needs train to save its data schema (train --help lists --no-standardize).
if "$BP" train --help | grep -q -e '--no-standardize'; then
    awk 'BEGIN { srand(3); print "size,rooms,price"
                 for (i = 0; i < 200; i++) { s = 50 + rand() * 100; r = int(1 + rand() * 4)
                     printf "%.2f,%d,%.0f\n", s, r, 20000 + 1500 * s + 5000 * r } }' >"$TMP/house.csv"
    run "$BP" train --data "$TMP/house.csv" --net 2,8:tanh,1:identity --epochs 60 --quiet \
        --out "$TMP/house.safetensors"
    expect_rc 0 "train a regression near 1e5"
    printf 'rooms,size\n3,100\n1,60\n' >"$TMP/hq.csv"
    run "$BP" predict --model "$TMP/house.safetensors" --data "$TMP/hq.csv"
    expect_rc 0 "predict a regression near 1e5"
    awk -F, 'NR == 2 { w = 185000 } NR == 3 { w = 115000 }
             NR > 1 { d = ($2 - w) / w; if (d < -0.05 || d > 0.05) bad = 1 }
             END { exit bad || NR != 3 }' "$TMP/out" ||
        fail "house prices: got $(cat "$TMP/out")"
    run "$BP" eval --model "$TMP/house.safetensors" --data "$TMP/house.csv" --json
    expect_rc 0 "eval a regression near 1e5"
    has '"target_mean": ' "eval --json: the target's mean"
    has '"target_scale": ' "eval --json: the target's scale"
fi

# A file of one column: the features of a one-input model saved without a
# schema, the separator found or given; eval, which needs a label, refuses.
printf '{"net": "1,1:identity", "weights": [[[2]]], "biases": [[1]]}\n' >"$TMP/one.json"
printf '3\n4.5\n' >"$TMP/one.csv"
for sep in "" "--sep ;"; do
    # shellcheck disable=SC2086
    run "$BP" predict --model "$TMP/one.json" --data "$TMP/one.csv" $sep
    expect_rc 0 "one column $sep"
    [ "$(cat "$TMP/out")" = "$(printf 'row,prediction\n1,7\n2,10')" ] ||
        fail "one column $sep: got $(cat "$TMP/out")"
done
run "$BP" eval --model "$TMP/one.json" --data "$TMP/one.csv"
expect_rc 1 "eval of one column"
err_has "one.csv: found one column with each separator tried (',', ';', tab, '|'); inputs and a label need two columns" "eval of one column"

echo "ok: predict and eval on the user's data"
