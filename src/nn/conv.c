/*
 * conv.c - the convolution layer kind: OUT filters of K x K over all C input
 * channels, cross-correlation as PyTorch's Conv2d, zeros padded on each
 * side, weights [OUT, C, K, K] row-major then an optional bias [OUT].
 *
 * The float passes unfold each sample's input into its column matrix
 * (Hout*Wout, C*K*K) in the forward pass and keep it in scratch, so the
 * weight slopes are one product per sample and backward never unfolds
 * again. Every pass works sample by sample in a fixed order, so a block's
 * bits never depend on how the batch was split. The double twins are the
 * direct loops, the reference that gradient checks differentiate.
 */
#include "nn/layer.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Floats of the stack buffer that holds part of a sample's column slope
 * in grad_input, which has no workspace of its own. */
#define DCOL_CHUNK 8192

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
    if (in.h <= 0 || in.w <= 0) {
        bp__format(msg, size, "needs a CxHxW input, gets a flat vector of %d", in.c);
        return -1;
    }
    if (d->width <= 0) {
        bp__format(msg, size, "needs at least 1 filter, gets %d", d->width);
        return -1;
    }
    if (K <= 0) {
        bp__format(msg, size, "needs a kernel of at least 1, gets %lld", K);
        return -1;
    }
    if (S <= 0) {
        bp__format(msg, size, "needs a stride of at least 1, gets %lld", S);
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
    const long long Hp = in.h + 2 * P, Wp = in.w + 2 * P;
    if (Hp < K || Wp < K) {
        if (P > 0)
            bp__format(msg, size, "gets %dx%dx%d, %lldx%lld with padding %lld; a %lldx%lld kernel "
                       "needs at least %lldx%lld", in.c, in.h, in.w, Hp, Wp, P, K, K, K, K);
        else
            bp__format(msg, size, "gets %dx%dx%d; a %lldx%lld kernel needs at least %lldx%lld",
                       in.c, in.h, in.w, K, K, K, K);
        return -1;
    }
    const long long Ho = (Hp - K) / S + 1, Wo = (Wp - K) / S + 1;
    /* Every size an int holds: the shapes, a column's length, the output
     * positions, a sample's input and output. */
    if (K > INT_MAX || P > INT_MAX || Ho > INT_MAX || Wo > INT_MAX ||
        bp__mul_size((size_t)K * (size_t)K, (size_t)in.c, &cols) || cols > INT_MAX ||
        bp__mul_size((size_t)Ho, (size_t)Wo, &outs) || outs > INT_MAX ||
        bp__mul_size(outs, (size_t)d->width, &outs) || outs > INT_MAX ||
        bp__mul_size((size_t)in.h * (size_t)in.w, (size_t)in.c, &I) || I > INT_MAX ||
        bp__mul_size((size_t)Ho * (size_t)Wo, cols, &L->scratch) ||
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

/* One sample's column matrix col (HW, CKK) from its input x (C, H, W):
 * row p = (y, x) holds the window under output position p, channel by
 * channel, row by row, zeros where it covers padding. */
static void im2col(const geom *g, const float *x, float *col)
{
    for (int y = 0; y < g->Ho; y++) {
        for (int xo = 0; xo < g->Wo; xo++) {
            float *row = col + ((size_t)y * (size_t)g->Wo + (size_t)xo) * (size_t)g->CKK;
            for (int c = 0; c < g->C; c++) {
                const float *plane = x + (size_t)c * (size_t)g->H * (size_t)g->W;
                for (int ky = 0; ky < g->K; ky++) {
                    const int iy = y * g->S - g->P + ky;
                    float *r = row + ((size_t)c * (size_t)g->K + (size_t)ky) * (size_t)g->K;
                    for (int kx = 0; kx < g->K; kx++) {
                        const int ix = xo * g->S - g->P + kx;
                        r[kx] = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W
                                    ? plane[(size_t)iy * (size_t)g->W + (size_t)ix]
                                    : 0.0f;
                    }
                }
            }
        }
    }
}

static void conv_forward(const bp__layer *L, const float *params, int rows, const float *in,
                         float *z, float *scratch)
{
    const geom g = geom_of(L);
    const float *w = params + L->w_off; /* (OUT, CKK) */
    for (int b = 0; b < rows; b++) {
        float *col = scratch + (size_t)b * L->scratch; /* (HW, CKK) */
        float *zb = z + (size_t)b * (size_t)L->O;      /* (OUT, HW) */
        im2col(&g, in + (size_t)b * (size_t)L->I, col);
        bp__gemm(0, 1, g.OUT, g.HW, g.CKK, 1.0f, w, g.CKK, col, g.CKK, 0.0f, zb, g.HW);
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

/* Filters [u0, u1): dW += dz_b col_b sample by sample, db in double. */
static void conv_grad_params(const bp__layer *L, int u0, int u1, int B, const float *in,
                             const float *scratch, const float *dz, float *grads, int fresh)
{
    const geom g = geom_of(L);
    float *dw = grads + L->w_off + (size_t)u0 * (size_t)g.CKK; /* (u1 - u0, CKK) */
    (void)in;
    for (int b = 0; b < B; b++) {
        const float *dzb = dz + (size_t)b * (size_t)L->O + (size_t)u0 * (size_t)g.HW;
        bp__gemm(0, 0, u1 - u0, g.CKK, g.HW, 1.0f, dzb, g.HW, scratch + (size_t)b * L->scratch,
                 g.CKK, b == 0 && fresh ? 0.0f : 1.0f, dw, g.CKK);
    }
    if (L->n_b) {
        float *db = grads + L->b_off;
        for (int o = u0; o < u1; o++) {
            double s = 0.0;
            for (int b = 0; b < B; b++) {
                const float *r = dz + (size_t)b * (size_t)L->O + (size_t)o * (size_t)g.HW;
                for (int p = 0; p < g.HW; p++)
                    s += r[p];
            }
            db[o] = fresh ? (float)s : db[o] + (float)s;
        }
    }
}

/* Add positions [p0, p0 + np) of a column slope, columns [j0, j0 + nj) of
 * each (dcol, np rows of nj), back onto the input slope dx (C, H, W). */
static void col2im_part(const geom *g, int p0, int np, int j0, int nj, const float *dcol,
                        float *dx)
{
    for (int q = 0; q < np; q++) {
        const int p = p0 + q, y = p / g->Wo, xo = p % g->Wo;
        const float *r = dcol + (size_t)q * (size_t)nj;
        for (int j = j0; j < j0 + nj; j++) {
            const int c = j / (g->K * g->K), ky = j / g->K % g->K, kx = j % g->K;
            const int iy = y * g->S - g->P + ky, ix = xo * g->S - g->P + kx;
            if (iy >= 0 && iy < g->H && ix >= 0 && ix < g->W)
                dx[((size_t)c * (size_t)g->H + (size_t)iy) * (size_t)g->W + (size_t)ix] +=
                    r[j - j0];
        }
    }
}

/* din = col2im(dz_b^T W) per sample. The column slope is formed a part at
 * a time in a stack buffer: whole rows (positions) when a row fits, else
 * slices of one row. The parts follow the geometry alone, so the bits do
 * not depend on the rows given. */
static void conv_grad_input(const bp__layer *L, const float *params, int rows, const float *in,
                            const float *scratch, const float *dz, float *din)
{
    const geom g = geom_of(L);
    const float *w = params + L->w_off; /* (OUT, CKK) */
    float dcol[DCOL_CHUNK];
    const int np = g.CKK <= DCOL_CHUNK ? DCOL_CHUNK / g.CKK : 1;
    const int nj = g.CKK <= DCOL_CHUNK ? g.CKK : DCOL_CHUNK;
    (void)in;
    (void)scratch;
    memset(din, 0, (size_t)rows * (size_t)L->I * sizeof *din);
    for (int b = 0; b < rows; b++) {
        const float *dzb = dz + (size_t)b * (size_t)L->O; /* (OUT, HW) */
        float *dx = din + (size_t)b * (size_t)L->I;       /* (C, H, W) */
        for (int p0 = 0; p0 < g.HW; p0 += np) {
            const int m = g.HW - p0 < np ? g.HW - p0 : np;
            for (int j0 = 0; j0 < g.CKK; j0 += nj) {
                const int n = g.CKK - j0 < nj ? g.CKK - j0 : nj;
                bp__gemm(1, 0, m, n, g.OUT, 1.0f, dzb + p0, g.HW, w + j0, g.CKK, 0.0f, dcol, n);
                col2im_part(&g, p0, m, j0, n, dcol, dx);
            }
        }
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
    .forward_d = conv_forward_d,
    .backward_d = conv_backward_d,
    .weight_terms = conv_weight_terms,
};
