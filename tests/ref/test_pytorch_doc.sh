# test_pytorch_doc.sh - the snippets of docs/PYTORCH.md, run: a model
# trained by backprop (inputs standardized) loaded into PyTorch by the first
# snippet predicts what `backprop predict` does; a PyTorch model saved by the
# second (F32, and converted to F64, F16 and BF16) predicts the same through
# `backprop predict --net`. Skipped without torch; the second part skipped
# until predict takes --net. Without the safetensors package (not in
# Debian) a minimal stand-in of its reader and writer is used (shim/).
# Usage: sh test_pytorch_doc.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
DOC="$HERE/../../docs/PYTORCH.md"
need_python "torch, numpy" "python3-torch and python3-numpy" "python3-torch python3-numpy"
case $BP in /*) ;; *) BP="$(pwd)/$BP" ;; esac
"$PY" -c 'import safetensors' 2>/dev/null || export PYTHONPATH="$HERE/shim"

# block N LANG: the N-th ```LANG block of the doc.
block() {
    awk -v n="$1" -v lang="$2" '
        $0 == "```" lang { k++; on = (k == n); next }
        /^```/ { on = 0 }
        on' "$DOC"
}
block 1 python >"$TMP/to_torch.py"
block 2 python >"$TMP/from_torch.py"
block 1 sh >"$TMP/from_torch.sh"
[ -s "$TMP/to_torch.py" ] && [ -s "$TMP/from_torch.py" ] && [ -s "$TMP/from_torch.sh" ] ||
    fail "docs/PYTORCH.md lacks its snippets"

# Four inputs on different scales, three classes.
awk 'BEGIN {
    print "a,b,c,d,label"
    for (i = 0; i < 200; i++) {
        a = sin(i * 1.3) * 50 + 20; b = cos(i * 0.7); c = sin(i * 0.31 + 1) * 0.01; d = cos(i * 2.1) * 7
        k = (a > 20) + (b > 0.3)
        printf "%.6f,%.6f,%.6f,%.6f,%d\n", a, b, c, d, k
    }
}' >"$TMP/data.csv"
sed '1d' "$TMP/data.csv" | cut -d, -f1-4 >"$TMP/inputs.csv"
cd "$TMP"

# 1. backprop -> PyTorch, the saved scaling applied by the snippet.
for net in "4,8:tanh,3:softmax" "4,6:leaky_relu=0.2,5:sigmoid:nobias,3:identity"; do
    "$BP" train --data data.csv --net "$net" --loss cce --standardize --epochs 3 --seed 3 \
        --out model.safetensors --quiet >train.log 2>&1 || fail "train $net: $(cat train.log)"
    grep -q '"scaling"' model.safetensors || fail "the model of $net saved no scaling"
    "$BP" predict --model model.safetensors --data data.csv --out pred.csv || fail "predict $net"
    "$PY" "$HERE/doc_compare.py" to_torch.py inputs.csv pred.csv ||
        fail "the first snippet's model disagrees with backprop for $net"
done
echo "backprop -> PyTorch: the snippet predicts as backprop does"

# 2. PyTorch -> backprop.
if ! "$BP" predict --help 2>&1 | grep -q -e '--net'; then
    echo "SKIP: PyTorch -> backprop needs predict --net"
    exit 0
fi
"$PY" from_torch.py || fail "the second snippet failed"
for dtype in float32 float64 float16 bfloat16; do
    # the same weights saved in this dtype, and the model rounded to it
    cat from_torch.py - >"round_$dtype.py" <<PYEOF
model = model.to(torch.$dtype)
save_file(model.state_dict(), "m.safetensors")
model = model.to(torch.float32)
PYEOF
    "$PY" "round_$dtype.py" || fail "saving the model as $dtype"
    sed "s|^backprop |\"$BP\" |; s|new.csv|data.csv|; s|\$| --out pred.csv|" from_torch.sh >run.sh
    sh run.sh >run.log 2>&1 || fail "$dtype: $(cat from_torch.sh): $(cat run.log)"
    "$PY" "$HERE/doc_compare.py" "round_$dtype.py" inputs.csv pred.csv ||
        fail "backprop predict --net disagrees with PyTorch for $dtype weights"
done
echo "PyTorch -> backprop: predict --net gives the model's outputs, F32, F64, F16 and BF16"
