# test_torch_bn.sh - batch norms, dropout and standalone activations in
# model files against PyTorch: a network trained by backprop loads into the
# equivalent torch.nn.Sequential (BatchNorm2d after a conv, BatchNorm1d
# after a dense layer, the running statistics and the int64
# num_batches_tracked included) with a strict load_state_dict and predicts
# as `backprop predict` does; and a Sequential's own state_dict, its running
# statistics moved by training-mode passes, predicts the same through
# `backprop predict --net`. Skipped with a message where Debian's
# python3-torch is absent. (Outputs, slopes and running statistics in both
# modes are held to PyTorch's in tests/nn/test_batchnorm.c.)
# Usage: sh test_torch_bn.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_python "torch, numpy" "python3-torch and python3-numpy" "python3-torch python3-numpy"
REF="$HERE/torch_bn_model.py"

# 60 images of 1x6x6 as CSV, 3 classes from the gradient's direction.
gradient_images 60 6 7 0.3 >"$TMP/img.csv"
cut -d, -f1-36 "$TMP/img.csv" >"$TMP/img.in"

for spec in "1x6x6,conv:4:3:same,batchnorm,relu,maxpool:2,dropout:0.2,6,batchnorm:momentum=0.2:eps=0.001,tanh,3,softmax" \
    "1x6x6,conv:3:3:tanh,batchnorm,leaky_relu=0.1,avgpool:2,batchnorm,5:relu,3:softmax"; do
    "$BP" train --data "$TMP/img.csv" --net "$spec" --epochs 3 --batch 8 --seed 3 \
        --dropout 0.1 --no-standardize --out "$TMP/m.safetensors" --quiet >"$TMP/train.log" 2>&1 ||
        fail "train $spec: $(cat "$TMP/train.log")"
    "$BP" predict --model "$TMP/m.safetensors" --data "$TMP/img.csv" --out "$TMP/all.csv" ||
        fail "predict $spec"
    pred_outputs 3 "$TMP/all.csv" "$TMP/pred.csv"
    "$PY" "$REF" check "$TMP/m.safetensors" "$TMP/img.in" "$TMP/pred.csv" ||
        fail "torch's predictions differ from backprop's for $spec"
    "$PY" "$REF" save "$spec" "$TMP/torch.safetensors" "$TMP/img.in" "$TMP/torch.csv" ||
        fail "saving torch's $spec"
    "$BP" predict --model "$TMP/torch.safetensors" --net "$spec" --data "$TMP/img.csv" \
        --out "$TMP/all.csv" || fail "predict torch's state dict of $spec"
    pred_outputs 3 "$TMP/all.csv" "$TMP/pred.csv"
    "$PY" - "$TMP/pred.csv" "$TMP/torch.csv" <<'PYEOF' || fail "backprop's predictions of torch's $spec differ"
import sys
import numpy as np
a = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
b = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
d = float(np.max(np.abs(a - b)))
print("torch's state dict through backprop: largest difference %.3g" % d)
sys.exit(0 if d <= 1e-5 else 1)
PYEOF
done
# the check can fail: the running statistics matter
"$PY" "$REF" check "$TMP/m.safetensors" "$TMP/img.in" "$TMP/torch.csv" >/dev/null 2>&1 &&
    fail "the prediction check does not tell two models apart"
echo "PyTorch loads backprop's batch norms strictly and predicts alike, both ways"
