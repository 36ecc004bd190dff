# test_export_target.sh - a regression trained on a standardized target near
# 1e5 and exported: the C export's predict() and the ONNX graph's tail (Mul
# by target.scale, Add of target.mean) give `backprop predict`'s values in
# the target's units; the ONNX file read back carries the scaling in its metadata; so does
# `train --out m.onnx`.
# Usage: sh test_export_target.sh PATH_TO_backprop
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || CC=gcc

# price = 1000 * size + 15000 * rooms + noise: targets from about 6e4 to 3e5.
awk 'BEGIN {
    print "size,rooms,price"
    for (i = 0; i < 200; i++) {
        s = 50 + (i * 37) % 150; r = 1 + i % 5; e = 1000 * sin(i * 2.7)
        printf "%d,%d,%.2f\n", s, r, 1000 * s + 15000 * r + e
    }
}' >"$TMP/h.csv"
sed '1d' "$TMP/h.csv" | cut -d, -f1-2 >"$TMP/in.csv"

run "$BP" train --data "$TMP/h.csv" --epochs 20 --quiet --out "$TMP/m.safetensors"
expect_rc 0 "train the regression"
run "$BP" predict --model "$TMP/m.safetensors" --data "$TMP/h.csv" --out "$TMP/pred.csv"
expect_rc 0 "predict"
pred_outputs 1 "$TMP/pred.csv" "$TMP/lib.csv"
# The predictions are in the target's units, not standardized ones.
awk -F, '$1 < 20000 { bad = 1 } END { exit bad || NR != 200 }' "$TMP/lib.csv" ||
    fail "predict's values are not near the target's: $(head -3 "$TMP/lib.csv")"

# within A B WHAT: every value of A within 1e-5 of B's (relative above 1).
within() {
    [ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] || fail "$3: $(wc -l <"$1") rows, expected $(wc -l <"$2")"
    awk -F, -v what="$3" 'NR == FNR { for (i = 1; i <= NF; i++) c[FNR, i] = $i; next }
        { for (i = 1; i <= NF; i++) { d = c[FNR, i] - $i; d = d < 0 ? -d : d
              s = $i < 0 ? -$i : $i; s = s > 1 ? s : 1; if (d / s > worst) worst = d / s } }
        END { if (worst > 1e-5) { printf "%s: largest difference %g\n", what, worst; exit 1 } }' \
        "$1" "$2" || fail "$3: the outputs differ from predict's"
}

# C: predict() returns the target's units, bit for bit the tool's.
run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.c"
expect_rc 0 "export C"
grep -q "the target's scale and mean" "$TMP/m.c" || fail "the C file does not scale its outputs"
"$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -c "$TMP/m.c" -o "$TMP/m.o" \
    2>"$TMP/cc.log" || fail "the exported C does not compile cleanly: $(cat "$TMP/cc.log")"
cat >"$TMP/driver.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
void predict(const float *x, float *y);
int main(void)
{
    float x[2], y[1];
    while (scanf("%f,%f", &x[0], &x[1]) == 2) {
        char s[32];
        predict(x, y);
        for (int digits = 1; digits <= 9; digits++) {
            snprintf(s, sizeof s, "%.*g", digits, (double)y[0]);
            if (strtof(s, NULL) == y[0])
                break;
        }
        printf("%s\n", s);
    }
    return 0;
}
C
"$CC" -std=c99 -O2 "$TMP/driver.c" "$TMP/m.o" -lm -o "$TMP/run" 2>"$TMP/cc.log" ||
    fail "the driver does not link: $(cat "$TMP/cc.log")"
"$TMP/run" <"$TMP/in.csv" >"$TMP/c.csv" || fail "the exported C failed"
within "$TMP/c.csv" "$TMP/lib.csv" "C export"

# ONNX: the graph ends in Mul and Add; read back, the scaling is in the
# metadata again.
run "$BP" export --model "$TMP/m.safetensors" --out "$TMP/m.onnx"
expect_rc 0 "export ONNX"
run "$BP" info --model "$TMP/m.onnx"
expect_rc 0 "info on the ONNX file"
has "8 initializers: Sub Mul Gemm Relu Gemm Mul Add" "the ONNX graph's tail"
has "target:" "info shows the target's scaling"
has "target: standardized; in its units, output * " "info shows the target's scaling"
# The same metadata as the model's (the schema holds the target's scaling).
meta_of() {
    run "$BP" info --model "$1" --json
    expect_rc 0 "info --json $1"
    tail -n 1 "$TMP/out" | sed -e 's/.*"metadata": {//' -e 's/}}$//' | tr ',' '\n' | sort >"$2"
}
meta_of "$TMP/m.safetensors" "$TMP/st.meta"
meta_of "$TMP/m.onnx" "$TMP/onnx.meta"
grep -F -q '\"target\": {\"mean\": ' "$TMP/onnx.meta" || fail "ONNX read back: no target in the schema"
cmp -s "$TMP/st.meta" "$TMP/onnx.meta" ||
    fail "ONNX read back: other metadata: $(diff "$TMP/st.meta" "$TMP/onnx.meta")"

# train --out m.onnx exports with the tail too.
run "$BP" train --data "$TMP/h.csv" --epochs 2 --quiet --out "$TMP/t.onnx"
expect_rc 0 "train --out t.onnx"
run "$BP" info --model "$TMP/t.onnx"
has "Gemm Mul Add" "train --out t.onnx: the tail"

echo "ok: export_target"
