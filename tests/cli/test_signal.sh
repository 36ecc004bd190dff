# test_signal.sh - SIGINT and SIGTERM during training: the run stops after
# the current batch, writes the model as it stands (its metadata names the
# epoch and batch of the interruption), the log of the epochs completed and
# the checkpoint when one was asked for, says where they went and exits 130; the
# model loads. A checkpoint resumes with another --epochs.
# Usage: sh test_signal.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

ARGS="--data spiral:300:3 --net 2,32:relu,3:softmax --batch 16 --epochs 100000 --seed 3"

# stop SIGNAL NAME [OPTIONS]: train in the background, send SIGNAL once the
# first epoch line is out, and check what is left.
stop() {
    sig=$1
    name=$2
    shift 2
    # shellcheck disable=SC2086
    "$BP" train $ARGS --out "$TMP/$name.safetensors" --log "$TMP/$name.csv" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    pid=$!
    n=0
    while ! grep -q '^epoch ' "$TMP/$name.out" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -lt 600 ] || fail "$name: no epoch line after 60 s"
        sleep 0.1
    done
    kill "-$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 130 ] || fail "$name: exit status $status, expected 130 ($(cat "$TMP/$name.err"))"
    grep -q '^backprop: interrupted at epoch [0-9]* of 100000, batch [0-9]* of 57$' "$TMP/$name.err" ||
        fail "$name: message: $(cat "$TMP/$name.err")"
    grep -q "^model written to $TMP/$name.safetensors\$" "$TMP/$name.out" ||
        fail "$name: where the model went is not said: $(tail -3 "$TMP/$name.out")"
    grep -q "^log written to $TMP/$name.csv\$" "$TMP/$name.out" || fail "$name: log not said"
    run "$BP" eval --model "$TMP/$name.safetensors" --data spiral:300:3
    expect_rc 0 "$name: eval of the interrupted model"
    run "$BP" info --model "$TMP/$name.safetensors"
    at=$(sed -n 's/^backprop: interrupted at //p' "$TMP/$name.err")
    has "interrupted         $at" "$name: the metadata names the interruption"
    epochs=$(sed -n 's/^  epochs  *//p' "$TMP/out")
    rows=$(($(wc -l <"$TMP/$name.csv") - 1))
    [ "$rows" -ge 1 ] || fail "$name: the log has no epoch"
    [ "$rows" -eq "$epochs" ] || fail "$name: the log has $rows epochs, the model $epochs"
    # measured at the stop, unless it fell on an epoch's last batch
    case $at in
    *"batch 57 of 57") has '"epoch": ' "$name: the final figures" ;;
    *) has '"stopped_epoch": ' "$name: the final figures are measured where it stopped" ;;
    esac
}

stop INT sigint
stop TERM sigterm
stop INT ckpt --checkpoint "$TMP/run.ckpt"
grep -q "^checkpoint written to $TMP/run.ckpt\$" "$TMP/ckpt.out" || fail "checkpoint not said"
# the checkpoint is where the model is
run "$BP" eval --model "$TMP/run.ckpt" --data spiral:300:3
cp "$TMP/out" "$TMP/eval.ckpt"
run "$BP" eval --model "$TMP/ckpt.safetensors" --data spiral:300:3
cmp -s "$TMP/out" "$TMP/eval.ckpt" || fail "the checkpoint and the model differ"

# --resume with fewer epochs than the checkpoint has run is refused; with
# more, the run goes on to the new end.
at=$(sed -n 's/^backprop: interrupted at epoch \([0-9]*\) .*/\1/p' "$TMP/ckpt.err")
more=$((at + 2))
run "$BP" train --data spiral:300:3 --net 2,32:relu,3:softmax --batch 16 --seed 3 --epochs "$more" \
    --resume "$TMP/run.ckpt" --out "$TMP/more.safetensors" --json
expect_rc 0 "resume with another --epochs"
has "\"epoch\": $more," "resume ran to the new last epoch"
if [ "$at" -gt 1 ]; then
    run "$BP" train --data spiral:300:3 --net 2,32:relu,3:softmax --batch 16 --seed 3 \
        --epochs $((at - 1)) --resume "$TMP/run.ckpt" --out "$TMP/less.safetensors"
    expect_rc 1 "resume with fewer epochs than run"
    err_has "the checkpoint stands at epoch $at" "resume with fewer epochs than run"
fi

# A constant rate does not depend on the run's length, so 6 epochs resumed
# to 10 are bit for bit 10 epochs; a cosine schedule is recomputed over the
# new length and equals neither run.
tensors() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + hlen)) "$1" | od -An -tx1 -v
}
A="--data spiral:100:3 --net 2,16:relu,3:softmax --batch 32 --seed 4 --quiet"
for sched in constant cosine; do
    rm -f "$TMP/c.ckpt"
    # shellcheck disable=SC2086
    "$BP" train $A --schedule $sched --epochs 6 --checkpoint "$TMP/c.ckpt" --out "$TMP/c6.safetensors" ||
        fail "$sched: 6 epochs"
    # shellcheck disable=SC2086
    "$BP" train $A --schedule $sched --epochs 10 --resume "$TMP/c.ckpt" --out "$TMP/c10r.safetensors" ||
        fail "$sched: resumed to 10 epochs"
    # shellcheck disable=SC2086
    "$BP" train $A --schedule $sched --epochs 10 --out "$TMP/c10.safetensors" || fail "$sched: 10 epochs"
    tensors "$TMP/c10r.safetensors" >"$TMP/c10r.hex"
    tensors "$TMP/c10.safetensors" >"$TMP/c10.hex"
    same=0
    cmp -s "$TMP/c10r.hex" "$TMP/c10.hex" && same=1
    if [ "$sched" = constant ]; then
        [ "$same" -eq 1 ] || fail "constant: 6 resumed to 10 epochs differ from 10"
    else
        [ "$same" -eq 0 ] || fail "cosine: 6 resumed to 10 epochs equal 10 (the schedule was not recomputed?)"
    fi
done
echo "ok"
