# test_lesson.sh - `backprop lesson`: every worked example's figures, as
# text and as JSON. Usage: sh test_lesson.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

run "$BP" lesson
expect_rc 0 "lesson"
# 1. forward propagation
has "h[0] = relu(2 x 0 + 1 x 3) = 3, h[1] = 6" "example 1 hidden values"
has "prediction     1 x 3 + 1 x 6 = 9" "example 1 prediction"
has "error          prediction - target = 6" "example 1 error"
[ "$(grep -c -F "prediction 3, error 0" "$TMP/out")" -eq 2 ] || fail "example 1: two weight sets with error 0"
# 2. the loss
has "mean squared error (MSE)                      37.5" "example 2 first MSE"
has "49.890625" "example 2 second MSE"
has "76.5625" "example 2 squared error of the first sample"
# 3. slopes and a step
has "slope for each weight [14, 28, 42]" "example 3 slope"
has "weights after a step  [-0.14, 1.72, 0.58]" "example 3 step"
has "error after           5.04" "example 3 error after the step"
# 4. one step figure by figure
has "error                 5 (squared: 25)" "example 4 error"
has "slope for each weight [30, 40]" "example 4 gradient"
has "weights after a step  [0.7, 1.6]" "example 4 weights"
has "error after           2.5" "example 4 error after the step"
# 5. descent on a curve
has "minimum at x = 3" "example 5 minimum"
has "x <- x - rate x dy/dx" "example 5 update"
for x in 1.2 1.38 1.542 1.6878; do
    grep -q -E "^ +[0-9]+  $x " "$TMP/out" || fail "example 5: path lacks x = $x"
done
has "x after step 24: 2.840467113846255" "example 5 step 24"
has "x after step 25: 2.8564204024616293" "example 5 step 25"
# 6. random search against gradient descent
has "random search:    loss" "example 6 random search"
has "gradient descent: loss" "example 6 gradient descent"
has "reached the lower loss." "example 6 verdict"
start=$(sed -n 's/^ *0 *\([0-9.]*\) .*/\1/p' "$TMP/out" | tail -1)
[ "$start" = "1.098610" ] || fail "example 6: loss at the start is '$start', expected 1.098610 (ln 3)"
for who in "random search:" "gradient descent:"; do
    acc=$(grep -F "$who" "$TMP/out" | sed 's/.*accuracy \([0-9]*\)\..*/\1/')
    [ "$acc" -ge 80 ] || fail "example 6: $who accuracy $acc% is below 80%"
done

run "$BP" lesson --json
expect_rc 0 "lesson --json"
has '"mse": 37.5' "json MSE"
has '"mse": 49.890625' "json second MSE"
has '"gradient": [14, 28, 42]' "json slope"
has '"gradient": [30, 40]' "json gradient"
# 0.7 as the float step gives it (1 - 0.01f x 30 may round to 0.70000005)
grep -q -E '"weights_after": \[0\.(7|69999[0-9]*|70000[0-9]*), 1\.6\]' "$TMP/out" ||
    fail "json weights after: expected [0.7, 1.6] to float precision"
has '"error_after": 2.5' "json error after"
has '2.840467113846255, 2.8564204024616293]' "json path"
[ "$(head -c 1 "$TMP/out")" = "{" ] || fail "json: output does not start with '{'"
[ "$(tail -c 2 "$TMP/out")" = "}" ] || fail "json: output does not end with '}'"

run "$BP" lesson --seed 7 --iters 500
expect_rc 0 "lesson --seed 7 --iters 500"
has "(seed 7)" "lesson --seed"
has "Both take 500 steps." "lesson --iters"

run "$BP" lesson --seed abc
expect_rc 2 "lesson --seed abc"
err_has "--seed: expected a non-negative integer, got 'abc'" "lesson --seed abc"

run "$BP" lesson --help
expect_rc 0 "lesson --help"
has "(default: 0)" "lesson --help"

echo "ok: lesson"
