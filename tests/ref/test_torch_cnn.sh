# test_torch_cnn.sh - convolution and pooling layers against PyTorch's: a
# CNN trained by backprop, loaded into the equivalent torch.nn.Sequential
# (Conv2d, activation, MaxPool2d, AvgPool2d, Flatten, Linear), predicts as
# `backprop predict` does; Adam steps from its weights give torch.optim.Adam's
# weights; and a Sequential's own state_dict (written as safetensors by hand)
# predicts the same through `backprop predict --net`. Two networks: a small
# one on CSV inputs with every option (same, pad, stride, both pools, tanh)
# and the Fashion-MNIST one on 48 of its test images (IDX; random images
# where the data set is not installed). Skipped with a message where
# Debian's python3-torch is absent.
# Usage: sh test_torch_cnn.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_python "torch, numpy" "python3-torch and python3-numpy" "python3-torch python3-numpy"
REF="$HERE/torch_cnn_model.py"

# 60 samples of 1x8x9 inputs (a pattern plus noise) and 3 classes, as CSV.
awk 'BEGIN {
    srand(11)
    for (i = 0; i < 60; i++) {
        s = 0
        for (j = 0; j < 72; j++) {
            v = sin(i * 0.37 + j * 0.11 * (1 + i % 3)) + (rand() - 0.5) * 0.2
            s += (j % 9 < 4) ? v : -v
            printf "%.6f,", v
        }
        printf "%d\n", (s > 1) + (s > -1)
    }
}' >"$TMP/small.csv"
cut -d, -f1-72 "$TMP/small.csv" >"$TMP/small.in"
head -8 "$TMP/small.csv" >"$TMP/small8.csv"
cut -d, -f1-72 "$TMP/small8.csv" >"$TMP/small8.in"
cut -d, -f73 "$TMP/small8.csv" >"$TMP/small8.lab"

# 48 images as IDX files, and their first 8 with their labels as text.
"$PY" - "$TMP" <<'EOF' || fail "writing the IDX images"
import gzip, os, struct, sys
import numpy as np
out, n, d = sys.argv[1], 48, "/usr/share/datasets/fashion-mnist/"
if os.path.exists(d + "t10k-images-idx3-ubyte.gz"):
    img = gzip.open(d + "t10k-images-idx3-ubyte.gz").read()[16:16 + n * 784]
    lab = gzip.open(d + "t10k-labels-idx1-ubyte.gz").read()[8:8 + n]
else:
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes()
    lab = rng.integers(0, 10, n, dtype=np.uint8).tobytes()
for name, k in (("fm", n), ("fm8", 8)):
    with open(os.path.join(out, name + ".img"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, k, 28, 28) + img[:k * 784])
    with open(os.path.join(out, name + ".lab"), "wb") as f:
        f.write(struct.pack(">II", 0x801, k) + lab[:k])
with open(os.path.join(out, "fm8.txt"), "w") as f:
    f.write("".join("%d\n" % b for b in lab[:8]))
EOF

# predicts MODEL DATA O INPUTS [SPEC]: backprop's predictions of DATA equal
# torch's on INPUTS (the same rows).
predicts() {
    if [ $# -ge 5 ]; then
        "$BP" predict --model "$1" --net "$5" --data "$2" --out "$TMP/all.csv" ||
            fail "predict $1 --net $5"
    else
        "$BP" predict --model "$1" --data "$2" --out "$TMP/all.csv" || fail "predict $1"
    fi
    pred_outputs "$3" "$TMP/all.csv" "$TMP/pred.csv"
    "$PY" "$REF" predict "$1" "$4" "$TMP/pred.csv" ${5:+"$5"} ||
        fail "torch's predictions differ from backprop's for $1 ${5:-}"
}

# check NAME SPEC DATA DATA8 INPUTS INPUTS8 LABELS8 O
check() {
    name=$1 spec=$2
    "$BP" train --data "$3" --net "$spec" --epochs 1 --batch 16 --seed 3 --no-standardize \
        --out "$TMP/$name.safetensors" --quiet >"$TMP/train.log" 2>&1 ||
        fail "train $spec: $(cat "$TMP/train.log")"
    predicts "$TMP/$name.safetensors" "$3" "$8" "$5"
    # Adam from those weights, one full batch of 8 rows per step.
    "$BP" train --data "$4" --init "$TMP/$name.safetensors" --optimizer adam --lr 0.001 \
        --schedule constant --batch 0 --epochs 3 --no-standardize \
        --out "$TMP/$name-adam.safetensors" --quiet >"$TMP/train.log" 2>&1 ||
        fail "adam steps on $spec: $(cat "$TMP/train.log")"
    "$PY" "$REF" adam "$TMP/$name.safetensors" "$TMP/$name-adam.safetensors" "$6" "$7" 3 0.001 ||
        fail "torch.optim.Adam's weights differ from backprop's for $spec"
    # A torch Sequential's own state_dict, loaded with --net.
    "$PY" "$REF" save "$spec" "$TMP/$name-torch.safetensors" 7 || fail "saving torch's $spec"
    predicts "$TMP/$name-torch.safetensors" "$3" "$8" "$5" "$spec"
}
SMALL="1x8x9,conv:4:3:relu:same,maxpool:2,conv:6:3:tanh:pad=1:stride=2,avgpool:2,5:relu,3:softmax"
check small "$SMALL" \
    "$TMP/small.csv" "$TMP/small8.csv" "$TMP/small.in" "$TMP/small8.in" "$TMP/small8.lab" 3
check fashion "1x28x28,conv:32:3:relu:same,maxpool:2,conv:64:3:relu:same,maxpool:2,128:relu,10:softmax" \
    "idx:$TMP/fm.img,$TMP/fm.lab" "idx:$TMP/fm8.img,$TMP/fm8.lab" "$TMP/fm.img" "$TMP/fm8.img" \
    "$TMP/fm8.txt" 10
# the comparison can fail: another model's weights predict otherwise
"$BP" predict --model "$TMP/small.safetensors" --data "$TMP/small.csv" --out "$TMP/all.csv" ||
    fail "predict small"
pred_outputs 3 "$TMP/all.csv" "$TMP/pred.csv"
"$PY" "$REF" predict "$TMP/small-torch.safetensors" "$TMP/small.in" "$TMP/pred.csv" "$SMALL" \
    >/dev/null 2>&1 && fail "the prediction check does not tell two models apart"
echo "PyTorch gives backprop's CNN predictions and Adam steps, both ways"
