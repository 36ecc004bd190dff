/*
 * testutil.h - code shared by the unit tests (static inline only: every
 * test is a single .c file built into its own executable).
 *
 *   - cmocka and the standard headers it needs, in the right order;
 *   - assertion macros that print both values: exact, ulp and relative;
 *   - a counting allocator that can also make the k-th request fail;
 *   - building networks with asserts, filling buffers from a seeded bp_rng;
 *   - a naive double-precision network (forward, loss, backpropagation)
 *     written from the contract in backprop.h, used as the oracle, with
 *     measures of how well float gradients can match it on a batch.
 */
#ifndef BP_TESTUTIL_H
#define BP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backprop.h"

/* ------------------------------------------------------------------------ */
/* Assertions                                                                */
/* ------------------------------------------------------------------------ */

/* Distance in units in the last place between two floats (huge for NaN). */
static inline int64_t tu_float_ulps(float a, float b)
{
    uint32_t ua, ub;
    int64_t ia, ib;
    if (isnan(a) || isnan(b))
        return INT64_MAX;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ia = (ua & 0x80000000u) ? -(int64_t)(ua & 0x7fffffffu) : (int64_t)ua;
    ib = (ub & 0x80000000u) ? -(int64_t)(ub & 0x7fffffffu) : (int64_t)ub;
    return ia > ib ? ia - ib : ib - ia;
}

/* |a - e| <= atol + rtol * |e|, false for NaN. */
static inline int tu_close(double a, double e, double rtol, double atol)
{
    return fabs(a - e) <= atol + rtol * fabs(e);
}

/* The value must be exactly the expected one (float or double). */
#define TU_ASSERT_EXACT(actual, expected)                                      \
    do {                                                                       \
        double tu_a_ = (double)(actual), tu_e_ = (double)(expected);           \
        if (!(tu_a_ == tu_e_))                                                 \
            fail_msg("%s = %.17g, expected exactly %.17g", #actual, tu_a_,     \
                     tu_e_);                                                   \
    } while (0)

/* Two floats at most n ulp apart. */
#define TU_ASSERT_ULP(actual, expected, n)                                     \
    do {                                                                       \
        float tu_a_ = (actual), tu_e_ = (expected);                            \
        int64_t tu_d_ = tu_float_ulps(tu_a_, tu_e_);                           \
        if (!(tu_d_ <= (int64_t)(n)))                                          \
            fail_msg("%s = %.9g, expected %.9g within %d ulp (%lld apart)",    \
                     #actual, (double)tu_a_, (double)tu_e_, (int)(n),          \
                     (long long)tu_d_);                                        \
    } while (0)

/* |actual - expected| <= atol + rtol * |expected|. */
#define TU_ASSERT_CLOSE(actual, expected, rtol, atol)                          \
    do {                                                                       \
        double tu_a_ = (double)(actual), tu_e_ = (double)(expected);           \
        if (!tu_close(tu_a_, tu_e_, (rtol), (atol)))                           \
            fail_msg("%s = %.17g, expected %.17g (rtol %g, atol %g)",          \
                     #actual, tu_a_, tu_e_, (double)(rtol), (double)(atol));   \
    } while (0)

/* A library call that must succeed. */
#define TU_ASSERT_OK(call)                                                     \
    do {                                                                       \
        int tu_rc_ = (call);                                                   \
        if (tu_rc_ != 0)                                                       \
            fail_msg("%s returned %d (%s)", #call, tu_rc_,                     \
                     bp_strerror(tu_rc_));                                     \
    } while (0)

/* A library call that must fail with the given code. */
#define TU_ASSERT_RC(call, code)                                               \
    do {                                                                       \
        int tu_rc_ = (call);                                                   \
        if (tu_rc_ != (code))                                                  \
            fail_msg("%s returned %d (%s), expected %d (%s)", #call, tu_rc_,   \
                     bp_strerror(tu_rc_), (int)(code), bp_strerror(code));     \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Counting allocator                                                        */
/* ------------------------------------------------------------------------ */

typedef struct tu_counter {
    long requests; /* malloc and realloc calls */
    long mallocs, reallocs, frees;
    long live;     /* blocks handed out and not yet freed */
    long fail_at;  /* request number (1-based) that fails; 0: none */
    long failures;
} tu_counter;

static inline int tu_counter_should_fail(tu_counter *c)
{
    c->requests++;
    if (c->fail_at > 0 && c->requests == c->fail_at) {
        c->failures++;
        return 1;
    }
    return 0;
}

static inline void *tu_counting_malloc(size_t size, void *ctx)
{
    tu_counter *c = ctx;
    void *p;
    if (tu_counter_should_fail(c))
        return NULL;
    p = malloc(size ? size : 1);
    if (p) {
        c->mallocs++;
        c->live++;
    }
    return p;
}

static inline void *tu_counting_realloc(void *ptr, size_t size, void *ctx)
{
    tu_counter *c = ctx;
    void *p;
    if (tu_counter_should_fail(c))
        return NULL;
    p = realloc(ptr, size ? size : 1);
    if (p) {
        c->reallocs++;
        if (!ptr)
            c->live++;
    }
    return p;
}

static inline void tu_counting_free(void *ptr, void *ctx)
{
    tu_counter *c = ctx;
    if (ptr) {
        c->frees++;
        c->live--;
    }
    free(ptr);
}

/* Install the counting allocator over c (zeroed first). */
static inline void tu_counter_install(tu_counter *c)
{
    bp_allocator a;
    memset(c, 0, sizeof *c);
    a.malloc_fn = tu_counting_malloc;
    a.realloc_fn = tu_counting_realloc;
    a.free_fn = tu_counting_free;
    a.ctx = c;
    bp_set_allocator(&a);
}

/* Make the k-th request from now fail (k >= 1); 0 disarms. */
static inline void tu_counter_fail_in(tu_counter *c, long k)
{
    c->fail_at = k > 0 ? c->requests + k : 0;
}

/* ------------------------------------------------------------------------ */
/* Networks and data                                                         */
/* ------------------------------------------------------------------------ */

/* Parse a spec that must be valid. */
static inline bp_net *tu_net(const char *spec)
{
    bp_error err;
    bp_net *net;
    memset(&err, 0, sizeof err);
    net = bp_net_parse(spec, &err);
    if (!net)
        fail_msg("bp_net_parse(\"%s\") failed: %d %s", spec, err.code,
                 err.message);
    return net;
}

/* Create a network from descriptions that must be valid. */
static inline bp_net *tu_net_create(int inputs, int n, const bp_layer_desc *d)
{
    bp_error err;
    bp_net *net;
    memset(&err, 0, sizeof err);
    net = bp_net_create(inputs, n, d, &err);
    if (!net)
        fail_msg("bp_net_create failed: %d %s", err.code, err.message);
    return net;
}

static inline void tu_fill_normal(bp_rng *rng, float *v, size_t n, double sd)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(sd * bp_rng_normal(rng));
}

static inline void tu_fill_uniform(bp_rng *rng, float *v, size_t n, double lo,
                                   double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(lo + (hi - lo) * bp_rng_uniform(rng));
}

static inline void *tu_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        fail_msg("test harness out of memory (%zu bytes)", size);
    return p;
}

static inline void *tu_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        fail_msg("test harness out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* The leaky slope a layer really uses (0 in a description means default). */
static inline double tu_layer_slope(bp_layer_desc d)
{
    return d.slope == 0.0f ? (double)BP_LEAKY_SLOPE_DEFAULT : (double)d.slope;
}

/* Offsets of layer l's weights and bias in the flat parameter block, from
 * the documented layout: weights (O, I) then bias (O), layer after layer. */
static inline void tu_layer_offsets(const bp_net *net, int l, size_t *w_off,
                                    size_t *b_off)
{
    size_t off = 0;
    *w_off = 0;
    *b_off = 0;
    for (int k = 0; k <= l; k++) {
        bp_layer_desc d = bp_net_layer(net, k);
        size_t I = (size_t)bp_net_layer_inputs(net, k), O = (size_t)d.width;
        if (k == l) {
            *w_off = off;
            *b_off = off + O * I;
        }
        off += O * I + (d.bias ? O : 0);
    }
}

/* Copy the float parameters into doubles. */
static inline double *tu_params_double(bp_net *net)
{
    size_t n = bp_net_param_count(net);
    const float *p = bp_net_params(net);
    double *d = tu_xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

/* ------------------------------------------------------------------------ */
/* The oracle: a naive double-precision network                              */
/* ------------------------------------------------------------------------ */

static inline double tu_sigmoid_d(double z)
{
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    return exp(z) / (1.0 + exp(z));
}

static inline double tu_act_d(bp_act act, double slope, double z)
{
    switch (act) {
    case BP_ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case BP_ACT_LEAKY_RELU:
        return z > 0.0 ? z : slope * z;
    case BP_ACT_SIGMOID:
        return tu_sigmoid_d(z);
    case BP_ACT_TANH:
        return tanh(z);
    default:
        return z;
    }
}

/* Target of row b, output k: the value (T == O) or the class indicator. */
static inline double tu_target(const float *t, int T, int O, int b, int k)
{
    if (T == O)
        return t[(size_t)b * (size_t)T + (size_t)k];
    return (int)t[b] == k ? 1.0 : 0.0;
}

static inline double tu_clamped_log(double v)
{
    double l = v > 0.0 ? log(v) : -100.0;
    return l < -100.0 ? -100.0 : l;
}

/* Forward, loss and (when grad or dx is not NULL) backward of the network
 * described by `net` with parameters `params` (double, flat layout), all in
 * double precision. Returns the loss (or 0 when loss < 0: forward only).
 * out (B, O) receives the output activations when not NULL. */
static inline double tu_ref_run(const bp_net *net, const double *params, int loss,
                                int B, const float *x, const float *t, int T,
                                double *out, double *grad, double *dx)
{
    int L = bp_net_layers(net);
    double **a = tu_xcalloc((size_t)L + 1, sizeof *a);
    double **z = tu_xcalloc((size_t)L, sizeof *z);
    double value = 0.0;
    int I0 = bp_net_inputs(net);

    a[0] = tu_xmalloc((size_t)B * (size_t)I0 * sizeof(double));
    for (size_t i = 0; i < (size_t)B * (size_t)I0; i++)
        a[0][i] = x[i];
    for (int l = 0; l < L; l++) {
        bp_layer_desc d = bp_net_layer(net, l);
        int I = bp_net_layer_inputs(net, l), O = d.width;
        size_t w_off, b_off;
        tu_layer_offsets(net, l, &w_off, &b_off);
        z[l] = tu_xmalloc((size_t)B * (size_t)O * sizeof(double));
        a[l + 1] = tu_xmalloc((size_t)B * (size_t)O * sizeof(double));
        for (int b = 0; b < B; b++) {
            double *zr = z[l] + (size_t)b * (size_t)O;
            double *ar = a[l + 1] + (size_t)b * (size_t)O;
            const double *in = a[l] + (size_t)b * (size_t)I;
            for (int o = 0; o < O; o++) {
                double s = d.bias ? params[b_off + (size_t)o] : 0.0;
                for (int i = 0; i < I; i++)
                    s += params[w_off + (size_t)o * (size_t)I + (size_t)i] * in[i];
                zr[o] = s;
            }
            if (d.act == BP_ACT_SOFTMAX) {
                double m = zr[0], sum = 0.0;
                for (int o = 1; o < O; o++)
                    m = zr[o] > m ? zr[o] : m;
                for (int o = 0; o < O; o++)
                    sum += (ar[o] = exp(zr[o] - m));
                for (int o = 0; o < O; o++)
                    ar[o] /= sum;
            } else {
                for (int o = 0; o < O; o++)
                    ar[o] = tu_act_d(d.act, tu_layer_slope(d), zr[o]);
            }
        }
    }

    bp_layer_desc last = bp_net_layer(net, L - 1);
    int O = last.width;
    if (out)
        memcpy(out, a[L], (size_t)B * (size_t)O * sizeof(double));

    if (loss >= 0) {
        double n = loss == BP_LOSS_CCE ? (double)B : (double)B * (double)O;
        double *dz = tu_xcalloc((size_t)B * (size_t)O, sizeof *dz);
        double sum = 0.0;
        for (int b = 0; b < B; b++) {
            const double *zr = z[L - 1] + (size_t)b * (size_t)O;
            const double *yr = a[L] + (size_t)b * (size_t)O;
            double *gr = dz + (size_t)b * (size_t)O;
            int fused_cce = loss == BP_LOSS_CCE && last.act == BP_ACT_SOFTMAX;
            int fused_bce = loss == BP_LOSS_BCE && last.act == BP_ACT_SIGMOID;
            if (fused_cce) {
                double m = zr[0], se = 0.0, tsum = 0.0, lse;
                for (int k = 1; k < O; k++)
                    m = zr[k] > m ? zr[k] : m;
                for (int k = 0; k < O; k++)
                    se += exp(zr[k] - m);
                lse = m + log(se);
                for (int k = 0; k < O; k++) {
                    double tv = tu_target(t, T, O, b, k);
                    tsum += tv;
                    sum += tv * (lse - zr[k]);
                }
                for (int k = 0; k < O; k++)
                    gr[k] = (exp(zr[k] - lse) * tsum - tu_target(t, T, O, b, k)) / n;
                continue;
            }
            for (int k = 0; k < O; k++) {
                double y = yr[k], tv = tu_target(t, T, O, b, k), dy = 0.0;
                switch (loss) {
                case BP_LOSS_MSE:
                    sum += (y - tv) * (y - tv);
                    dy = 2.0 * (y - tv);
                    break;
                case BP_LOSS_MAE:
                    sum += fabs(y - tv);
                    dy = y > tv ? 1.0 : (y < tv ? -1.0 : 0.0);
                    break;
                case BP_LOSS_BCE:
                    if (fused_bce) {
                        double zk = zr[k];
                        sum += (zk > 0.0 ? zk : 0.0) - zk * tv + log1p(exp(-fabs(zk)));
                    } else {
                        sum += -(tv * tu_clamped_log(y) + (1.0 - tv) * tu_clamped_log(1.0 - y));
                    }
                    /* Only a one-output softmax reaches y == 1 here; its
                     * Jacobian is 0, so any finite slope will do. */
                    dy = (y - tv) / fmax(y * (1.0 - y), 1e-12);
                    break;
                default: /* CCE, not after softmax */
                    sum += -tv * tu_clamped_log(y);
                    dy = -tv / fmax(y, 1e-12);
                    break;
                }
                gr[k] = dy / n;
            }
            /* Through the output activation. */
            if (fused_bce) {
                for (int k = 0; k < O; k++)
                    gr[k] = (yr[k] - tu_target(t, T, O, b, k)) / n;
            }
        }
        value = sum / n;

        if (grad || dx) {
            /* dz holds dL/da of the last layer, except in the fused cases
             * where it is already dL/dz. */
            int fused = (loss == BP_LOSS_CCE && last.act == BP_ACT_SOFTMAX) ||
                        (loss == BP_LOSS_BCE && last.act == BP_ACT_SIGMOID);
            double *d = dz;
            for (int l = L - 1; l >= 0; l--) {
                bp_layer_desc ld = bp_net_layer(net, l);
                int I = bp_net_layer_inputs(net, l), Ol = ld.width;
                size_t w_off, b_off;
                double *din = tu_xcalloc((size_t)B * (size_t)I, sizeof *din);
                tu_layer_offsets(net, l, &w_off, &b_off);
                for (int b = 0; b < B; b++) {
                    double *dr = d + (size_t)b * (size_t)Ol;
                    const double *zr = z[l] + (size_t)b * (size_t)Ol;
                    const double *ar = a[l + 1] + (size_t)b * (size_t)Ol;
                    if (!(fused && l == L - 1)) {
                        if (ld.act == BP_ACT_SOFTMAX) {
                            double dot = 0.0;
                            for (int o = 0; o < Ol; o++)
                                dot += ar[o] * dr[o];
                            for (int o = 0; o < Ol; o++)
                                dr[o] = ar[o] * (dr[o] - dot);
                        } else {
                            for (int o = 0; o < Ol; o++) {
                                double s;
                                switch (ld.act) {
                                case BP_ACT_RELU:
                                    s = zr[o] > 0.0 ? 1.0 : 0.0;
                                    break;
                                case BP_ACT_LEAKY_RELU:
                                    s = zr[o] > 0.0 ? 1.0 : tu_layer_slope(ld);
                                    break;
                                case BP_ACT_SIGMOID:
                                    s = ar[o] * (1.0 - ar[o]);
                                    break;
                                case BP_ACT_TANH:
                                    s = 1.0 - ar[o] * ar[o];
                                    break;
                                default:
                                    s = 1.0;
                                    break;
                                }
                                dr[o] *= s;
                            }
                        }
                    }
                    const double *in = a[l] + (size_t)b * (size_t)I;
                    for (int o = 0; o < Ol; o++) {
                        for (int i = 0; i < I; i++) {
                            if (grad)
                                grad[w_off + (size_t)o * (size_t)I + (size_t)i] += dr[o] * in[i];
                            din[(size_t)b * (size_t)I + (size_t)i] +=
                                params[w_off + (size_t)o * (size_t)I + (size_t)i] * dr[o];
                        }
                        if (grad && ld.bias)
                            grad[b_off + (size_t)o] += dr[o];
                    }
                }
                free(d);
                d = din;
            }
            if (dx)
                memcpy(dx, d, (size_t)B * (size_t)I0 * sizeof(double));
            free(d);
        } else {
            free(dz);
        }
    }

    for (int l = 0; l <= L; l++)
        free(a[l]);
    for (int l = 0; l < L; l++)
        free(z[l]);
    free(a);
    free(z);
    return value;
}

/* How well a float gradient can match a double one on this batch.
 *   kink:  the smallest |z| over relu and leaky_relu nodes and, for MAE,
 *          the smallest |y - t|. Finite differences straddling a kink
 *          measure an average of two slopes.
 *   slope: the smallest sigmoid or tanh slope over all nodes. A saturated
 *          node's slope, 1 - a^2 or a (1 - a), comes from a float value a
 *          near +-1 and keeps only about 6e-8 / slope of relative precision.
 */
static inline void tu_ref_conditioning(bp_net *net, bp_loss loss, int B,
                                       const float *x, const float *t, int T,
                                       double *kink, double *slope)
{
    double *p = tu_params_double(net);
    int L = bp_net_layers(net), I0 = bp_net_inputs(net);
    double *in = tu_xmalloc((size_t)B * (size_t)I0 * sizeof *in);
    *kink = INFINITY;
    *slope = INFINITY;
    for (size_t i = 0; i < (size_t)B * (size_t)I0; i++)
        in[i] = x[i];
    for (int l = 0; l < L; l++) {
        bp_layer_desc d = bp_net_layer(net, l);
        int I = bp_net_layer_inputs(net, l), O = d.width;
        size_t w_off, b_off;
        double *a = tu_xmalloc((size_t)B * (size_t)O * sizeof *a);
        tu_layer_offsets(net, l, &w_off, &b_off);
        for (int b = 0; b < B; b++) {
            double *ar = a + (size_t)b * (size_t)O, s = 0.0, mx = -INFINITY;
            for (int o = 0; o < O; o++) {
                double z = d.bias ? p[b_off + (size_t)o] : 0.0;
                for (int i = 0; i < I; i++)
                    z += p[w_off + (size_t)o * (size_t)I + (size_t)i] *
                         in[(size_t)b * (size_t)I + (size_t)i];
                if (d.act == BP_ACT_RELU || d.act == BP_ACT_LEAKY_RELU)
                    *kink = fabs(z) < *kink ? fabs(z) : *kink;
                ar[o] = z;
                mx = z > mx ? z : mx;
            }
            if (d.act == BP_ACT_SOFTMAX) {
                for (int o = 0; o < O; o++)
                    s += (ar[o] = exp(ar[o] - mx));
                for (int o = 0; o < O; o++)
                    ar[o] /= s;
                continue;
            }
            for (int o = 0; o < O; o++) {
                double v = tu_act_d(d.act, tu_layer_slope(d), ar[o]), g = INFINITY;
                if (d.act == BP_ACT_TANH)
                    g = 1.0 - v * v;
                else if (d.act == BP_ACT_SIGMOID)
                    g = v * (1.0 - v);
                *slope = g < *slope ? g : *slope;
                ar[o] = v;
            }
        }
        free(in);
        in = a;
    }
    if (loss == BP_LOSS_MAE) {
        int O = bp_net_outputs(net);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < O; k++) {
                double e = fabs(in[(size_t)b * (size_t)O + (size_t)k] - tu_target(t, T, O, b, k));
                *kink = e < *kink ? e : *kink;
            }
    }
    free(in);
    free(p);
}

/* Loss and gradient (zeroed first) of the network's own float parameters
 * in double precision; grad has bp_net_param_count entries. */
static inline double tu_ref_gradient(bp_net *net, bp_loss loss, int B,
                                     const float *x, const float *t, int T,
                                     double *grad, double *dx)
{
    double *p = tu_params_double(net);
    double v;
    if (grad)
        memset(grad, 0, bp_net_param_count(net) * sizeof *grad);
    v = tu_ref_run(net, p, (int)loss, B, x, t, T, NULL, grad, dx);
    free(p);
    return v;
}

/* The largest slope of the loss at the output (dL/dz when the loss fuses
 * with the output activation, dL/dy otherwise), in double. Gradients that
 * cancel to nearly zero (a softmax fed equal slopes) still carry float
 * rounding of this size, so tolerances on float gradients scale with it. */
static inline double tu_output_slope_scale(bp_net *net, bp_loss loss, int B,
                                           const float *x, const float *t, int T)
{
    int O = bp_net_outputs(net);
    bp_act act = bp_net_layer(net, bp_net_layers(net) - 1).act;
    double *y = tu_xmalloc((size_t)B * (size_t)O * sizeof *y);
    double *p = tu_params_double(net);
    double n = loss == BP_LOSS_CCE ? (double)B : (double)B * (double)O, m = 0.0;
    tu_ref_run(net, p, -1, B, x, NULL, 0, y, NULL, NULL);
    for (int b = 0; b < B; b++) {
        double tsum = 0.0;
        for (int k = 0; k < O; k++)
            tsum += tu_target(t, T, O, b, k);
        for (int k = 0; k < O; k++) {
            double v = y[(size_t)b * (size_t)O + (size_t)k], tv = tu_target(t, T, O, b, k), s;
            switch (loss) {
            case BP_LOSS_MSE:
                s = 2.0 * fabs(v - tv);
                break;
            case BP_LOSS_MAE:
                s = 1.0;
                break;
            case BP_LOSS_BCE:
                s = act == BP_ACT_SIGMOID ? fabs(v - tv)
                                          : fabs(v - tv) / fmax(v * (1.0 - v), 1e-12);
                break;
            default:
                s = act == BP_ACT_SOFTMAX ? fabs(v * tsum - tv) : tv / fmax(v, 1e-12);
                break;
            }
            m = s / n > m ? s / n : m;
        }
    }
    free(p);
    free(y);
    return m;
}

/* Targets of the right kind for a loss on O outputs: class indices (T = 1,
 * O > 1) or one-hot rows for CCE, values in (0, 1) for BCE, N(0, 1) for the
 * others. Returns T. */
static inline int tu_make_targets(bp_rng *rng, bp_loss loss, int B, int O,
                                  int index_form, float *t)
{
    if (loss == BP_LOSS_CCE) {
        if (index_form && O > 1) {
            for (int b = 0; b < B; b++)
                t[b] = (float)bp_rng_below(rng, (uint64_t)O);
            return 1;
        }
        for (int b = 0; b < B; b++) {
            int c = (int)bp_rng_below(rng, (uint64_t)O);
            for (int k = 0; k < O; k++)
                t[(size_t)b * (size_t)O + (size_t)k] = k == c ? 1.0f : 0.0f;
        }
        return O;
    }
    if (loss == BP_LOSS_BCE) {
        for (size_t i = 0; i < (size_t)B * (size_t)O; i++)
            t[i] = index_form ? (float)bp_rng_below(rng, 2)
                              : (float)(0.05 + 0.9 * bp_rng_uniform(rng));
        return O;
    }
    tu_fill_normal(rng, t, (size_t)B * (size_t)O, 1.0);
    return O;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/* The whole of path (malloc'd, caller frees), with a NUL after its *n
 * bytes. */
static inline void *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = tu_xmalloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

/* Replace path with n bytes of data. */
static inline void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A load's error must have code and a message naming path and containing
 * each given piece. */
static inline void tu_expect_error(const bp_error *err, const char *path, int code,
                                   const char *piece1, const char *piece2)
{
    if (err->code != code)
        fail_msg("%s: code %d (%s), expected %d; message: %s", path, err->code,
                 bp_strerror(err->code), code, err->message);
    if (!strstr(err->message, path))
        fail_msg("message does not name the file: %s", err->message);
    if (piece1 && !strstr(err->message, piece1))
        fail_msg("message lacks '%s': %s", piece1, err->message);
    if (piece2 && !strstr(err->message, piece2))
        fail_msg("message lacks '%s': %s", piece2, err->message);
}

/* A model reader, as bp_model_load. */
typedef bp_net *(*tu_model_reader)(const char *path, bp_meta **meta, bp_error *err);

/* Read path with each allocation in turn failing, until a read succeeds:
 * every failed one must give BP_ENOMEM and no metadata, and none may leak. */
static inline void tu_read_each_alloc_failing(tu_model_reader read, const char *path)
{
    tu_counter c;
    bp_error err;
    for (long k = 1;; k++) {
        bp_meta *back = NULL;
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        bp_net *loaded = read(path, &back, &err);
        if (loaded) {
            bp_meta_free(back);
            bp_net_free(loaded);
            assert_int_equal(c.live, 0);
            bp_set_allocator(NULL);
            break;
        }
        assert_null(back);
        assert_int_equal(c.live, 0);
        bp_set_allocator(NULL);
        assert_int_equal(err.code, BP_ENOMEM);
        assert_true(k < 1000);
    }
}

#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200809L
/* A scratch directory for a test program's files: made by a group setup
 * that calls tu_dir_make, removed by tu_dir_remove as the group teardown. */
static inline char *tu_dir(void)
{
    static char dir[256];
    return dir;
}

/* Make /tmp/NAME_XXXXXX. Returns 0 or -1. */
static inline int tu_dir_make(const char *name)
{
    snprintf(tu_dir(), 256, "/tmp/%s_XXXXXX", name);
    return mkdtemp(tu_dir()) ? 0 : -1;
}

static inline int tu_dir_remove(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_dir());
    return system(cmd) == 0 ? 0 : -1;
}

/* name inside the scratch directory; the last four results stay valid. */
static inline const char *tu_path(const char *name)
{
    static char buf[4][320];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_dir(), name);
    return buf[k];
}
#endif

#endif /* BP_TESTUTIL_H */
