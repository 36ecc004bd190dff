# test_plot.sh - `backprop minimize --plot` and several rates on one plot,
# and `backprop regions`: the pictures hold exactly the paths and figures
# computed. Usage: sh test_plot.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
values() {  # values NAME FILE: the data-values of the first line named NAME
    grep -o "data-name=\"$1\" data-values=\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*data-values="//; s/"$//'
}

# One rate: the lesson's path, (x - 3)^2 from 1 at rate 0.05, x <- x - 0.05 * 2 (x - 3)
# (the values as doubles compute them).
run "$BP" minimize --expr '(x-3)^2' --x0 1 --lr 0.05 --iters 3 --plot "$TMP/one.svg"
expect_rc 0 "one rate"
has "plot written to $TMP/one.svg" "one rate message"
[ "$(values 'lr 0.05' "$TMP/one.svg")" = "1 4;1.2 3.24;1.38 2.6244000000000005;1.5419999999999998 2.1257640000000007" ] ||
    fail "path on the function: $(values 'lr 0.05' "$TMP/one.svg")"
# f(x) against the iteration: the same values from iteration 0.
grep -q 'data-name="lr 0.05" data-values="0 4;1 3.24;2 2.6244000000000005;3 2.1257640000000007"' "$TMP/one.svg" ||
    fail "descent panel"
# The function's curve: 400 samples of (x - 3)^2.
values f "$TMP/one.svg" | awk -F';' '{
    if (NF != 400) { print "FAIL: " NF " samples"; exit 1 }
    for (i = 1; i <= NF; i++) { split($i, p, " "); d = (p[1] - 3) ^ 2 - p[2]; if (d * d > 1e-20) { print "FAIL: f(" p[1] ") = " p[2]; exit 1 } }
}' >&2 || fail "function curve"

# Three rates on one plot: 0.5 lands on 3 in one step, 0.01 crawls.
run "$BP" minimize --expr '(x-3)^2' --x0 1 --lr 0.01,0.05,0.5 --iters 25 --plot "$TMP/three.svg"
expect_rc 0 "three rates"
grep -q -E '^0\.05 +25 +2\.8564204024616293 +0\.020615100829280503$' "$TMP/out" || fail "row for 0.05"
grep -q -E '^0\.5 +25 +3 +0$' "$TMP/out" || fail "row for 0.5"
for lr in 0.01 0.05 0.5; do
    grep -q "data-name=\"lr $lr\"" "$TMP/three.svg" || fail "no path for lr $lr"
done
case "$(values 'lr 0.5' "$TMP/three.svg")" in "1 4;3 0;3 0;"*) ;; *) fail "lr 0.5 path" ;; esac
[ "$(grep -c '<g class="legend">' "$TMP/three.svg")" -eq 1 ] || fail "one legend"

# 2-D: shaded levels and the path in the plane.
run "$BP" minimize --expr 'x^2 + 10*y^2' --x0 3,1 --lr 0.125,0.01 --iters 1 --plot "$TMP/two.svg"
expect_rc 0 "2-D"
[ "$(values 'lr 0.125' "$TMP/two.svg")" = "3 1;2.25 -1.5" ] || fail "2-D path"
grep -q '<g class="levels"' "$TMP/two.svg" || fail "2-D levels"

# A rate that diverges: the others are still drawn, the exit status says so.
run "$BP" minimize --expr 'x^4' --x0 3 --lr 0.01,0.5 --iters 40 --plot "$TMP/div.svg"
expect_rc 1 "diverging rate"
err_has "a rate diverged" "diverging message"
has "(diverged: not finite)" "diverged row"
[ -s "$TMP/div.svg" ] || fail "plot of a diverging rate"

# Usage errors.
run "$BP" minimize --expr 'x^2' --lr 0.1,0.2 --json
expect_rc 2 "--json with several rates"
run "$BP" minimize --expr 'x^2' --lr 0.1,-0.2
expect_rc 2 "negative rate"
err_has "--lr: expected positive rates" "negative rate message"
run "$BP" minimize --expr 'x^2' --plot "$TMP/none/p.svg"
expect_rc 1 "unwritable plot"

# Decision regions: three panels per data set, from the same start.
run "$BP" regions --epochs 300 --grid 20 --out "$TMP/regions.svg" --json
expect_rc 0 "regions"
[ "$(grep -c '<g class="panel"' "$TMP/regions.svg")" -eq 6 ] || fail "six panels"
for d in spiral:100:3 vertical:100:3; do
    for o in "random search" "gradient descent" adam; do
        grep -q "<g class=\"panel\" data-data=\"$d\" data-optimizer=\"$o\"" "$TMP/regions.svg" ||
            fail "panel $d $o"
    done
done
# Each panel's accuracy is the JSON's, and Adam separates the vertical set.
acc=$(grep -o 'data-data="vertical:100:3" data-optimizer="adam" data-accuracy="[^"]*"' "$TMP/regions.svg" |
      sed 's/.*data-accuracy="//; s/"//')
grep -q "\"data\": \"vertical:100:3\", \"optimizer\": \"adam\", \"loss\": [^,]*, \"accuracy\": $acc, \"network\": {\"spec\": \"2,[0-9]*:relu,3:softmax\"" "$TMP/out" ||
    fail "adam accuracy $acc not in the JSON"
awk -v a="$acc" 'BEGIN { exit !(a > 0.85) }' || fail "adam on vertical: accuracy $acc"
# 20 x 20 cells per panel: the runs along each row cover it.
[ "$(grep -c 'shape-rendering="crispEdges"' "$TMP/regions.svg")" -eq 6 ] || fail "cells per panel"
# 300 points per panel.
[ "$(grep -c '<circle' "$TMP/regions.svg")" -eq 1800 ] || fail "points"
run "$BP" regions --data xor --epochs 10 --out "$TMP/x.svg"
expect_rc 0 "regions on xor"
run "$BP" regions --data fashion-mnist:test --out "$TMP/x.svg"
[ "$rc" -ne 0 ] || fail "regions on 784 inputs"
run "$BP" regions --help
expect_rc 0 "regions --help"
has "(default: spiral:100:3 and vertical:100:3)" "regions --help defaults"
echo "ok"
