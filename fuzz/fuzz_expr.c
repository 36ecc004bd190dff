/*
 * fuzz_expr.c - the CLI's expression parser (cli/expr.c). The first byte
 * picks the number of variables (1 to 4), the rest is the expression. A
 * parsed expression is evaluated with its gradient at a fixed point; the
 * value must equal the one expr_value gives (bit for bit, or both NaN).
 */
#include "fuzz.h"

#include "expr.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const double x[4] = {0.5, -1.25, 2.0, 3.0};
    double grad[4], v, g;
    char msg[256];
    char *text;
    expr *e;
    int n;

    if (size == 0)
        return 0;
    n = 1 + data[0] % 4;
    text = fuzz_text(data + 1, size - 1);
    if (!text)
        return 0;
    msg[0] = '\0';
    e = expr_parse(text, n, msg, sizeof msg);
    if (!e) {
        if (msg[0] == '\0')
            fuzz_fail("an error without a message");
    } else {
        v = expr_value(e, x);
        g = expr_gradient(e, x, grad);
        if (!(v == g || (v != v && g != g)))
            fuzz_fail("expr_value and expr_gradient disagree on the value");
        expr_free(e);
    }
    free(text);
    return 0;
}
