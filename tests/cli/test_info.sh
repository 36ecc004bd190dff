# test_info.sh - `backprop info --model`: a model file's layer table, spec,
# parameter count and every metadata entry (long values shortened in the
# text form, whole in JSON), and the errors of bad files and options.
# Usage: sh test_info.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
EX=$(dirname "$0")/../../examples

# The lesson's network: 2x2 + 1x2 weights, no biases, 6 parameters; a JSON
# model's only metadata is its spec.
run "$BP" info --model "$EX/lesson.json"
expect_rc 0 "info --model"
has "model: $EX/lesson.json" "the file"
grep -q -E "^input +2\$" "$TMP/out" || fail "input row"
grep -q -E "^ +0 +2:relu:nobias +2 +4\$" "$TMP/out" || fail "layer 0 row"
grep -q -E "^ +1 +1:relu:nobias +1 +2\$" "$TMP/out" || fail "layer 1 row"
has "total parameters: 6" "parameter count"
has "spec: 2,2:relu:nobias,1:relu:nobias" "spec"
has "metadata: 1 entry" "metadata count"
grep -q -E "^  net  2,2:relu:nobias,1:relu:nobias\$" "$TMP/out" || fail "metadata net"

run "$BP" info --model "$EX/lesson.json" --json
expect_rc 0 "info --model --json"
has '{"model": "' "json model"
has '"spec": "2,2:relu:nobias,1:relu:nobias"' "json spec"
has '"bias": false, "parameters": 4}' "json layer 0"
has '"parameters": 6, "metadata": {"net": "2,2:relu:nobias,1:relu:nobias"}}' "json metadata"

# y = 3 inputs -> 1, identity, no bias: 3 parameters.
run "$BP" info --model "$EX/linear.json"
has "total parameters: 3" "linear parameters"
grep -q -E "^ +0 +1:identity:nobias +1 +3\$" "$TMP/out" || fail "linear layer row"

# Every metadata entry in its order, the spec last; biases counted
# (2x3 + 2 + 1x2 + 1 = 11); a value over 60 characters, here a long
# "scaling", cut to its first 60 and followed by its length.
SCALING='{"shift": [10, 20, 30], "mul": [0.5, 0.25, 0.125]}, padded to be long enough'
SCALING_JSON=$(printf '%s' "$SCALING" | sed 's/"/\\"/g')
N=$(printf '%s' "$SCALING" | wc -c | tr -d ' ')
FIRST60=$(printf '%s' "$SCALING" | cut -c 1-60)
cat >"$TMP/meta.json" <<END
{"net": "3,2:relu,1:sigmoid",
 "weights": [[[1, 2, 3], [4, 5, 6]], [[1, -1]]],
 "biases": [[0.5, -0.5], [0]],
 "metadata": {"loss": "bce", "scaling": "$SCALING_JSON",
              "note": "line one\\nline two"}}
END
run "$BP" info --model "$TMP/meta.json"
expect_rc 0 "info with metadata"
has "total parameters: 11" "2x3 + 2 + 1x2 + 1 = 11 parameters"
grep -q -E "^ +0 +2:relu +2 +8\$" "$TMP/out" || fail "biased layer row"
has "metadata: 4 entries" "metadata count"
has "  loss     bce" "metadata loss, keys aligned"
has "  scaling  $FIRST60... ($N characters)" "long value shortened"
if grep -F -q -e "padded to be long enough" "$TMP/out"; then fail "long value printed whole"; fi
has '  note     line one\nline two' "a newline shown as \\n"
has "  net      3,2:relu,1:sigmoid" "spec in the metadata"
[ "$(grep -n -E '^  (loss|scaling|note|net) ' "$TMP/out" | cut -d: -f2 | cut -c3- | cut -d' ' -f1 | tr '\n' ' ')" = "loss scaling note net " ] ||
    fail "metadata not in the file's order"

run "$BP" info --model "$TMP/meta.json" --json
expect_rc 0 "info with metadata --json"
has "\"scaling\": \"$SCALING_JSON\"" "json value whole"
has '"note": "line one\nline two"' "json newline escaped"
has '"loss": "bce"' "json loss"

# Characters, not bytes: 70 two-byte characters are shortened to 60.
E=$(printf '\303\251')
LONG=$(printf "$E%.0s" $(seq 1 70))
SHORT=$(printf "$E%.0s" $(seq 1 60))
printf '{"net": "1,1", "weights": [[[1]]], "metadata": {"text": "%s"}}\n' "$LONG" >"$TMP/utf8.json"
run "$BP" info --model "$TMP/utf8.json"
expect_rc 0 "utf-8 value"
has "  text  $SHORT... (70 characters)" "utf-8 value shortened by characters"

# Bad files: exit 1 with the library's message naming the file.
run "$BP" info --model "$TMP/nope.json"
expect_rc 1 "missing model"
err_has "backprop: cannot open $TMP/nope.json" "missing model named"
printf '{"net": "2,1", "weights": [[[1]]]}\n' >"$TMP/bad.json"
run "$BP" info --model "$TMP/bad.json"
expect_rc 1 "bad model"
err_has "$TMP/bad.json: weights[0][0] has 1 values, expected 2" "bad model named"
: >"$TMP/empty.safetensors"
run "$BP" info --model "$TMP/empty.safetensors"
expect_rc 1 "empty model"
err_has "$TMP/empty.safetensors: empty file" "empty model named"
[ ! -s "$TMP/out" ] || fail "a bad model printed a table"

# Usage errors.
run "$BP" info --net 2,1 --model "$EX/lesson.json"
expect_rc 1 "--net and --model that disagree"
err_has "the spec given, 2,1, disagrees with the spec $EX/lesson.json holds" "--net and --model"
run "$BP" info --net 2,2:relu:nobias,1:relu:nobias --model "$EX/lesson.json"
expect_rc 0 "--net and --model that agree"
has "spec: 2,2:relu:nobias,1:relu:nobias" "--net and --model that agree"
run "$BP" info --net 2,1 --model "$TMP/x.onnx"
expect_rc 2 "--net with an ONNX file"
err_has "--net applies to a safetensors or JSON --model, not ONNX" "--net with an ONNX file"
run "$BP" info --model
expect_rc 2 "--model without a value"
err_has "option '--model' needs a value" "--model without a value"

# --net and the build are as before.
run "$BP" info --net 2,2:relu:nobias,1:relu:nobias --json
has '"parameters": 6}' "info --net json unchanged"
if grep -q metadata "$TMP/out"; then fail "info --net shows metadata"; fi
run "$BP" info
expect_rc 0 "info"
has "backprop 0.1.0" "info version"

run "$BP" info --help
expect_rc 0 "info --help"
for opt in --net --model --json; do
    has "  $opt" "info --help lists $opt"
done

echo "ok: info"
