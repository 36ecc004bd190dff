# test_conv_paths.sh - both ways a convolution runs, chosen by BP_CONV:
# oneDNN's primitives (the default where oneDNN loads, and BP_CONV=onednn)
# and the built-in unfolding (BP_CONV=im2col). Each passes gradcheck on a
# network whose second convolution takes 16 channels (the input's slope on
# the primitives too), and trains to the same bits at 1 and 2 threads on
# batches large enough to be split into blocks.
# Usage: sh test_conv_paths.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# the weights and biases of a safetensors file, without its header
tensors() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + hlen)) "$1" | od -An -tx1 -v
}

NET=1x8x8,conv:16:3:relu:same,maxpool:2,conv:20:3:tanh:same,avgpool:2,3:softmax
# 256 images of 1x8x8 as CSV, 3 classes from the gradient's direction.
gradient_images 256 8 3 0.3 >"$TMP/img.csv"

for mode in im2col onednn default; do
    if [ "$mode" = default ]; then unset BP_CONV; else BP_CONV=$mode; export BP_CONV; fi
    run "$BP" gradcheck --net "$NET" --batch 3
    expect_rc 0 "gradcheck, $mode"
    if grep -q FAIL "$TMP/out"; then fail "gradcheck, $mode: a layer failed"; fi
    has "within the tolerance 0.001" "gradcheck, $mode"
    for threads in 1 2; do
        run "$BP" train --data "$TMP/img.csv" --net "$NET" --optimizer adam --lr 0.01 \
            --schedule constant --batch 128 --epochs 2 --seed 4 --quiet --threads "$threads" \
            --out "$TMP/$mode-$threads.safetensors"
        expect_rc 0 "train, $mode, $threads threads"
    done
    tensors "$TMP/$mode-1.safetensors" >"$TMP/$mode-1.hex"
    tensors "$TMP/$mode-2.safetensors" | cmp -s - "$TMP/$mode-1.hex" ||
        fail "$mode: 1 and 2 threads train different weights"
done
unset BP_CONV
# the two paths round differently: the same bits would mean one path ran twice
tensors "$TMP/onednn-1.safetensors" | cmp -s - "$TMP/im2col-1.hex" &&
    [ "$("$BP" info 2>/dev/null | grep -c onednn || true)" -gt 0 ] &&
    fail "BP_CONV=im2col and BP_CONV=onednn train the same bits"
exit 0
