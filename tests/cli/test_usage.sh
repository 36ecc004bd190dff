# test_usage.sh - the command line itself: --version, --help of the tool and
# of every subcommand, unknown commands and options, exit codes, and
# `backprop info`. Usage: sh test_usage.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

COMMANDS="lesson explain gradcheck minimize info"

run "$BP" --version
expect_rc 0 "--version"
[ "$(cat "$TMP/out")" = "backprop 0.1.0" ] || fail "--version printed '$(cat "$TMP/out")'"

run "$BP" --help
expect_rc 0 "--help"
has "Usage: backprop [--version] [--help] COMMAND [ARGS]" "--help usage line"
for c in $COMMANDS; do
    grep -q -E "^  $c +[a-z]" "$TMP/out" || fail "--help lacks a summary of '$c'"
done

run "$BP"
expect_rc 2 "no command"
grep -q "Usage:" "$TMP/err" || fail "no command: no usage on stderr"

run "$BP" frobnicate
expect_rc 2 "unknown command"
err_has "backprop: unknown command 'frobnicate' (see backprop --help)" "unknown command"

run "$BP" --frobnicate
expect_rc 2 "unknown global option"
err_has "unknown option '--frobnicate'" "unknown global option"

for c in $COMMANDS; do
    run "$BP" "$c" --help
    expect_rc 0 "$c --help"
    has "Usage: backprop $c" "$c --help"
    has "--help" "$c --help lists --help"
    [ ! -s "$TMP/err" ] || fail "$c --help wrote to stderr"

    run "$BP" help "$c"
    expect_rc 0 "help $c"
    has "Usage: backprop $c" "help $c"

    run "$BP" "$c" --no-such-option
    expect_rc 2 "$c --no-such-option"
    err_has "backprop: unknown option '--no-such-option' (see backprop $c --help)" "$c unknown option"

    run "$BP" "$c" --json stray
    expect_rc 2 "$c with an operand"
    err_has "unexpected argument 'stray'" "$c with an operand"
done

# Every option's default is stated in --help.
run "$BP" minimize --help
for d in "(default: 0)" "(default: 0.01)" "(default: 1000)" "(default: 0, never)"; do
    has "$d" "minimize --help default $d"
done
run "$BP" gradcheck --help
for d in "(default: 4)" "(default: 1)" "(default: 1e-6)" "(default: 1e-3)"; do
    has "$d" "gradcheck --help default $d"
done
run "$BP" lesson --help
for d in "(default: 0)" "(default: 10000)" "(default: 1)"; do
    has "$d" "lesson --help default $d"
done

# A missing option value is a usage error naming the option.
run "$BP" minimize --f
expect_rc 2 "missing value"
err_has "option '--f' needs a value" "missing value"

# info: a network's layers and parameters, and the build.
run "$BP" info --net 784,256:relu,10:softmax
expect_rc 0 "info --net"
has "total parameters: 203530" "info parameter count"
has "spec: 784,256:relu,10:softmax" "info spec"
grep -q -E "^input +784\$" "$TMP/out" || fail "info: input row"
grep -q -E "^ +0 +256:relu +256 +200960\$" "$TMP/out" || fail "info: layer 0 row"
grep -q -E "^ +1 +10:softmax +10 +2570\$" "$TMP/out" || fail "info: layer 1 row"

run "$BP" info --net 2,2:relu:nobias,1:relu:nobias --json
expect_rc 0 "info --net --json"
has '"parameters": 6}' "info json total"
has '"bias": false' "info json bias"

run "$BP" info --net 2,3:rleu
expect_rc 2 "info bad spec"
err_has "backprop: --net: " "info bad spec message"
err_has "rleu" "info bad spec names the activation"

run "$BP" info
expect_rc 0 "info"
has "backprop 0.1.0" "info version"
has "relu" "info lists activations"

run "$BP" info --json
expect_rc 0 "info --json"
has '"version": "0.1.0"' "info json version"

# The tool loads no library from the working directory: an empty
# libz.so.1 there does not stop it.
mkdir "$TMP/cwd"
: >"$TMP/cwd/libz.so.1"
run sh -c 'cd "$1" && exec "$2" --version' sh "$TMP/cwd" "$BP"
expect_rc 0 "--version beside a stray libz.so.1"

echo "ok: usage"
