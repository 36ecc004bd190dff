# test_torch_model.sh - a model trained by backprop, loaded into PyTorch
# (torch.nn.Linear layers filled from the safetensors file), gives the same
# predictions as `backprop predict`. Skipped with a message where Debian's
# python3-torch is absent. Usage: sh test_torch_model.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_python "torch, numpy" "python3-torch and python3-numpy" "python3-torch python3-numpy"

# A 4-input, 3-class problem as CSV: inputs from a fixed formula, the class
# from which input is largest.
awk 'BEGIN {
    print "a,b,c,d,label"
    for (i = 0; i < 300; i++) {
        a = sin(i * 1.3); b = cos(i * 0.7); c = sin(i * 0.31 + 1); d = cos(i * 2.1) / 2
        k = 0; m = a
        if (b > m) { k = 1; m = b }
        if (c > m) { k = 2; m = c }
        printf "%.6f,%.6f,%.6f,%.6f,%d\n", a, b, c, d, k
    }
}' >"$TMP/data.csv"
# The inputs alone, as torch reads them (no header, no label).
sed '1d' "$TMP/data.csv" | cut -d, -f1-4 >"$TMP/inputs.csv"

# Trained on unscaled inputs (--no-standardize): the torch side feeds the
# raw inputs to the layers.
check() { # check NET: train that network, predict, compare with torch
    "$BP" train --data "$TMP/data.csv" --net "$1" --epochs 5 --batch 32 --seed 3 \
        --no-standardize --out "$TMP/model.safetensors" --quiet >"$TMP/train.log" 2>&1 ||
        fail "train $1: $(cat "$TMP/train.log")"
    "$BP" predict --model "$TMP/model.safetensors" --data "$TMP/data.csv" --out "$TMP/all.csv" ||
        fail "predict $1"
    pred_outputs "$(echo "$1" | sed 's/.*,//; s/:.*//')" "$TMP/all.csv" "$TMP/pred.csv"
    "$PY" "$HERE/torch_model.py" "$TMP/model.safetensors" "$TMP/inputs.csv" "$TMP/pred.csv" ||
        fail "torch disagrees with backprop for $1"
}
check "4,16:relu,8:tanh,3:softmax"
check "4,8:leaky_relu=0.2,8:sigmoid:nobias,3:softmax"
check "4,6:tanh,1:identity:nobias"
echo "PyTorch gives backprop's predictions"
