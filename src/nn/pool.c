/*
 * pool.c - the pooling layer kinds: each channel's K x K windows, stepped
 * by the stride (K unless given), without padding, reduced to their
 * largest value (maxpool) or their mean (avgpool), as PyTorch's MaxPool2d
 * and AvgPool2d. Neither has parameters.
 *
 * Max pooling follows PyTorch's CPU rule: a value replaces the window's
 * running maximum when it is larger or NaN, so the slope goes to the first
 * maximal input in row-major window order (to the last NaN when there are
 * several). Backward finds each window's chosen input again from the
 * input the forward pass read, so nothing is kept between the passes.
 */
#include "nn/layer.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The layer's sizes as ints, all checked to fit by plan. */
typedef struct geom {
    int C, H, W, Ho, Wo, K, S;
} geom;

static geom geom_of(const bp__layer *L)
{
    geom g = {L->in.c, L->in.h, L->in.w, L->out.h, L->out.w, L->k, L->stride};
    return g;
}

static int pool_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    const bp_shape in = L->in;
    const long long K = d->kernel, S = d->stride ? d->stride : d->kernel;
    size_t I, O;
    if (bp__window_args(in, K, S, msg, size) != 0)
        return -1;
    if (d->pad != 0) {
        bp__format(msg, size, "takes no padding, gets %d", d->pad);
        return -1;
    }
    if (bp__window_fits(in, K, 0, msg, size) != 0)
        return -1;
    const long long Ho = (in.h - K) / S + 1, Wo = (in.w - K) / S + 1;
    if (bp__mul_size((size_t)in.h * (size_t)in.w, (size_t)in.c, &I) || I > INT_MAX ||
        bp__mul_size((size_t)Ho * (size_t)Wo, (size_t)in.c, &O) || O > INT_MAX) {
        bp__format(msg, size, "is too large: its sizes overflow");
        return -1;
    }
    L->out.c = in.c;
    L->out.h = (int)Ho;
    L->out.w = (int)Wo;
    L->I = (int)I;
    L->O = (int)O;
    L->k = (int)K;
    L->stride = (int)S;
    L->pad = 0;
    bp__layer_no_params(L);
    L->scratch = 0; /* max pooling finds its chosen inputs again in backward */
    L->macs = (double)O * (double)K * (double)K; /* window reads */
    return 0;
}

static int maxpool_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    return pool_plan(L, d, msg, size);
}

static int avgpool_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    return pool_plan(L, d, msg, size);
}

/* Index within the sample of the input at window row ky, column kx of
 * output (c, y, x). */
static size_t in_index(const geom *g, int c, int y, int x, int ky, int kx)
{
    return ((size_t)c * (size_t)g->H + (size_t)(y * g->S + ky)) * (size_t)g->W +
           (size_t)(x * g->S + kx);
}

/* ---- max ---------------------------------------------------------------- */

/* Outputs of one row handled together, so that each window position is
 * one pass of selects over them (no branch on the data). */
enum { ROW_CHUNK = 64 };

/* The 2x2 window with stride 2, four outputs at a time in vectors (GCC's and
 * Clang's vector extensions), as a tree: within each row the right value
 * wins when larger or NaN, then the lower row's winner wins when larger or
 * NaN. That picks what the rule in window order picks (the later of two
 * NaNs, else the first of equal values, at each level), by masks alone: a
 * branch on the data mispredicts on the ties a ReLU's zeros make. */
typedef float v4f __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t v4i __attribute__((vector_size(4 * sizeof(int32_t))));

#if defined(__clang__)
#define SHUFFLE(x, y, a, b, c, d) __builtin_shufflevector(x, y, a, b, c, d)
#else
#define SHUFFLE(x, y, a, b, c, d) __builtin_shuffle(x, y, (v4i){a, b, c, d})
#endif

/* m ? x : y, lane by lane (m all ones or all zeros) */
static inline v4f pick(v4i m, v4f x, v4f y)
{
    return (v4f)((m & (v4i)x) | (~m & (v4i)y));
}

/* Four windows from input rows r0, r1 (8 floats each): the winners v0, v1
 * of the two rows and the masks of the right one winning in each row and
 * of the lower row winning. */
typedef struct win4 {
    v4f v0, v1;
    v4i right0, right1, low;
} win4;

static inline win4 win4_of(const float *r0, const float *r1)
{
    v4f l0, h0, l1, h1;
    win4 w;
    memcpy(&l0, r0, sizeof l0);
    memcpy(&h0, r0 + 4, sizeof h0);
    memcpy(&l1, r1, sizeof l1);
    memcpy(&h1, r1 + 4, sizeof h1);
    const v4f a = SHUFFLE(l0, h0, 0, 2, 4, 6), b = SHUFFLE(l0, h0, 1, 3, 5, 7);
    const v4f c = SHUFFLE(l1, h1, 0, 2, 4, 6), d = SHUFFLE(l1, h1, 1, 3, 5, 7);
    w.right0 = (b > a) | (b != b);
    w.right1 = (d > c) | (d != d);
    w.v0 = pick(w.right0, b, a);
    w.v1 = pick(w.right1, d, c);
    w.low = (w.v1 > w.v0) | (w.v1 != w.v1);
    return w;
}

/* Four windows' largest values into m (4 floats). */
static inline void max4(const float *r0, const float *r1, float *m)
{
    const win4 w = win4_of(r0, r1);
    const v4f v = pick(w.low, w.v1, w.v0);
    memcpy(m, &v, sizeof v);
}

/* Four windows' slopes: g's (4 floats) to each window's chosen input and 0
 * to its other three, in d0 (row 0) and d1 (row 1), 8 floats each. */
static inline void back4(const float *r0, const float *r1, const float *g, float *d0, float *d1)
{
    const win4 w = win4_of(r0, r1);
    const v4f zero = {0.0f, 0.0f, 0.0f, 0.0f};
    v4f s;
    memcpy(&s, g, sizeof s);
    const v4f top = pick(w.low, zero, s), bottom = pick(w.low, s, zero);
    const v4f a = pick(w.right0, zero, top), b = pick(w.right0, top, zero);
    const v4f c = pick(w.right1, zero, bottom), d = pick(w.right1, bottom, zero);
    const v4f o[4] = {SHUFFLE(a, b, 0, 4, 1, 5), SHUFFLE(a, b, 2, 6, 3, 7),
                      SHUFFLE(c, d, 0, 4, 1, 5), SHUFFLE(c, d, 2, 6, 3, 7)};
    memcpy(d0, &o[0], sizeof o[0]);
    memcpy(d0 + 4, &o[1], sizeof o[1]);
    memcpy(d1, &o[2], sizeof o[2]);
    memcpy(d1 + 4, &o[3], sizeof o[3]);
}

/* A row of n windows over input rows r0, r1: the largest values into m.
 * The last n % 4 as the row's last four again (writing the same values
 * twice), or through padded copies in a row of fewer than four. */
static void max_2x2(const float *r0, const float *r1, int n, float *m)
{
    int j = 0;
    for (; j + 4 <= n; j += 4)
        max4(r0 + 2 * j, r1 + 2 * j, m + j);
    if (j < n && n >= 4) {
        j = n - 4;
        max4(r0 + 2 * j, r1 + 2 * j, m + j);
    } else if (j < n) {
        float t0[8] = {0.0f}, t1[8] = {0.0f}, tm[4];
        const size_t k = (size_t)(n - j);
        memcpy(t0, r0 + 2 * j, 2 * k * sizeof *t0);
        memcpy(t1, r1 + 2 * j, 2 * k * sizeof *t1);
        max4(t0, t1, tm);
        memcpy(m + j, tm, k * sizeof *tm);
    }
}

/* The same row's slopes from g (n) into d0, d1 (2n each), the tail as
 * max_2x2's. */
static void max_2x2_back(const float *r0, const float *r1, int n, const float *g, float *d0,
                         float *d1)
{
    int j = 0;
    for (; j + 4 <= n; j += 4)
        back4(r0 + 2 * j, r1 + 2 * j, g + j, d0 + 2 * j, d1 + 2 * j);
    if (j < n && n >= 4) {
        j = n - 4;
        back4(r0 + 2 * j, r1 + 2 * j, g + j, d0 + 2 * j, d1 + 2 * j);
    } else if (j < n) {
        float t0[8] = {0.0f}, t1[8] = {0.0f}, tg[4] = {0.0f}, e0[8], e1[8];
        const size_t k = (size_t)(n - j);
        memcpy(t0, r0 + 2 * j, 2 * k * sizeof *t0);
        memcpy(t1, r1 + 2 * j, 2 * k * sizeof *t1);
        memcpy(tg, g + j, k * sizeof *tg);
        back4(t0, t1, tg, e0, e1);
        memcpy(d0 + 2 * j, e0, 2 * k * sizeof *e0);
        memcpy(d1 + 2 * j, e1, 2 * k * sizeof *e1);
    }
}

/* Any window: outputs [x0, x0 + n) of row y of channel c, their largest
 * values into m and the chosen inputs' indexes within the sample into best. */
static void max_row(const geom *g, const float *x, int c, int y, int x0, int n, float *m,
                    int32_t *best)
{
    const int32_t first = (int32_t)in_index(g, c, y, x0, 0, 0);
    for (int j = 0; j < n; j++) {
        m[j] = x[first + j * g->S];
        best[j] = first + j * g->S;
    }
    /* in window order; a value wins when larger or NaN */
    for (int ky = 0; ky < g->K; ky++)
        for (int kx = 0; kx < g->K; kx++) {
            const int32_t at = first + ky * g->W + kx;
            const float *r = x + at;
            for (int j = 0; j < n; j++) {
                const float v = r[j * g->S];
                const int take = (v > m[j]) | (v != v);
                m[j] = take ? v : m[j];
                best[j] = take ? at + j * g->S : best[j];
            }
        }
}

static void maxpool_forward(const bp__layer *L, const float *params, int rows, const float *in,
                            float *z, float *scratch)
{
    const geom g = geom_of(L);
    int32_t best[ROW_CHUNK];
    (void)params;
    (void)scratch;
    for (int b = 0; b < rows; b++) {
        const float *x = in + (size_t)b * (size_t)L->I; /* (C, H, W) */
        float *zb = z + (size_t)b * (size_t)L->O;        /* (C, Ho, Wo) */
        for (int c = 0; c < g.C; c++)
            for (int y = 0; y < g.Ho; y++) {
                float *out = zb + ((size_t)c * (size_t)g.Ho + (size_t)y) * (size_t)g.Wo;
                if (g.K == 2 && g.S == 2) {
                    const float *r0 = x + in_index(&g, c, y, 0, 0, 0);
                    max_2x2(r0, r0 + g.W, g.Wo, out);
                    continue;
                }
                for (int x0 = 0; x0 < g.Wo; x0 += ROW_CHUNK) {
                    const int n = g.Wo - x0 < ROW_CHUNK ? g.Wo - x0 : ROW_CHUNK;
                    max_row(&g, x, c, y, x0, n, out + x0, best);
                }
            }
    }
}

/* The slope goes to each window's chosen input, found again from the
 * input the forward pass read (so nothing is kept between the passes). */
static void maxpool_grad_input(const bp__layer *L, const float *params, int rows,
                               const float *in, const float *scratch, const float *dz,
                               float *din, float *work)
{
    const geom g = geom_of(L);
    float m[ROW_CHUNK];
    int32_t best[ROW_CHUNK];
    (void)params;
    (void)scratch;
    (void)work;
    /* 2x2 windows with stride 2 write every input they cover, the slope or
     * 0; only what they leave out (an odd last row or column) needs clearing */
    const int pairs = g.K == 2 && g.S == 2;
    if (!pairs || g.H != 2 * g.Ho || g.W != 2 * g.Wo)
        memset(din, 0, (size_t)rows * (size_t)L->I * sizeof *din);
    for (int b = 0; b < rows; b++) {
        const float *x = in + (size_t)b * (size_t)L->I;
        const float *d = dz + (size_t)b * (size_t)L->O;
        float *dx = din + (size_t)b * (size_t)L->I;
        for (int c = 0; c < g.C; c++)
            for (int y = 0; y < g.Ho; y++) {
                const float *dr = d + ((size_t)c * (size_t)g.Ho + (size_t)y) * (size_t)g.Wo;
                if (pairs) {
                    const size_t first = in_index(&g, c, y, 0, 0, 0);
                    max_2x2_back(x + first, x + first + g.W, g.Wo, dr, dx + first,
                                 dx + first + g.W);
                    continue;
                }
                for (int x0 = 0; x0 < g.Wo; x0 += ROW_CHUNK) {
                    const int n = g.Wo - x0 < ROW_CHUNK ? g.Wo - x0 : ROW_CHUNK;
                    max_row(&g, x, c, y, x0, n, m, best);
                    for (int j = 0; j < n; j++)
                        dx[best[j]] += dr[x0 + j];
                }
            }
    }
}

/* The chosen input of output o = (c, y, x), by the same rule, in double. */
static size_t argmax_d(const geom *g, const double *in, int c, int y, int x)
{
    size_t best = in_index(g, c, y, x, 0, 0);
    double m = -INFINITY;
    for (int ky = 0; ky < g->K; ky++)
        for (int kx = 0; kx < g->K; kx++) {
            const size_t i = in_index(g, c, y, x, ky, kx);
            if (in[i] > m || isnan(in[i])) {
                m = in[i];
                best = i;
            }
        }
    return best;
}

static void maxpool_forward_d(const bp__layer *L, const double *p, const double *in, double *z)
{
    const geom g = geom_of(L);
    size_t o = 0;
    (void)p;
    for (int c = 0; c < g.C; c++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++, o++)
                z[o] = in[argmax_d(&g, in, c, y, x)];
}

static void maxpool_backward_d(const bp__layer *L, const double *p, const double *in,
                               const double *dz, double *gr, double *din)
{
    const geom g = geom_of(L);
    size_t o = 0;
    (void)p;
    (void)gr;
    memset(din, 0, (size_t)L->I * sizeof *din);
    for (int c = 0; c < g.C; c++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++, o++)
                din[argmax_d(&g, in, c, y, x)] += dz[o];
}

/* ---- mean --------------------------------------------------------------- */

static void avgpool_forward(const bp__layer *L, const float *params, int rows, const float *in,
                            float *z, float *scratch)
{
    const geom g = geom_of(L);
    const float n = (float)g.K * (float)g.K;
    (void)params;
    (void)scratch;
    for (int b = 0; b < rows; b++) {
        const float *x = in + (size_t)b * (size_t)L->I; /* (C, H, W) */
        float *zb = z + (size_t)b * (size_t)L->O;        /* (C, Ho, Wo) */
        size_t o = 0;
        for (int c = 0; c < g.C; c++)
            for (int y = 0; y < g.Ho; y++)
                for (int xo = 0; xo < g.Wo; xo++, o++) {
                    float s = 0.0f;
                    for (int ky = 0; ky < g.K; ky++)
                        for (int kx = 0; kx < g.K; kx++)
                            s += x[in_index(&g, c, y, xo, ky, kx)];
                    zb[o] = s / n;
                }
    }
}

static void avgpool_grad_input(const bp__layer *L, const float *params, int rows,
                               const float *in, const float *scratch, const float *dz,
                               float *din, float *work)
{
    (void)work;
    const geom g = geom_of(L);
    const float n = (float)g.K * (float)g.K;
    (void)params;
    (void)in;
    (void)scratch;
    memset(din, 0, (size_t)rows * (size_t)L->I * sizeof *din);
    for (int b = 0; b < rows; b++) {
        const float *d = dz + (size_t)b * (size_t)L->O;
        float *dx = din + (size_t)b * (size_t)L->I;
        size_t o = 0;
        for (int c = 0; c < g.C; c++)
            for (int y = 0; y < g.Ho; y++)
                for (int xo = 0; xo < g.Wo; xo++, o++) {
                    const float s = d[o] / n;
                    for (int ky = 0; ky < g.K; ky++)
                        for (int kx = 0; kx < g.K; kx++)
                            dx[in_index(&g, c, y, xo, ky, kx)] += s;
                }
    }
}

static void avgpool_forward_d(const bp__layer *L, const double *p, const double *in, double *z)
{
    const geom g = geom_of(L);
    size_t o = 0;
    (void)p;
    for (int c = 0; c < g.C; c++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++, o++) {
                double s = 0.0;
                for (int ky = 0; ky < g.K; ky++)
                    for (int kx = 0; kx < g.K; kx++)
                        s += in[in_index(&g, c, y, x, ky, kx)];
                z[o] = s / ((double)g.K * g.K);
            }
}

static void avgpool_backward_d(const bp__layer *L, const double *p, const double *in,
                               const double *dz, double *gr, double *din)
{
    const geom g = geom_of(L);
    size_t o = 0;
    (void)p;
    (void)in;
    (void)gr;
    memset(din, 0, (size_t)L->I * sizeof *din);
    for (int c = 0; c < g.C; c++)
        for (int y = 0; y < g.Ho; y++)
            for (int x = 0; x < g.Wo; x++, o++)
                for (int ky = 0; ky < g.K; ky++)
                    for (int kx = 0; kx < g.K; kx++)
                        din[in_index(&g, c, y, x, ky, kx)] += dz[o] / ((double)g.K * g.K);
}

const bp__kind bp__kind_maxpool = {
    .id = BP_LAYER_MAXPOOL,
    .word = "maxpool",
    .takes = BP__TAKES_KERNEL | BP__TAKES_STRIDE | BP__SPATIAL_IN,
    .plan = maxpool_plan,
    .forward = maxpool_forward,
    .grad_params = NULL,
    .grad_input = maxpool_grad_input,
    .forward_d = maxpool_forward_d,
    .backward_d = maxpool_backward_d,
    .weight_terms = NULL,
};

const bp__kind bp__kind_avgpool = {
    .id = BP_LAYER_AVGPOOL,
    .word = "avgpool",
    .takes = BP__TAKES_KERNEL | BP__TAKES_STRIDE | BP__SPATIAL_IN,
    .plan = avgpool_plan,
    .forward = avgpool_forward,
    .grad_params = NULL,
    .grad_input = avgpool_grad_input,
    .forward_d = avgpool_forward_d,
    .backward_d = avgpool_backward_d,
    .weight_terms = NULL,
};
