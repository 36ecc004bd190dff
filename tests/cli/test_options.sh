# test_options.sh - what every subcommand's option table gives: --help that
# lists every option the command accepts and ends with examples that run,
# "did you mean" for a misspelled command or option, errors as one JSON
# object with --json, and the --json output of predict, export and report.
# Usage: sh test_options.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
case $BP in /*) ;; *) BP=$(pwd)/$BP ;; esac
COMMANDS="lesson explain gradcheck minimize train eval predict report lr-find regions export info"

# ---- did you mean ---------------------------------------------------------
run "$BP" trian --epochs 3
expect_rc 2 "misspelled command"
err_has "backprop: unknown command 'trian'; did you mean 'train'? (see backprop --help)" \
    "misspelled command"
run "$BP" help evl
expect_rc 2 "help of a misspelled command"
err_has "did you mean 'eval'?" "help of a misspelled command"
run "$BP" frobnicate
err_has "unknown command 'frobnicate' (see backprop --help)" "far from every command"

run "$BP" train --data xor --epohcs 3
expect_rc 2 "misspelled option"
err_has "backprop: unknown option '--epohcs'; did you mean '--epochs'? (see backprop train --help)" \
    "misspelled option"
run "$BP" train --data xor --lr-rate 0.1
expect_rc 2 "option with a word added"
err_has "unknown option '--lr-rate'; did you mean '--lr'?" "option with a word added"
run "$BP" predict --modle m.json
err_has "did you mean '--model'?" "predict --modle"
run "$BP" train --data xor --s 1
expect_rc 2 "ambiguous abbreviation"
err_has "option '--s' is ambiguous: --standardize, --sep, --scale, --schedule, --step-size, --seed" \
    "ambiguous abbreviation"
run "$BP" eval --json=yes
expect_rc 2 "a value for a flag"
err_has "option '--json' takes no value" "a value for a flag"

# ---- errors as JSON -------------------------------------------------------
# One line on stderr, {"error": "...", "exit": N}, and no plain line.
json_error() { # CODE TEXT WHAT
    expect_rc "$1" "$3"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$3: stderr is not one line: $(cat "$TMP/err")"
    grep -q -E '^\{"error": ".*", "exit": '"$1"'\}$' "$TMP/err" ||
        fail "$3: not a JSON error object: $(cat "$TMP/err")"
    err_has "$2" "$3"
    ! grep -q '^backprop:' "$TMP/err" || fail "$3: a plain message as well"
}
run "$BP" eval --json --model "$TMP/none.json" --data xor
json_error 1 "cannot open $TMP/none.json" "eval of a missing model"
run "$BP" train --json --data xor --epochs 0
json_error 2 "--epochs: expected a positive integer" "a bad option value"
run "$BP" train --data xor --json --epohcs 2
json_error 2 "did you mean '--epochs'? (see backprop train --help)" "an unknown option"
run "$BP" predict --json
json_error 2 "--model is required" "a missing option"
run "$BP" trian --json
json_error 2 "did you mean 'train'?" "an unknown command"
run "$BP" explain --json --net 2,1:identity --input 1 --target 0
json_error 2 "--input: expected 2 values" "explain"
run "$BP" minimize --json --expr 'x +' 
json_error 2 "--expr: " "a bad expression"
# A quote in the message is escaped.
run "$BP" info --json --net '2,"x'
expect_rc 2 "info --net with a quote"
grep -q -E '^\{"error": ".*\\".*", "exit": 2\}$' "$TMP/err" || fail "quote not escaped: $(cat "$TMP/err")"

# ---- --help: every option, then examples ------------------------------------
for c in $COMMANDS; do
    run "$BP" "$c" --help
    expect_rc 0 "$c --help"
    # Every option shown is one the command accepts (given a value, or with
    # an operand skipped, before --help stops it).
    opts=$(grep -o -E '^  --[a-z0-9-]+' "$TMP/out" | sed 's/^  //')
    [ -n "$opts" ] || fail "$c --help lists no options"
    for o in $opts; do
        "$BP" "$c" "$o" 1 --help >/dev/null 2>"$TMP/opt_err" </dev/null || true
        ! grep -q "unknown option" "$TMP/opt_err" || fail "$c --help lists $o, which is refused"
    done
    # The last section holds examples of this command, and nothing follows.
    sed -n '/^Examples:$/,$p' "$TMP/out" >"$TMP/ex"
    [ "$(grep -c -E "^  backprop $c( |\$)" "$TMP/ex")" -ge 2 ] || fail "$c --help: fewer than 2 examples"
    tail -n +2 "$TMP/ex" | grep -v -E "^  backprop $c( |\$)|^      " &&
        fail "$c --help: something other than examples after 'Examples:'"
    tail -n 1 "$TMP/out" | grep -q -E "^  backprop $c( |\$)|^      " || fail "$c --help ends otherwise"
done

# Every option each command takes, and its --help lists it.
expect_options() { # COMMAND OPTION...
    c=$1
    shift
    run "$BP" "$c" --help
    for o in "$@"; do
        grep -q -E "^  --$o( |\$)" "$TMP/out" || fail "$c --help does not list --$o"
    done
    [ "$(grep -c -E '^  --[a-z0-9-]+' "$TMP/out")" -eq $# ] ||
        fail "$c --help lists $(grep -c -E '^  --[a-z0-9-]+' "$TMP/out") options, expected $#"
}
expect_options lesson seed iters lr json
expect_options explain net model weights biases seed input target loss lr weight json
expect_options gradcheck net model loss data sep header no-header batch seed eps tol json
expect_options minimize expr f x0 lr iters tol every plot json
expect_options train data test val-split standardize sep header no-header features drop task \
    missing no-standardize class-weight net loss init-scheme init dropout precision optimizer \
    lr momentum nesterov scale weight-decay clip schedule warmup gamma step-size batch epochs seed \
    no-shuffle patience threads deterministic parts out log report json quiet checkpoint \
    checkpoint-every resume
expect_options eval model net data sep header no-header loss seed json
expect_options predict model net data sep header no-header loss out seed json
expect_options report log model net data sep header no-header name seed out json
expect_options lr-find data sep header no-header features drop task missing no-standardize \
    net init loss optimizer momentum batch min-lr max-lr steps seed plot json
expect_options regions data hidden net epochs gd-lr adam-lr scale grid seed out json
expect_options export model net out format name fold-bn no-fold-bn json
expect_options info net model json

# The examples run, from a folder beside the repository's examples (those on
# Fashion-MNIST aside: its files are not part of a checkout); train's first,
# for the model and log the others use.
mkdir "$TMP/work"
ln -s "$SRC/examples" "$TMP/work/examples"
for c in train $COMMANDS; do
    [ "$c" = train ] && [ -f "$TMP/work/spiral.safetensors" ] && continue
    "$BP" "$c" --help | sed -n '/^Examples:$/,$p' | tail -n +2 |
        sed -e ':a' -e '/\\$/N; s/\\\n */ /; ta' | sed 's/^  //' >"$TMP/cmds"
    while IFS= read -r line; do
        case "$line" in *fashion-mnist*) continue ;; esac
        (cd "$TMP/work" && eval "\"\$BP\" ${line#backprop }") >"$TMP/out" 2>"$TMP/err" ||
            fail "example failed: $line: $(cat "$TMP/err")"
    done <"$TMP/cmds"
done
[ -s "$TMP/work/spiral.onnx" ] && [ -s "$TMP/work/spiral.html" ] || fail "examples wrote no files"

# ---- --json output ----------------------------------------------------------
cd "$TMP/work"
run "$BP" predict --model examples/lesson.json --data examples/lesson-data.csv --json
expect_rc 0 "predict --json"
[ "$(tr -d ' \n' <"$TMP/out")" = '{"columns":["row","prediction"],"rows":[[1,9],[2,9],[3,0],[4,12]],"network":{"spec":"2,2:relu:nobias,1:relu:nobias","inputs":2,"outputs":1,"input_shape":[2],"layers":[{"layer":0,"entry":"2:relu:nobias","kind":"dense","inputs":2,"outputs":2,"shape":[2],"activation":"relu","weight_dims":[2,2],"bias":false,"parameters":4},{"layer":1,"entry":"1:relu:nobias","kind":"dense","inputs":2,"outputs":1,"shape":[1],"activation":"relu","weight_dims":[1,2],"bias":false,"parameters":2}],"parameters":6}}' ] ||
    fail "predict --json: $(cat "$TMP/out")"
run "$BP" predict --model examples/lesson.json --data examples/lesson-data.csv --json --out p.json
expect_rc 0 "predict --json --out"
[ ! -s "$TMP/out" ] || fail "predict --json --out wrote to stdout"
grep -q '"rows": \[' p.json || fail "predict --json --out: $(cat p.json)"

run "$BP" export --model examples/lesson.json --out l.c --json
expect_rc 0 "export --json"
bytes=$(wc -c <l.c | tr -d ' ')
[ "$(cat "$TMP/out")" = "{\"path\": \"l.c\", \"format\": \"c\", \"bytes\": $bytes, \"inputs\": 2, \"outputs\": 1, \"layers\": 2, \"parameters\": 6}" ] ||
    fail "export --json: $(cat "$TMP/out")"

run "$BP" report --log spiral.csv --model spiral.safetensors --data spiral:100:3 --out r.html --json
expect_rc 0 "report --json"
bytes=$(wc -c <r.html | tr -d ' ')
epochs=$(($(wc -l <spiral.csv) - 1))
[ "$(head -n 1 "$TMP/out")" = "{\"path\": \"r.html\", \"bytes\": $bytes, \"epochs\": $epochs, \"network\": {\"spec\": \"2,256:relu,128:relu,3:softmax\", \"inputs\": 2, \"outputs\": 3, \"input_shape\": [2], \"layers\": [" ] ||
    fail "report --json: $(cat "$TMP/out")"
cd /
echo "ok"
