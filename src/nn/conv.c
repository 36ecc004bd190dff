/*
 * conv.c - the convolution layer kind: OUT filters of K x K over all C input
 * channels, cross-correlation as PyTorch's Conv2d, zeros padded on each
 * side, weights [OUT, C, K, K] row-major then an optional bias [OUT].
 *
 * The float passes take oneDNN's convolution primitives where the build
 * has oneDNN, it loads and the rule in conv_passes picks them (made by the
 * prepare hook, nn/conv_dnnl.c). Otherwise, the built-in path: the forward
 * pass unfolds each sample's input into its column matrix (C*K*K,
 * Hout*Wout) and keeps it in scratch, so the weight slopes are one product
 * per sample and backward never unfolds again; the input's slope is the
 * column slope folded back. Every pass works sample by sample in a fixed
 * order, so a block's bits never depend on how the batch was split. The
 * double twins are the direct loops, the reference that gradient checks
 * differentiate.
 */
#include "nn/conv.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The layer's sizes as ints, all checked to fit by plan. */
typedef struct geom {
    int C, H, W, OUT, Ho, Wo, K, S, P;
    int HW;  /* Ho * Wo, output positions */
    int CKK; /* C * K * K, a filter's weights, a column's length */
} geom;

static geom geom_of(const bp__layer *L)
{
    geom g;
    g.C = L->in.c;
    g.H = L->in.h;
    g.W = L->in.w;
    g.OUT = L->out.c;
    g.Ho = L->out.h;
    g.Wo = L->out.w;
    g.K = L->k;
    g.S = L->stride;
    g.P = L->pad;
    g.HW = g.Ho * g.Wo;
    g.CKK = g.C * g.K * g.K;
    return g;
}

static int too_large(char *msg, size_t size)
{
    bp__format(msg, size, "is too large: its sizes overflow");
    return -1;
}

static int conv_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    const bp_shape in = L->in;
    long long K = d->kernel, S = d->stride ? d->stride : 1, P = d->pad;
    size_t n_w, cols, outs, I, macs;
    if (bp__window_args(in, K, S, msg, size) != 0)
        return -1;
    if (d->width <= 0) {
        bp__format(msg, size, "needs at least 1 filter, gets %d", d->width);
        return -1;
    }
    if (P < BP_PAD_SAME) {
        bp__format(msg, size, "needs a padding of at least 0 (or same), gets %lld", P);
        return -1;
    }
    if (P == BP_PAD_SAME) {
        if (K % 2 == 0) {
            bp__format(msg, size, "cannot pad the same with an even kernel (%lld)", K);
            return -1;
        }
        P = (K - 1) / 2;
    }
    if (bp__window_fits(in, K, P, msg, size) != 0)
        return -1;
    const long long Hp = in.h + 2 * P, Wp = in.w + 2 * P;
    const long long Ho = (Hp - K) / S + 1, Wo = (Wp - K) / S + 1;
    /* Every size an int holds: the shapes, a column's length, the output
     * positions, a sample's input and output. */
    if (K > INT_MAX || P > INT_MAX || Ho > INT_MAX || Wo > INT_MAX ||
        bp__mul_size((size_t)K * (size_t)K, (size_t)in.c, &cols) || cols > INT_MAX ||
        bp__mul_size((size_t)Ho, (size_t)Wo, &outs) || outs > INT_MAX ||
        bp__mul_size(outs, (size_t)d->width, &outs) || outs > INT_MAX ||
        bp__mul_size((size_t)in.h * (size_t)in.w, (size_t)in.c, &I) || I > INT_MAX ||
        bp__mul_size((size_t)Ho * (size_t)Wo, cols, &L->scratch) ||
        bp__mul_size((size_t)Ho * (size_t)Wo, cols, &L->work) ||
        bp__mul_size(outs, cols, &macs))
        return too_large(msg, size);
    /* Weights and bias, and the gradient block beside them, must fit. */
    if (bp__mul_size(cols, (size_t)d->width, &n_w) || n_w > SIZE_MAX / (4 * sizeof(float))) {
        bp__format(msg, size, "has too many parameters: %d filters of %zu weights", d->width,
                   cols);
        return -1;
    }
    L->out.c = d->width;
    L->out.h = (int)Ho;
    L->out.w = (int)Wo;
    L->I = (int)I;
    L->O = (int)outs;
    L->k = (int)K;
    L->stride = (int)S;
    L->pad = (int)P;
    L->bias = d->bias != 0;
    L->n_w = n_w;
    L->n_b = d->bias ? (size_t)d->width : 0;
    L->w_rank = 4;
    L->w_dims[0] = (size_t)d->width;
    L->w_dims[1] = (size_t)in.c;
    L->w_dims[2] = (size_t)K;
    L->w_dims[3] = (size_t)K;
    L->fan_in = (double)in.c * (double)K * (double)K;
    L->fan_out = (double)d->width * (double)K * (double)K;
    L->macs = (double)macs;
    return 0;
}

/* The output columns [*x0, *x1) whose window puts column kx on a real
 * input, not on padding. */
static void real_columns(const geom *g, int kx, int *x0, int *x1)
{
    int a = 0, b = g->Wo;
    while (a < b && a * g->S - g->P + kx < 0)
        a++;
    while (b > a && (b - 1) * g->S - g->P + kx >= g->W)
        b--;
    *x0 = a;
    *x1 = b;
}

/* One sample's column matrix col (CKK, HW) from its input x (C, H, W): row
 * (c, ky, kx) holds, for every output position, the input under that
 * weight, zeros where it covers padding. A row is a run of whole output
 * rows, each a strided (at stride 1, contiguous) copy of one input row. */
static void im2col(const geom *g, const float *x, float *col)
{
    for (int c = 0; c < g->C; c++) {
        const float *plane = x + (size_t)c * (size_t)g->H * (size_t)g->W;
        for (int ky = 0; ky < g->K; ky++)
            for (int kx = 0; kx < g->K; kx++) {
                float *r = col + ((size_t)(c * g->K + ky) * (size_t)g->K + (size_t)kx) *
                                     (size_t)g->HW;
                int x0, x1;
                real_columns(g, kx, &x0, &x1);
                for (int y = 0; y < g->Ho; y++, r += g->Wo) {
                    const int iy = y * g->S - g->P + ky;
                    if (iy < 0 || iy >= g->H) {
                        memset(r, 0, (size_t)g->Wo * sizeof *r);
                        continue;
                    }
                    const float *src = plane + (size_t)iy * (size_t)g->W + (kx - g->P);
                    for (int xo = 0; xo < x0; xo++)
                        r[xo] = 0.0f;
                    if (g->S == 1)
                        memcpy(r + x0, src + x0, (size_t)(x1 - x0) * sizeof *r);
                    else
                        for (int xo = x0; xo < x1; xo++)
                            r[xo] = src[(size_t)xo * (size_t)g->S];
                    for (int xo = x1; xo < g->Wo; xo++)
                        r[xo] = 0.0f;
                }
            }
    }
}

/* The reverse: add the column slope dcol (CKK, HW) onto the input slope dx
 * (C, H, W), row by row in the order im2col wrote them. */
static void col2im(const geom *g, const float *dcol, float *dx)
{
    for (int c = 0; c < g->C; c++) {
        float *plane = dx + (size_t)c * (size_t)g->H * (size_t)g->W;
        for (int ky = 0; ky < g->K; ky++)
            for (int kx = 0; kx < g->K; kx++) {
                const float *r = dcol + ((size_t)(c * g->K + ky) * (size_t)g->K + (size_t)kx) *
                                            (size_t)g->HW;
                int x0, x1;
                real_columns(g, kx, &x0, &x1);
                for (int y = 0; y < g->Ho; y++, r += g->Wo) {
                    const int iy = y * g->S - g->P + ky;
                    if (iy < 0 || iy >= g->H)
                        continue;
                    float *dst = plane + (size_t)iy * (size_t)g->W + (kx - g->P);
                    if (g->S == 1)
                        for (int xo = x0; xo < x1; xo++)
                            dst[xo] += r[xo];
                    else
                        for (int xo = x0; xo < x1; xo++)
                            dst[(size_t)xo * (size_t)g->S] += r[xo];
                }
            }
    }
}

/* Filters [u0, u1)' slopes dw (u1 - u0, CKK) by direct loops, sample by
 * sample: the fallback when oneDNN fails at run time and the forward pass
 * kept no columns. */
static void direct_grad_weights(const geom *g, int u0, int u1, int B, int I, int O,
                                const float *in, const float *dz, float *dw, int fresh)
{
    if (fresh)
        memset(dw, 0, (size_t)(u1 - u0) * (size_t)g->CKK * sizeof *dw);
    for (int b = 0; b < B; b++)
        for (int o = u0; o < u1; o++)
            for (int c = 0; c < g->C; c++)
                for (int ky = 0; ky < g->K; ky++)
                    for (int kx = 0; kx < g->K; kx++) {
                        const float *x = in + (size_t)b * (size_t)I + (size_t)c * g->H * g->W;
                        const float *d = dz + (size_t)b * (size_t)O + (size_t)o * g->HW;
                        float s = 0.0f;
                        for (int y = 0; y < g->Ho; y++)
                            for (int xo = 0; xo < g->Wo; xo++) {
                                const int iy = y * g->S - g->P + ky, ix = xo * g->S - g->P + kx;
                                if (iy >= 0 && iy < g->H && ix >= 0 && ix < g->W)
                                    s += d[y * g->Wo + xo] * x[(size_t)iy * g->W + ix];
                            }
                        dw[((size_t)(o - u0) * g->C + c) * g->K * g->K + (size_t)ky * g->K +
                           kx] += s;
                    }
}

/* Which passes run as oneDNN's primitives. BP_CONV=im2col in the
 * environment (read when a network first reserves its workspace) keeps
 * the layer on the built-in path, BP_CONV=onednn puts every pass on the
 * primitives; otherwise the forward pass and the filters' slopes take the
 * primitives, and the input's slope too from 16 input channels on: below
 * that, oneDNN's backward-data kernel is slower than the product over
 * columns (docs/PERFORMANCE.md). */
static unsigned conv_passes(const bp__layer *L)
{
    const char *env = getenv("BP_CONV");
    if (env && strcmp(env, "im2col") == 0)
        return 0;
    if ((env && strcmp(env, "onednn") == 0) || L->in.c >= 16)
        return BP__CONV_FWD | BP__CONV_BWD_D | BP__CONV_BWD_W;
    return BP__CONV_FWD | BP__CONV_BWD_W;
}

static int conv_prepare(bp__layer *L)
{
    bp__conv_prims *P;
    char msg[160];
    int rc = bp__conv_prims_make(L, conv_passes(L), 0, &P, msg, sizeof msg);
    L->prims = P;
    return rc;
}

static void conv_release(bp__layer *L)
{
    bp__conv_prims_free(L->prims);
    L->prims = NULL;
}

/* bf16: every pass by oneDNN's primitives, which convert as they reorder;
 * back to float: the float primitives again (or the built-in path). */
static int conv_set_half(bp__layer *L, int on, char *msg, size_t size)
{
    bp__conv_prims *P = NULL;
    conv_release(L);
    L->half = on;
    if (!on)
        return conv_prepare(L);
    int rc = bp__conv_prims_make(L, BP__CONV_FWD | BP__CONV_BWD_D | BP__CONV_BWD_W, 1, &P, msg,
                                 size);
    L->prims = P;
    return rc;
}

static void conv_forward(const bp__layer *L, const float *params, int rows, const float *in,
                         float *z, float *scratch)
{
    const geom g = geom_of(L);
    const float *w = params + L->w_off; /* (OUT, CKK) */
    const unsigned prims = bp__conv_prims_passes(L->prims);
    if ((prims & BP__CONV_FWD) &&
        bp__conv_prims_forward(L->prims, w, L->n_b ? params + L->b_off : NULL, rows, in, z) == 0) {
        /* the columns only when the filters' slopes are formed from them */
        if (!(prims & BP__CONV_BWD_W))
            for (int b = 0; b < rows; b++)
                im2col(&g, in + (size_t)b * (size_t)L->I, scratch + (size_t)b * L->scratch);
        return;
    }
    for (int b = 0; b < rows; b++) {
        float *col = scratch + (size_t)b * L->scratch; /* (CKK, HW) */
        float *zb = z + (size_t)b * (size_t)L->O;      /* (OUT, HW) */
        im2col(&g, in + (size_t)b * (size_t)L->I, col);
        bp__gemm(0, 0, g.OUT, g.HW, g.CKK, 1.0f, w, g.CKK, col, g.HW, 0.0f, zb, g.HW);
        if (L->n_b) {
            const float *bias = params + L->b_off;
            for (int o = 0; o < g.OUT; o++) {
                float *r = zb + (size_t)o * (size_t)g.HW;
                for (int p = 0; p < g.HW; p++)
                    r[p] += bias[o];
            }
        }
    }
}

/* The bias slopes of filters [u0, u1): dz summed over the batch in
 * double, eight running sums by position mod 8 (independent chains, one
 * vector), added in a fixed order. */
BP__WIDE static void bias_slopes(const geom *g, int u0, int u1, int B, int O, const float *dz,
                                 float *db, int fresh)
{
    for (int o = u0; o < u1; o++) {
        bp__v8d s8 = {0.0};
        for (int b = 0; b < B; b++) {
            const float *r = dz + (size_t)b * (size_t)O + (size_t)o * (size_t)g->HW;
            int p = 0;
            for (; p + 8 <= g->HW; p += 8)
                s8 += BP__LOAD8(r + p);
            for (; p < g->HW; p++)
                s8[p % 8] += r[p];
        }
        const double s = bp__v8d_total(&s8);
        db[o] = fresh ? (float)s : db[o] + (float)s;
    }
}

/* Filters [u0, u1): dW += dz_b col_b^T sample by sample, db in double. */
static void conv_grad_params(const bp__layer *L, int u0, int u1, int B, const float *in,
                             const float *scratch, const float *dz, float *grads, int fresh)
{
    const geom g = geom_of(L);
    float *dw = grads + L->w_off + (size_t)u0 * (size_t)g.CKK; /* (u1 - u0, CKK) */
    const unsigned prims = bp__conv_prims_passes(L->prims);
    if (!(prims & BP__CONV_BWD_W))
        for (int b = 0; b < B; b++) {
            const float *dzb = dz + (size_t)b * (size_t)L->O + (size_t)u0 * (size_t)g.HW;
            bp__gemm(0, 1, u1 - u0, g.CKK, g.HW, 1.0f, dzb, g.HW,
                     scratch + (size_t)b * L->scratch, g.HW, b == 0 && fresh ? 0.0f : 1.0f, dw,
                     g.CKK);
        }
    else if (bp__conv_prims_grad_weights(L->prims, u0, u1, B, in, dz, grads + L->w_off, fresh))
        /* oneDNN failed, and the forward pass kept no columns */
        direct_grad_weights(&g, u0, u1, B, L->I, L->O, in, dz, dw, fresh);
    if (L->n_b)
        bias_slopes(&g, u0, u1, B, L->O, dz, grads + L->b_off, fresh);
}

/* din = col2im(W^T dz_b) per sample, the column slope formed in work. */
static void conv_grad_input(const bp__layer *L, const float *params, int rows, const float *in,
                            const float *scratch, const float *dz, float *din, float *work)
{
    const geom g = geom_of(L);
    const float *w = params + L->w_off; /* (OUT, CKK) */
    (void)in;
    (void)scratch;
    if ((bp__conv_prims_passes(L->prims) & BP__CONV_BWD_D) &&
        bp__conv_prims_grad_input(L->prims, w, rows, dz, din) == 0)
        return;
    memset(din, 0, (size_t)rows * (size_t)L->I * sizeof *din);
    for (int b = 0; b < rows; b++) {
        bp__gemm(1, 0, g.CKK, g.HW, g.OUT, 1.0f, w, g.CKK, dz + (size_t)b * (size_t)L->O, g.HW,
                 0.0f, work, g.HW);
        col2im(&g, work, din + (size_t)b * (size_t)L->I);
    }
}

static void conv_forward_d(const bp__layer *L, const double *p, const double *in, double *z)
{
    const geom g = geom_of(L);
    const double *w = p + L->w_off;
    for (int o = 0; o < g.OUT; o++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++) {
                double s = L->n_b ? p[L->b_off + (size_t)o] : 0.0;
                for (int c = 0; c < g.C; c++)
                    for (int ky = 0; ky < g.K; ky++)
                        for (int kx = 0; kx < g.K; kx++) {
                            const int iy = y * g.S - g.P + ky, ix = x * g.S - g.P + kx;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                                continue;
                            s += w[(((size_t)o * g.C + c) * g.K + ky) * g.K + kx] *
                                 in[((size_t)c * g.H + iy) * g.W + ix];
                        }
                z[((size_t)o * g.Ho + y) * g.Wo + x] = s;
            }
}

static void conv_backward_d(const bp__layer *L, const double *p, const double *in,
                            const double *dz, double *gr, double *din)
{
    const geom g = geom_of(L);
    const double *w = p + L->w_off;
    if (gr)
        memset(gr, 0, bp__layer_params(L) * sizeof *gr);
    memset(din, 0, (size_t)L->I * sizeof *din);
    for (int o = 0; o < g.OUT; o++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++) {
                const double d = dz[((size_t)o * g.Ho + y) * g.Wo + x];
                if (gr && L->n_b)
                    gr[L->n_w + (size_t)o] += d;
                for (int c = 0; c < g.C; c++)
                    for (int ky = 0; ky < g.K; ky++)
                        for (int kx = 0; kx < g.K; kx++) {
                            const int iy = y * g.S - g.P + ky, ix = x * g.S - g.P + kx;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                                continue;
                            const size_t wi = (((size_t)o * g.C + c) * g.K + ky) * g.K + kx;
                            const size_t ii = ((size_t)c * g.H + iy) * g.W + ix;
                            if (gr)
                                gr[wi] += d * in[ii];
                            din[ii] += d * w[wi];
                        }
            }
}

/* Weight ((o*C + c)*K + ky)*K + kx meets input (c, iy, ix) at each output
 * position (o, y, x) whose window puts it on a real input. */
static size_t conv_weight_terms(const bp__layer *L, size_t weight, size_t max, size_t *io)
{
    const geom g = geom_of(L);
    const int kx = (int)(weight % (size_t)g.K), ky = (int)(weight / (size_t)g.K % (size_t)g.K);
    const int c = (int)(weight / ((size_t)g.K * (size_t)g.K) % (size_t)g.C);
    const size_t o = weight / (size_t)g.CKK;
    size_t n = 0;
    for (int y = 0; y < g.Ho; y++) {
        const int iy = y * g.S - g.P + ky;
        if (iy < 0 || iy >= g.H)
            continue;
        for (int x = 0; x < g.Wo; x++) {
            const int ix = x * g.S - g.P + kx;
            if (ix < 0 || ix >= g.W)
                continue;
            if (n < max) {
                io[2 * n] = ((size_t)c * g.H + iy) * g.W + ix;
                io[2 * n + 1] = (o * g.Ho + y) * g.Wo + x;
            }
            n++;
        }
    }
    return n;
}

const bp__kind bp__kind_conv = {
    .id = BP_LAYER_CONV,
    .word = "conv",
    .takes = BP__TAKES_WIDTH | BP__TAKES_KERNEL | BP__TAKES_PAD | BP__TAKES_STRIDE |
             BP__TAKES_BIAS | BP__TAKES_ACT | BP__SPATIAL_IN,
    .plan = conv_plan,
    .forward = conv_forward,
    .grad_params = conv_grad_params,
    .grad_input = conv_grad_input,
    .prepare = conv_prepare,
    .release = conv_release,
    .set_half = conv_set_half,
    .forward_d = conv_forward_d,
    .backward_d = conv_backward_d,
    .weight_terms = conv_weight_terms,
};
