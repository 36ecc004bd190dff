# test_report_cnn.sh - the report of a convolutional network: the table of
# layers gives each layer's entry, shapes, weights and parameter count; the
# first convolution's filters are drawn one per filter, one picture per
# input channel (their mean above 16 channels), with the saved weights;
# the norms leave the pools out and agree with the saved weights; a dense
# network gets the table and no filters. Usage: sh test_report_cnn.sh
# PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# 8x8 pictures of three classes (a bar across, a bar down, the diagonal).
awk 'BEGIN {
    for (i = 0; i < 64; i++) printf "p%d,", i
    print "label"
    for (s = 0; s < 90; s++) {
        k = s % 3; c = 1 + (s * 5) % 5
        for (i = 0; i < 64; i++) {
            r = int(i / 8); q = i % 8
            on = (k == 0 && r >= c && r < c + 2) || (k == 1 && q >= c && q < c + 2) || (k == 2 && r == q)
            printf "%.3f,", (on ? 0.8 : 0.1) + 0.1 * sin(s * 31.7 + i * 1.3)
        }
        print k
    }
}' >"$TMP/pics.csv"
NET=1x8x8,conv:4:3:relu:same,maxpool:2,conv:3:3:relu,avgpool:2:stride=1,3:softmax
run "$BP" train --data "$TMP/pics.csv" --net "$NET" --epochs 3 --batch 10 --lr 0.05 \
    --out "$TMP/m.safetensors" --log "$TMP/log.csv" --report "$TMP/r.html"
expect_rc 0 "train --report of a CNN"
R=$TMP/r.html

# The table of layers, row by row.
cat >"$TMP/rows" <<'EOF'
<tr data-layer="input"><td>input</td><td class="entry">1x8x8</td><td class="in"></td><td class="out">1x8x8</td><td class="weights"></td><td class="params"></td></tr>
<tr data-layer="0"><td>0</td><td class="entry">conv:4:3:relu:same</td><td class="in">1x8x8</td><td class="out">4x8x8</td><td class="weights">4x1x3x3</td><td class="params">40</td></tr>
<tr data-layer="1"><td>1</td><td class="entry">maxpool:2</td><td class="in">4x8x8</td><td class="out">4x4x4</td><td class="weights">none</td><td class="params">0</td></tr>
<tr data-layer="2"><td>2</td><td class="entry">conv:3:3:relu</td><td class="in">4x4x4</td><td class="out">3x2x2</td><td class="weights">3x4x3x3</td><td class="params">111</td></tr>
<tr data-layer="3"><td>3</td><td class="entry">avgpool:2:stride=1</td><td class="in">3x2x2</td><td class="out">3x1x1</td><td class="weights">none</td><td class="params">0</td></tr>
<tr data-layer="4"><td>4</td><td class="entry">3:softmax</td><td class="in">3x1x1 flattened to 3</td><td class="out">3</td><td class="weights">3x3</td><td class="params">12</td></tr>
<tr data-layer="total"><th colspan="5">total</th><td class="params">163</td></tr>
EOF
grep '<tr data-layer=' "$R" >"$TMP/got_rows"
cmp -s "$TMP/rows" "$TMP/got_rows" ||
    fail "table of layers: expected $(cat "$TMP/rows"), found $(cat "$TMP/got_rows")"

# One filter per filter of layer 0, one 3x3 picture each, nothing more.
[ "$(grep -c '<section class="plot" id="filters">' "$R")" -eq 1 ] || fail "no filters section"
[ "$(grep -c '<g class="filter"' "$R")" -eq 4 ] || fail "filters: expected 4"
[ "$(grep -c '<g class="kernel"' "$R")" -eq 4 ] || fail "filter pictures: expected 4"
grep -q 'Layer 0: 4 filters of 3x3 over 1 input channel, one picture each' "$R" ||
    fail "filters: the caption"
for o in 0 1 2 3; do
    n=$(grep -o "data-filter=\"$o\" data-values=\"[^\"]*\"" "$R" | sed 's/.*data-values="//; s/"$//' |
        awk '{ print NF }')
    [ "$n" = 9 ] || fail "filter $o: $n values, expected 9"
done
# The deepest red or blue is drawn for the largest magnitude, and only there.
deep=$(sed -n '/id="filters"/,/<g class="scale">/p' "$R" | grep -c 'fill="#b2182b"\|fill="#2166ac"' || true)
[ "$deep" -ge 1 ] || fail "filters: no weight drawn at the end of the scale"

# The norms: the three layers with parameters, not the pools.
for l in 0 2 4; do
    grep -q "data-name=\"layer $l\"" "$R" || fail "norms: no line for layer $l"
done
for l in 1 3; do
    grep -q "data-name=\"layer $l\"" "$R" && fail "norms: a line for pool layer $l"
done
grep -q "The pooling layers have no parameters and no norms." "$R" || fail "norms: the pools note"

# values NAME FILE: the data-values of the first element named NAME.
values() {
    grep -o "data-name=\"$1\" data-values=\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*data-values="//; s/"$//'
}
# The pictures and the norms against the saved weights.
if [ -x "$PY" ]; then
    "$PY" - "$TMP/m.safetensors" >"$TMP/want" <<'PYEOF'
import json, math, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
head = json.loads(data[8:8 + n])
def floats(name):
    a, b = head[name]["data_offsets"]
    return [v for (v,) in struct.iter_unpack("<f", data[8 + n + a:8 + n + b])]
def shortest(v):  # the shortest %g form that reads back as the same float
    for p in range(1, 10):
        t = "%.*g" % (p, v)
        if struct.unpack("<f", struct.pack("<f", float(t)))[0] == v:
            return t
w = floats("layers.0.weight")
for o in range(4):
    print("filter", o, " ".join(shortest(v) for v in w[9 * o:9 * o + 9]))
for l in (0, 2, 4):
    s = sum(v * v for v in floats("layers.%d.weight" % l) + floats("layers.%d.bias" % l))
    print("norm", l, repr(math.sqrt(s)))
PYEOF
    while read -r what k rest; do
        if [ "$what" = filter ]; then
            got=$(grep -o "data-filter=\"$k\" data-values=\"[^\"]*\"" "$R" |
                sed 's/.*data-values="//; s/"$//')
            [ "$got" = "$rest" ] || fail "filter $k: page '$got', file '$rest'"
        else
            got=$(values "layer $k" "$R" | awk -F';' '{ split($NF, p, " "); print p[2] }')
            awk -v a="$got" -v b="$rest" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-9 * b) }' ||
                fail "layer $k weight norm: page $got, file $rest"
        fi
    done <"$TMP/want"
else
    echo "note: /usr/bin/python3 absent; the checks against the saved weights are skipped"
fi

# After the fact, from the log: the same table and filters, and the norms
# measured at the saved weights for the layers with parameters.
run "$BP" report --log "$TMP/log.csv" --model "$TMP/m.safetensors" --data "$TMP/pics.csv" \
    --out "$TMP/r2.html"
expect_rc 0 "report of a CNN"
grep '<tr data-layer=' "$TMP/r2.html" | cmp -s "$TMP/rows" - || fail "report: table of layers"
[ "$(grep -c '<g class="filter"' "$TMP/r2.html")" -eq 4 ] || fail "report: filters"
for f in $(grep -o 'data-filter="[0-3]" data-values="[^"]*"' "$R" | tr ' ' '_'); do
    grep -q "$(echo "$f" | tr '_' ' ')" "$TMP/r2.html" || fail "report: filter differs: $f"
done
for l in 0 2 4; do
    g=$(grep -o "data-name=\"layer $l\" data-values=\"[^\"]*\"" "$TMP/r2.html" | sed -n 3p |
        sed 's/.*data-values="//; s/"$//')
    echo "$g" | awk '{ exit !($1 == 3 && $2 > 0 && $2 < 1e6) }' ||
        fail "report: gradient norm of layer $l: '$g'"
done
grep -q 'data-name="layer 1"' "$TMP/r2.html" && fail "report: a norm for pool layer 1"
if [ -x "$PY" ]; then # the saved weights' norms, as above
    while read -r what k rest; do
        [ "$what" = norm ] || continue
        got=$(values "layer $k" "$TMP/r2.html" | awk '{ print $2 }')
        awk -v a="$got" -v b="$rest" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-9 * b) }' ||
            fail "report: layer $k weight norm: page $got, file $rest"
    done <"$TMP/want"
fi

# Two input channels: a row of two pictures per filter.
awk 'BEGIN { for (i = 0; i < 32; i++) printf "p%d,", i; print "y"
    for (s = 0; s < 40; s++) { for (i = 0; i < 32; i++) printf "%.3f,", sin(s * 1.7 + i * 0.9); print s % 2 } }' \
    >"$TMP/two.csv"
run "$BP" train --data "$TMP/two.csv" --net 2x4x4,conv:5:3:tanh:pad=1:stride=2,2:softmax \
    --epochs 1 --out "$TMP/m2.safetensors" --report "$TMP/r3.html"
expect_rc 0 "train --report, two channels"
[ "$(grep -c '<g class="filter"' "$TMP/r3.html")" -eq 5 ] || fail "two channels: filters"
[ "$(grep -c '<g class="kernel"' "$TMP/r3.html")" -eq 10 ] || fail "two channels: pictures"
grep -q 'each a row of one picture per channel' "$TMP/r3.html" || fail "two channels: caption"
grep -q '<td class="in">5x2x2 flattened to 20</td>' "$TMP/r3.html" || fail "two channels: table"

# Seventeen channels: the mean of each filter, one picture.
awk 'BEGIN { for (i = 0; i < 153; i++) printf "p%d,", i; print "y"
    for (s = 0; s < 20; s++) { for (i = 0; i < 153; i++) printf "%.3f,", sin(s * 0.3 + i); print s % 2 } }' \
    >"$TMP/deep.csv"
run "$BP" train --data "$TMP/deep.csv" --net 17x3x3,conv:2:3,2:softmax --epochs 1 \
    --out "$TMP/m3.safetensors" --report "$TMP/r4.html"
expect_rc 0 "train --report, 17 channels"
[ "$(grep -c '<g class="kernel"' "$TMP/r4.html")" -eq 2 ] || fail "17 channels: pictures"
grep -q 'each drawn as the mean over its channels' "$TMP/r4.html" || fail "17 channels: caption"

# A dense network: the table, no filters.
run "$BP" train --data "$TMP/pics.csv" --net 64,8:relu,3:softmax --epochs 1 \
    --out "$TMP/m4.safetensors" --report "$TMP/r5.html"
expect_rc 0 "train --report, dense"
grep -q '<tr data-layer="0"><td>0</td><td class="entry">8:relu</td><td class="in">64</td><td class="out">8</td><td class="weights">8x64</td><td class="params">520</td></tr>' \
    "$TMP/r5.html" || fail "dense: table of layers"
grep -q 'id="filters"' "$TMP/r5.html" && fail "dense: a filters section"
echo "ok"
