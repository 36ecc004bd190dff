# test_predict.sh - `backprop predict`: exact outputs of a hand-written
# model, identical bits from a saved model loaded again, the model's input
# scaling applied, --out written whole, and errors.
# Usage: sh test_predict.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# The lesson's network: h = relu(2 x1 + x2, x1 + 2 x2), y = h0 + h1.
cat >"$TMP/lesson.json" <<'JSON'
{"net": "2,2:relu:nobias,1:relu:nobias", "weights": [[[2, 1], [1, 2]], [[1, 1]]]}
JSON
printf 'x1,x2,t\n0,3,1\n1,2,3\n-1,-2,5\n4,0,7\n0.5,0.25,0\n' >"$TMP/five.csv"
run "$BP" predict --model "$TMP/lesson.json" --data "$TMP/five.csv"
expect_rc 0 "lesson model"
printf 'row,prediction\n1,9\n2,9\n3,0\n4,12\n5,2.25\n' >"$TMP/expected"
cmp -s "$TMP/out" "$TMP/expected" || fail "lesson model: got $(tr '\n' ' ' <"$TMP/out")"

# --out writes the same rows, whole, and nothing to stdout.
run "$BP" predict --model "$TMP/lesson.json" --data "$TMP/five.csv" --out "$TMP/pred.csv"
expect_rc 0 "--out"
[ ! -s "$TMP/out" ] || fail "--out: rows on stdout too"
cmp -s "$TMP/pred.csv" "$TMP/expected" || fail "--out: other rows"
[ ! -e "$TMP/pred.csv.tmp" ] || fail "--out: the temporary file is left"

# A trained softmax model on 300 rows (more than one batch): a header, then
# per sample its number, the class and 3 probabilities summing to 1, the
# class the likeliest.
run "$BP" train --data spiral:100:3 --net 2,16:relu,3:softmax --epochs 3 --quiet \
    --out "$TMP/spiral.safetensors"
expect_rc 0 "train spiral"
run "$BP" predict --model "$TMP/spiral.safetensors" --data spiral:100:3
expect_rc 0 "spiral"
cp "$TMP/out" "$TMP/first.csv"
[ "$(wc -l <"$TMP/first.csv")" -eq 301 ] || fail "spiral: $(wc -l <"$TMP/first.csv") lines"
[ "$(head -n 1 "$TMP/first.csv")" = "row,prediction,p_0,p_1,p_2" ] ||
    fail "spiral: header $(head -n 1 "$TMP/first.csv")"
awk -F, 'NR == 1 { next } NF != 5 || $1 != NR - 1 { bad = 1 }
         { s = $3 + $4 + $5; if (s < 0.99999 || s > 1.00001) bad = 1
           m = 0; for (k = 1; k < 3; k++) if ($(k + 3) > $(m + 3)) m = k; if (m != $2) bad = 1 }
         END { exit bad }' "$TMP/first.csv" || fail "spiral: rows are not number, class, 3 probabilities"

# Identical bits: predict again, and from a copy of the model loaded anew.
run "$BP" predict --model "$TMP/spiral.safetensors" --data spiral:100:3
cmp -s "$TMP/out" "$TMP/first.csv" || fail "predict twice: other outputs"
cp "$TMP/spiral.safetensors" "$TMP/copy.safetensors"
run "$BP" predict --model "$TMP/copy.safetensors" --data spiral:100:3 --out "$TMP/copy.csv"
expect_rc 0 "predict from a copy"
cmp -s "$TMP/copy.csv" "$TMP/first.csv" || fail "a copy of the model: other outputs"
# The same training run again writes the same model, which predicts the same.
run "$BP" train --data spiral:100:3 --net 2,16:relu,3:softmax --epochs 3 --quiet \
    --out "$TMP/again.safetensors"
cmp -s "$TMP/again.safetensors" "$TMP/spiral.safetensors" || fail "training again: another model"
# Every value is a plain number (the shortest that reads back as the float).
awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9.]+(e[-+][0-9]+)?$/) bad = 1 } END { exit bad }' \
    "$TMP/first.csv" || fail "spiral: a value is not a plain number"

# The model's scaling is applied: a class decided by a column around 1000,
# learnt with --standardize, is predicted right for every row; the same
# rows shifted by -1000 are not.
awk 'BEGIN { srand(7); print "size,noise,label"
             for (i = 0; i < 40; i++) { c = i % 2
                 printf "%.3f,%.3f,%d\n", 999 + 2 * c + (rand() - 0.5) * 0.5, rand(), c } }' \
    >"$TMP/big.csv"
awk -F, 'NR == 1 { print; next } { printf "%.3f,%s,%s\n", $1 - 1000, $2, $3 }' "$TMP/big.csv" \
    >"$TMP/shifted.csv"
run "$BP" train --data "$TMP/big.csv" --standardize --net 2,8:tanh,2:softmax --epochs 30 --batch 8 \
    --quiet --out "$TMP/big.safetensors"
expect_rc 0 "train with --standardize"
right() { # right PREDICTIONS DATA: rows whose larger output is the label
    awk -F, 'NR == FNR { p[FNR] = $2; next } FNR > 1 && p[FNR] == $3 { n++ }
             END { print n + 0 }' "$1" "$2"
}
run "$BP" predict --model "$TMP/big.safetensors" --data "$TMP/big.csv" --out "$TMP/big.pred"
expect_rc 0 "predict with scaling"
[ "$(right "$TMP/big.pred" "$TMP/big.csv")" -eq 40 ] ||
    fail "scaled: $(right "$TMP/big.pred" "$TMP/big.csv") of 40 right"
run "$BP" predict --model "$TMP/big.safetensors" --data "$TMP/shifted.csv" --out "$TMP/shifted.pred"
expect_rc 0 "predict shifted rows"
[ "$(right "$TMP/shifted.pred" "$TMP/shifted.csv")" -lt 40 ] ||
    fail "shifted rows predicted right: the scaling is not applied"

# Errors.
run "$BP" predict --data xor
expect_rc 2 "no --model"
err_has "--model is required" "no --model"
run "$BP" predict --model "$TMP/lesson.json"
expect_rc 2 "no --data"
err_has "--data is required" "no --data"
printf 'a,b,c,d,y\n1,2,3,4,0\n' >"$TMP/four.csv"
run "$BP" predict --model "$TMP/lesson.json" --data "$TMP/four.csv"
expect_rc 1 "data of another width"
err_has "four.csv: 5 columns; the model was trained on 3 columns (2 without the label) and saved no column names" \
    "data of another width"
run "$BP" predict --model "$TMP/lesson.json" --data "$TMP/five.csv" --out "$TMP/no/such/dir.csv"
expect_rc 1 "--out in a missing directory"
err_has "dir.csv" "--out in a missing directory"
printf '{"net": "2,1:relu", "weights": [[[1, 2, 3]]]}\n' >"$TMP/badshape.json"
run "$BP" predict --model "$TMP/badshape.json" --data "$TMP/five.csv"
expect_rc 1 "a model of the wrong shape"
err_has "badshape.json" "a model of the wrong shape"

run "$BP" predict --help
expect_rc 0 "predict --help"
for opt in --model --net --data --sep --header --no-header --loss --out --seed --json; do
    has "  $opt " "predict --help lists $opt"
done
has "(default: stdout)" "predict --help default out"

echo "ok: predict"
