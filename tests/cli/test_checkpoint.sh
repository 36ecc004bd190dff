# test_checkpoint.sh - `train --checkpoint/--resume` and interruptions: a
# run killed with SIGKILL at a random moment and resumed from its last
# checkpoint ends with weights bit for bit equal to an uninterrupted run's;
# SIGINT stops after the current batch, writes the model so far and the
# checkpoint and exits 130, and resuming from it also gives the uninterrupted weights; a
# checkpoint that does not fit the run, or a broken one, is refused; a CNN
# stopped after k epochs and resumed to N gives the bits of N in one run.
# Usage: sh test_checkpoint.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# tensors FILE: the data section of a safetensors file (after the 8-byte
# header length and the header), as hex, so two models' weights compare
# exactly whatever their metadata (which holds timings).
tensors() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + hlen)) "$1" | od -An -tx1 -v
}

ARGS="--data spiral:400:3 --net 2,32:relu,32:tanh,3:softmax --optimizer adam --lr 0.01
      --batch 8 --epochs 400 --val-split 0.2 --patience 50 --dropout 0.1 --seed 5 --quiet"
# shellcheck disable=SC2086
run "$BP" train $ARGS --out "$TMP/full.safetensors"
expect_rc 0 "uninterrupted run"
tensors "$TMP/full.safetensors" >"$TMP/full.hex"
[ -s "$TMP/full.hex" ] || fail "no tensors in the uninterrupted model"

# The checkpointing run itself changes nothing.
# shellcheck disable=SC2086
run "$BP" train $ARGS --out "$TMP/ck.safetensors" --checkpoint "$TMP/same.ckpt" --checkpoint-every 50
expect_rc 0 "run with checkpoints"
tensors "$TMP/ck.safetensors" | cmp -s - "$TMP/full.hex" || fail "checkpointing changed the weights"
[ -s "$TMP/same.ckpt" ] || fail "no checkpoint written"
ls "$TMP" | grep -q '\.tmp' && fail "a temporary file is left: $(ls "$TMP")"

# SIGKILL at a random moment after the first checkpoint, then resume; a few
# tries until the kill lands before the end. The kill waits for the first
# checkpoint to appear, so a slow start on a loaded machine cannot make it
# land too early.
seed=$(od -An -tu2 -N2 /dev/urandom | tr -d ' ')
killed=0
try=0
while [ "$try" -lt 12 ] && [ "$killed" -eq 0 ]; do
    try=$((try + 1))
    rm -f "$TMP/kill.ckpt" "$TMP/kill.safetensors"
    delay=$(awk -v s="$seed" -v t="$try" 'BEGIN { srand(s + t); printf "%.3f", rand() * 0.2 / t }')
    # shellcheck disable=SC2086
    "$BP" train $ARGS --out "$TMP/kill.safetensors" --checkpoint "$TMP/kill.ckpt" \
        --checkpoint-every 97 >/dev/null 2>&1 &
    pid=$!
    polls=0
    while [ ! -s "$TMP/kill.ckpt" ] && kill -0 "$pid" 2>/dev/null && [ "$polls" -lt 6000 ]; do
        sleep 0.01
        polls=$((polls + 1))
    done
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ ! -e "$TMP/kill.safetensors" ] && [ -s "$TMP/kill.ckpt" ]; then
        killed=1
    fi
done
[ "$killed" -eq 1 ] || fail "no kill landed mid-run in $try tries"
echo "killed after ${delay}s (try $try)"
# shellcheck disable=SC2086
run "$BP" train $ARGS --out "$TMP/kill.safetensors" --checkpoint "$TMP/kill.ckpt" \
    --checkpoint-every 97 --resume "$TMP/kill.ckpt"
expect_rc 0 "resume after SIGKILL"
tensors "$TMP/kill.safetensors" | cmp -s - "$TMP/full.hex" ||
    fail "weights after SIGKILL and resume differ from the uninterrupted run's"

# SIGINT: stop after the batch, write the model so far and the checkpoint,
# exit 130; resume.
rm -f "$TMP/int.ckpt" "$TMP/int.safetensors"
# shellcheck disable=SC2086
"$BP" train $ARGS --out "$TMP/int.safetensors" --checkpoint "$TMP/int.ckpt" \
    --checkpoint-every 100000 >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
sleep 0.3
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 130 ] || fail "SIGINT: exit status $status, expected 130 ($(cat "$TMP/int.err"))"
grep -q '^backprop: interrupted at epoch [0-9]* of 400, batch [0-9]* of 120$' \
    "$TMP/int.err" || fail "SIGINT: message: $(cat "$TMP/int.err")"
[ -s "$TMP/int.ckpt" ] || fail "SIGINT: no checkpoint"
[ -s "$TMP/int.safetensors" ] || fail "SIGINT: no model was written"
# shellcheck disable=SC2086
run "$BP" train $ARGS --out "$TMP/int.safetensors" --resume "$TMP/int.ckpt"
expect_rc 0 "resume after SIGINT"
tensors "$TMP/int.safetensors" | cmp -s - "$TMP/full.hex" ||
    fail "weights after SIGINT and resume differ from the uninterrupted run's"

# A checkpoint that does not fit the run, and broken ones.
# shellcheck disable=SC2086
run "$BP" train $ARGS --net 2,16:relu,3:softmax --resume "$TMP/int.ckpt" --out "$TMP/x.safetensors"
expect_rc 1 "another network"
err_has "backprop: --resume: the checkpoint is of the network 2,32:relu,32:tanh,3:softmax; this run trains 2,16:relu,3:softmax" "another network"
run "$BP" train --data spiral:400:3 --net 2,32:relu,32:tanh,3:softmax --optimizer sgd --seed 5 \
    --val-split 0.2 --patience 50 --resume "$TMP/int.ckpt" --out "$TMP/x.safetensors"
expect_rc 1 "another optimizer"
err_has "backprop: --resume: the checkpoint holds 2 optimizer state blocks and the best weights; this run's options need 1 and them" "another optimizer"
run "$BP" train --data xor --resume "$TMP/full.safetensors" --out "$TMP/x.safetensors"
expect_rc 1 "a model for a checkpoint"
err_has "__metadata__.format: expected a string, found nothing" "a model for a checkpoint"
head -c 100 "$TMP/int.ckpt" >"$TMP/cut.ckpt"
run "$BP" train --data xor --resume "$TMP/cut.ckpt" --out "$TMP/x.safetensors"
expect_rc 1 "a truncated checkpoint"
err_has "cut.ckpt: header length" "a truncated checkpoint"
[ ! -e "$TMP/x.safetensors" ] || fail "a model was written by a failed resume"
run "$BP" train --data xor --checkpoint-every 5
expect_rc 2 "--checkpoint-every alone"
err_has "--checkpoint-every needs --checkpoint" "--checkpoint-every alone"

# A CNN: N epochs in one run, or k epochs and then --resume to N, give the
# same bits (a constant rate, so the first run's schedule is the whole
# run's). 60 images of 1x6x6 as CSV, 3 classes from the gradient's direction.
gradient_images 60 6 7 0.3 >"$TMP/img.csv"
CNN="--data $TMP/img.csv --net 1x6x6,conv:4:3:relu:same,maxpool:2,conv:5:2:tanh,avgpool:2,3:softmax
     --optimizer adam --lr 0.01 --schedule constant --batch 8 --val-split 0.2 --dropout 0.1
     --seed 5 --quiet"
# shellcheck disable=SC2086
run "$BP" train $CNN --epochs 6 --out "$TMP/cnn6.safetensors"
expect_rc 0 "CNN, 6 epochs"
# shellcheck disable=SC2086
run "$BP" train $CNN --epochs 2 --out "$TMP/cnn2.safetensors" --checkpoint "$TMP/cnn.ckpt"
expect_rc 0 "CNN, 2 epochs"
# shellcheck disable=SC2086
run "$BP" train $CNN --epochs 6 --out "$TMP/cnn26.safetensors" --checkpoint "$TMP/cnn.ckpt" \
    --resume "$TMP/cnn.ckpt"
expect_rc 0 "CNN, resumed to 6 epochs"
tensors "$TMP/cnn6.safetensors" >"$TMP/cnn6.hex"
tensors "$TMP/cnn26.safetensors" | cmp -s - "$TMP/cnn6.hex" ||
    fail "CNN: 2 epochs resumed to 6 differ from 6 in one run"
tensors "$TMP/cnn2.safetensors" | cmp -s - "$TMP/cnn6.hex" &&
    fail "CNN: 2 epochs give the weights of 6 (the comparison means nothing)"
# shellcheck disable=SC2086
run "$BP" train $CNN --net 1x6x6,conv:4:3:relu,maxpool:2,3:softmax --epochs 6 \
    --resume "$TMP/cnn.ckpt" --out "$TMP/x.safetensors"
expect_rc 1 "CNN, another network"
err_has "backprop: --resume: the checkpoint is of the network 1x6x6,conv:4:3:relu:same,maxpool:2,conv:5:2:tanh,avgpool:2,3:softmax; this run trains 1x6x6,conv:4:3:relu,maxpool:2,3:softmax" "CNN, another network"
[ ! -e "$TMP/x.safetensors" ] || fail "a model was written by a failed resume"

# A CNN with batch norms and a dropout layer: the running statistics (in the
# model's tensors compared) and the masks' draws resume to the same bits,
# from a checkpoint in the middle of an epoch too.
BN="$CNN --net 1x6x6,conv:4:3:same,batchnorm,relu,maxpool:2,dropout:0.2,6,batchnorm,tanh,3:softmax"
# shellcheck disable=SC2086
run "$BP" train $BN --epochs 4 --out "$TMP/bn4.safetensors"
expect_rc 0 "BN CNN, 4 epochs"
# shellcheck disable=SC2086
run "$BP" train $BN --epochs 2 --out "$TMP/bn2.safetensors" --checkpoint "$TMP/bn.ckpt" \
    --checkpoint-every 5
expect_rc 0 "BN CNN, 2 epochs"
# shellcheck disable=SC2086
run "$BP" train $BN --epochs 4 --out "$TMP/bn24.safetensors" --checkpoint "$TMP/bn.ckpt" \
    --resume "$TMP/bn.ckpt"
expect_rc 0 "BN CNN, resumed to 4 epochs"
tensors "$TMP/bn4.safetensors" >"$TMP/bn4.hex"
tensors "$TMP/bn24.safetensors" | cmp -s - "$TMP/bn4.hex" ||
    fail "BN CNN: 2 epochs resumed to 4 differ from 4 in one run"
tensors "$TMP/bn2.safetensors" | cmp -s - "$TMP/bn4.hex" &&
    fail "BN CNN: 2 epochs give the weights of 4 (the comparison means nothing)"
echo "ok"
