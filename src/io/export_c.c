/*
 * export_c.c - a network as one dependency-free C99 source file: the
 * parameters and the input scaling as static const float arrays, and a
 * predict function for one sample that walks the layers in turn.
 *
 * Each layer kind is one entry in the table of emitters below: the
 * function it needs (written once, looping over the geometry its call
 * passes, so the file grows with the parameters, not with the products),
 * its arrays, and its call. The writer walks the table and never switches
 * on a kind. A kind without a call passes its input on unchanged (as
 * dropout does at inference); a kind with a fold hook may merge itself
 * into the layer before it (as batch norm folds into conv or dense
 * weights), which then writes a changed copy of its parameters. Each
 * layer's activation applies in place after its call, or to the values it
 * passed on when it has none.
 *
 * The generated code repeats the library's forward pass operation for
 * operation: the scaling (x - shift) * mul (each step left out when it is
 * the identity, which changes no bit), each dense output's and each conv
 * position's sum of products in the order of the library's column matrix
 * (input order; channel, kernel row, kernel column) in blocks of 256 (the
 * built-in blocked kernel's order) started from 0 and then the bias; the
 * pools as src/nn/pool.c computes them (a NaN wins a max window, as in
 * PyTorch); the activations as src/nn/activation.c computes them (the
 * stable sigmoid, the softmax with its sum in double); and for a
 * standardized regression target y * scale + mean as `backprop predict`
 * computes it (in double, rounded once to float). Every float is printed
 * with nine significant digits and every double with seventeen, so each
 * reads back as the same value. Only the functions the network uses are
 * emitted, so the file compiles cleanly with -Wall -Wextra -Werror.
 */
#include "io/file.h"
#include "internal.h"
#include "nn/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The block of products the library's blocked kernel sums at a time. */
#define SUM_BLOCK 256
#define MAX_NAME 64
#define PER_LINE 6
/* Scratch up to this many bytes stays on the stack by default; more is
 * static (the NAME_SCRATCH macro overrides either). */
#define STACK_SCRATCH (256 * 1024)

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

/* One layer as the file holds it. */
typedef struct emitter emitter;
typedef struct xlayer {
    const bp__layer *L;
    const emitter *e;   /* its kind's entry in the table */
    const float *w, *b; /* the weights and bias to write (the model's or owned); NULL: none */
    float *owned;       /* a changed copy of them made by a fold, freed with the file */
    int folded;         /* merged into the layer before: passes its input on */
} xlayer;

/* The file being written. */
typedef struct ctx {
    FILE *f;
    const char *name;
    xlayer *x; /* (n) the layers */
    int n;
    int fold;  /* let kinds with a fold hook merge into the layer before */
    const float *state; /* the network's state block: batch norm's running statistics */
} ctx;

/* What the file holds for a layer kind. */
struct emitter {
    bp_layer_kind id;
    /* The kind's function, written once when a layer of the kind has code. */
    void (*helper)(FILE *f, const char *name);
    /* Layer l's static const arrays; NULL: none. */
    void (*arrays)(const ctx *c, int l);
    /* The statement in predict computing layer l's L->O values into out
     * from its L->I values in. NULL: the identity at inference. */
    void (*call)(const ctx *c, int l, const char *in, const char *out);
    /* Merge layer l (l >= 1) into layer l - 1 where it can: give x[l - 1]
     * an owned copy of its parameters with layer l applied, and set
     * x[l].folded. 0 or a negative BP_E* code; NULL: the kind never folds. */
    int (*fold)(ctx *c, int l, bp_error *err);
};

/* ---- the parameters ---------------------------------------------------- */

/* Weights in the shape PyTorch's module holds them, then the bias. */
static void param_arrays(const ctx *c, int l)
{
    const xlayer *X = &c->x[l];
    const bp__layer *L = X->L;
    char var[MAX_NAME + 32], shape[128];
    size_t at = (size_t)snprintf(shape, sizeof shape, "(");
    for (int d = 0; d < L->w_rank && at < sizeof shape; d++)
        at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%zu", d ? ", " : "",
                               L->w_dims[d]);
    if (at < sizeof shape)
        snprintf(shape + at, sizeof shape - at, ") layer %d weights", l);
    snprintf(var, sizeof var, "%s_w%d", c->name, l);
    array(c->f, var, shape, L->n_w, X->w);
    if (X->b) {
        snprintf(var, sizeof var, "%s_b%d", c->name, l);
        snprintf(shape, sizeof shape, "(%d) layer %d bias", L->out.c, l);
        array(c->f, var, shape, (size_t)L->out.c, X->b);
    }
}

/* The names of layer l's arrays, "0" for a missing bias. */
static void param_names(const ctx *c, int l, char *w, char *b, size_t size)
{
    snprintf(w, size, "%s_w%d", c->name, l);
    if (c->x[l].b)
        snprintf(b, size, "%s_b%d", c->name, l);
    else
        snprintf(b, size, "0");
}

/* ---- dense ------------------------------------------------------------- */

static void dense_helper(FILE *f, const char *name)
{
    fprintf(f,
            "/* z (outs) = w (outs, ins) x (ins) + b: each sum in input order, in blocks\n"
            " * of %d. */\n"
            "static void %s_dense(int outs, int ins, const float *w, const float *b,\n"
            "    const float *x, float *z)\n"
            "{\n"
            "    for (int o = 0; o < outs; o++) {\n"
            "        const float *row = w + (long)o * ins;\n"
            "        float sum = 0.0f;\n"
            "        for (int k0 = 0; k0 < ins; k0 += %d) {\n"
            "            int k1 = ins - k0 < %d ? ins : k0 + %d;\n"
            "            float acc = 0.0f;\n"
            "            for (int k = k0; k < k1; k++)\n"
            "                acc += x[k] * row[k];\n"
            "            sum += acc;\n"
            "        }\n"
            "        z[o] = b ? sum + b[o] : sum;\n"
            "    }\n"
            "}\n\n",
            SUM_BLOCK, name, SUM_BLOCK, SUM_BLOCK, SUM_BLOCK);
}

static void dense_call(const ctx *c, int l, const char *in, const char *out)
{
    const bp__layer *L = c->x[l].L;
    char w[MAX_NAME + 32], b[MAX_NAME + 32];
    param_names(c, l, w, b, sizeof w);
    fprintf(c->f, "    %s_dense(%d, %d, %s, %s, %s, %s); /* layer %d */\n", c->name, L->O, L->I,
            w, b, in, out, l);
}

/* ---- conv -------------------------------------------------------------- */

/* Products falling on the padding are left out: each adds a zero, which
 * changes no bit of a sum started from +0. A block of the sum is flushed
 * before its first real product, which gives the same sum as flushing at
 * its start. */
static void conv_helper(FILE *f, const char *name)
{
    fprintf(f,
            "/* z (filters, out_h, out_w) = the cross-correlation of x (channels, height,\n"
            " * width), padded with pad zeros on each side, with w (filters, channels, ksize,\n"
            " * ksize) at stride, + b (filters): each sum in the order (channel, kernel row,\n"
            " * kernel column), in blocks of %d of that order. */\n"
            "static void %s_conv(int channels, int height, int width, int ksize, int stride,\n"
            "    int pad, int filters, int out_h, int out_w, const float *w, const float *b,\n"
            "    const float *x, float *z)\n"
            "{\n"
            "    for (int o = 0; o < filters; o++) {\n"
            "        const float *filt = w + (long)o * channels * ksize * ksize;\n"
            "        for (int y = 0; y < out_h; y++) {\n"
            "            int iy = y * stride - pad, ky0 = iy < 0 ? -iy : 0;\n"
            "            int ky1 = height - iy < ksize ? height - iy : ksize;\n"
            "            for (int xo = 0; xo < out_w; xo++) {\n"
            "                int ix = xo * stride - pad, kx0 = ix < 0 ? -ix : 0;\n"
            "                int kx1 = width - ix < ksize ? width - ix : ksize, next = %d;\n"
            "                float sum = 0.0f, acc = 0.0f;\n"
            "                for (int c = 0; c < channels; c++)\n"
            "                    for (int ky = ky0; ky < ky1; ky++) {\n"
            "                        const float *xr =\n"
            "                            x + ((long)c * height + iy + ky) * width + ix;\n"
            "                        const float *wr = filt + ((long)c * ksize + ky) * ksize;\n"
            "                        int at = (c * ksize + ky) * ksize; /* wr's place in filt */\n"
            "                        for (int kx = kx0; kx < kx1; kx++) {\n"
            "                            if (at + kx >= next) {\n"
            "                                sum += acc;\n"
            "                                acc = 0.0f;\n"
            "                                next = (at + kx) / %d * %d + %d;\n"
            "                            }\n"
            "                            acc += xr[kx] * wr[kx];\n"
            "                        }\n"
            "                    }\n"
            "                sum += acc;\n"
            "                z[((long)o * out_h + y) * out_w + xo] = b ? sum + b[o] : sum;\n"
            "            }\n"
            "        }\n"
            "    }\n"
            "}\n\n",
            SUM_BLOCK, name, SUM_BLOCK, SUM_BLOCK, SUM_BLOCK, SUM_BLOCK);
}

static void conv_call(const ctx *c, int l, const char *in, const char *out)
{
    const bp__layer *L = c->x[l].L;
    char w[MAX_NAME + 32], b[MAX_NAME + 32];
    param_names(c, l, w, b, sizeof w);
    fprintf(c->f,
            "    %s_conv(%d, %d, %d, %d, %d, %d, %d, %d, %d, %s, %s, %s, %s); /* layer %d */\n",
            c->name, L->in.c, L->in.h, L->in.w, L->k, L->stride, L->pad, L->out.c, L->out.h,
            L->out.w, w, b, in, out, l);
}

/* ---- pools ------------------------------------------------------------- */

static void maxpool_helper(FILE *f, const char *name)
{
    fprintf(f,
            "/* z (channels, out_h, out_w): the largest value of each ksize x ksize window\n"
            " * of x (channels, height, width) at stride; a value replaces the window's\n"
            " * maximum when larger or NaN. */\n"
            "static void %s_maxpool(int channels, int height, int width, int ksize,\n"
            "    int stride, int out_h, int out_w, const float *x, float *z)\n"
            "{\n"
            "    for (int c = 0; c < channels; c++)\n"
            "        for (int y = 0; y < out_h; y++)\n"
            "            for (int xo = 0; xo < out_w; xo++) {\n"
            "                const float *r = x + ((long)c * height + (long)y * stride) * width +\n"
            "                                 (long)xo * stride;\n"
            "                float m = r[0];\n"
            "                for (int ky = 0; ky < ksize; ky++)\n"
            "                    for (int kx = 0; kx < ksize; kx++) {\n"
            "                        float v = r[(long)ky * width + kx];\n"
            "                        if (v > m || isnan(v))\n"
            "                            m = v;\n"
            "                    }\n"
            "                *z++ = m;\n"
            "            }\n"
            "}\n\n",
            name);
}

static void avgpool_helper(FILE *f, const char *name)
{
    fprintf(f,
            "/* z (channels, out_h, out_w): the mean of each ksize x ksize window of x\n"
            " * (channels, height, width) at stride, summed in row order, then divided by\n"
            " * ksize * ksize. */\n"
            "static void %s_avgpool(int channels, int height, int width, int ksize,\n"
            "    int stride, int out_h, int out_w, const float *x, float *z)\n"
            "{\n"
            "    float n = (float)ksize * (float)ksize;\n"
            "    for (int c = 0; c < channels; c++)\n"
            "        for (int y = 0; y < out_h; y++)\n"
            "            for (int xo = 0; xo < out_w; xo++) {\n"
            "                const float *r = x + ((long)c * height + (long)y * stride) * width +\n"
            "                                 (long)xo * stride;\n"
            "                float s = 0.0f;\n"
            "                for (int ky = 0; ky < ksize; ky++)\n"
            "                    for (int kx = 0; kx < ksize; kx++)\n"
            "                        s += r[(long)ky * width + kx];\n"
            "                *z++ = s / n;\n"
            "            }\n"
            "}\n\n",
            name);
}

static void pool_call(const ctx *c, int l, const char *in, const char *out, const char *word)
{
    const bp__layer *L = c->x[l].L;
    fprintf(c->f, "    %s_%s(%d, %d, %d, %d, %d, %d, %d, %s, %s); /* layer %d */\n", c->name, word,
            L->in.c, L->in.h, L->in.w, L->k, L->stride, L->out.h, L->out.w, in, out, l);
}

static void maxpool_call(const ctx *c, int l, const char *in, const char *out)
{
    pool_call(c, l, in, out, "maxpool");
}

static void avgpool_call(const ctx *c, int l, const char *in, const char *out)
{
    pool_call(c, l, in, out, "avgpool");
}

/* ---- batchnorm --------------------------------------------------------- */

/* The running mean and variance beside the weight and bias. */
static void bn_arrays(const ctx *c, int l)
{
    const bp__layer *L = c->x[l].L;
    char var[MAX_NAME + 32], shape[96];
    param_arrays(c, l);
    snprintf(var, sizeof var, "%s_m%d", c->name, l);
    snprintf(shape, sizeof shape, "(%zu) layer %d running mean", L->n_w, l);
    array(c->f, var, shape, L->n_w, c->state + L->s_off);
    snprintf(var, sizeof var, "%s_v%d", c->name, l);
    snprintf(shape, sizeof shape, "(%zu) layer %d running variance", L->n_w, l);
    array(c->f, var, shape, L->n_w, c->state + L->s_off + L->n_w);
}

static void bn_helper(FILE *f, const char *name)
{
    fprintf(f,
            "/* z (channels, positions) = w (x - mean) / sqrt(var + eps) + b per channel,\n"
            " * the normalization in double, rounded once to float. */\n"
            "static void %s_batchnorm(int channels, int positions, double eps, const float *w,\n"
            "    const float *b, const float *mean, const float *var, const float *x, float *z)\n"
            "{\n"
            "    for (int c = 0; c < channels; c++) {\n"
            "        double inv = 1.0 / sqrt((double)var[c] + eps);\n"
            "        for (int s = 0; s < positions; s++) {\n"
            "            long at = (long)c * positions + s;\n"
            "            float xh = (float)(((double)x[at] - (double)mean[c]) * inv);\n"
            "            z[at] = w[c] * xh + b[c];\n"
            "        }\n"
            "    }\n"
            "}\n\n",
            name);
}

static void bn_call(const ctx *c, int l, const char *in, const char *out)
{
    const bp__layer *L = c->x[l].L;
    fprintf(c->f, "    %s_batchnorm(%zu, %d, %.17g, %s_w%d, %s_b%d, %s_m%d, %s_v%d, %s, %s); "
                  "/* layer %d */\n",
            c->name, L->n_w, L->in.h ? L->in.h * L->in.w : 1, L->eps, c->name, l, c->name, l,
            c->name, l, c->name, l, in, out, l);
}

/* Batch norm into the conv or dense layer before it, when that layer has
 * no activation and no fold of its own: each output channel's weights
 * times s = w / sqrt(var + eps), its bias (b - mean) s + beta, in double
 * and rounded once, so the result differs from the pass by rounding. */
static int bn_fold(ctx *c, int l, bp_error *err)
{
    xlayer *P = &c->x[l - 1];
    const bp__layer *L = c->x[l].L, *Q = P->L;
    const float *g = c->x[l].w, *be = c->x[l].b, *mean = c->state + L->s_off,
                *var = mean + L->n_w;
    const size_t C = L->n_w;
    if ((Q->kind->id != BP_LAYER_DENSE && Q->kind->id != BP_LAYER_CONV) ||
        Q->act != BP_ACT_IDENTITY || P->folded || P->owned || !P->w || (size_t)Q->out.c != C)
        return 0;
    const size_t per = Q->n_w / C;
    float *o = bp__calloc(Q->n_w + C, sizeof *o);
    if (!o)
        return bp__error_set(err, BP_ENOMEM, "out of memory folding layer %d's batch norm",
                             l + 1);
    for (size_t ch = 0; ch < C; ch++) {
        const double sc = (double)g[ch] / sqrt((double)var[ch] + L->eps);
        for (size_t j = 0; j < per; j++)
            o[ch * per + j] = (float)((double)P->w[ch * per + j] * sc);
        o[Q->n_w + ch] =
            (float)(((P->b ? (double)P->b[ch] : 0.0) - (double)mean[ch]) * sc + (double)be[ch]);
    }
    P->owned = o;
    P->w = o;
    P->b = o + Q->n_w;
    c->x[l].folded = 1;
    return 0;
}

/* ---- the table --------------------------------------------------------- */

static const emitter EMITTERS[] = {
    {BP_LAYER_DENSE, dense_helper, param_arrays, dense_call, NULL},
    {BP_LAYER_CONV, conv_helper, param_arrays, conv_call, NULL},
    {BP_LAYER_MAXPOOL, maxpool_helper, NULL, maxpool_call, NULL},
    {BP_LAYER_AVGPOOL, avgpool_helper, NULL, avgpool_call, NULL},
    {BP_LAYER_BATCHNORM, bn_helper, bn_arrays, bn_call, bn_fold},
    {BP_LAYER_ACT, NULL, NULL, NULL, NULL},     /* the activation alone, applied in place */
    {BP_LAYER_DROPOUT, NULL, NULL, NULL, NULL}, /* the identity at inference */
};
#define N_EMITTERS (int)(sizeof EMITTERS / sizeof EMITTERS[0])

/* The entry of a kind; NULL when the kind has no C form. */
static const emitter *find_emitter(bp_layer_kind id)
{
    for (int k = 0; k < N_EMITTERS; k++)
        if (EMITTERS[k].id == id)
            return &EMITTERS[k];
    return NULL;
}

static const emitter *emitter_of(const ctx *c, int l)
{
    return c->x[l].e;
}

/* Whether layer l computes new values (into a buffer of its own). */
static int writes(const ctx *c, int l)
{
    return emitter_of(c, l)->call && !c->x[l].folded;
}

/* ---- activations ------------------------------------------------------- */

/* The activation functions the network uses, each once. */
static void act_helpers(FILE *f, const char *name, const unsigned *used)
{
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
                   "        sum += (double)v[k];\n"
                   "    }\n"
                   "    float inv = (float)(1.0 / sum);\n"
                   "    for (int k = 0; k < n; k++)\n"
                   "        v[k] *= inv;\n}\n\n", name);
}

/* Layer L's activation over its L->O values in v, in place. */
static void act_call(const ctx *c, const bp__layer *L, const char *v)
{
    char num[48];
    if (L->act == BP_ACT_LEAKY_RELU)
        fprintf(c->f, "    %s_leaky_relu(%d, %s, %s);\n", c->name, L->O,
                literal(num, sizeof num, L->slope), v);
    else if (L->act != BP_ACT_IDENTITY)
        fprintf(c->f, "    %s_%s(%d, %s);\n", c->name, bp_act_name(L->act), L->O, v);
}

/* ---- predict ----------------------------------------------------------- */

/* The buffers predict's values pass through: the raw input (read only),
 * the scaled input, the two scratch rows in turn, the output. */
enum { BUF_X, BUF_S, BUF_H0, BUF_H1, BUF_Y };
static const char *const BUF[] = {"x", "s", "h[0]", "h[1]", "y"};

static void copy_call(const ctx *c, int n, int from, int to)
{
    fprintf(c->f, "    for (int j = 0; j < %d; j++)\n        %s[j] = %s[j];\n", n, BUF[to],
            BUF[from]);
}

/* The layers' statements from the buffer `from` into y, each layer that
 * writes going to the scratch row its input is not in, the last one to y;
 * an activation of a layer without code applies in place, after a copy
 * when the values are still the caller's x. Written when emit, else only
 * measured: returns the floats each scratch row needs (0: no scratch). */
static int walk(const ctx *c, int from, int emit)
{
    int cur = from, last = -1, need = 0;
    for (int l = 0; l < c->n; l++)
        if (writes(c, l))
            last = l;
    if (last < 0) {
        if (emit)
            copy_call(c, c->x[0].L->I, cur, BUF_Y);
        cur = BUF_Y;
    }
    for (int l = 0; l < c->n; l++) {
        const bp__layer *L = c->x[l].L;
        if (writes(c, l)) {
            const int out = l == last ? BUF_Y : cur == BUF_H0 ? BUF_H1 : BUF_H0;
            if (out != BUF_Y)
                need = L->O > need ? L->O : need;
            if (emit)
                emitter_of(c, l)->call(c, l, BUF[cur], BUF[out]);
            cur = out;
        } else if (L->act != BP_ACT_IDENTITY && cur == BUF_X) {
            need = L->I > need ? L->I : need;
            if (emit)
                copy_call(c, L->I, cur, BUF_H0);
            cur = BUF_H0;
        }
        if (emit)
            act_call(c, L, BUF[cur]);
    }
    return need;
}

/* An input scaling array, or one constant when every value is the same;
 * the index to read it with ("[j]" or ""). */
static const char *scale_array(const ctx *c, const char *what, int I, const float *v)
{
    char var[MAX_NAME + 32], shape[96], num[48];
    int same = 1;
    for (int j = 1; j < I && same; j++)
        same = memcmp(&v[j], &v[0], sizeof *v) == 0;
    snprintf(var, sizeof var, "%s_%s", c->name, what);
    if (same && I > 1) {
        fprintf(c->f, "static const float %s = %s; /* every input's: (x - shift) * mul */\n\n",
                var, literal(num, sizeof num, v[0]));
        return "";
    }
    snprintf(shape, sizeof shape, "(%d) input scaling: (x - shift) * mul", I);
    array(c->f, var, shape, (size_t)I, v);
    return "[j]";
}

/* target: the target's scale and mean, or NULL. */
static void write_source(const ctx *c, const bp_net *net, const char *spec, const float *shift,
                         const float *mul, const double *target)
{
    FILE *f = c->f;
    const char *name = c->name, *ishift = "", *imul = "";
    const int I = bp_net_inputs(net), O = bp_net_outputs(net);
    const bp_shape is = bp_net_input_shape(net);
    const int from = shift || mul ? BUF_S : BUF_X, need = walk(c, from, 0);
    const size_t bytes = (2 * (size_t)need + (from == BUF_S ? (size_t)I : 0)) * sizeof(float);
    unsigned used_act[BP_ACT_SOFTMAX + 1] = {0};
    unsigned char used_kind[N_EMITTERS] = {0};
    char layout[96] = "";
    for (int l = 0; l < c->n; l++) {
        const bp__layer *L = c->x[l].L;
        if ((int)L->act >= 0 && L->act <= BP_ACT_SOFTMAX)
            used_act[L->act] = 1;
        if (writes(c, l))
            used_kind[c->x[l].e - EMITTERS] = 1;
    }
    if (is.h > 0)
        snprintf(layout, sizeof layout, " (%dx%dx%d: channel by channel, each row by row)", is.c,
                 is.h, is.w);

    fprintf(f,
            "/*\n"
            " * A network exported by backprop %s as plain C99, with no\n"
            " * dependency beyond the C library's math functions (link with -lm).\n"
            " *\n"
            " *   network: %s\n"
            " *   void %s(const float *x, float *y);\n"
            " *     x: the %d raw inputs of one sample%s\n"
            " *        (the input scaling is applied here)\n"
            " *     y: receives the %d outputs%s\n"
            " *\n",
            bp_version(), spec, name, I, layout, O,
            target ? ", in the target's units (y * scale + mean)" : "");
    if (bytes)
        fprintf(f,
                " * Its scratch, %zu bytes, is %s by default; compile with\n"
                " * -D%s_SCRATCH=static to keep it off the stack (then one call at a time),\n"
                " * or with -D%s_SCRATCH= to put it on the stack.\n"
                " *\n",
                bytes, bytes > STACK_SCRATCH ? "static (one call at a time)" : "on the stack",
                name, name);
    fprintf(f,
            " * Compiled without -ffast-math and without floating-point contraction (the\n"
            " * default of -std=c99), it repeats backprop's arithmetic step by step.\n"
            " */\n"
            "#include <math.h>\n\n"
            "void %s(const float *x, float *y);\n\n",
            name);
    if (bytes)
        fprintf(f, "#ifndef %s_SCRATCH\n#define %s_SCRATCH%s\n#endif\n\n", name, name,
                bytes > STACK_SCRATCH ? " static" : "");
    if (shift)
        ishift = scale_array(c, "shift", I, shift);
    if (mul)
        imul = scale_array(c, "mul", I, mul);
    for (int l = 0; l < c->n; l++)
        if (!c->x[l].folded && emitter_of(c, l)->arrays)
            emitter_of(c, l)->arrays(c, l);
    for (int k = 0; k < N_EMITTERS; k++)
        if (used_kind[k] && EMITTERS[k].helper)
            EMITTERS[k].helper(f, name);
    act_helpers(f, name, used_act);

    fprintf(f, "void %s(const float *x, float *y)\n{\n", name);
    if (need)
        fprintf(f, "    %s_SCRATCH float h[2][%d]; /* the layers' values, in turn */\n", name,
                need);
    if (from == BUF_S) {
        fprintf(f, "    %s_SCRATCH float s[%d]; /* (I) the scaled inputs */\n", name, I);
        fprintf(f, "    for (int j = 0; j < %d; j++)\n        s[j] = ", I);
        if (shift && mul)
            fprintf(f, "(x[j] - %s_shift%s) * %s_mul%s;\n", name, ishift, name, imul);
        else if (shift)
            fprintf(f, "x[j] - %s_shift%s;\n", name, ishift);
        else
            fprintf(f, "x[j] * %s_mul%s;\n", name, imul);
    }
    walk(c, from, 1);
    if (target)
        fprintf(f, "    for (int o = 0; o < %d; o++) /* the target's scale and mean */\n"
                   "        y[o] = (float)((double)y[o] * %.17g + %.17g);\n",
                O, target[0], target[1]);
    fprintf(f, "}\n");
}

void bp_export_c_opts_defaults(bp_export_c_opts *o)
{
    memset(o, 0, sizeof *o);
    o->name = "predict";
    o->fold_bn = 1;
}

int bp_export_c(const char *path, bp_net *net, const bp_meta *meta, const char *name,
                bp_error *err)
{
    bp_export_c_opts o;
    bp_export_c_opts_defaults(&o);
    o.name = name;
    return bp_export_c_with(path, net, meta, &o, err);
}

int bp_export_c_with(const char *path, bp_net *net, const bp_meta *meta,
                     const bp_export_c_opts *opts, bp_error *err)
{
    bp__atomic a;
    ctx c = {NULL, NULL, NULL, 0, 1, NULL};
    const char *name = opts ? opts->name : NULL;
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
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec)
        return bp__error_set(err, BP_EINVAL, "the network spec is too long to export");
    for (int l = 0; l < bp_net_layers(net); l++)
        if (!find_emitter(bp__net_layer(net, l)->kind->id)) {
            char entry[96];
            bp_net_layer_spec(net, l, entry, sizeof entry);
            return bp__error_set(err, BP_EINVAL, "the C export cannot write layer %d (%s): "
                                 "its kind has no C form yet", l + 1, entry);
        }
    {
        const float *p = bp_net_params(net);
        for (size_t k = 0; k < bp_net_param_count(net); k++)
            if (!isfinite(p[k]))
                return bp__error_set(err, BP_ENONFINITE,
                                     "%s: not exported: parameter %zu is not finite", path, k);
    }
    c.name = name;
    c.fold = opts ? opts->fold_bn != 0 : 1;
    c.state = bp_net_state(net);
    c.n = bp_net_layers(net);
    if (!(c.x = bp__calloc((size_t)c.n, sizeof *c.x)))
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    for (int l = 0; l < c.n; l++) {
        const bp__layer *L = bp__net_layer(net, l);
        c.x[l].L = L;
        c.x[l].e = find_emitter(L->kind->id);
        c.x[l].w = L->n_w ? bp_net_params(net) + L->w_off : NULL;
        c.x[l].b = L->n_b ? bp_net_params(net) + L->b_off : NULL;
    }
    /* Each layer that can merges into the one before (batch norm into its
     * conv or dense layer), so that predict has one pass less to make. */
    for (int l = 1; l < c.n && c.fold; l++)
        if (emitter_of(&c, l)->fold && (rc = emitter_of(&c, l)->fold(&c, l, err)) != 0)
            goto done;
    I = bp_net_inputs(net);
    if (!(scale = bp__calloc(2 * (size_t)I, sizeof *scale))) {
        rc = bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
        goto done;
    }
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
    c.f = a.f;
    write_source(&c, net, spec, shift, mul, t_scaled ? target : NULL);
    rc = bp__atomic_commit(&a, err);
done:
    for (int l = 0; l < c.n && c.x; l++)
        bp__free(c.x[l].owned);
    bp__free(c.x);
    bp__free(scale);
    return rc;
}
