# test_cnn_tool.sh - a 1x28x28 convolutional network through the rest of
# the tool: train's header and JSON name the input shape; eval and predict
# give the same figures on the IDX images, gzipped or not, and on the same
# pixels as CSV (pandas' to_csv with its row index, the label last or
# first); a CSV of another width, or a label first not named, is refused;
# gradcheck's JSON carries the shapes; lr-find runs it and starts from the
# model's own loss; report's page and JSON carry the shapes, the filters
# and the norms; regions refuses images and image networks, and trains a
# 2-input convolution.
# Usage: sh test_cnn_tool.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
case $BP in /*) ;; *) BP="$(pwd)/$BP" ;; esac
cd "$TMP"
export LC_ALL=C

# 60 pictures of 28 x 28, three classes (a bar across, a bar down, the
# diagonal), pixels 1 to 250; one line each: 784 pixels, then the label.
awk 'BEGIN {
    for (s = 0; s < 60; s++) {
        k = s % 3; c = 4 + (s * 7) % 18
        for (i = 0; i < 784; i++) {
            r = int(i / 28); q = i % 28
            on = (k == 0 && r >= c && r < c + 4) || (k == 1 && q >= c && q < c + 4) ||
                 (k == 2 && (r - q) * (r - q) <= 4)
            printf "%d ", (on ? 200 : 20) + (s * 13 + i * 7) % 31
        }
        print k
    }
}' >pixels.txt
[ "$(wc -l <pixels.txt)" -eq 60 ] || fail "the pictures: $(wc -l <pixels.txt) lines"
# IDX: images (magic 0x803, 60 x 28 x 28) and labels (0x801, 60).
{
    printf '\0\0\10\3\0\0\0\74\0\0\0\34\0\0\0\34'
    awk '{ for (i = 1; i <= 784; i++) printf "%c", $i }' pixels.txt
} >img.idx
{
    printf '\0\0\10\1\0\0\0\74'
    awk '{ printf "%c", $785 }' pixels.txt
} >lab.idx
[ "$(wc -c <img.idx)" -eq $((16 + 60 * 784)) ] || fail "img.idx has $(wc -c <img.idx) bytes"
gzip -c img.idx >img.idx.gz
gzip -c lab.idx >lab.idx.gz
# The same as pandas writes a DataFrame (its row index first, unnamed),
# without the index and the label first, and one pixel short.
awk 'BEGIN { printf ""; for (i = 1; i <= 784; i++) printf ",pixel%d", i; print ",label" }
     { printf "%d", NR - 1; for (i = 1; i <= 785; i++) printf ",%s", $i; print "" }' pixels.txt >pandas.csv
awk 'BEGIN { printf "label"; for (i = 1; i <= 784; i++) printf ",pixel%d", i; print "" }
     { printf "%s", $785; for (i = 1; i <= 784; i++) printf ",%s", $i; print "" }' pixels.txt >first.csv
awk 'BEGIN { for (i = 1; i <= 783; i++) printf "pixel%d,", i; print "label" }
     { for (i = 1; i <= 783; i++) printf "%s,", $i; print $785 }' pixels.txt >short.csv

NET=1x28x28,conv:4:3:relu:same,maxpool:2,conv:6:3:relu,maxpool:2,3:softmax
IDX=idx:img.idx,lab.idx

# ---- train ----------------------------------------------------------------

run "$BP" train --data "$IDX" --net "$NET" --epochs 1 --batch 5 --out m.st --log log.csv
expect_rc 0 "train the CNN"
has "training $NET (913 parameters) on img.idx (60 rows, 1x28x28 inputs, 3 classes)" \
    "the header names the input shape"
# conv 1: 4 x 9 + 4 = 40; conv 2: 6 x 4 x 9 + 6 = 222 on 14x14 gives 6x12x12,
# pooled 6x6x6 = 216 inputs; 216 x 3 + 3 = 651; in all 913.
run "$BP" info --model m.st
has "img.idx (60 rows, 1x28x28 inputs, 3 classes)" "the saved data description"
# A flat network of the same data keeps its count of inputs.
run "$BP" train --data "$IDX" --net 784,3:softmax --epochs 1 --out flat.st
has "on img.idx (60 rows, 784 inputs, 3 classes)" "a flat network's header"
run "$BP" train --data "$IDX" --net "$NET" --epochs 1 --batch 5 --out j.st --json
expect_rc 0 "train --json"
has '"data": "img.idx (60 rows, 1x28x28 inputs, 3 classes)"' "train --json: the data"
has "\"network\": {\"spec\": \"$NET\", \"inputs\": 784, \"outputs\": 3, \"input_shape\": [1, 28, 28], \"layers\": [" \
    "train --json: the network"
has '{"layer": 2, "entry": "conv:6:3:relu", "kind": "conv", "inputs": 784, "outputs": 864, "shape": [6, 12, 12], "activation": "relu", "weight_dims": [6, 4, 3, 3], "bias": true, "parameters": 222}' \
    "train --json: the second conv's shapes"
has '{"layer": 4, "entry": "3:softmax", "kind": "dense", "inputs": 216, "outputs": 3, "shape": [3], "activation": "softmax", "weight_dims": [3, 216], "bias": true, "parameters": 651}' \
    "train --json: the dense layer after the pools"
has '], "parameters": 913}' "train --json: the parameters"
cmp -s m.st j.st || fail "train --json saved another model than the same run without it"

# ---- eval and predict: IDX, gzipped IDX, CSV -------------------------------

run "$BP" eval --model m.st --data "$IDX"
expect_rc 0 "eval on IDX"
has "n 60" "eval: every row"
cp "$TMP/out" eval_idx
for data in idx:img.idx.gz,lab.idx.gz pandas.csv first.csv:label=label first.csv:label=0; do
    run "$BP" eval --model m.st --data "$data"
    expect_rc 0 "eval on $data"
    cmp -s eval_idx "$TMP/out" || fail "eval on $data: $(cat "$TMP/out"), on IDX: $(cat eval_idx)"
done
run "$BP" predict --model m.st --data "$IDX" --out p_idx.csv
expect_rc 0 "predict on IDX"
[ "$(wc -l <p_idx.csv)" -eq 61 ] || fail "predict wrote $(wc -l <p_idx.csv) lines, not 61"
head -n 1 p_idx.csv | grep -q -x 'row,prediction,p_0,p_1,p_2' || fail "predict's header: $(head -n 1 p_idx.csv)"
for data in idx:img.idx.gz,lab.idx.gz pandas.csv first.csv:label=label; do
    run "$BP" predict --model m.st --data "$data" --out p.csv
    expect_rc 0 "predict on $data"
    cmp -s p_idx.csv p.csv || fail "predict on $data differs from IDX"
done
[ ! -s "$TMP/err" ] || fail "predict on first.csv: a notice: $(cat "$TMP/err")"
run "$BP" predict --model m.st --data pandas.csv --out p.csv
err_has "pandas.csv: column 0 has no name (a row index, as R and pandas write one); left out" \
    "predict says it left the row index out"
# The accuracy eval prints is the share of predict's rows that are right.
right=$(awk -F, 'NR == FNR { label[FNR] = $785; next } FNR > 1 && $2 == label[FNR - 1] { n++ } END { print n + 0 }' \
    FS=' ' pixels.txt FS=, p_idx.csv)
grep -q "^accuracy [0-9.e-]* ($right of 60)$" eval_idx || fail "eval's accuracy is not predict's $right of 60: $(cat eval_idx)"
run "$BP" eval --model m.st --data "$IDX" --json
expect_rc 0 "eval --json"
has '"n": 60, "task": "classification"' "eval --json: the figures"
has "\"network\": {\"spec\": \"$NET\", \"inputs\": 784, \"outputs\": 3, \"input_shape\": [1, 28, 28]" "eval --json: the network"
has '"shape": [4, 28, 28]' "eval --json: the first conv's shape"
run "$BP" predict --model m.st --data pandas.csv --json
expect_rc 0 "predict --json"
has '"input_shape": [1, 28, 28]' "predict --json: the network"

# Another width: refused, naming the data's width and the network's shape.
run "$BP" eval --model m.st --data short.csv
expect_rc 1 "eval on 783 pixels"
err_has "backprop: the data have 783 inputs; the network takes 784 (1x28x28)" "eval on 783 pixels"
run "$BP" predict --model m.st --data short.csv:label=label --out q.csv
expect_rc 1 "predict on 783 pixels"
err_has "short.csv: 783 columns besides the label; the model takes 784 inputs" "predict on 783 pixels"
[ ! -e q.csv ] || fail "predict wrote rows for data of another width"
# A label first, not named: it would be read as the first pixel.
run "$BP" predict --model m.st --data first.csv --out q.csv
expect_rc 1 "predict on a label first, not named"
err_has "first.csv: column 0 is named 'label', but the model saved no column names and reads its inputs from the first columns, a label last; give the data as first.csv:label=label" \
    "predict on a label first, not named"
[ ! -e q.csv ] || fail "predict wrote rows reading the label as a pixel"
run "$BP" predict --model m.st --data first.csv:label=nope
expect_rc 1 "a label column that is not there"
err_has "first.csv: no column named 'nope'" "a label column that is not there"

run "$BP" gradcheck --model m.st --data "$IDX" --batch 2 --json
expect_rc 0 "gradcheck --json of the model"
has '"pass": true, "network": {"spec": "' "gradcheck --json: the network after the verdict"
has '"shape": [4, 14, 14], "activation": null' "gradcheck --json: the first pool's shape"

# ---- lr-find ---------------------------------------------------------------

# Three rates from 0.001 to 0.1, full batch from the model's weights: the
# first loss is recorded before any step, the model's loss on the data,
# from the images or their CSV (scaled by the model's saved scaling).
loss=$(sed -n 's/^loss \([^ ]*\) .*/\1/p' eval_idx)
for data in "$IDX" pandas.csv; do
    run "$BP" lr-find --data "$data" --init m.st --optimizer gd --batch 0 --min-lr 0.001 --max-lr 0.1 \
        --steps 3 --json
    expect_rc 0 "lr-find from the CNN model on $data"
    tr -d '\n' <"$TMP/out" | sed 's/.*"steps": \[//' | awk -F'[{}]' -v want="$loss" '{
        split("0.001 0.01 0.1", lr, " "); n = 0
        for (i = 2; i <= NF; i += 2) {
            if ($i !~ /"lr"/) continue
            n++
            match($i, /"lr": [^,]*/); a = substr($i, RSTART + 6, RLENGTH - 6)
            if (a - lr[n] > 1e-12 || lr[n] - a > 1e-12) { print "FAIL: rate " n ": " a; exit 1 }
            if (n == 1) {
                match($i, /"loss": [^,]*/); b = substr($i, RSTART + 8, RLENGTH - 8)
                d = b - want; if (d < 0) d = -d
                if (d > 1e-5 * want) { print "FAIL: first loss " b ", eval " want; exit 1 }
            }
        }
        if (n != 3) { print "FAIL: " n " steps"; exit 1 }
    }' >&2 || fail "lr-find on $data: the rates, and the first loss against eval's"
done
has "\"network\": {\"spec\": \"$NET\", \"inputs\": 784, \"outputs\": 3, \"input_shape\": [1, 28, 28]" "lr-find --json: the network"
run "$BP" lr-find --data "$IDX" --net "$NET" --batch 20 --steps 6 --min-lr 0.001 --max-lr 1 \
    --plot lr.svg
expect_rc 0 "lr-find with a CNN spec"
grep -q -E '^(suggested lr [0-9.e-]+ \(|no suggested lr \().*; (stopped at --max-lr|the loss ran away) at lr [0-9.]+ after [0-9] steps$' \
    "$TMP/out" || fail "lr-find's line: $(cat "$TMP/out")"
has "plot written to lr.svg" "lr-find's plot"
grep -q 'data-name="smoothed loss" data-values="0.001 ' lr.svg || fail "lr-find's plot starts at --min-lr"

# ---- report ----------------------------------------------------------------

run "$BP" report --log log.csv --model m.st --data pandas.csv --out r.html --json
expect_rc 0 "report of the CNN on the CSV"
has '"epochs": 1, "network": {"spec": "' "report --json: the network"
has '"shape": [6, 6, 6], "activation": null, "weight_dims": [], "bias": false, "parameters": 0}' \
    "report --json: the second pool"
grep -q '<tr data-layer="input"><td>input</td><td class="entry">1x28x28</td>' r.html || fail "report: the input row"
grep -q '<td class="in">6x6x6 flattened to 216</td>' r.html || fail "report: the dense layer's input"
[ "$(grep -c '<g class="filter"' r.html)" -eq 4 ] || fail "report: the first conv's 4 filters"
grep -q 'Layer 0: 4 filters of 3x3 over 1 input channel, one picture each' r.html || fail "report: filters caption"
# Norms of the weights and of the gradient for the layers with parameters,
# none for the pools; the pictures of the mistakes are 28 x 28.
for l in 0 2 4; do
    [ "$(grep -c "data-name=\"layer $l\" data-values=\"1 [0-9.e-]*\"" r.html)" -ge 2 ] ||
        fail "report: the norms of layer $l"
done
grep -q 'data-name="layer [13]"' r.html && fail "report: a norm for a pool"
grep -q '<rect x="[0-9.]*" y="[0-9.]*" width="84.00" height="84.00"' r.html || fail "report: 28 x 28 pictures"

# ---- regions ---------------------------------------------------------------

run "$BP" regions --data "$IDX" --out g.svg
expect_rc 1 "regions on images"
err_has "--data $IDX: the data are 1x28x28 images (784 inputs); regions paints the classes over a plane of 2 inputs" \
    "regions on images"
run "$BP" regions --net "$NET" --out g.svg
expect_rc 2 "regions with an image network"
err_has "--net: the network takes 1x28x28 images (784 inputs); regions paints the classes over a plane of 2 inputs, which an image network does not have" \
    "regions with an image network"
[ ! -e g.svg ] || fail "regions wrote a picture for images"
run "$BP" regions --net 1x1x2,conv:6:1:tanh,3:softmax --data spiral:20:3 --epochs 5 --grid 8 --out g.svg --json
expect_rc 0 "regions with a 2-input convolution"
[ "$(grep -c '"input_shape": \[1, 1, 2\]' "$TMP/out")" -eq 3 ] || fail "regions --json: each run's network"
[ "$(grep -c '<g class="panel"' g.svg)" -eq 3 ] || fail "regions: three panels"
run "$BP" regions --net 2,4:softmax --data spiral:20:3 --out g.svg
expect_rc 1 "regions with outputs that are not the classes"
err_has "--net: the network must end in 3:softmax for --data spiral:20:3 (3 classes); it has 4 outputs" \
    "regions with outputs that are not the classes"
run "$BP" regions --net 2,3:softmax --hidden 5
expect_rc 2 "--net and --hidden"
err_has "--hidden and --net contradict each other" "--net and --hidden"
echo "ok"
