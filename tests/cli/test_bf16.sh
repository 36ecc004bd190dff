# test_bf16.sh - `train --precision`: oneDNN's ISA cap below bf16 (and a
# build or CPU without it) refused with exit 2 naming what is missing; a bad
# name refused; where bf16 runs, the header, --json, the model's metadata
# and info name it, 1 and 2 threads save the same bytes (a CNN with batch
# norm too), --resume refuses another precision and goes on
# bit for bit in the same one; batch norm's ordered parts (--deterministic)
# take the bf16 products too.
# Usage: sh test_bf16.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

run env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$BP" train --data spiral:50:3 --epochs 1 \
    --precision bf16 --out "$TMP/capped.safetensors"
expect_rc 2 "bf16 under ONEDNN_MAX_CPU_ISA=AVX512_CORE"
err_has "backprop: --precision bf16: bf16 needs" "the cap's message"
grep -q -E "ONEDNN_MAX_CPU_ISA=AVX512_CORE turns off both|this CPU has neither avx512_bf16 nor amx_bf16|needs the oneDNN build|could not be loaded" \
    "$TMP/err" || fail "the cap's message names no reason: $(cat "$TMP/err")"
[ ! -e "$TMP/capped.safetensors" ] || fail "a refused run wrote a model"
run env DNNL_MAX_CPU_ISA=avx2 "$BP" train --data spiral:50:3 --epochs 1 --precision bf16 \
    --out "$TMP/capped.safetensors"
expect_rc 2 "bf16 under DNNL_MAX_CPU_ISA=avx2"
run env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$BP" info
expect_rc 0 "info under the cap"
grep -q -E "^precisions +fp32 \(bf16: bf16 needs " "$TMP/out" || fail "info: bf16 not named as missing"
run env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$BP" info --json
has '"precisions": ["fp32"], "bf16": "bf16 needs ' "info --json under the cap"
run "$BP" train --data spiral:50:3 --epochs 1 --precision fp16
expect_rc 2 "an unknown precision"
err_has "--precision: unknown precision 'fp16' (expected fp32 or bf16)" "unknown precision"

# fp32, the default, is named in the metadata too.
run "$BP" train --data spiral:50:3 --epochs 1 --out "$TMP/f.safetensors"
expect_rc 0 "fp32 train"
run "$BP" info --model "$TMP/f.safetensors"
grep -q -E "^  precision +fp32\$" "$TMP/out" || fail "info: fp32 model's precision"

run "$BP" train --data spiral:50:3 --epochs 1 --precision bf16 --out "$TMP/probe.safetensors"
if [ "$rc" -eq 2 ]; then
    echo "SKIP: bf16 cannot run here: $(cat "$TMP/err")"
    exit 0
fi
expect_rc 0 "bf16 train"
has "precision bf16: matrix products and convolutions take bfloat16 inputs, accumulate in float" "header"
run "$BP" info
grep -q -E "^precisions +fp32 bf16\$" "$TMP/out" || fail "info: bf16 available"

# NAME NET BATCH: trains NET in bf16 at 1 and 2 threads into $TMP/NAME1 and
# NAME2 .safetensors, which must hold the same bytes.
same_at_two_threads() {
    for n in 1 2; do
        run "$BP" train --data spiral:200:3 --net "$2" --batch "$3" --epochs 2 --threads $n \
            --precision bf16 --out "$TMP/$1$n.safetensors"
        expect_rc 0 "bf16 $2 --threads $n"
    done
    cmp -s "$TMP/${1}1.safetensors" "$TMP/${1}2.safetensors" ||
        fail "bf16 $2: 1 and 2 threads saved different models"
}

NET=2,256:relu,256:relu,3:softmax
same_at_two_threads m $NET 128
run "$BP" train --data spiral:200:3 --net $NET --batch 128 --epochs 2 --threads 1 \
    --out "$TMP/m32.safetensors"
cmp -s "$TMP/m1.safetensors" "$TMP/m32.safetensors" && fail "bf16 and fp32 saved the same model"

run "$BP" info --model "$TMP/m1.safetensors"
grep -q -E "^  precision +bf16\$" "$TMP/out" || fail "info: bf16 model's precision"
run "$BP" train --data spiral:50:3 --epochs 1 --precision bf16 --json --out "$TMP/j.safetensors"
expect_rc 0 "bf16 --json"
has '"precision": "bf16"' "--json precision"

# A CNN with batch norm: its convolutions take bf16 too, the same bytes at
# 1 and 2 threads.
same_at_two_threads c 1x2x1,conv:8:3:same,batchnorm,relu,conv:16:3:relu:same,32:relu,3:softmax 64

run "$BP" train --data spiral:100:3 --epochs 2 --precision bf16 --checkpoint "$TMP/ck" \
    --out "$TMP/k.safetensors"
expect_rc 0 "bf16 with a checkpoint"
run "$BP" train --data spiral:100:3 --epochs 3 --resume "$TMP/ck" --out "$TMP/k2.safetensors"
expect_rc 2 "fp32 resuming a bf16 checkpoint"
err_has "was trained with --precision bf16; give --precision bf16 to go on from it" "resume mismatch"
run "$BP" train --data spiral:100:3 --epochs 3 --precision bf16 --resume "$TMP/ck" \
    --out "$TMP/k2.safetensors"
expect_rc 0 "bf16 resuming a bf16 checkpoint"
# Stopped after 2 epochs and resumed to 4 (on 2 threads): the weights of 4
# in one run.
tensors() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + hlen)) "$1" | od -An -tx1 -v
}
A="--data spiral:200:3 --schedule constant --precision bf16 --quiet"
run "$BP" train $A --epochs 4 --threads 1 --out "$TMP/r4.safetensors"
expect_rc 0 "bf16, 4 epochs"
run "$BP" train $A --epochs 2 --threads 1 --checkpoint "$TMP/r.ckpt" --out "$TMP/r2.safetensors"
expect_rc 0 "bf16, 2 epochs"
run "$BP" train $A --epochs 4 --threads 2 --resume "$TMP/r.ckpt" --out "$TMP/rr.safetensors"
expect_rc 0 "bf16, resumed to 4 epochs"
tensors "$TMP/r4.safetensors" >"$TMP/r4.hex"
tensors "$TMP/rr.safetensors" | cmp -s - "$TMP/r4.hex" || fail "bf16: the resumed run's weights differ"
# --deterministic with batch norm runs its parts layer by layer: with one
# part it gives the tensors of whole batches, the bf16 copies kept as the
# ordinary passes keep them.
A="--data spiral:200:3 --net 2,32:relu,batchnorm,32,batchnorm,relu,3:softmax --optimizer adam"
A="$A --lr 0.01 --epochs 2 --precision bf16 --quiet"
run "$BP" train $A --out "$TMP/bw.safetensors"
expect_rc 0 "bf16 with batch norm"
run "$BP" train $A --deterministic --parts 1 --out "$TMP/bp.safetensors"
expect_rc 0 "bf16 with batch norm, --deterministic --parts 1"
tensors "$TMP/bw.safetensors" >"$TMP/bw.hex"
tensors "$TMP/bp.safetensors" | cmp -s - "$TMP/bw.hex" ||
    fail "bf16: batch norm's ordered parts differ from whole batches"
echo ok
