/*
 * export_c.c - a network as one dependency-free C99 source file: the
 * parameters and the input scaling as static const float arrays, and a
 * predict function for one sample.
 *
 * The generated code repeats the library's forward pass operation for
 * operation: the scaling (x - shift) * mul (each step left out when it is
 * the identity, which changes no bit), each layer's sums in input order in
 * blocks of 256 (the built-in blocked kernel's order) started from 0 and
 * then the bias, and the activations as src/nn/activation.c computes them
 * (the stable sigmoid, the softmax with its sum in double), and for a
 * standardized regression target y * scale + mean as `backprop predict`
 * computes it (in double, rounded once to float). Every float is printed
 * with nine significant digits and every double with seventeen, so each
 * reads back as the same value.
 * Only the activations the network uses are emitted, so the file compiles
 * cleanly with -Wall -Wextra -Werror.
 */
#include "io/file.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The block of products the library's blocked kernel sums at a time. */
#define SUM_BLOCK 256
#define MAX_NAME 64
#define PER_LINE 6

/* A float as a C literal that reads back as the same float: "1.5f",
 * "-0.0f", "1e-05f". */
static const char *literal(char *buf, size_t size, float v)
{
    snprintf(buf, size, "%.9g", (double)v);
    if (!strpbrk(buf, ".e"))
        strncat(buf, ".0", size - strlen(buf) - 1);
    strncat(buf, "f", size - strlen(buf) - 1);
    return buf;
}

static void array(FILE *f, const char *name, const char *shape, size_t n, const float *v)
{
    char num[48];
    fprintf(f, "static const float %s[%zu] = { /* %s */", name, n, shape);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s%s", i ? "," : "", i % PER_LINE ? " " : "\n    ",
                literal(num, sizeof num, v[i]));
    fprintf(f, "\n};\n\n");
}

static int valid_name(const char *s)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
        "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
        "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "main"};
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
                                    (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strcmp(s, keywords[k]) == 0)
            return 0;
    return 1;
}

/* The helpers the network needs, each once. */
static void helpers(FILE *f, const char *name, const unsigned *used)
{
    fprintf(f,
            "/* z (O) = W (O, I) x (I) + b: each sum in input order, in blocks of %d. */\n"
            "static void %s_dense(int O, int I, const float *w, const float *b, const float *x,\n"
            "                     float *z)\n"
            "{\n"
            "    for (int o = 0; o < O; o++) {\n"
            "        const float *row = w + (long)o * I;\n"
            "        float sum = 0.0f;\n"
            "        for (int k0 = 0; k0 < I; k0 += %d) {\n"
            "            int k1 = I - k0 < %d ? I : k0 + %d;\n"
            "            float acc = 0.0f;\n"
            "            for (int k = k0; k < k1; k++)\n"
            "                acc += x[k] * row[k];\n"
            "            sum += acc;\n"
            "        }\n"
            "        z[o] = b ? sum + b[o] : sum;\n"
            "    }\n"
            "}\n\n",
            SUM_BLOCK, name, SUM_BLOCK, SUM_BLOCK, SUM_BLOCK);
    if (used[BP_ACT_RELU])
        fprintf(f, "static void %s_relu(int n, float *v)\n{\n"
                   "    for (int i = 0; i < n; i++)\n"
                   "        v[i] = v[i] > 0.0f ? v[i] : 0.0f;\n}\n\n", name);
    if (used[BP_ACT_LEAKY_RELU])
        fprintf(f, "static void %s_leaky_relu(int n, float slope, float *v)\n{\n"
                   "    for (int i = 0; i < n; i++)\n"
                   "        v[i] = v[i] > 0.0f ? v[i] : slope * v[i];\n}\n\n", name);
    if (used[BP_ACT_SIGMOID])
        fprintf(f, "/* 1 / (1 + e^-z), without overflow for either sign. */\n"
                   "static void %s_sigmoid(int n, float *v)\n{\n"
                   "    for (int i = 0; i < n; i++) {\n"
                   "        if (v[i] >= 0.0f) {\n"
                   "            v[i] = 1.0f / (1.0f + expf(-v[i]));\n"
                   "        } else {\n"
                   "            float e = expf(v[i]);\n"
                   "            v[i] = e / (1.0f + e);\n"
                   "        }\n"
                   "    }\n}\n\n", name);
    if (used[BP_ACT_TANH])
        fprintf(f, "static void %s_tanh(int n, float *v)\n{\n"
                   "    for (int i = 0; i < n; i++)\n"
                   "        v[i] = tanhf(v[i]);\n}\n\n", name);
    if (used[BP_ACT_SOFTMAX])
        fprintf(f, "/* e^(z_k - max z) / sum_j e^(z_j - max z), the sum in double. */\n"
                   "static void %s_softmax(int n, float *v)\n{\n"
                   "    float m = v[0];\n"
                   "    double sum = 0.0;\n"
                   "    for (int k = 1; k < n; k++)\n"
                   "        m = v[k] > m ? v[k] : m;\n"
                   "    for (int k = 0; k < n; k++) {\n"
                   "        v[k] = expf(v[k] - m);\n"
                   "        sum += v[k];\n"
                   "    }\n"
                   "    float inv = (float)(1.0 / sum);\n"
                   "    for (int k = 0; k < n; k++)\n"
                   "        v[k] *= inv;\n}\n\n", name);
}

/* target: the target's scale and mean, or NULL. */
static void write_source(FILE *f, bp_net *net, const char *spec, const char *name,
                         const float *shift, const float *mul, const double *target)
{
    const float *p = bp_net_params(net);
    int I = bp_net_inputs(net), O = bp_net_outputs(net), L = bp_net_layers(net), maxw = I;
    unsigned used[BP_ACT_SOFTMAX + 1] = {0};
    char var[MAX_NAME + 32], bvar[MAX_NAME + 32], shape[64], num[48];
    for (int l = 0; l < L; l++) {
        const bp__layer *ly = bp__net_layer(net, l);
        used[ly->act] = 1;
        maxw = ly->O > maxw ? ly->O : maxw;
    }

    fprintf(f,
            "/*\n"
            " * A dense network exported by backprop %s as plain C99, with no\n"
            " * dependency beyond the C library's math functions (link with -lm).\n"
            " *\n"
            " *   network: %s\n"
            " *   void %s(const float *x, float *y);\n"
            " *     x: the %d raw inputs of one sample (the input scaling is applied here)\n"
            " *     y: receives the %d outputs%s\n"
            " *\n"
            " * Compiled without -ffast-math and without floating-point contraction (the\n"
            " * default of -std=c99), it repeats backprop's arithmetic step by step.\n"
            " */\n"
            "#include <math.h>\n\n"
            "void %s(const float *x, float *y);\n\n",
            bp_version(), spec, name, I, O,
            target ? ", in the target's units (y * scale + mean)" : "", name);
    if (shift) {
        snprintf(var, sizeof var, "%s_shift", name);
        snprintf(shape, sizeof shape, "(%d) input scaling: (x - shift) * mul", I);
        array(f, var, shape, (size_t)I, shift);
    }
    if (mul) {
        snprintf(var, sizeof var, "%s_mul", name);
        snprintf(shape, sizeof shape, "(%d) input scaling: (x - shift) * mul", I);
        array(f, var, shape, (size_t)I, mul);
    }
    for (int l = 0; l < L; l++) {
        const bp__layer *ly = bp__net_layer(net, l);
        snprintf(var, sizeof var, "%s_w%d", name, l);
        snprintf(shape, sizeof shape, "(%d, %d) layer %d weights", ly->O, ly->I, l);
        array(f, var, shape, (size_t)ly->O * (size_t)ly->I, p + ly->w_off);
        if (ly->bias) {
            snprintf(var, sizeof var, "%s_b%d", name, l);
            snprintf(shape, sizeof shape, "(%d) layer %d bias", ly->O, l);
            array(f, var, shape, (size_t)ly->O, p + ly->b_off);
        }
    }
    helpers(f, name, used);

    fprintf(f, "void %s(const float *x, float *y)\n{\n", name);
    if (L > 1)
        fprintf(f, "    float h[2][%d]; /* the hidden layers' values, in turn */\n", maxw);
    const char *in = "x";
    if (shift || mul) {
        fprintf(f, "    float s[%d]; /* (I) the scaled inputs */\n", I);
        fprintf(f, "    for (int j = 0; j < %d; j++)\n        s[j] = ", I);
        if (shift && mul)
            fprintf(f, "(x[j] - %s_shift[j]) * %s_mul[j];\n", name, name);
        else if (shift)
            fprintf(f, "x[j] - %s_shift[j];\n", name);
        else
            fprintf(f, "x[j] * %s_mul[j];\n", name);
        in = "s";
    }
    for (int l = 0; l < L; l++) {
        const bp__layer *ly = bp__net_layer(net, l);
        char out[16];
        if (l == L - 1)
            snprintf(out, sizeof out, "y");
        else
            snprintf(out, sizeof out, "h[%d]", l % 2);
        snprintf(var, sizeof var, "%s_w%d", name, l);
        if (ly->bias)
            snprintf(bvar, sizeof bvar, "%s_b%d", name, l);
        else
            snprintf(bvar, sizeof bvar, "0");
        fprintf(f, "    %s_dense(%d, %d, %s, %s, %s, %s); /* layer %d */\n", name, ly->O, ly->I,
                var, bvar, in, out, l);
        if (ly->act == BP_ACT_LEAKY_RELU)
            fprintf(f, "    %s_leaky_relu(%d, %s, %s);\n", name, ly->O,
                    literal(num, sizeof num, ly->slope), out);
        else if (ly->act != BP_ACT_IDENTITY)
            fprintf(f, "    %s_%s(%d, %s);\n", name, bp_act_name(ly->act), ly->O, out);
        in = l % 2 ? "h[1]" : "h[0]";
    }
    if (target)
        fprintf(f, "    for (int o = 0; o < %d; o++) /* the target's scale and mean */\n"
                   "        y[o] = (float)((double)y[o] * %.17g + %.17g);\n",
                O, target[0], target[1]);
    fprintf(f, "}\n");
}

int bp_export_c(const char *path, bp_net *net, const bp_meta *meta, const char *name,
                bp_error *err)
{
    bp__atomic a;
    char spec[8192];
    float *scale = NULL;
    const float *shift = NULL, *mul = NULL;
    double target[2];
    int rc, I, t_scaled;
    if (!path || !net)
        return bp__error_set(err, BP_EINVAL, "exporting a model needs a path and a network");
    if (!name)
        name = "predict";
    if (!valid_name(name))
        return bp__error_set(err, BP_EINVAL, "the function name '%s' is not a C identifier of "
                             "at most %d characters (nor a keyword)", name, MAX_NAME);
    if ((rc = bp__net_dense_only(net, "the C export", err)) != 0)
        return rc;
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec)
        return bp__error_set(err, BP_EINVAL, "the network spec is too long to export");
    {
        const float *p = bp_net_params(net);
        for (size_t k = 0; k < bp_net_param_count(net); k++)
            if (!isfinite(p[k]))
                return bp__error_set(err, BP_ENONFINITE,
                                     "%s: not exported: parameter %zu is not finite", path, k);
    }
    I = bp_net_inputs(net);
    if (!(scale = bp__calloc(2 * (size_t)I, sizeof *scale)))
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    if ((rc = bp_meta_get_scaling(meta, I, scale, scale + I, err)) < 0)
        goto done;
    if (rc == 0)
        for (int j = 0; j < I; j++) {
            if (scale[j] != 0.0f || signbit(scale[j]))
                shift = scale;
            if (scale[I + j] != 1.0f)
                mul = scale + I;
        }
    if ((rc = bp_meta_get_target_scaling(meta, target + 1, target, err)) < 0)
        goto done;
    t_scaled = rc == 0;
    if ((rc = bp__atomic_open(&a, path, err)) != 0)
        goto done;
    write_source(a.f, net, spec, name, shift, mul, t_scaled ? target : NULL);
    rc = bp__atomic_commit(&a, err);
done:
    bp__free(scale);
    return rc;
}
