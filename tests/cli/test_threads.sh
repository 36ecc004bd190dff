# test_threads.sh - `--threads` and what the tool says of its build: the
# thread count and the matrix backend in `info` and in training's header and
# JSON, the same model bytes with 1 and 2 threads, and bad values refused.
# Usage: sh test_threads.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

run env OMP_NUM_THREADS=1 "$BP" info
expect_rc 0 "info"
grep -q -E "^matrix +(onednn|builtin), 1 thread\$" "$TMP/out" || fail "info: matrix line with 1 thread"
run env OMP_NUM_THREADS=3 "$BP" info --json
has '"threads": 3' "info --json threads from OMP_NUM_THREADS"
grep -q -E '"gemm": "(onednn|builtin)"' "$TMP/out" || fail "info --json gemm"

# A network wide enough that its products are split over the threads: the
# saved models are the same bytes with 1 and with 2 threads.
for n in 1 2; do
    run "$BP" train --data spiral:200:3 --net 2,256:relu,256:relu,3:softmax --batch 128 \
        --epochs 2 --threads $n --out "$TMP/m$n.safetensors"
    expect_rc 0 "train --threads $n"
    if [ $n -eq 1 ]; then suffix=""; else suffix="s"; fi
    grep -q -E "^$n thread$suffix, matrix products by (onednn|builtin)\$" "$TMP/out" ||
        fail "train --threads $n: header line"
done
cmp -s "$TMP/m1.safetensors" "$TMP/m2.safetensors" || fail "1 and 2 threads saved different models"
# Without --threads the count follows measured speed, switching between 1
# and 2 while it trains; the model is still the same bytes.
run env OMP_NUM_THREADS=2 "$BP" train --data spiral:1000:3 --net 2,256:relu,256:relu,3:softmax \
    --batch 64 --epochs 6 --out "$TMP/auto.safetensors"
expect_rc 0 "train, threads by measured speed"
has "1 or 2 threads, whichever measures faster, matrix products by" "header of tuned threads"
run "$BP" train --data spiral:1000:3 --net 2,256:relu,256:relu,3:softmax --batch 64 --epochs 6 \
    --threads 1 --out "$TMP/one.safetensors"
cmp -s "$TMP/one.safetensors" "$TMP/auto.safetensors" || fail "tuned threads saved a different model"

run "$BP" train --data xor --epochs 3 --threads 2 --json --out "$TMP/x.safetensors"
expect_rc 0 "train --json"
has '"threads": 2' "json threads"
# The start-up time is measured: a positive number of seconds, under 10.
s=$(sed -n 's/.*"startup_seconds": \([0-9.e+-]*\).*/\1/p' "$TMP/out")
[ -n "$s" ] || fail "json lacks startup_seconds"
awk -v s="$s" 'BEGIN { exit !(s > 0 && s < 10) }' || fail "startup_seconds $s out of range"

for bad in 0 -1 abc 1.5; do
    run "$BP" train --data xor --threads "$bad" --out "$TMP/bad.safetensors"
    expect_rc 2 "--threads $bad"
    err_has "--threads" "--threads $bad named"
    [ ! -e "$TMP/bad.safetensors" ] || fail "--threads $bad wrote a model"
done
run "$BP" train --help
has "  --threads N" "train --help lists --threads"

echo "ok: threads"
