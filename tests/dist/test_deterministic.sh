# test_deterministic.sh - `backprop train --deterministic` in one process:
# the weights of whole batches to 1e-5, the same bits with 1 and 2 threads
# and on repeat runs, the parts recorded in the model, and its usage errors;
# with batch norm, one part is whole batches bit for bit.
# Usage: sh test_deterministic.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
PY=/usr/bin/python3
DATA="--data spiral:301:3 --net 2,64:relu,48:tanh,3:softmax --batch 64 --epochs 3 --seed 5
      --optimizer adam --lr 0.003 --quiet"
# shellcheck disable=SC2086
run "$BP" train $DATA --out "$TMP/whole.st"
expect_rc 0 "whole batches"
for t in 1 2; do
    # shellcheck disable=SC2086
    run "$BP" train $DATA --deterministic --threads "$t" --out "$TMP/det$t.st"
    expect_rc 0 "--deterministic with $t threads"
done
cmp -s "$TMP/det1.st" "$TMP/det2.st" || fail "--deterministic: 1 and 2 threads differ"
cmp -s "$TMP/det1.st" "$TMP/whole.st" && fail "--deterministic: the same bytes as whole batches"
if [ -x "$PY" ]; then
    "$PY" "$(dirname "$0")/compare.py" "$TMP/det1.st" "$TMP/whole.st" 1e-5 >"$TMP/cmp" 2>&1 ||
        fail "--deterministic against whole batches: $(cat "$TMP/cmp")"
else
    echo "SKIP: comparing with whole batches (apt-get install python3)"
fi
grep -a -q '"deterministic_parts":"12"' "$TMP/det1.st" ||
    fail "the model does not record its 12 parts"
# shellcheck disable=SC2086
run "$BP" train $DATA --deterministic --parts 5 --out "$TMP/det5.st"
expect_rc 0 "--parts 5"
cmp -s "$TMP/det5.st" "$TMP/det1.st" && fail "5 and 12 parts give the same bytes"

run "$BP" train --data xor --parts 4
expect_rc 2 "--parts alone"
err_has "--parts applies only with --deterministic" "--parts alone"
run "$BP" train --data xor --deterministic --dropout 0.2
expect_rc 2 "--deterministic with dropout"
err_has "--dropout cannot be split" "--deterministic with dropout"

# Batch norm: the parts run layer by layer and add their statistics in
# part order. The same bits on 1 and 2 threads; one part is whole batches
# bit for bit, 2 parts whole batches to 1e-5 (running statistics too).
# 400 images of 1x12x12, batches of 256 (parts of 128 rows, in two blocks
# a layer) and a short last batch of 144.
gradient_images 400 12 5 0.4 >"$TMP/img.csv"
BN="--data $TMP/img.csv --batch 256 --epochs 3 --seed 5 --optimizer adam --lr 0.003 --quiet
    --net 1x12x12,conv:8:3:same:nobias,batchnorm,relu,maxpool:2,16:nobias,batchnorm,tanh,3:softmax"
# shellcheck disable=SC2086
run "$BP" train $BN --out "$TMP/bn-whole.st"
expect_rc 0 "batch norm, whole batches"
for t in 1 2; do
    # shellcheck disable=SC2086
    run "$BP" train $BN --deterministic --parts 2 --threads "$t" --out "$TMP/bn2-$t.st"
    expect_rc 0 "batch norm, --deterministic with $t threads"
done
cmp -s "$TMP/bn2-1.st" "$TMP/bn2-2.st" || fail "batch norm, --deterministic: 1 and 2 threads differ"
# shellcheck disable=SC2086
run "$BP" train $BN --deterministic --parts 1 --out "$TMP/bn1.st"
expect_rc 0 "batch norm, --parts 1"
if [ -x "$PY" ]; then
    "$PY" "$(dirname "$0")/compare.py" "$TMP/bn1.st" "$TMP/bn-whole.st" 0 >"$TMP/cmp" 2>&1 ||
        fail "batch norm, one part against whole batches: $(cat "$TMP/cmp")"
    "$PY" "$(dirname "$0")/compare.py" "$TMP/bn2-1.st" "$TMP/bn-whole.st" 1e-5 >"$TMP/cmp" 2>&1 ||
        fail "batch norm, 2 parts against whole batches: $(cat "$TMP/cmp")"
    grep -q "running_var.*difference" "$TMP/cmp" || fail "the running variances were not compared"
    "$PY" "$(dirname "$0")/compare.py" "$TMP/bn2-1.st" "$TMP/bn-whole.st" 0 >/dev/null 2>&1 &&
        fail "batch norm: 2 parts give the bits of whole batches"
else
    echo "SKIP: comparing batch norm with whole batches (apt-get install python3)"
fi
run "$BP" train --data xor --deterministic --optimizer random
expect_rc 2 "--deterministic with random search"
err_has "--deterministic does not apply to --optimizer random" "random search"
run "$BP" train --data xor --deterministic --parts 0
expect_rc 2 "--parts 0"
run "$BP" train --help
has "--deterministic" "--help"
has "(default: 12)" "--help's default parts"
echo "deterministic: whole batches to 1e-5, the same bits on any thread count"
