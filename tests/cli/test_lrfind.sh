# test_lrfind.sh - `backprop lr-find`: on a one-weight linear problem whose
# losses follow by hand, the recorded rates and losses are exact, the run
# stops once the rate passes the divergence threshold, and the suggested
# rate lies below it. Usage: sh test_lrfind.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# t = 2x over x in {1, -1, 2, -2, 0.5}: the loss of weight w is
# L(w) = mean((w x - 2 x)^2) = 2.05 (w - 2)^2, its slope 4.1 (w - 2), and
# gradient descent diverges for rates above 1 / 2.05 = 0.4878.
printf 'x,t\n1,2\n-1,-2\n2,4\n-2,-4\n0.5,1\n' >"$TMP/line.csv"
echo '{"net": "1,1:identity:nobias", "weights": [[[0]]]}' >"$TMP/zero.json"

# Rates 0.01, 0.1, 1 from w = 0: loss 8.2; w = 0.082: 2.05 * 1.918^2 =
# 7.5413842; w = 0.082 + 0.1 * 4.1 * 1.918 = 0.86838: 2.05 * 1.13162^2 =
# 2.62515584.
run "$BP" lr-find --data "$TMP/line.csv:label=t" --init "$TMP/zero.json" --loss mse \
    --optimizer gd --batch 0 --min-lr 0.01 --max-lr 1 --steps 3 --json
expect_rc 0 "three steps"
steps=$(tr -d '\n ' <"$TMP/out" | sed 's/.*"steps":\[//')
echo "$steps" | awk -F'[{}]' '{
    split("0.01 0.1 1", lr, " "); split("8.2 7.5413842 2.62515584", loss, " ")
    n = 0
    for (i = 2; i <= NF; i += 2) {
        if ($i !~ /"lr"/) continue
        n++
        match($i, /"lr":[^,]*/); a = substr($i, RSTART + 5, RLENGTH - 5)
        match($i, /"loss":[^,]*/); b = substr($i, RSTART + 7, RLENGTH - 7)
        if (a - lr[n] > 1e-12 || lr[n] - a > 1e-12) { print "FAIL: rate " n ": " a; exit 1 }
        if (b - loss[n] > 1e-5 || loss[n] - b > 1e-5) { print "FAIL: loss " n ": " b; exit 1 }
    }
    if (n != 3) { print "FAIL: " n " steps recorded"; exit 1 }
}' >&2 || fail "three steps: recorded rates and losses"

# A sweep runs away past 0.4878 and suggests a rate below it. (It starts at
# 0.1 so that w does not reach 2 to float precision on the way.)
run "$BP" lr-find --data "$TMP/line.csv:label=t" --init "$TMP/zero.json" --loss mse \
    --optimizer gd --batch 0 --min-lr 0.1 --max-lr 10 --steps 30 --json --plot "$TMP/lr.svg"
expect_rc 0 "sweep"
has '"stop": "diverged"' "sweep runs away"
num() { tr -d '\n' <"$TMP/out" | sed "s/.*\"$1\": \([^,]*\),.*/\1/"; }
awk -v s="$(num suggested_lr)" -v e="$(num stopped_lr)" 'BEGIN { exit !(s > 0 && s < 0.4878 && e > 0.4878) }' ||
    fail "suggested $(num suggested_lr) should be below 0.4878 and the stop $(num stopped_lr) above"
grep -q '<line class="suggested" data-lr="' "$TMP/lr.svg" || fail "plot marks the suggestion"
grep -q 'learning rate (log scale)' "$TMP/lr.svg" || fail "plot axis"
grep -q 'data-name="smoothed loss" data-values="0.1 ' "$TMP/lr.svg" || fail "plot starts at --min-lr"

# The line of text.
run "$BP" lr-find --data "$TMP/line.csv:label=t" --init "$TMP/zero.json" --loss mse \
    --optimizer gd --batch 0 --min-lr 0.1 --max-lr 10 --steps 30
expect_rc 0 "text"
grep -q -E '^suggested lr [0-9.]+ \(steepest fall of the smoothed loss\); lowest smoothed loss .* the loss ran away at lr' "$TMP/out" ||
    fail "text line: $(cat "$TMP/out")"

# A classification set with the default network runs and suggests something.
run "$BP" lr-find --data spiral:50:3 --batch 30 --steps 80 --min-lr 1e-4 --max-lr 100
expect_rc 0 "spiral"
has "suggested lr" "spiral suggestion"

# Usage errors.
run "$BP" lr-find --data spiral:50:3 --min-lr 1 --max-lr 0.1
expect_rc 2 "rates reversed"
err_has "--max-lr (0.1) must be above --min-lr (1)" "rates reversed message"
run "$BP" lr-find --data spiral:50:3 --optimizer random
expect_rc 2 "random search has no rate"
run "$BP" lr-find
expect_rc 2 "no data"
err_has "--data is required" "no data message"
run "$BP" lr-find --data spiral:50:3 --net 3,3:softmax
expect_rc 1 "network of the wrong width"
err_has "the data have 2 inputs; the network takes 3" "wrong width message"
run "$BP" lr-find --help
expect_rc 0 "--help"
has "(default: 1e-6)" "--help defaults"
echo "ok"
