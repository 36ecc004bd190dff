# test_onnx_export.sh - models exported by `backprop export --format onnx`
# pass onnx's checker, and the graph, evaluated op by op with NumPy (no
# backprop code involved), gives `backprop predict`'s outputs to 1e-5.
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
echo "the ONNX graphs give backprop's predictions"
