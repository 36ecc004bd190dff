# test_train.sh - `backprop train`: convergence on XOR, the epoch lines, the
# CSV log and JSON, determinism, --init, --standardize, the non-finite
# guard, bounded output on very fast epochs, and errors.
# Usage: sh test_train.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || echo "note: no $PY; the JSON output is checked with grep only"

# Data: a regression set with non-integer targets (numbers, not classes),
# the four points of the lesson, and two classes told apart by a column
# whose values sit around 1000.
printf 'x1,x2,y\n0,3,1.5\n1,2,3.25\n-1,-2,5\n4,0,7\n0.5,1,2\n2,2,0.1\n' >"$TMP/reg.csv"
printf 'x1,x2,t\n0,3,1.5\n1,2,3.5\n-1,-2,5.5\n4,0,7.5\n' >"$TMP/four.csv"
awk 'BEGIN { srand(7); print "size,noise,label"
             for (i = 0; i < 40; i++) { c = i % 2
                 printf "%.3f,%.3f,%d\n", 999 + 2 * c + (rand() - 0.5) * 0.5, rand(), c } }' \
    >"$TMP/big.csv"

# XOR: 2-8-1 with tanh and a sigmoid output learns it with Adam, full batch.
run "$BP" train --data xor --net 2,8:tanh,1:sigmoid --loss bce --optimizer adam --lr 0.05 \
    --batch 0 --epochs 500 --out "$TMP/xor.safetensors" --log "$TMP/xor.csv"
expect_rc 0 "xor"
# Short epochs are timed in groups: a row's time cells are both filled (the
# group's last epoch) or both empty, and the first and last rows are timed.
awk -F, 'NR > 1 && (($9 == "") != ($10 == "")) { bad = 1 }
         NR == 2 && $9 == "" { bad = 1 } END { if ($9 == "" || $1 != 500) bad = 1; exit bad }' \
    "$TMP/xor.csv" || fail "xor: the log's time cells"
has "training 2,8:tanh,1:sigmoid (33 parameters) on xor (4 rows, 2 inputs, 2 classes)" "xor header"
has "epoch 1/500  loss " "xor first epoch"
grep -q -E '^epoch 500/500  loss [0-9.]+  acc 100\.00%  [0-9]+ samples/s  [0-9.]+ [num]?s( an epoch \(mean of [0-9]+\))?$' \
    "$TMP/out" || fail "xor: last epoch line: $(grep 'epoch 500' "$TMP/out")"
has "model written to $TMP/xor.safetensors" "xor model path"
[ -s "$TMP/xor.safetensors" ] || fail "xor: no model file"
run "$BP" eval --model "$TMP/xor.safetensors" --data xor
expect_rc 0 "xor eval"
has "accuracy 1 (4 of 4)" "xor eval accuracy"

# Spiral with validation, test data and a log: one row per epoch.
run "$BP" train --data spiral:40:3 --test spiral:20:3 --val-split 0.25 --epochs 4 \
    --net 2,16:relu,3:softmax --log "$TMP/spiral.csv" --out "$TMP/spiral.safetensors"
expect_rc 0 "spiral"
grep -q -E '^epoch 4/4  loss [0-9.]+  acc [0-9.]+%  val_loss [0-9.]+  val_acc [0-9.]+%  test_loss [0-9.]+  test_acc [0-9.]+%  ' \
    "$TMP/out" || fail "spiral: epoch line with val and test figures"
has "log written to $TMP/spiral.csv" "spiral log path"
[ "$(head -n 1 "$TMP/spiral.csv")" = \
  "epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds,samples_per_s" ] ||
    fail "spiral: log header"
[ "$(wc -l <"$TMP/spiral.csv")" -eq 5 ] || fail "spiral: log rows"
awk -F, 'NR > 1 && (NF != 10 || $1 != NR - 1 || $2 == "" || $4 == "" || $6 == "" || $10 == "") {
         bad = 1 } END { exit bad }' "$TMP/spiral.csv" || fail "spiral: log cells"
[ ! -e "$TMP/spiral.csv.tmp" ] || fail "spiral: the log's temporary file is left"

# A regression log leaves the accuracy cells empty.
run "$BP" train --data "$TMP/reg.csv" --epochs 3 --lr 0.005 --log "$TMP/reg.log.csv" \
    --out "$TMP/reg.safetensors"
expect_rc 0 "regression"
has "training 2,64:relu,1:identity" "regression default network"
grep -q "acc" "$TMP/out" && fail "regression: an accuracy is printed"
awk -F, 'NR > 1 && ($3 != "" || $5 != "" || $7 != "") { bad = 1 } END { exit bad }' \
    "$TMP/reg.log.csv" || fail "regression: accuracy cells not empty"

# --json: one object on stdout, nothing else.
run "$BP" train --data vertical:30:3 --test vertical:10:3 --epochs 3 --net 2,8:relu,3:softmax \
    --json --out "$TMP/vertical.safetensors"
expect_rc 0 "vertical --json"
[ "$(head -c 12 "$TMP/out")" = '{"epochs": [' ] || fail "--json: output starts '$(head -c 12 "$TMP/out")'"
[ "$(grep -c '"epoch": ' "$TMP/out")" -eq 3 ] || fail "--json: epochs"
has '"model": "' "--json model"
[ ! -s "$TMP/err" ] || fail "--json: stderr: $(cat "$TMP/err")"
if [ -x "$PY" ]; then
    "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert [e["epoch"] for e in d["epochs"]] == [1, 2, 3], d
for e in d["epochs"]:
    assert set(e) >= {"loss", "accuracy", "test_loss", "test_accuracy", "seconds", "samples_per_s"}, e
    assert "val_loss" not in e
assert d["model"].endswith("vertical.safetensors")
' <"$TMP/out" || fail "--json does not parse or lacks keys"
fi

# --quiet prints nothing.
run "$BP" train --data xor --epochs 2 --quiet --out "$TMP/quiet.safetensors"
expect_rc 0 "--quiet"
[ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ] || fail "--quiet printed something"

# The same seed gives the same bits; another seed other bits.
for m in a:5 b:5 c:6; do
    run "$BP" train --data spiral:30:3 --epochs 3 --batch 16 --net 2,8:relu,3:softmax \
        --seed "${m#*:}" --dropout 0.1 --quiet --out "$TMP/seed.${m%:*}.safetensors"
    expect_rc 0 "seed ${m#*:}"
done
cmp -s "$TMP/seed.a.safetensors" "$TMP/seed.b.safetensors" || fail "seed 5 twice: different files"
cmp -s "$TMP/seed.a.safetensors" "$TMP/seed.c.safetensors" && fail "seeds 5 and 6: the same file"

# --init continues from a model: its first epoch starts where the first run
# ended, far below where the first run started.
run "$BP" train --data vertical:40:3 --epochs 10 --batch 16 --net 2,16:relu,3:softmax \
    --log "$TMP/i1.csv" --out "$TMP/i1.safetensors"
expect_rc 0 "first run"
run "$BP" train --data vertical:40:3 --epochs 3 --batch 16 --init "$TMP/i1.safetensors" \
    --log "$TMP/i2.csv" --out "$TMP/i2.safetensors"
expect_rc 0 "--init"
has "training 2,16:relu,3:softmax" "--init takes the model's network"
first=$(awk -F, 'NR == 2 { print $2 }' "$TMP/i1.csv")
last=$(awk -F, 'END { print $2 }' "$TMP/i1.csv")
again=$(awk -F, 'NR == 2 { print $2 }' "$TMP/i2.csv")
awk -v a="$again" -v f="$first" -v l="$last" 'BEGIN { exit !(a < f / 2 && a < 1.2 * l) }' ||
    fail "--init: first loss $again; the first run went from $first to $last"
grep -a -q -F '"init":"' "$TMP/i2.safetensors" || fail "--init: not recorded in the metadata"
run "$BP" train --data vertical:40:3 --epochs 1 --init "$TMP/i1.safetensors" \
    --net 2,16:relu,3:softmax --out "$TMP/i3.safetensors"
expect_rc 0 "--init with the same --net"
run "$BP" train --data vertical:40:3 --init "$TMP/i1.safetensors" --net 2,8:relu,3:softmax \
    --out "$TMP/i3.safetensors"
expect_rc 2 "--init with another --net"
err_has "--net 2,8:relu,3:softmax disagrees with the network of $TMP/i1.safetensors (2,16:relu,3:softmax)" \
    "--init with another --net"
run "$BP" train --data "$TMP/reg.csv" --init "$TMP/xor.safetensors" --out "$TMP/i3.safetensors"
expect_rc 1 "--init on data the model does not fit"
run "$BP" train --data "$TMP/big.csv" --init "$TMP/i1.safetensors" --init-scheme he
expect_rc 2 "--init with --init-scheme"

# --standardize: the scaling is saved and eval applies it. The raw data are
# classified right; the same data shifted by -1000 (what the network sees
# when no scaling is applied) are not.
run "$BP" train --data "$TMP/big.csv" --standardize --net 2,8:tanh,2:softmax --epochs 30 --batch 8 \
    --out "$TMP/big.safetensors"
expect_rc 0 "--standardize"
grep -a -q -F '"scaling":"{\"shift\": [1000.' "$TMP/big.safetensors" || fail "--standardize: scaling not saved"
awk -F, 'NR == 1 { print; next } { printf "%.3f,%s,%s\n", $1 - 1000, $2, $3 }' "$TMP/big.csv" \
    >"$TMP/shifted.csv"
run "$BP" eval --model "$TMP/big.safetensors" --data "$TMP/big.csv"
expect_rc 0 "eval after --standardize"
has "accuracy 1 (40 of 40)" "eval applies the scaling"
run "$BP" eval --model "$TMP/big.safetensors" --data "$TMP/shifted.csv"
expect_rc 0 "eval of shifted data"
grep -q "accuracy 1 (" "$TMP/out" && fail "eval: shifted data classified right: scaling not applied"
# Unscaled (--no-standardize) the raw column defeats the same network.
run "$BP" train --data "$TMP/big.csv" --net 2,8:tanh,2:softmax --epochs 30 --batch 8 \
    --no-standardize --out "$TMP/raw.safetensors"
expect_rc 0 "without --standardize"
run "$BP" eval --model "$TMP/raw.safetensors" --data "$TMP/big.csv"
grep -q "accuracy 1 (" "$TMP/out" && fail "the raw data were learnt without --standardize"

# The non-finite guard: a huge rate blows the loss up; the last good weights
# are kept, but their outputs on the training data are not finite, so no
# model is written, and the message says what to try.
run "$BP" train --data "$TMP/reg.csv" --optimizer gd --lr 1e30 --batch 2 --epochs 5 \
    --out "$TMP/nonfinite.safetensors"
expect_rc 1 "non-finite"
err_has "backprop: training stopped at epoch 1, batch " "non-finite message"
err_has "is not finite; the last good weights are kept" "non-finite message"
err_has "backprop: training diverged: try a lower --lr (this run used 1e+30)" "non-finite hint"
err_has "backprop: no model written: the network's outputs on the training data are not finite" \
    "non-finite: no model"
[ ! -e "$TMP/nonfinite.safetensors" ] || fail "non-finite: a model was written"
run "$BP" train --data "$TMP/reg.csv" --optimizer gd --lr 1e30 --batch 2 --epochs 5 --json \
    --out "$TMP/nonfinite.safetensors"
expect_rc 1 "non-finite --json"
has '"stopped": "nonfinite", "stopped_epoch": 1, "stopped_batch": ' "non-finite --json"

# 200000 full-batch epochs of the lesson's network: quick, and the lines
# are thinned to a few a second (the first and the last always shown).
start=$(date +%s)
run "$BP" train --data "$TMP/four.csv" --net 2,2:relu:nobias,1:relu:nobias --optimizer gd --lr 0.01 \
    --batch 0 --epochs 200000 --out "$TMP/lesson.safetensors"
end=$(date +%s)
expect_rc 0 "200000 epochs"
[ $((end - start)) -lt 10 ] || fail "200000 epochs took $((end - start)) s"
lines=$(grep -c '^epoch ' "$TMP/out")
[ "$lines" -ge 2 ] && [ "$lines" -lt 200 ] || fail "200000 epochs: $lines epoch lines"
has "epoch 1/200000  loss " "200000 epochs: the first line"
has "epoch 200000/200000  loss " "200000 epochs: the last line"

# Bad input.
run "$BP" train
expect_rc 2 "no --data"
err_has "backprop: --data is required (see backprop train --help)" "no --data"
run "$BP" train --data xor --optimizer adamax
expect_rc 2 "unknown optimizer"
err_has "--optimizer: unknown optimizer 'adamax'" "unknown optimizer"
run "$BP" train --data xor --schedule linear
expect_rc 2 "unknown schedule"
err_has "unknown schedule 'linear'" "unknown schedule"
run "$BP" train --data xor --lr -1
expect_rc 2 "--lr -1"
err_has "--lr: expected a positive number, got '-1'" "--lr -1"
run "$BP" train --data xor --optimizer adam --momentum 0.5
expect_rc 2 "--momentum with adam"
run "$BP" train --data xor --patience 3
expect_rc 2 "--patience without validation"
run "$BP" train --data xor --epochs 0
expect_rc 2 "--epochs 0"
printf 'a,b,y\n1,2,0\n3,x,1\n' >"$TMP/bad.csv"
run "$BP" train --data "$TMP/bad.csv" --out "$TMP/bad.safetensors"
expect_rc 1 "bad CSV cell"
err_has "bad.csv:3:" "bad CSV cell names the line"
err_has "'x'" "bad CSV cell names the value"
run "$BP" train --data "$TMP/missing.csv" --out "$TMP/bad.safetensors"
expect_rc 1 "missing CSV"
run "$BP" train --data xor --net 3,4:relu,2:softmax --out "$TMP/bad.safetensors"
expect_rc 2 "--net with the wrong inputs"
err_has "--net: the training data have 2 inputs; the network takes 3" "--net with the wrong inputs"
run "$BP" train --data spiral:10:3 --net 2,4:relu,2:softmax --out "$TMP/bad.safetensors"
expect_rc 2 "--net with too few outputs"
err_has "3 classes; the network has 2 outputs" "--net with too few outputs"
run "$BP" train --data xor --test "$TMP/reg.csv" --out "$TMP/bad.safetensors"
expect_rc 1 "test data that do not fit"
err_has "--test: the test data have numeric targets" "test data that do not fit"
[ ! -e "$TMP/bad.safetensors" ] || fail "a model was written after bad input"

# An --out that cannot be written fails before training and leaves the
# model already there as it was.
cp "$TMP/xor.safetensors" "$TMP/keep.bak"
mkdir "$TMP/adir"
run "$BP" train --data xor --out "$TMP/adir"
expect_rc 1 "--out a directory"
err_has "--out: '$TMP/adir' is a directory" "--out a directory"
run "$BP" train --data xor --out "$TMP/xor.safetensors/model.safetensors"
expect_rc 1 "--out under a file"
run "$BP" train --data xor --out "$TMP/xor.safetensors" --log "$TMP/adir"
expect_rc 1 "--log a directory"
cmp -s "$TMP/xor.safetensors" "$TMP/keep.bak" || fail "a failed run changed the model file"

run "$BP" train --help
expect_rc 0 "train --help"
for opt in --data --test --val-split --net --loss --optimizer --lr --momentum --nesterov \
    --weight-decay --schedule --warmup --gamma --step-size --batch --epochs --seed --no-shuffle \
    --patience --clip --dropout --standardize --init-scheme --init --out --log --json --quiet; do
    has "  $opt " "train --help lists $opt"
done
for d in "(default: 128)" "(default: 10)" "(default: 1)" "(default: sgd)" "(default: 0.9)" \
    "model.safetensors, or model-2.safetensors" "(default: cosine"; do
    has "$d" "train --help default $d"
done

# Random search: its step is --scale, it never ends above where it started
# (kept weights only ever lower the loss), and --lr is refused for it.
run "$BP" train --data vertical:50:3 --net 2,3:relu,3:softmax --optimizer random --scale 0.1 \
    --batch 0 --epochs 300 --out "$TMP/rs.safetensors" --json
expect_rc 0 "random search"
first=$(grep '{"epoch": 1,' "$TMP/out" | sed 's/.*"loss": \([^,]*\),.*/\1/')
last=$(grep '{"epoch": 300,' "$TMP/out" | sed 's/.*"loss": \([^,]*\),.*/\1/')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b <= a && b < 1.0) }' ||
    fail "random search: loss $first at epoch 1, $last at epoch 300"
run "$BP" train --data xor --optimizer random --lr 0.1
expect_rc 2 "random search with --lr"
err_has "--lr does not apply to --optimizer random" "random search with --lr"

echo "ok: train"
