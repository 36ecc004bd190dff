# test_cnn.sh - info, gradcheck and explain on networks with convolution
# and pooling layers: each layer's output shape and parameter count, a
# gradient check row per layer (pools have no parameters), a conv weight's
# slope as the sum of its products, worked by hand and against gradcheck,
# and the errors of a weight that is not there.
# Usage: sh test_cnn.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

# ---- info ---------------------------------------------------------------

# 1x28x28 -> conv 32 (3x3, same) -> pool 2 -> conv 64 -> pool 2 -> 128 -> 10.
# conv 1: 32 x 1 x 3 x 3 + 32 = 320; conv 2: 64 x 32 x 9 + 64 = 18496;
# dense: 64 x 7 x 7 = 3136 inputs, 3136 x 128 + 128 = 401536; 128 x 10 + 10
# = 1290; in all 421642.
S=1x28x28,conv:32:3:relu:same,maxpool:2,conv:64:3:relu:same,maxpool:2,128:relu,10:softmax
run "$BP" info --net "$S"
expect_rc 0 "info of a CNN"
grep -q -E '^input +1x28x28$' "$TMP/out" || fail "input shape line"
grep -q -E '^ +0 +conv:32:3:relu:same +32x28x28 +320$' "$TMP/out" || fail "conv 1 row"
grep -q -E '^ +1 +maxpool:2 +32x14x14 +0$' "$TMP/out" || fail "pool 1 row"
grep -q -E '^ +2 +conv:64:3:relu:same +64x14x14 +18496$' "$TMP/out" || fail "conv 2 row"
grep -q -E '^ +3 +maxpool:2 +64x7x7 +0$' "$TMP/out" || fail "pool 2 row"
grep -q -E '^ +4 +128:relu +128 +401536$' "$TMP/out" || fail "dense row"
grep -q -E '^ +5 +10:softmax +10 +1290$' "$TMP/out" || fail "output row"
has "total parameters: 421642" "CNN total"
has "spec: $S" "CNN spec"

run "$BP" info --net "$S" --json
expect_rc 0 "info --json of a CNN"
has '"input_shape": [1, 28, 28]' "json input shape"
has '{"layer": 0, "entry": "conv:32:3:relu:same", "kind": "conv", "inputs": 784, "outputs": 25088, "shape": [32, 28, 28], "activation": "relu", "weight_dims": [32, 1, 3, 3], "bias": true, "parameters": 320}' "json conv 1"
has '{"layer": 1, "entry": "maxpool:2", "kind": "maxpool", "inputs": 25088, "outputs": 6272, "shape": [32, 14, 14], "activation": null, "weight_dims": [], "bias": false, "parameters": 0}' "json pool 1"
has '"shape": [64, 14, 14], "activation": "relu", "weight_dims": [64, 32, 3, 3], "bias": true, "parameters": 18496}' "json conv 2"
has '"shape": [64, 7, 7]' "json pool 2"
has '"kind": "dense", "inputs": 3136, "outputs": 128, "shape": [128], "activation": "relu", "weight_dims": [128, 3136], "bias": true, "parameters": 401536}' "json dense"
has '"shape": [10], "activation": "softmax", "weight_dims": [10, 128], "bias": true, "parameters": 1290}' "json output"
has '], "parameters": 421642}' "json total"

# Stride, padding, no bias, average pooling: 2x9x9 -> conv 4 (3x3, pad 1,
# stride 2): (9 + 2 - 3) / 2 + 1 = 5, 4 x 2 x 9 = 72 weights and no bias;
# avgpool 2 -> 4x2x2.
run "$BP" info --net 2x9x9,conv:4:3:tanh:pad=1:stride=2:nobias,avgpool:2,3
expect_rc 0 "info stride pad nobias"
grep -q -E '^ +0 +conv:4:3:tanh:pad=1:stride=2:nobias +4x5x5 +72$' "$TMP/out" || fail "strided conv row"
grep -q -E '^ +1 +avgpool:2 +4x2x2 +0$' "$TMP/out" || fail "avgpool row"
grep -q -E '^ +2 +3:identity +3 +51$' "$TMP/out" || fail "dense after avgpool row (16 x 3 + 3)"

# A spec error is the library's own message.
run "$BP" info --net 1x4x4,conv:2:5
expect_rc 2 "kernel larger than the input"
err_has "--net:" "spec error names the option"
run "$BP" info --net 1x4x4,maxpool:x
expect_rc 2 "bad pool size"
err_has "maxpool:x" "spec error names the entry"

# ---- gradcheck ----------------------------------------------------------

# Every kind: conv with padding, stride, same, no bias; max and average
# pooling, with and without a stride; each loss by the default rule.
for net in 1x5x6,conv:3:3:tanh:pad=1:stride=2,maxpool:2,4:softmax \
    2x5x5,conv:2:3:sigmoid:nobias,avgpool:2,3:softmax \
    1x6x6,conv:2:3:tanh:same,maxpool:2:stride=1,conv:2:2:tanh:stride=2,2 \
    2x4x4,avgpool:2:stride=1,conv:3:2:tanh:pad=1,1:sigmoid; do
    run "$BP" gradcheck --net "$net" --batch 3
    expect_rc 0 "gradcheck $net"
    if grep -q FAIL "$TMP/out"; then fail "gradcheck $net: a layer failed"; fi
    has "within the tolerance 0.001" "gradcheck $net summary"
    layers=$(printf '%s\n' "$net" | awk -F, '{ print NF - 1 }')
    [ "$(grep -c -E '^ +[0-9]+  ' "$TMP/out")" -eq "$layers" ] || fail "gradcheck $net: not one row per layer"
done

run "$BP" gradcheck --net 1x5x6,conv:3:3:tanh:pad=1:stride=2,maxpool:2,4:softmax
grep -q -E '^ +0 +3x1x3x3 \+ bias +[0-9.e-]+ +(w\[0\]\[[0-2]\]\[0\]\[[0-2]\]\[[0-2]\]|b\[0\]\[[0-2]\]) .* PASS$' "$TMP/out" ||
    fail "conv row: shape 3x1x3x3 + bias, a conv entry, PASS"
grep -q -E '^ +1 +maxpool:2 +- +no parameters +- +- +-$' "$TMP/out" || fail "pool row says it has no parameters"
grep -q -E '^ +2 +4x3 \+ bias ' "$TMP/out" || fail "dense after pool: 3 inputs (3x1x1)"
has "all 2 layers with parameters within the tolerance" "only layers with parameters counted"
run "$BP" gradcheck --net 2x5x5,conv:2:3:sigmoid:nobias,avgpool:2,3:softmax
grep -q -E '^ +0 +2x2x3x3 +[0-9]' "$TMP/out" || fail "conv without bias: no '+ bias'"
grep -q -E '^ +1 +avgpool:2 +- +no parameters' "$TMP/out" || fail "avgpool row"

run "$BP" gradcheck --net 1x5x6,conv:3:3:tanh:pad=1:stride=2,maxpool:2,4:softmax --json
expect_rc 0 "gradcheck --json"
has '"kind": "conv", "inputs": 30, "outputs": 27, "bias": true, "weight_dims": [3, 1, 3, 3], "parameters": 30, "max_rel_error": ' "json conv layer"
has '"kind": "maxpool", "inputs": 27, "outputs": 3, "bias": false, "weight_dims": [], "parameters": 0, "max_rel_error": null, "worst": null, "analytic": null, "numeric": null, "pass": null}' "json pool layer"
has '"pass": true}' "json verdict"

# ---- explain ------------------------------------------------------------

# By hand: x = 1..9 as 3x3, one 2x2 filter [[1, 0], [0, 0]] gives h = the
# top-left 2x2 of x, (1, 2, 4, 5); y = their sum 12 for target 0, loss 144,
# dL/dy = 24 and each h's slope 24 (weights 1, identity). The filter's
# bottom-right weight (0,0,1,1) meets x at (1,1), (1,2), (2,1), (2,2), i.e.
# 5, 6, 8, 9: its slope is 24 x (5 + 6 + 8 + 9) = 672, the largest product
# 24 x 9 = 216; the top-left weight's is 24 x (1 + 2 + 4 + 5) = 288.
N=1x3x3,conv:1:2:identity:nobias,1:identity:nobias
W='1,0,0,0/1,1,1,1'
X=1,2,3,4,5,6,7,8,9
run "$BP" explain --net "$N" --weights "$W" --input "$X" --target 0 --weight 0:0,0,1,1
expect_rc 0 "explain a conv weight"
has "layer 0 (conv:1:2:nobias): h 1x2x2 = 1 2 4 5" "conv forward"
has "loss: mse = 144" "loss"
has "Weight w[0][0][0][1][1] of layer 0 (conv:1:2:nobias), weights [1, 1, 2, 2] (OUT, C, K, K)" "weight named"
has "slope dL/dw = 672, the sum of 4 products" "slope 672 over 4 positions"
grep -q -E '^ +x\[0,2,2\] +h\[0,1,1\] +9 +24 +1 +216$' "$TMP/out" || fail "largest product first: x[0,2,2] h[0,1,1] 9 24 1 216"
grep -q -E '^ +x\[0,1,1\] +h\[0,0,0\] +5 +24 +1 +120$' "$TMP/out" || fail "smallest product: 5 x 24"
# The same weight by its flat index and in parentheses.
run "$BP" explain --net "$N" --weights "$W" --input "$X" --target 0 --weight 0:3
has "slope dL/dw = 672, the sum of 4 products" "flat index 3"
run "$BP" explain --net "$N" --weights "$W" --input "$X" --target 0 --weight '0:(0,0,0,0)' --json
expect_rc 0 "explain --weight --json"
has '"weight": {"layer": 0, "flat": 0, "index": [0, 0, 0, 0], "weight_dims": [1, 1, 2, 2], "value": 1, "slope": 288, "terms": 4' "json slope 288"
has '{"input": [0, 1, 1], "output": [0, 1, 1], "value": 5, "dnode": 24, "dact": 1, "product": 120}' "json largest product"
has '"kind": "conv", "weight_dims": [1, 1, 2, 2], "weights": [1, 0, 0, 0], "grad_w": [288, 384, 576, 672]' "json conv slopes, flat"
# Without --weight: each layer's largest slopes; a dense weight's is one product.
run "$BP" explain --net "$N" --weights "$W" --input "$X" --target 0
expect_rc 0 "explain summary"
has "w[0][0][0][1][1]       = 0            slope 672 (4 products)" "largest conv slope"
has "w[1][0][3]             = 1            slope 120 (1 product)" "largest dense slope: 5 x 24"
# One step moves the named weight: 0 - 0.001 x 672.
run "$BP" explain --net "$N" --weights "$W" --input "$X" --target 0 --weight 0:0,0,1,1 --lr 0.001
has "w[0][0][0][1][1]: 0 - 0.001 x 672 = -0.672" "the step of the weight"
has "loss: mse = " "the loss after the step"

# Padding and stride: a 3x3 filter, pad 1, stride 2 on 5x6 gives 3x3; its
# corner weight (ky, kx) = (0, 0) reads rows and columns 2o - 1, inside only
# for o = 1, 2: 4 products; the centre one (1, 1) reads 2o: 9 products.
P=1x5x6,conv:3:3:tanh:pad=1:stride=2,maxpool:2,4:softmax
X30=$(seq 1 30 | tr '\n' ',' | sed 's/,$//')
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:2,0,0,0
expect_rc 0 "padded corner weight"
has ", the sum of 4 products" "corner weight: 4 products"
has "layer 1 (maxpool:2): h2 3x1x1 = " "pool output"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:2,0,1,1
has ", the sum of 9 products" "centre weight: 9 products"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 2:1,0
has "the sum of 1 product" "a dense weight: one product"

# The slope against gradcheck's: a model trained on a small table, the
# first row, the conv entry gradcheck reports; explain works in double from
# the same float weights, so the two agree to about 1e-6.
printf 'x0,x1,x2,x3,x4,x5,x6,x7,x8,y\n0.5,-0.2,0.9,0.1,-0.7,0.3,0.8,-0.4,0.6,1\n-0.3,0.7,-0.1,0.4,0.2,-0.9,0.5,0.6,-0.8,0\n0.2,0.4,-0.6,-0.5,0.9,0.1,-0.3,0.7,0.3,1\n' >"$TMP/c.csv"
run "$BP" train --data "$TMP/c.csv" --net 1x3x3,conv:2:2:tanh,2:softmax --epochs 2 --quiet --out "$TMP/c.safetensors"
expect_rc 0 "train a small CNN"
run "$BP" gradcheck --model "$TMP/c.safetensors" --data "$TMP/c.csv" --batch 1 --json
expect_rc 0 "gradcheck of the model"
line=$(grep '"layer": 0,' "$TMP/out")
entry=$(printf '%s' "$line" | sed -n 's/.*"worst": "w\[0\]\[\([0-9]\)\]\[\([0-9]\)\]\[\([0-9]\)\]\[\([0-9]\)\]".*/\1,\2,\3,\4/p')
analytic=$(printf '%s' "$line" | sed -n 's/.*"analytic": \([^,]*\),.*/\1/p')
if [ -z "$entry" ]; then # a bias: the seed fixes the weights, so this does not happen
    fail "gradcheck's worst conv entry is not a weight: $line"
fi
run "$BP" explain --model "$TMP/c.safetensors" --input 0.5,-0.2,0.9,0.1,-0.7,0.3,0.8,-0.4,0.6 --target 1 \
    --weight "0:$entry" --json
expect_rc 0 "explain the model's weight"
slope=$(sed -n 's/.*"weight": {.*"slope": \([^,]*\),.*/\1/p' "$TMP/out")
awk -v a="$analytic" -v s="$slope" 'BEGIN { d = a - s; if (d < 0) d = -d; m = a < 0 ? -a : a;
    exit !(s != "" && d <= 1e-5 * (m > 1e-3 ? m : 1e-3)) }' ||
    fail "explain's slope $slope of w[0]($entry) is not gradcheck's $analytic"

# ---- errors -------------------------------------------------------------

run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 1:0
expect_rc 2 "a pool's weight"
err_has "--weight 1:0: layer 1 (maxpool:2) has no weights" "a pool has no weights"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:3,0,0,0
expect_rc 2 "filter out of range"
err_has "--weight 0:3,0,0,0: OUT is 3, outside layer 0's weights of shape [3, 1, 3, 3] (OUT, C, K, K): OUT goes from 0 to 2" "filter out of range"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:0,0,3,0
expect_rc 2 "kernel row out of range"
err_has "KY is 3, outside layer 0's weights of shape [3, 1, 3, 3]" "kernel row out of range"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:27
expect_rc 2 "flat index out of range"
err_has "--weight 0:27: index 27 is outside layer 0's 27 weights of shape [3, 1, 3, 3] (OUT, C, K, K) (0 to 26)" "flat index out of range"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 0:1,2
expect_rc 2 "two indices for a conv"
err_has "give 4 indices, as 0:OUT,C,KY,KX, or one flat index from 0 to 26" "wrong count"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 2:4,0
expect_rc 2 "dense row out of range"
err_has "O is 4, outside layer 2's weights of shape [4, 3] (O, I): O goes from 0 to 3" "dense out of range"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 3:0
expect_rc 2 "layer out of range"
err_has "--weight 3:0: the network has layers 0 to 2" "layer out of range"
run "$BP" explain --net "$P" --input "$X30" --target 2 --weight 'a:1'
expect_rc 2 "not LAYER:INDEX"
err_has "--weight: expected LAYER:INDEX" "not LAYER:INDEX"
run "$BP" explain --net "$N" --weights '1,0,0/1,1,1,1' --input "$X" --target 0
expect_rc 2 "short conv filter"
err_has "--weights: layer 0 row 0: expected 4 values, found 3" "a filter's C x K x K values"
run "$BP" explain --net 1x4x4,maxpool:2,1 --weights '1,1,1,1/2' --input 1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7 --target 0
expect_rc 2 "a field for the pool"
err_has "--weights: expected 1 layer separated by '/' (one per layer with weights), found 2" "pools take no field"
run "$BP" explain --net 1x4x4,conv:2:5 --input 1 --target 0
expect_rc 2 "spec error"
err_has "--net:" "spec error as the library gives it"

echo "ok: cnn"
