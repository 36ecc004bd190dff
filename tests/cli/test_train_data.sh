# test_train_data.sh - `backprop train` on files as people write them: R's
# write.csv, pandas' to_csv and a ';'-separated spreadsheet export with
# decimal commas; text labels and features, missing values, chosen columns,
# the task guessed or given, a regression on a real-scale target in its own
# units, class weights, and --test read by the training data's encoding.
# Usage: sh test_train_data.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
cd "$TMP"

# meta_has TEXT WHAT: the model m.safetensors's header holds TEXT (the
# metadata are JSON strings inside the header's JSON, quotes escaped).
meta_has() {
    grep -a -q -F -e "$1" m.safetensors || fail "$2: the saved metadata lack '$1'"
}

# ---- R's write.csv: quoted strings, a "" first header cell, row names ----
awk 'BEGIN { print "\"\",\"len\",\"wid\",\"species\""
    split("setosa versicolor virginica", s, " ")
    for (i = 0; i < 60; i++) { k = i % 3
        printf "\"%d\",%.1f,%.1f,\"%s\"\n", i + 1, 1 + 2 * k + (i % 5) * 0.1, 3 - k + (i % 4) * 0.1, s[k + 1] } }' \
    >r.csv
run "$BP" train --data r.csv --epochs 30 --batch 16 --out m.safetensors
expect_rc 0 "R's write.csv"
err_has "index" "R's row names are dropped with a notice"
has "2 inputs" "R's row names are not an input"
has "task: classification of 'species', 3 classes (3 distinct text labels)" "the task line"
meta_has '\"classes\": [\"setosa\", \"versicolor\", \"virginica\"]' "class names"
meta_has '"schema":' "the schema is saved"
run "$BP" train --data r.csv --epochs 2 --out m.safetensors --json
expect_rc 0 "--json on text labels"
has '"task": "classify"' "--json names the task"
has '"task_reason": "3 distinct text labels"' "--json says why"
has '"classes": ["setosa", "versicolor", "virginica"]' "--json names the classes"
[ ! -s "$TMP/err" ] || fail "--json: notices printed: $(cat "$TMP/err")"

# ---- pandas' to_csv: an unnamed index column, a text feature -------------
awk 'BEGIN { print ",x,colour,y"
    split("green red blue", c, " ")
    for (i = 0; i < 40; i++) printf "%d,%.2f,%s,%d\n", i, (i % 7) * 0.5, c[i % 3 + 1], (i % 3 == 1) }' \
    >pd.csv
run "$BP" train --data pd.csv --epochs 2 --out m.safetensors
expect_rc 0 "pandas' to_csv"
has "4 inputs" "a text feature is one-hot (x + 3 colours)"
meta_has '\"values\": [\"blue\", \"green\", \"red\"]' "the vocabulary is saved"
has "task: classification of 'y', 2 classes" "0/1 labels"

# ---- a spreadsheet export: ';' with decimal commas -----------------------
awk 'BEGIN { print "a;b;label"
    for (i = 0; i < 30; i++) printf "%d,%d;%d,5;%s\n", i % 4, i % 10, i % 3, i % 2 ? "yes" : "no" }' \
    >sheet.csv
run "$BP" train --data sheet.csv --epochs 2 --out m.safetensors
expect_rc 0 "a ';' export with decimal commas"
has "2 inputs" "decimal commas are numbers"
has "2 classes (2 distinct text labels)" "yes/no labels"

# ---- missing values: error names the options; drop; mean -----------------
printf 'x,z,y\n1,2,a\n2,,b\n3,4,a\n4,5,b\n5,6,a\n6,7,b\n' >miss.csv
run "$BP" train --data miss.csv --epochs 1 --out m.safetensors
expect_rc 1 "a missing value"
err_has "--missing drop" "the error names --missing"
err_has "line 3" "the error names the line"
[ ! -e m2.safetensors ] || fail "a refused file left a model"
run "$BP" train --data miss.csv --missing drop --epochs 1 --out m.safetensors
expect_rc 0 "--missing drop"
has "(5 rows" "--missing drop leaves the row out"
run "$BP" train --data miss.csv --missing mean --epochs 1 --out m.safetensors
expect_rc 0 "--missing mean"
has "(6 rows" "--missing mean keeps the row"
meta_has '\"fill\": 4.8' "the fill (the mean of 2, 4, 5, 6, 7) is saved"

# ---- chosen columns --------------------------------------------------------
printf 'id,a,b,c,y\n' >cols.csv
awk 'BEGIN { for (i = 0; i < 20; i++) printf "%d,%d,%d,%d,%d\n", 100 + i, i % 3, i % 5, i % 7, i % 2 }' >>cols.csv
run "$BP" train --data cols.csv --drop id --epochs 1 --out m.safetensors
expect_rc 0 "--drop"
has "3 inputs" "--drop id leaves 3 inputs"
run "$BP" train --data cols.csv --features a,2 --epochs 1 --out m.safetensors
expect_rc 0 "--features by name and number"
has "2 inputs" "--features a,2"

# ---- the task: guessed from the labels, or given ---------------------------
awk 'BEGIN { print "x,y"; for (i = 0; i < 30; i++) printf "%d,%d\n", i, i % 3 + 1 }' >one3.csv
run "$BP" train --data one3.csv --epochs 1 --out m.safetensors
has "3 classes" "labels 1..3 are 3 classes"
run "$BP" train --data one3.csv --task regress --epochs 1 --out m.safetensors
expect_rc 0 "--task regress"
has "task: regression of 'y'" "--task regress overrides the guess"
awk 'BEGIN { print "x,y"; for (i = 0; i < 30; i++) printf "%d,%d\n", i, i % 2 ? 1 : -1 }' >pm.csv
run "$BP" train --data pm.csv --epochs 1 --out m.safetensors
has "2 classes" "labels -1/+1 are 2 classes"
awk 'BEGIN { print "x,n"; for (i = 0; i < 90; i++) printf "%d,%d\n", i % 9, i }' >count.csv
run "$BP" train --data count.csv --epochs 1 --out m.safetensors
has "task: regression of 'n' (90 distinct integer values (more than 20))" "a count is a regression"
run "$BP" train --data count.csv --task classify --epochs 1 --out m.safetensors
expect_rc 0 "--task classify"
has "90 classes" "--task classify overrides the guess"

# ---- a regression on a real-scale target, with the defaults ---------------
# price = 1000 size + 15000 rooms + noise of up to 10000 either way. Every
# setting is the default but --epochs (10 epochs of 3 batches leave R^2
# near 0.86; 40 pass 0.9 by a margin).
awk 'BEGIN { print "size,rooms,price"
    for (i = 0; i < 300; i++) { s = 50 + (i * 37) % 200; r = 1 + (i * 13) % 5
        printf "%d,%d,%d\n", s, r, 1000 * s + 15000 * r + ((i * 7919) % 2001 - 1000) * 10 } }' \
    >houses.csv
var=$(awk -F, 'NR > 1 { n++; s += $3; q += $3 * $3 } END { printf "%.17g", q / n - (s / n) ^ 2 }' houses.csv)
run "$BP" train --data houses.csv --epochs 40 --out m.safetensors --log h.csv
expect_rc 0 "a real-scale regression with the defaults"
has "target standardized" "the header says the target is standardized"
loss=$(awk -F, 'END { print $2 }' h.csv)
awk -v l="$loss" -v v="$var" 'BEGIN { exit !(l + 0 > 1e6 && l + 0 < 0.1 * v) }' ||
    fail "regression: final mse $loss (dollars squared) is not below a tenth of the variance $var"
grep -q "^epoch 40/40  loss [0-9.]*e+0[78] " "$TMP/out" || fail "regression: the epoch line is not in dollars squared"
meta_has '\"target\": {\"mean\": ' "the target's mean and scale are saved"
meta_has '"final_metrics":"{\"epoch\": 40, \"loss\": ' "final figures saved"
final=$(grep -a -o '"final_metrics":"{\\"epoch\\": 40, \\"loss\\": [0-9.e+]*' m.safetensors | sed 's/.* //')
awk -v a="$final" -v b="$loss" 'BEGIN { d = a - b; exit !(d < 1e-6 * b && -d < 1e-6 * b) }' ||
    fail "final_metrics' loss $final differs from the log's $loss"
run "$BP" train --data houses.csv --epochs 40 --out m.safetensors --json
expect_rc 0 "regression --json"
has '"target_mean": ' "--json names the target's mean"
has '"target_scale": ' "--json names the target's scale"
jl=$(tr -d '\n' <"$TMP/out" | sed 's/.*"epoch": 40, "loss": \([0-9.e+]*\).*/\1/')
awk -v a="$jl" -v b="$loss" 'BEGIN { exit !(a == b) }' || fail "--json loss $jl is not the log's $loss"
run "$BP" train --data houses.csv --loss mae --epochs 10 --out m.safetensors --log mae.csv
expect_rc 0 "regression with mae"
awk -F, 'END { exit !($2 > 1000 && $2 < 20000) }' mae.csv ||
    fail "mae $(awk -F, 'END { print $2 }' mae.csv) is not in dollars"

# lr-find reads the file as train does and reports its losses in dollars
# squared too.
run "$BP" lr-find --data houses.csv --steps 30 --json
expect_rc 0 "lr-find on a real-scale regression"
low=$(tr -d '\n' <"$TMP/out" | sed 's/.*"lowest_smoothed_loss": \([0-9.e+]*\).*/\1/')
awk -v l="$low" 'BEGIN { exit !(l + 0 > 1e6) }' || fail "lr-find: lowest loss $low is not in dollars squared"

# ---- --class-weight on an imbalanced set ----------------------------------
awk 'BEGIN { print "x,y"; for (i = 0; i < 100; i++) printf "%.2f,%s\n", (i % 10) * 0.1, i % 10 == 0 ? "rare" : "common" }' \
    >imb.csv
run "$BP" train --data imb.csv --epochs 3 --out m.safetensors --log plain.csv
expect_rc 0 "imbalanced, unweighted"
run "$BP" train --data imb.csv --epochs 3 --out m.safetensors --log bal.csv --class-weight balanced
expect_rc 0 "--class-weight balanced"
has "class weights common=0.5555556, rare=5" "the weights are printed"
run "$BP" train --data imb.csv --epochs 1 --out m.safetensors --class-weight balanced --json
has '"class_weight": [0.5555556, 5]' "--json gives the weights"
run "$BP" train --data imb.csv --epochs 1 --out m.safetensors --class-weight balanced --deterministic
expect_rc 2 "--class-weight with --deterministic"
meta_has '"class_weight":"[0.5555556, 5]"' "the weights are saved"
meta_has '"class_weight_rule":"balanced"' "the rule is saved"
[ "$(sed -n 2p plain.csv | cut -d, -f2)" != "$(sed -n 2p bal.csv | cut -d, -f2)" ] ||
    fail "--class-weight balanced did not change the loss"
run "$BP" train --data imb.csv --epochs 1 --out m.safetensors --class-weight rare=3
expect_rc 0 "--class-weight NAME=W"
meta_has '"class_weight":"[1, 3]"' "named weights are saved"
run "$BP" train --data imb.csv --epochs 1 --out m.safetensors --class-weight odd=3
expect_rc 2 "--class-weight with an unknown class"
err_has "--class-weight" "the error names the option"
run "$BP" train --data houses.csv --epochs 1 --out m.safetensors --class-weight balanced
expect_rc 2 "--class-weight on a regression"

# ---- --test by the training data's encoding --------------------------------
printf 'x,colour,y\n1,red,a\n2,blue,b\n3,red,a\n4,blue,b\n' >tr.csv
printf 'x,colour,y\n1,blue,b\n2,red,a\n' >te.csv
run "$BP" train --data tr.csv --test te.csv --epochs 2 --out m.safetensors
expect_rc 0 "--test by the training's encoding"
has "test_loss" "the test data are evaluated"
printf 'x,colour,y\n1,green,b\n2,red,a\n' >bad.csv
run "$BP" train --data tr.csv --test bad.csv --epochs 2 --out m.safetensors
expect_rc 1 "--test with an unseen category"
err_has "green" "the error names the value"
err_has "bad.csv:2: 'green' in column 1 ('colour') was not among its values in the training data (blue, red)" "the error names the file, line and column"
# --init reads the data by the model's encoding: columns by header name, in
# any order.
printf 'colour,y,x\nblue,b,1\nred,a,2\n' >swapped.csv
run "$BP" train --data swapped.csv --init m.safetensors --epochs 1 --out m2.safetensors
expect_rc 0 "--init reads by the model's encoding"
has "3 inputs" "--init: x and the two colours"
echo "ok"
