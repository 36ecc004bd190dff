# test_report.sh - `backprop train --report` and `backprop report`: the page
# holds every section, its curves are the logged figures, its confusion
# matrix and per-class precision and recall agree with the model's own
# predictions counted here, its norms with the saved weights; bad input is
# refused with a clear error. Usage: sh test_report.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# Three classes on two inputs, overlapping a little: class k is centred at
# (k, k mod 2), spread by a fixed formula.
gen() {  # gen ROWS OFFSET > FILE
    awk -v n="$1" -v off="$2" 'BEGIN {
        print "a,b,label"
        for (i = 0; i < n; i++) {
            k = i % 3; j = i + off
            printf "%.6f,%.6f,%d\n", k + 0.7 * sin(j * 12.9898), (k % 2) + 0.7 * cos(j * 78.233), k
        }
    }'
}
gen 240 0 >"$TMP/train.csv"
gen 90 1000 >"$TMP/test.csv"

run "$BP" train --data "$TMP/train.csv" --test "$TMP/test.csv" --net 2,16:relu,3:softmax \
    --epochs 6 --batch 32 --lr 0.1 --out "$TMP/m.safetensors" --log "$TMP/log.csv" \
    --report "$TMP/r.html"
expect_rc 0 "train --report"
has "report written to $TMP/r.html" "train --report message"
R="$TMP/r.html"
for id in curves lr confusion mistakes norms settings; do
    grep -q "<section class=\"[a-z]*\" id=\"$id\">" "$R" || fail "train --report: no section '$id'"
done
grep -q 'https\?://[^w]' "$R" && fail "the page refers to something on the network"

# values NAME FILE: the data-values of the first line or dots named NAME.
values() {
    grep -o "data-name=\"$1\" data-values=\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*data-values="//; s/"$//'
}
# same_numbers A B WHAT: two ';'-separated lists of 'x y' pairs agree to 1e-12.
same_numbers() {
    printf '%s\n%s\n' "$1" "$2" | awk -v what="$3" '
        NR == 1 { n = split($0, a, /[; ]/) }
        NR == 2 { m = split($0, b, /[; ]/) }
        END {
            if (n != m || n == 0) { print "FAIL: " what ": " n " vs " m " numbers"; exit 1 }
            for (i = 1; i <= n; i++) {
                d = a[i] - b[i]; if (d < 0) d = -d
                s = a[i] < 0 ? -a[i] : a[i]
                if (d > 1e-12 * (s > 1 ? s : 1)) { print "FAIL: " what ": " a[i] " vs " b[i]; exit 1 }
            }
        }' >&2 || exit 1
}
# col NAME: "epoch value;..." of a log column.
col() {
    awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        { printf "%s%s %s", (NR > 2 ? ";" : ""), $1, $c }' "$TMP/log.csv"
}
same_numbers "$(values 'train loss' "$R")" "$(col loss)" "train loss curve"
same_numbers "$(values 'test loss' "$R")" "$(col test_loss)" "test loss curve"
same_numbers "$(values 'test accuracy' "$R")" "$(col test_accuracy)" "test accuracy curve"
same_numbers "$(values 'last step of each epoch' "$R" | awk -F';' '{
    for (i = 1; i <= NF; i++) { split($i, p, " "); printf "%s%d %s", (i > 1 ? ";" : ""), i, p[2] } }')" \
    "$(col lr)" "the rate of each epoch"
# The schedule's rate at every step: cosine from 0.1 over 8 batches x 6 epochs.
steps=$(values 'every step' "$R" | awk -F';' '{ print NF }')
[ "$steps" -eq 48 ] || fail "rate of every step: $steps points, expected 48"
first=$(values 'every step' "$R" | cut -d';' -f1)
[ "$first" = "1 0.1" ] || fail "rate at step 1: '$first', expected '1 0.1'"

# The confusion matrix against the model's predictions on the test data.
"$BP" predict --model "$TMP/m.safetensors" --data "$TMP/test.csv" >"$TMP/all.csv" ||
    fail "predict"
pred_outputs 3 "$TMP/all.csv" "$TMP/pred.csv"
awk -F, 'NR > 1 { print $3 }' "$TMP/test.csv" | paste -d, "$TMP/pred.csv" - | awk -F, '
    { k = 1; for (j = 2; j <= 3; j++) if ($j > $k) k = j; n[$4 "," k - 1]++ }
    END { for (t = 0; t < 3; t++) for (p = 0; p < 3; p++) print t, p, n[t "," p] + 0 }' \
    >"$TMP/counts"
while read -r t p n; do
    grep -q "data-true=\"$t\" data-pred=\"$p\" data-count=\"$n\"" "$R" ||
        fail "confusion cell ($t, $p): expected $n"
done <"$TMP/counts"
# Precision and recall per class, formatted as the page does.
awk '{ c[$1, $2] = $3 }
    END {
        for (k = 0; k < 3; k++) {
            col = 0; row = 0
            for (i = 0; i < 3; i++) { col += c[i, k]; row += c[k, i] }
            printf "%d %s %s\n", k, col ? sprintf("%.4f", c[k, k] / col) : "n/a",
                   row ? sprintf("%.4f", c[k, k] / row) : "n/a"
        }
    }' "$TMP/counts" >"$TMP/pr"
while read -r k prec rec; do
    grep -q "<tr data-class=\"$k\"><td>$k</td><td>30</td><td class=\"precision\">$prec</td><td class=\"recall\">$rec</td></tr>" "$R" ||
        fail "class $k: expected precision $prec and recall $rec"
done <"$TMP/pr"
wrong=$(awk '$1 != $2 { s += $3 } END { print s + 0 }' "$TMP/counts")
shown=$(grep -c '<g class="sample"' "$R" || true)
[ "$shown" -eq "$([ "$wrong" -lt 12 ] && echo "$wrong" || echo 12)" ] ||
    fail "mistakes: $shown shown, $wrong wrong"

# The weight norm of each layer after the last epoch, from the saved file.
PY=/usr/bin/python3
if [ -x "$PY" ]; then
    for l in 0 1; do
        want=$("$PY" - "$TMP/m.safetensors" "$l" <<'PYEOF'
import json, math, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
head = json.loads(data[8:8 + n])
s = 0.0
for name in ("layers.%s.weight" % sys.argv[2], "layers.%s.bias" % sys.argv[2]):
    a, b = head[name]["data_offsets"]
    for (v,) in struct.iter_unpack("<f", data[8 + n + a:8 + n + b]):
        s += v * v
print(repr(math.sqrt(s)))
PYEOF
)
        got=$(values "layer $l" "$R" | awk -F';' '{ split($NF, p, " "); print p[2] }')
        awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-9 * b) }' ||
            fail "layer $l weight norm: page $got, file $want"
    done
else
    echo "note: /usr/bin/python3 absent; the weight-norm check is skipped"
fi
# Gradient norms: one finite positive value per layer and epoch.
grads=$(grep -o 'data-name="layer 0" data-values="[^"]*"' "$R" | sed -n 3p)
echo "$grads" | grep -q '6 [0-9]' || fail "gradient norms of layer 0: '$grads'"

# After the fact: the same curves and matrix from the log and the model.
run "$BP" report --log "$TMP/log.csv" --model "$TMP/m.safetensors" --data "$TMP/test.csv" \
    --name test --out "$TMP/r2.html"
expect_rc 0 "report"
has "report written to $TMP/r2.html" "report message"
same_numbers "$(values 'train loss' "$TMP/r2.html")" "$(col loss)" "report: train loss curve"
while read -r t p n; do
    grep -q "data-true=\"$t\" data-pred=\"$p\" data-count=\"$n\"" "$TMP/r2.html" ||
        fail "report: confusion cell ($t, $p): expected $n"
done <"$TMP/counts"
grep -q "The log holds no per-layer norms" "$TMP/r2.html" || fail "report: norms note"

# A log with per-layer norm columns is drawn as logged.
printf 'epoch,loss,lr,weight_norm_0,grad_norm_0,weight_norm_1,grad_norm_1\n1,0.9,0.1,2.5,0.75,1.5,0.25\n2,0.5,0.05,3,0.5,2,0.125\n' \
    >"$TMP/norms.csv"
run "$BP" report --log "$TMP/norms.csv" --model "$TMP/m.safetensors" --data "$TMP/test.csv" \
    --out "$TMP/r3.html"
expect_rc 0 "report with norm columns"
[ "$(values 'layer 1' "$TMP/r3.html")" = "1 1.5;2 2" ] || fail "logged weight norms of layer 1"
[ "$(grep -o 'data-name="layer 0" data-values="[^"]*"' "$TMP/r3.html" | sed -n 3p)" = \
  'data-name="layer 0" data-values="1 0.75;2 0.5"' ] || fail "logged gradient norms of layer 0"

# Bad input.
printf 'epoch,loss\n1,0.5\n2,abc\n' >"$TMP/bad.csv"
run "$BP" report --log "$TMP/bad.csv" --model "$TMP/m.safetensors" --data "$TMP/test.csv" \
    --out "$TMP/r4.html"
expect_rc 1 "bad log"
err_has "bad.csv:3: column 'loss': expected a number, found 'abc'" "bad log message"
[ ! -e "$TMP/r4.html" ] || fail "a failed report left a file"
printf 'step,value\n1,2\n' >"$TMP/other.csv"
run "$BP" report --log "$TMP/other.csv" --model "$TMP/m.safetensors" --data "$TMP/test.csv"
expect_rc 1 "not a training log"
err_has "other.csv:1: expected a header with the columns 'epoch' and 'loss'" "header message"
run "$BP" report --model "$TMP/m.safetensors" --data "$TMP/test.csv"
expect_rc 2 "report without --log"
err_has "--log is required" "missing --log"
run "$BP" train --data "$TMP/train.csv" --epochs 1 --out "$TMP/m2.safetensors" \
    --report "$TMP/no/such/dir/r.html"
expect_rc 1 "train --report into a missing directory"
err_has "--report: cannot write" "unwritable report"
run "$BP" train --data "$TMP/train.csv" --out "$TMP/x" --report "$TMP/x"
expect_rc 2 "--report and --out the same"
run "$BP" report --help
expect_rc 0 "report --help"
has "default: report.html" "report --help defaults"
echo "ok"
