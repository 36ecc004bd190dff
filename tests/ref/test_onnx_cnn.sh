# test_onnx_cnn.sh - convolutional networks exported by `backprop export`:
# the files pass onnx's checker, and the graph gives `backprop predict`'s
# outputs to 1e-5 when evaluated op by op with NumPy and when run by ONNX
# Runtime (the onnxruntime-node package, installed with npm into
# ONNXRUNTIME_DIR, by default onnxruntime-node/ beside the backprop
# binary, and kept there for the next run); `info` reads each back to the
# same spec (dropout, which has no node, left out). Each part is skipped with a message where its tools are
# absent (Debian's python3-onnx and python3-numpy; npm and the package).
# Usage: sh test_onnx_cnn.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

HAVE_PY=1
if [ ! -x "$PY" ] || ! "$PY" -c "import onnx, numpy" 2>/dev/null; then
    echo "SKIP (onnx checker, NumPy evaluation): python3-onnx and python3-numpy are not" \
        "installed (apt-get install python3-onnx python3-numpy)"
    HAVE_PY=0
fi
HAVE_ORT=1
ORT_DIR=${ONNXRUNTIME_DIR:-$(cd "$(dirname "$BP")" && pwd)/onnxruntime-node}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP (ONNX Runtime): node and npm are not installed"
    HAVE_ORT=0
elif [ ! -d "$ORT_DIR/node_modules/onnxruntime-node" ] &&
    ! npm install --prefix "$ORT_DIR" --ignore-scripts --no-audit --no-fund \
        --fetch-retries=1 --fetch-timeout=60000 onnxruntime-node >"$TMP/npm.log" 2>&1; then
    echo "SKIP (ONNX Runtime): npm could not install onnxruntime-node: $(tail -n 3 "$TMP/npm.log")"
    HAVE_ORT=0
elif ! NODE_PATH="$ORT_DIR/node_modules" node -e "require('onnxruntime-node')" \
    >"$TMP/node.log" 2>&1; then
    echo "SKIP (ONNX Runtime): onnxruntime-node does not load here: $(tail -n 3 "$TMP/node.log")"
    HAVE_ORT=0
fi
if [ "$HAVE_PY" = 0 ] && [ "$HAVE_ORT" = 0 ]; then
    exit 0
fi

# 2x9x9 pictures of three classes (a bar across, a bar down, the diagonal),
# the second channel twice the first, with noise, as CSV.
awk 'BEGIN {
    for (i = 0; i < 162; i++) printf "p%d,", i
    print "label"
    for (s = 0; s < 90; s++) {
        k = s % 3; c = 2 + s % 5
        for (i = 0; i < 162; i++) {
            ch = int(i / 81); r = int((i % 81) / 9); q = i % 9
            on = (k == 0 && r == c) || (k == 1 && q == c) || (k == 2 && r == q)
            printf "%.4f,", (on ? 200 : 30) * (ch ? 1 : 0.5) + 20 * sin(s * 31.7 + i * 1.3)
        }
        print k
    }
}' >"$TMP/pics.csv"
sed '1d' "$TMP/pics.csv" | cut -d, -f1-162 >"$TMP/inputs.csv"

check() { # check NET [TRAIN OPTIONS]: train, export, compare, read back
    net=$1
    shift
    "$BP" train --data "$TMP/pics.csv" --net "$net" --epochs 2 --batch 10 --seed 5 \
        --out "$TMP/model.safetensors" --quiet "$@" >"$TMP/train.log" 2>&1 ||
        fail "train $net: $(cat "$TMP/train.log")"
    "$BP" export --model "$TMP/model.safetensors" --out "$TMP/model.onnx" >/dev/null ||
        fail "export $net"
    "$BP" predict --model "$TMP/model.safetensors" --data "$TMP/pics.csv" --out "$TMP/all.csv" ||
        fail "predict $net"
    pred_outputs 3 "$TMP/all.csv" "$TMP/pred.csv"
    if [ "$HAVE_PY" = 1 ]; then
        "$PY" "$HERE/onnx_eval.py" "$TMP/model.onnx" "$TMP/inputs.csv" "$TMP/pred.csv" ||
            fail "the ONNX graph, evaluated with NumPy, disagrees with backprop for $net"
    fi
    if [ "$HAVE_ORT" = 1 ]; then
        NODE_PATH="$ORT_DIR/node_modules" node "$HERE/onnx_ort.js" "$TMP/model.onnx" \
            "$TMP/inputs.csv" "$TMP/pred.csv" ||
            fail "ONNX Runtime disagrees with backprop for $net"
    fi
    run "$BP" info --model "$TMP/model.onnx"
    expect_rc 0 "info --model of $net"
    has "spec: ${READ_BACK:-$net}" "info reads $net back"
}
# padding, stride, both pools, with and without bias, two channels in
check 2x9x9,conv:4:3:relu:pad=1:stride=2:nobias,maxpool:2:stride=1,conv:3:3:tanh:same,avgpool:2,5:relu,3:softmax \
    --standardize
grep -q '^input:  input float32 \[batch, 2, 9, 9\]$' "$TMP/out" || fail "info: the input's shape"
grep -q 'Sub Mul Conv Relu MaxPool Conv Tanh AveragePool Flatten Gemm Relu Gemm Softmax$' \
    "$TMP/out" || fail "info: the graph's ops: $(cat "$TMP/out")"
check 2x9x9,conv:3:3:sigmoid,avgpool:3:stride=2,conv:6:2:leaky_relu=0.1:nobias,maxpool:2,3:softmax \
    --standardize
# an image read by dense layers straight away (a Flatten first)
check 2x9x9,8:tanh,3:softmax
# batch norm after a conv and after a dense layer, trained so that the
# running statistics are far from their start, standalone activations and
# dropout (no node: read back without it)
READ_BACK=2x9x9,conv:4:3:same,batchnorm,relu,maxpool:2,8:identity,batchnorm,relu,3:softmax \
    check 2x9x9,conv:4:3:same,batchnorm,relu,maxpool:2,dropout:0.25,8,batchnorm,relu,3:softmax \
    --standardize
grep -q 'Conv BatchNormalization Relu MaxPool Flatten Gemm BatchNormalization Relu Gemm Softmax$' \
    "$TMP/out" || fail "info: the graph's ops with batch norm: $(cat "$TMP/out")"
# activations standing alone read back standing alone, not as the layer's
# before; batch norm with its momentum and eps
READ_BACK=2x9x9,conv:3:3,leaky_relu=0.2,avgpool:3,6:identity,tanh,batchnorm:momentum=0.3:eps=0.001,3:identity,softmax \
    check 2x9x9,conv:3:3,leaky_relu=0.2,avgpool:3,6,tanh,batchnorm:momentum=0.3:eps=0.001,3,softmax
echo "the ONNX graphs of CNNs give backprop's predictions"
