# test_export.sh - `backprop export`: the C export compiled with -std=c99
# -Wall -Wextra -Werror and run on a test set gives the library's outputs
# (bit for bit where both sum in the same order, else within 1e-6), with the
# input scaling applied; the ONNX export read back by `backprop info` shows
# the same network, scaling and metadata; and errors.
# Usage: sh test_export.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || CC=gcc

# A 4-input, 3-class problem; the first input lives around 100 with spread
# 50, so the standardized models' scaling matters. 300 rows: more than one
# of predict's batches.
awk 'BEGIN {
    print "a,b,c,d,label"
    for (i = 0; i < 300; i++) {
        a = sin(i * 1.3); b = cos(i * 0.7); c = sin(i * 0.31 + 1); d = cos(i * 2.1) / 2
        k = 0; m = a
        if (b > m) { k = 1; m = b }
        if (c > m) { k = 2; m = c }
        printf "%.6f,%.6f,%.6f,%.6f,%d\n", 100 + 50 * a, b, c, d, k
    }
}' >"$TMP/data.csv"
# The test set: other rows of the same kind, inputs only.
awk 'BEGIN {
    for (i = 0; i < 200; i++) {
        j = i + 1000.5
        printf "%.6f,%.6f,%.6f,%.6f\n", 100 + 50 * sin(j * 1.3), cos(j * 0.7), sin(j * 0.31 + 1), cos(j * 2.1) / 2
    }
}' >"$TMP/test_in.csv"
{ echo "a,b,c,d,label"; sed 's/$/,0/' "$TMP/test_in.csv"; } >"$TMP/test.csv"

# The driver: reads rows of raw inputs, prints each output as the shortest
# decimal that reads back as the float, as backprop predict does. Cells are
# read with strtod, as the CSV reader does.
cat >"$TMP/driver.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
void FN(const float *x, float *y);
int main(void)
{
    char line[4096];
    float x[IN], y[OUT];
    while (fgets(line, sizeof line, stdin)) {
        char *p = line;
        for (int j = 0; j < IN; j++) {
            x[j] = (float)strtod(p, &p);
            p += *p == ',';
        }
        FN(x, y);
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

# export_c NET OUTPUTS NAME [TRAIN OPTIONS]: train NET, export it as C under
# the function name NAME, compile it with the driver, run both on the test
# set into $TMP/lib.csv and $TMP/c.csv.
export_c() {
    net=$1 outs=$2 name=$3
    shift 3
    run "$BP" train --data "$TMP/data.csv" --net "$net" --epochs 4 --batch 16 --seed 5 --quiet \
        --out "$TMP/m.safetensors" "$@"
    expect_rc 0 "train $net"
    if [ "$name" = predict ]; then
        run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.c"
    else
        run "$BP" export --model "$TMP/m.safetensors" --format c --name "$name" --out "$TMP/m.c"
    fi
    expect_rc 0 "export $net as C"
    has "wrote $TMP/m.c: C99 source" "export $net as C"
    grep -q "static const float ${name}_w0\[" "$TMP/m.c" || fail "$net: no static const weights"
    ! grep -q '#include <[^m]' "$TMP/m.c" || fail "$net: the C file includes more than math.h"
    "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -c "$TMP/m.c" -o "$TMP/m.o" \
        2>"$TMP/cc.log" || fail "$net: the exported C does not compile cleanly: $(cat "$TMP/cc.log")"
    "$CC" -std=c99 -O2 -DFN="$name" -DIN=4 -DOUT="$outs" "$TMP/driver.c" "$TMP/m.o" -lm \
        -o "$TMP/run" 2>"$TMP/cc.log" || fail "$net: the driver does not link: $(cat "$TMP/cc.log")"
    "$TMP/run" <"$TMP/test_in.csv" >"$TMP/c.csv" || fail "$net: the exported C failed"
    run "$BP" predict --model "$TMP/m.safetensors" --data "$TMP/test.csv" --out "$TMP/pred.csv"
    expect_rc 0 "predict $net"
    pred_outputs "$outs" "$TMP/pred.csv" "$TMP/lib.csv"
    [ "$(wc -l <"$TMP/c.csv")" -eq 200 ] || fail "$net: $(wc -l <"$TMP/c.csv") rows from C"
}

# Every layer sums fewer than 8 products, so the library's kernels and the
# exported code add in the same order: the same bits.
export_c "4,6:tanh,5:sigmoid,3:softmax" 3 predict --standardize
cmp -s "$TMP/c.csv" "$TMP/lib.csv" ||
    fail "small net: the C export's outputs differ from the library's: $(diff "$TMP/c.csv" "$TMP/lib.csv" | head -4)"
grep -q "predict_shift\[4\]" "$TMP/m.c" || fail "small net: no input scaling in the C file"

# Wider layers: the library may sum in another order; within 1e-6 (relative
# above 1), and not all equal to zero.
within() { # within WHAT: $TMP/c.csv against $TMP/lib.csv
    awk -F, -v what="$1" 'NR == FNR { for (i = 1; i <= NF; i++) c[FNR, i] = $i; n = NF; next }
        { for (i = 1; i <= NF; i++) { d = c[FNR, i] - $i; d = d < 0 ? -d : d
              s = $i < 0 ? -$i : $i; s = s > 1 ? s : 1; if (d / s > worst) worst = d / s
              if ($i != 0) nonzero = 1 } }
        END { if (worst > 1e-6 || !nonzero) { printf "%s: largest difference %g\n", what, worst; exit 1 } }' \
        "$TMP/c.csv" "$TMP/lib.csv" || fail "$1: the C export's outputs differ from the library's"
}
export_c "4,32:relu,16:leaky_relu=0.2,3:softmax" 3 iris_predict --standardize
within "wide net"
grep -q "^void iris_predict(const float \*x, float \*y)$" "$TMP/m.c" || fail "--name: no iris_predict"
export_c "4,12:tanh,1:identity:nobias" 1 predict --loss mse --no-standardize
within "regression net without scaling"
! grep -q "predict_shift" "$TMP/m.c" || fail "identity scaling: the C file still scales"

# ONNX, read back: the same layer table, spec, scaling and metadata.
run "$BP" train --data "$TMP/data.csv" --net 4,8:relu,8:leaky_relu=0.3:nobias,3:softmax --epochs 2 \
    --standardize --quiet --out "$TMP/o.safetensors"
expect_rc 0 "train for ONNX"
run "$BP" export --model "$TMP/o.safetensors" --format onnx --out "$TMP/o.model"
expect_rc 0 "export onnx"
has "wrote $TMP/o.model: ONNX opset 13, 3 layers, 131 parameters" "export onnx"
mv "$TMP/o.model" "$TMP/o.onnx"
run "$BP" info --model "$TMP/o.onnx"
expect_rc 0 "info on the ONNX file"
cp "$TMP/out" "$TMP/onnx.txt"
has "format: ONNX, IR version 7, opset 13, producer backprop 0.1.0" "info ONNX format"
has "graph:  backprop, 8 nodes, 7 initializers: Sub Mul Gemm Relu Gemm LeakyRelu Gemm Softmax" \
    "info ONNX graph"
has "input:  input float32 [batch, 4]" "info ONNX input"
has "output: output float32 [batch, 3]" "info ONNX output"
run "$BP" info --model "$TMP/o.safetensors"
expect_rc 0 "info on the model"
sed -n '/^layer/,/^spec:/p' "$TMP/out" >"$TMP/st.table"
sed -n '/^layer/,/^spec:/p' "$TMP/onnx.txt" >"$TMP/onnx.table"
[ -s "$TMP/st.table" ] && cmp -s "$TMP/st.table" "$TMP/onnx.table" ||
    fail "ONNX read back: another layer table: $(diff "$TMP/st.table" "$TMP/onnx.table")"
# The metadata object (the JSON's last line), one entry per line, sorted.
meta_lines() {
    tail -n 1 "$TMP/out" | sed -e 's/.*"metadata": {//' -e 's/}}$//' | tr ',' '\n' | sort
}
run "$BP" info --model "$TMP/o.safetensors" --json
meta_lines >"$TMP/st.meta"
run "$BP" info --model "$TMP/o.onnx" --json
expect_rc 0 "info --json on the ONNX file"
has '"format": "onnx", "onnx": {"ir_version": 7, "opset": 13' "info --json ONNX"
meta_lines >"$TMP/onnx.meta"
grep -q '"scaling"' "$TMP/onnx.meta" || fail "ONNX read back: no scaling"
cmp -s "$TMP/st.meta" "$TMP/onnx.meta" ||
    fail "ONNX read back: other metadata or scaling: $(diff "$TMP/st.meta" "$TMP/onnx.meta")"

# A model without scaling gets no Sub or Mul; a hand-written one exports too.
printf '{"net": "2,2:relu:nobias,1:identity:nobias", "weights": [[[2, 1], [1, 2]], [[1, 1]]]}\n' \
    >"$TMP/lesson.json"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/lesson.onnx"
expect_rc 0 "export a JSON model"
run "$BP" info --model "$TMP/lesson.onnx"
has "graph:  backprop, 3 nodes, 2 initializers: Gemm Relu Gemm" "no scaling, no Sub or Mul"

# Errors: usage, missing files, and a corrupt ONNX file.
run "$BP" export --out "$TMP/x.onnx"
expect_rc 2 "no --model"
err_has "--model is required" "no --model"
run "$BP" export --model "$TMP/lesson.json"
expect_rc 2 "no --out"
err_has "--out is required" "no --out"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/x.bin"
expect_rc 2 "no format"
err_has "ends in neither .onnx nor .c" "no format"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/x.c" --format tflite
expect_rc 2 "bad --format"
err_has "--format: expected onnx or c, found 'tflite'" "bad --format"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/x.onnx" --name f
expect_rc 2 "--name with onnx"
err_has "--name applies to --format c only" "--name with onnx"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/x.c" --name 2fast
expect_rc 2 "bad --name"
err_has "'2fast' is not a C identifier" "bad --name"
[ ! -e "$TMP/x.c" ] || fail "bad --name: a file was written"
run "$BP" export --model "$TMP/missing.json" --out "$TMP/x.c"
expect_rc 1 "missing model"
err_has "missing.json" "missing model"
run "$BP" export --model "$TMP/lesson.json" --out "$TMP/no/such/dir/x.onnx"
expect_rc 1 "unwritable --out"
err_has "x.onnx" "unwritable --out"
head -c 100 "$TMP/o.onnx" >"$TMP/cut.onnx"
run "$BP" info --model "$TMP/cut.onnx"
expect_rc 1 "a truncated ONNX file"
err_has "backprop: $TMP/cut.onnx: byte" "a truncated ONNX file"
# The previous file survives a failed export.
cp "$TMP/lesson.onnx" "$TMP/keep.onnx"
printf '{"net": "2,1:relu", "weights": [[[1, 2, 3]]]}\n' >"$TMP/bad.json"
run "$BP" export --model "$TMP/bad.json" --out "$TMP/keep.onnx"
expect_rc 1 "a bad model"
cmp -s "$TMP/keep.onnx" "$TMP/lesson.onnx" || fail "a failed export changed the previous file"

run "$BP" export --help
expect_rc 0 "export --help"
for opt in --model --out --format --name; do
    has "  $opt " "export --help lists $opt"
done
has "(default: predict)" "export --help default name"

echo "ok: export"
