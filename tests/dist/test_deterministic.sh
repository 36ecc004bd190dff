# test_deterministic.sh - `backprop train --deterministic` in one process:
# the weights of whole batches to 1e-5, the same bits with 1 and 2 threads
# and on repeat runs, the parts recorded in the model, and its usage errors.
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
run "$BP" train --data xor --net 2,4,batchnorm,relu,1:sigmoid --deterministic
expect_rc 2 "--deterministic with batch norm"
err_has "layer 2 (batchnorm) cannot be split over --deterministic's parts yet" "batch norm"
run "$BP" train --data xor --deterministic --optimizer random
expect_rc 2 "--deterministic with random search"
err_has "--deterministic does not apply to --optimizer random" "random search"
run "$BP" train --data xor --deterministic --parts 0
expect_rc 2 "--parts 0"
run "$BP" train --help
has "--deterministic" "--help"
has "(default: 12)" "--help's default parts"
echo "deterministic: whole batches to 1e-5, the same bits on any thread count"
