# test_best_state.sh - early stopping with batch norm: a run resumed from a
# checkpoint taken after its best epoch ends with the weights and running
# statistics of that epoch, bit for bit those of the run in one go (the
# checkpoint carries the best epoch's statistics beside its weights).
# Usage: sh test_best_state.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# tensors FILE: the data section of a safetensors file as hex.
tensors() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + hlen)) "$1" | od -An -tx1 -v
}

ARGS="--data spiral:300:3 --net 2,32,batchnorm,relu,16,batchnorm,tanh,3:softmax
      --optimizer adam --lr 0.02 --schedule constant --batch 16 --val-split 0.3
      --patience 3 --seed 3"
# shellcheck disable=SC2086
run "$BP" train $ARGS --epochs 200 --out "$TMP/full.safetensors"
expect_rc 0 "run in one go"
has "stopped early: no better val_loss for 3 epochs; keeping the weights of epoch 23" \
    "run in one go"
# shellcheck disable=SC2086
run "$BP" train $ARGS --epochs 25 --out "$TMP/part.safetensors" --checkpoint "$TMP/b.ckpt"
expect_rc 0 "25 epochs"
# shellcheck disable=SC2086
run "$BP" train $ARGS --epochs 200 --out "$TMP/resumed.safetensors" --resume "$TMP/b.ckpt"
expect_rc 0 "resumed"
has "keeping the weights of epoch 23" "resumed"
tensors "$TMP/full.safetensors" >"$TMP/full.hex"
tensors "$TMP/resumed.safetensors" | cmp -s - "$TMP/full.hex" ||
    fail "resumed after the best epoch: the model differs from the run in one go"
# shellcheck disable=SC2086
run "$BP" train $ARGS --epochs 22 --out "$TMP/early.safetensors"
expect_rc 0 "22 epochs"
tensors "$TMP/early.safetensors" | cmp -s - "$TMP/full.hex" &&
    fail "22 epochs give the model of the whole run (the comparison means nothing)"
echo "ok"
