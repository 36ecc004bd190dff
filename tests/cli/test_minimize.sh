# test_minimize.sh - `backprop minimize`: the descent path, the expression
# language and its errors. Usage: sh test_minimize.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
# row ITERATION X F: the table has that row
row() {
    grep -q -E "^ +$1 +$2 +$3( |\$)" "$TMP/out" || fail "$4: no row '$1 $2 $3'"
}

# The lesson's path: y = (x - 3)^2 from 1, rate 0.05, 25 steps.
run "$BP" minimize --expr '(x-3)^2' --x0 1 --lr 0.05 --iters 25
expect_rc 0 "parabola"
row 0 1 4 "parabola start"
row 1 1.2 3.24 "parabola step 1"
row 24 2.840467113846255 0.02545074176454378 "parabola step 24"
row 25 2.8564204024616293 0.020615100829280503 "parabola step 25"
has "stopped after 25 iterations (the iteration limit): x = 2.8564204024616293" "parabola end"
# The slope column: dy/dx = 2 (x - 3) at x = 1 and x = 1.2.
grep -q -E "^ +0 +1 +4 +-4\$" "$TMP/out" || fail "slope at the start"
grep -q -E "^ +1 +1.2 +3.24 +-3.6\$" "$TMP/out" || fail "slope after one step"
# --f is the same option as --expr.
run "$BP" minimize --f '(x-3)^2' --x0 1 --lr 0.05 --iters 25
expect_rc 0 "--f alias"
row 25 2.8564204024616293 0.020615100829280503 "--f alias step 25"

run "$BP" minimize --expr '(x-3)^2' --x0 1 --lr 0.05 --iters 25 --json
expect_rc 0 "parabola --json"
has '"stop": "iterations"' "json stop"
has '"x": [2.8564204024616293], "fx": 0.020615100829280503' "json end"
has '{"iteration": 24, "x": [2.840467113846255], "f": 0.02545074176454378}' "json path"

# --every: rows 0, 10, 20 and the last
run "$BP" minimize --expr '(x-3)^2' --x0 1 --lr 0.05 --iters 25 --every 10
expect_rc 0 "--every"
[ "$(grep -c -E '^ +[0-9]+ ' "$TMP/out")" -eq 4 ] || fail "--every 10: expected 4 rows"
row 20 2.7568466908188616 0.05912353176573829 "--every 10 row 20"

# default thinning: 1000 iterations print about 20 rows and the last
run "$BP" minimize --expr 'x^2' --x0 1
expect_rc 0 "default thinning"
n=$(grep -c -E '^ +[0-9]+ ' "$TMP/out")
[ "$n" -ge 20 ] && [ "$n" -le 22 ] || fail "default thinning: $n rows"
has "stopped after 1000 iterations" "default iterations"

# tolerance
run "$BP" minimize --expr 'x^2' --x0 1 --lr 0.1 --tol 1e-6
expect_rc 0 "--tol"
has "stopped after 66 iterations (the gradient's norm reached --tol)" "--tol stop"

# 2-D, with x and y, and with x1 and x2
# gradient (6, 20) at (3, 1); rate 1/8 keeps every figure exact
run "$BP" minimize --expr 'x^2 + 10*y^2' --x0 3,1 --lr 0.125 --iters 1
expect_rc 0 "2-D"
row 1 '\(2\.25, -1\.5\)' 27.5625 "2-D step"
run "$BP" minimize --expr 'x1^2 + 10*x2^2' --x0 3,1 --lr 0.125 --iters 1
expect_rc 0 "2-D x1 x2"
row 1 '\(2\.25, -1\.5\)' 27.5625 "2-D step with x1, x2"

# the language: precedence, associativity, functions, constants
value() {  # value EXPR X0 EXPECTED: f at the start
    run "$BP" minimize --expr "$1" --x0 "$2" --iters 1 --json
    expect_rc 0 "f = $1"
    got=$(grep -o '"iteration": 0, "x": \[[^]]*\], "f": [^}]*' "$TMP/out" | sed 's/.*"f": //')
    [ "$got" = "$3" ] || fail "f = $1 at $2: got '$got', expected $3"
}
value '-x^2' 2 -4
value '2^3^2' 0 512
value '(2^3)^2' 0 64
value '2*3+4' 0 10
value '2+3*4' 0 14
value '8/4/2' 0 1
value '10-4-3' 0 3
value '2^-1' 0 0.5
value 'sqrt(x) + abs(-x) + exp(0) + log(e)' 4 8
value 'sigmoid(0) + tanh(0) + sin(0) + cos(0) + tan(0)' 0 1.5
value 'cos(pi)' 0 -1
value '1e-3 * 2E2 + .5' 0 0.7
value 'x*y*z' 2,3,4 24

# exact gradients: one step with rate 1 moves x by the slope
run "$BP" minimize --expr 'x^3' --x0 2 --lr 1 --iters 1
expect_rc 0 "x^3"
row 1 -10 -1000 "slope of x^3 at 2 is 12"
run "$BP" minimize --expr 'x*y' --x0 2,5 --lr 1 --iters 1
expect_rc 0 "x*y"
row 1 '\(-3, 3\)' -9 "gradient of x*y at (2, 5) is (5, 2)"

# errors name the position, the variable, the function
run "$BP" minimize --expr '(x-3))^2'
expect_rc 2 "extra parenthesis"
err_has "--expr: unexpected ')' at column 6 in '(x-3))^2'" "extra parenthesis"
run "$BP" minimize --expr '(x-3'
expect_rc 2 "missing parenthesis"
err_has "missing ')' at column 5" "missing parenthesis"
run "$BP" minimize --expr 'x + y'
expect_rc 2 "unknown variable"
err_has "unknown variable 'y' at column 5" "unknown variable"
run "$BP" minimize --expr 'x4' --x0 1,2,3
expect_rc 2 "variable beyond the dimension"
err_has "unknown variable 'x4'" "variable beyond the dimension"
run "$BP" minimize --expr 'sine(x)'
expect_rc 2 "unknown function"
err_has "unknown function 'sine' at column 1" "unknown function"
run "$BP" minimize --expr 'x +* 2'
expect_rc 2 "operator"
err_has "unexpected '*' at column 4" "operator"
run "$BP" minimize --expr ''
expect_rc 2 "empty"
err_has "empty" "empty expression"
run "$BP" minimize --expr 'sin x'
expect_rc 2 "function without parentheses"
err_has "expected '(' after 'sin'" "function without parentheses"

# bad option values
run "$BP" minimize --expr x --lr abc
expect_rc 2 "--lr abc"
err_has "--lr: expected a positive number, got 'abc'" "--lr abc"
run "$BP" minimize --expr x --lr -1
expect_rc 2 "--lr -1"
err_has "--lr: expected a positive number, got '-1'" "--lr -1"
run "$BP" minimize --expr x --iters 0
expect_rc 2 "--iters 0"
err_has "--iters: expected a positive integer" "--iters 0"
run "$BP" minimize --expr x --x0 1,,2
expect_rc 2 "--x0 1,,2"
err_has "--x0: expected a comma-separated list of numbers, got '' (item 2 of '1,,2')" "--x0"
run "$BP" minimize --expr x --tol -1
expect_rc 2 "--tol -1"
err_has "--tol: expected a number >= 0, got '-1'" "--tol -1"
run "$BP" minimize
expect_rc 2 "no --f"
err_has "--expr is required" "no --f"

# a value that stops being finite is a runtime error naming the iteration
run "$BP" minimize --expr 'log(x)' --x0 1 --lr 2 --iters 5
expect_rc 1 "log of a negative number"
err_has "f(x) is not finite at iteration 1" "non-finite value"

run "$BP" minimize --help
expect_rc 0 "minimize --help"
for opt in --f --x0 --lr --iters --tol --every --json; do
    has "  $opt" "minimize --help lists $opt"
done
has "(default: 0.01)" "minimize --help defaults"

echo "ok: minimize"
