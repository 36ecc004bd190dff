# test_export_cnn.sh - the C export of networks with convolution and
# pooling layers: compiled with -std=c99 -Wall -Wextra -Wpedantic -Werror
# and run on a test set, it gives `backprop predict`'s outputs (bit for bit
# where the library sums with plain loops in the column order of its im2col
# path, which BP_CONV=im2col picks; else, and with oneDNN's primitives,
# within 1e-5) for conv with
# padding, stride, no bias and many channels, max and average pooling with
# and without a stride, and the flatten into dense layers; on CSV data
# (standardized) and on IDX images (scaled by 1/255, one constant); with its
# scratch on the stack or static; one function per kind, however many
# layers use it; and batch norm folded into the layer before or not,
# dropout and standalone activations.
# Usage: sh test_export_cnn.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
export BP_CONV=im2col

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || CC=gcc

# 2x6x6 images as CSV rows of 72 values and a label of 3 classes: 120 rows
# to train on, and 40 other rows of inputs alone.
awk -v t="$TMP" 'BEGIN {
    for (j = 0; j < 72; j++) printf "p%d,", j >(t "/data.csv")
    print "label" >(t "/data.csv")
    for (i = 0; i < 160; i++) {
        s = 0
        for (j = 0; j < 72; j++) {
            v = 10 * sin(i * 0.37 + j * 0.91) + 3 * cos(i * 1.7 - j * 0.23) + (j < 36 ? 5 : 0)
            s += v * sin(j)
            row[j] = sprintf("%.4f", v)
        }
        line = row[0]
        for (j = 1; j < 72; j++) line = line "," row[j]
        if (i < 120) print line "," (s > 2 ? 0 : s < -2 ? 1 : 2) >(t "/data.csv")
        else { print line >(t "/test_in.csv"); print line ",0" >(t "/test_rows.csv") }
    }
}' </dev/null
{ head -n 1 "$TMP/data.csv"; cat "$TMP/test_rows.csv"; } >"$TMP/test.csv"

# The driver: rows of raw inputs in, each output as the shortest decimal
# that reads back as the float, as backprop predict prints it.
cat >"$TMP/driver.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
void predict(const float *x, float *y);
int main(void)
{
    static char line[1 << 16];
    static float x[IN];
    float y[OUT];
    while (fgets(line, sizeof line, stdin)) {
        char *p = line;
        for (int j = 0; j < IN; j++) {
            x[j] = (float)strtod(p, &p);
            p += *p == ',';
        }
        predict(x, y);
        for (int o = 0; o < OUT; o++) {
            char s[32];
            for (int digits = 1; digits <= 9; digits++) {
                snprintf(s, sizeof s, "%.*g", digits, (double)y[o]);
                if (strtof(s, NULL) == y[o])
                    break;
            }
            printf(o ? ",%s" : "%s", s);
        }
        printf("\n");
    }
    return 0;
}
C

# compile_run IN OUT INPUTS [CFLAGS]: compile $TMP/m.c cleanly, link it with
# the driver, run it on the rows of INPUTS into $TMP/c.csv.
compile_run() {
    "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 ${4:-} -c "$TMP/m.c" -o "$TMP/m.o" \
        2>"$TMP/cc.log" || fail "the exported C does not compile cleanly: $(cat "$TMP/cc.log")"
    "$CC" -std=c99 -O2 -DIN="$1" -DOUT="$2" "$TMP/driver.c" "$TMP/m.o" -lm -o "$TMP/run" \
        2>"$TMP/cc.log" || fail "the driver does not link: $(cat "$TMP/cc.log")"
    "$TMP/run" <"$3" >"$TMP/c.csv" || fail "the exported C failed"
}

# export_cnn NET DATA PREDICT_DATA INPUTS IN ROWS [OUTS [TRAIN OPTIONS]]:
# train NET on DATA, export it as C, run it on INPUTS and predict on
# PREDICT_DATA into $TMP/c.csv and $TMP/lib.csv (OUTS outputs, 3 unless
# given), each of ROWS rows.
export_cnn() {
    net=$1 data=$2 pdata=$3 inputs=$4 in=$5 rows=$6 outs=${7:-3}
    shift 6
    [ $# -eq 0 ] || shift
    run "$BP" train --data "$data" --net "$net" --epochs 2 --batch 8 --seed 3 --quiet \
        --out "$TMP/m.safetensors" "$@"
    expect_rc 0 "train $net"
    run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.c"
    expect_rc 0 "export $net as C"
    has "wrote $TMP/m.c: C99 source" "export $net as C"
    ! grep -q '#include <[^m]' "$TMP/m.c" || fail "$net: the C file includes more than math.h"
    compile_run "$in" "$outs" "$inputs"
    run "$BP" predict --model "$TMP/m.safetensors" --data "$pdata" --out "$TMP/pred.csv"
    expect_rc 0 "predict $net"
    pred_outputs "$outs" "$TMP/pred.csv" "$TMP/lib.csv"
    [ "$(wc -l <"$TMP/c.csv")" -eq "$rows" ] || fail "$net: $(wc -l <"$TMP/c.csv") rows from C"
    [ "$(wc -l <"$TMP/lib.csv")" -eq "$rows" ] || fail "$net: $(wc -l <"$TMP/lib.csv") rows from predict"
}

# within WHAT: $TMP/c.csv against $TMP/lib.csv within 1e-5 (relative above
# 1), not all zero.
within() {
    awk -F, -v what="$1" 'NR == FNR { for (i = 1; i <= NF; i++) c[FNR, i] = $i; next }
        { for (i = 1; i <= NF; i++) { d = c[FNR, i] - $i; d = d < 0 ? -d : d
              s = $i < 0 ? -$i : $i; s = s > 1 ? s : 1; if (d / s > worst) worst = d / s
              if ($i != 0) nonzero = 1 } }
        END { if (worst > 1e-5 || !nonzero) { printf "%s: largest difference %g\n", what, worst; exit 1 } }' \
        "$TMP/c.csv" "$TMP/lib.csv" || fail "$1: the C export's outputs differ from predict's"
}
same() {
    cmp -s "$TMP/c.csv" "$TMP/lib.csv" ||
        fail "$1: the C export's outputs differ from predict's: $(diff "$TMP/c.csv" "$TMP/lib.csv" | head -4)"
}

# Small products (fewer than 1024 per output row), which the library sums
# with plain loops in the exported order: the same bits.
export_cnn 2x6x6,conv:3:3:relu:same,maxpool:2,3:softmax "$TMP/data.csv" "$TMP/test.csv" \
    "$TMP/test_in.csv" 72 40
same "conv same, maxpool"
grep -q "predict_shift\[72\]" "$TMP/m.c" || fail "standardized CSV: no per-input shift"
grep -q "^#define predict_SCRATCH$" "$TMP/m.c" || fail "small scratch: not on the stack by default"
grep -q " \* *x: the 72 raw inputs of one sample (2x6x6: channel by channel" "$TMP/m.c" ||
    fail "the header does not give the input's layout"
# The scratch made static gives the same outputs.
compile_run 72 3 "$TMP/test_in.csv" -Dpredict_SCRATCH=static
same "static scratch"
# oneDNN's primitives, where they load, sum in their own order: within 1e-5.
unset BP_CONV
run "$BP" predict --model "$TMP/m.safetensors" --data "$TMP/test.csv" --out "$TMP/pred.csv"
expect_rc 0 "predict with the default convolution path"
pred_outputs 3 "$TMP/pred.csv" "$TMP/lib.csv"
within "conv same, maxpool, default path"
export BP_CONV=im2col

# Many channels (a conv sum of 288 products, past one block of 256), no
# bias, stride and padding, average pooling with a stride of 1, a 1x1 conv,
# then dense layers.
N=2x6x6,conv:32:3:leaky_relu=0.1:pad=1,conv:8:3:tanh:stride=2:nobias,avgpool:2:stride=1,conv:4:1:sigmoid,6:relu,3:softmax
export_cnn "$N" "$TMP/data.csv" "$TMP/test.csv" "$TMP/test_in.csv" 72 40
within "many channels, stride, no bias"
[ "$(grep -c '^static void predict_conv(' "$TMP/m.c")" -eq 1 ] || fail "not one conv function"
[ "$(grep -c '^    predict_conv(' "$TMP/m.c")" -eq 3 ] || fail "not three conv calls"
grep -q '^    predict_conv(32, 6, 6, 3, 2, 0, 8, 2, 2, predict_w1, 0, h\[0\], h\[1\]); /\* layer 1 \*/$' \
    "$TMP/m.c" || fail "the strided conv without bias: another call"
grep -q "^static const float predict_w1\[2304\] = { /\* (8, 32, 3, 3) layer 1 weights \*/$" \
    "$TMP/m.c" || fail "conv weights: another array"
! grep -q "predict_b1" "$TMP/m.c" || fail "a bias for a conv without one"
# Loops over the geometry: beside the arrays' values (6 a line), a bounded
# number of lines however many layers and weights.
params=$(awk '/^static const float predict_[wb][0-9]+\[/ { sub(/.*\[/, ""); sub(/\].*/, ""); n += $0 } END { print n }' "$TMP/m.c")
lines=$(wc -l <"$TMP/m.c")
[ "$lines" -lt $((params / 6 + 250)) ] || fail "the file has $lines lines for $params parameters"

# Padding with a stride, max pooling with a window overlapping its
# neighbours, average pooling after it, no activation on the conv.
export_cnn 2x6x6,conv:4:2:stride=2:pad=1,maxpool:3:stride=1,avgpool:2,3:softmax "$TMP/data.csv" \
    "$TMP/test.csv" "$TMP/test_in.csv" 72 40
within "strided padded conv, overlapping maxpool, avgpool"
grep -q '^    predict_maxpool(4, 4, 4, 3, 1, 2, 2, h\[0\], h\[1\]); /\* layer 1 \*/$' "$TMP/m.c" ||
    fail "maxpool call"
grep -q '^    predict_avgpool(4, 2, 2, 2, 2, 1, 1, h\[1\], h\[0\]); /\* layer 2 \*/$' "$TMP/m.c" ||
    fail "avgpool call"

# A regression on a standardized target: its scale and mean end predict,
# as predict applies them.
awk -F, 'BEGIN { OFS = "," } NR == 1 { $NF = "t"; print; next }
    { $NF = sprintf("%.3f", 500 + 7 * $1 - 3 * $40 + $55 * $20); print }' "$TMP/data.csv" >"$TMP/reg.csv"
export_cnn 2x6x6,conv:2:3:tanh:stride=3,1 "$TMP/reg.csv" "$TMP/test.csv" "$TMP/test_in.csv" 72 40 1
same "regression"
grep -q "the target's scale and mean" "$TMP/m.c" || fail "regression: no target scaling"

# IDX images: scaled by 1/255, one constant rather than an array.
# idx H W N FILE: N images of H x W bytes, pixel i of the set (i * 7) % 100 + 1,
# into FILE, and their labels 0 1 2 0 ... into FILE.lab; the pixels as CSV
# rows into FILE.csv.
byte() {
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' "$1")"
}
idx() {
    h=$1 w=$2 n=$3 f=$4
    {
        printf '\0\0\10\3\0\0\0'
        byte "$n"
        printf '\0\0\0'
        byte "$h"
        printf '\0\0\0'
        byte "$w"
        awk -v n=$((n * h * w)) 'BEGIN { for (i = 0; i < n; i++) printf "%c", (i * 7) % 100 + 1 }'
    } >"$f"
    {
        printf '\0\0\10\1\0\0\0'
        byte "$n"
        awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "%c", i % 3 }'
    } >"$f.lab"
    awk -v n="$n" -v p=$((h * w)) 'BEGIN { for (r = 0; r < n; r++) {
        for (j = 0; j < p; j++) printf "%d%s", ((r * p + j) * 7) % 100 + 1, j < p - 1 ? "," : "\n" } }' >"$f.csv"
}
idx 6 6 9 "$TMP/img.idx"
export_cnn 1x6x6,conv:2:3:relu,maxpool:2,3:softmax "idx:$TMP/img.idx,$TMP/img.idx.lab" \
    "idx:$TMP/img.idx,$TMP/img.idx.lab" "$TMP/img.idx.csv" 36 9
same "IDX images"
grep -q "^static const float predict_mul = 0.00392156886f;" "$TMP/m.c" ||
    fail "IDX images: the 1/255 scaling is not one constant"
! grep -q "predict_shift" "$TMP/m.c" || fail "IDX images: a shift of zero is written"

# A scratch larger than 256 KiB is static by default; on the stack when
# asked, with the same outputs.
idx 64 64 3 "$TMP/big.idx"
export_cnn 1x64x64,conv:8:3:relu:same,maxpool:4,3:softmax "idx:$TMP/big.idx,$TMP/big.idx.lab" \
    "idx:$TMP/big.idx,$TMP/big.idx.lab" "$TMP/big.idx.csv" 4096 3
within "large scratch"
grep -q "^#define predict_SCRATCH static$" "$TMP/m.c" || fail "large scratch: not static by default"
compile_run 4096 3 "$TMP/big.idx.csv" -Dpredict_SCRATCH=
within "large scratch on the stack"

# Batch norm after a conv and after a dense layer, trained so that its
# running statistics moved, standalone activations and dropout: folded
# into the layers before (the default) and written as passes of their
# own, both within 1e-5 of predict.
N=2x6x6,conv:4:3:same,batchnorm,relu,maxpool:2,dropout:0.25,8,batchnorm,relu,3:softmax
export_cnn "$N" "$TMP/data.csv" "$TMP/test.csv" "$TMP/test_in.csv" 72 40
within "batch norm folded"
! grep -q "predict_batchnorm\|predict_[mv][0-9]" "$TMP/m.c" || fail "folded batch norm: a batch norm pass is left"
[ "$(grep -c '^    predict_relu(' "$TMP/m.c")" -eq 2 ] || fail "folded: not two relu calls"
run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.c" --no-fold-bn
expect_rc 0 "export $N --no-fold-bn"
compile_run 72 3 "$TMP/test_in.csv"
within "batch norm unfolded"
[ "$(grep -c '^    predict_batchnorm(' "$TMP/m.c")" -eq 2 ] || fail "unfolded: not two batch norm calls"
grep -q '^static const float predict_v1\[4\] = { /\* (4) layer 1 running variance \*/$' "$TMP/m.c" ||
    fail "unfolded: no running variance array"
# A batch norm after a layer with an activation stays a pass; the one after
# a dense layer without one folds.
export_cnn 2x6x6,conv:3:3:tanh,batchnorm,avgpool:2,5,batchnorm,sigmoid,3:softmax "$TMP/data.csv" \
    "$TMP/test.csv" "$TMP/test_in.csv" 72 40
within "batch norm after an activation"
[ "$(grep -c '^    predict_batchnorm(3, 16, ' "$TMP/m.c")" -eq 1 ] || fail "not one batch norm call"
grep -c 'predict_batchnorm(' "$TMP/m.c" | grep -qx 2 || fail "the batch norm function: not once"
# --fold-bn and --no-fold-bn are for the C form alone, and contradict.
run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.onnx" --no-fold-bn
expect_rc 2 "--no-fold-bn with ONNX"
err_has "applies to --format c only" "--no-fold-bn with ONNX"
run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.c" --fold-bn --no-fold-bn
expect_rc 2 "--fold-bn --no-fold-bn"

echo "ok: export_cnn"
