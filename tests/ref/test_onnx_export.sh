# test_onnx_export.sh - models exported by `backprop export --format onnx`
# pass onnx's checker, and the graph, evaluated op by op with NumPy (no
# backprop code involved), gives `backprop predict`'s outputs to 1e-5, a
# regression's in the target's units; a graph whose target scaling differs
# from its schema's is refused.
# Skipped with a message where Debian's python3-onnx is absent.
# Usage: sh test_onnx_export.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_python "onnx, numpy" "python3-onnx and python3-numpy" "python3-onnx python3-numpy"

# A 4-input, 3-class problem as CSV; the first input is around 100, so the
# standardized models scale it.
awk 'BEGIN {
    print "a,b,c,d,label"
    for (i = 0; i < 300; i++) {
        a = sin(i * 1.3); b = cos(i * 0.7); c = sin(i * 0.31 + 1); d = cos(i * 2.1) / 2
        k = 0; m = a
        if (b > m) { k = 1; m = b }
        if (c > m) { k = 2; m = c }
        printf "%.6f,%.6f,%.6f,%.6f,%d\n", 100 + 50 * a, b, c, d, k
    }
}' >"$TMP/data.csv"
sed '1d' "$TMP/data.csv" | cut -d, -f1-4 >"$TMP/inputs.csv"

check() { # check NET [TRAIN OPTIONS]: train, export, evaluate the graph, compare
    net=$1
    shift
    "$BP" train --data "$TMP/data.csv" --net "$net" --epochs 5 --batch 32 --seed 3 \
        --out "$TMP/model.safetensors" --quiet "$@" >"$TMP/train.log" 2>&1 ||
        fail "train $net: $(cat "$TMP/train.log")"
    "$BP" export --model "$TMP/model.safetensors" --out "$TMP/model.onnx" >/dev/null ||
        fail "export $net"
    "$BP" predict --model "$TMP/model.safetensors" --data "$TMP/data.csv" --out "$TMP/all.csv" ||
        fail "predict $net"
    pred_outputs "$(echo "$net" | sed 's/.*,//; s/:.*//')" "$TMP/all.csv" "$TMP/pred.csv"
    "$PY" "$HERE/onnx_eval.py" "$TMP/model.onnx" "$TMP/inputs.csv" "$TMP/pred.csv" ||
        fail "the ONNX graph disagrees with backprop for $net"
}
check "4,16:relu,8:tanh,3:softmax" --standardize
check "4,8:leaky_relu=0.2,8:sigmoid:nobias,3:softmax" --standardize
check "4,6:tanh,1:identity:nobias" --loss mse

# A regression on a target near 1e5 (standardized in training): the graph
# ends in Mul and Add and gives predict's values in the target's units.
awk 'BEGIN {
    print "size,rooms,price"
    for (i = 0; i < 200; i++) {
        s = 50 + (i * 37) % 150; r = 1 + i % 5; e = 1000 * sin(i * 2.7)
        printf "%d,%d,%.2f\n", s, r, 1000 * s + 15000 * r + e
    }
}' >"$TMP/data.csv"
sed '1d' "$TMP/data.csv" | cut -d, -f1-2 >"$TMP/inputs.csv"
check "2,16:relu,1:identity"
"$PY" - "$TMP/model.onnx" "$TMP/tampered.onnx" <<'PY' || fail "no target tail to tamper with"
import sys
import onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
assert [n.op_type for n in m.graph.node][-2:] == ["Mul", "Add"]
for k, t in enumerate(m.graph.initializer):
    if t.name == "target.mean":
        m.graph.initializer[k].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) + 1, t.name))
onnx.save(m, sys.argv[2])
PY
"$BP" info --model "$TMP/tampered.onnx" >"$TMP/out" 2>"$TMP/err" &&
    fail "a target mean other than the schema's was accepted"
grep -q "differ from its schema's" "$TMP/err" || fail "tampered mean: $(cat "$TMP/err")"
echo "the ONNX graphs give backprop's predictions"
