/*
 * batchnorm.c - batch normalization, as PyTorch's BatchNorm2d after a
 * spatial layer (one mean and variance per channel, over the batch and
 * every position) and BatchNorm1d after a flat one (per feature, over the
 * batch): z = weight * (x - mean) / sqrt(var + eps) + bias.
 *
 * Training mode normalizes by the batch's mean and biased variance and
 * moves the running statistics towards them by the momentum, the running
 * variance by the unbiased one; evaluation mode normalizes by the running
 * statistics. The weight and bias (C each) are the layer's parameters;
 * running_mean, running_var (C each) and num_batches_tracked (1) are its
 * state. The batch's statistics couple the rows, so the passes run over
 * the whole batch, split by channel: each channel's sums run in a fixed
 * order, so the bits never depend on the thread count.
 *
 * Across processes (L->allsum set), each channel's sums over this
 * process's rows are summed over every process before they are used:
 * those of x and x^2 in forward, those of dz and dz * xhat in backward,
 * so the statistics are the global batch's and every process moves its
 * running statistics alike. Alone, the arithmetic is unchanged. In the
 * ordered schedule (dist/split.c, L->allsum->given) the caller has put the
 * whole batch's sums in place already, adding the parts' in part order:
 * the passes take them as they are and the caller moves the running
 * statistics once per batch (bp__net_bn_track).
 *
 * Forward keeps each channel's mean and 1 / sqrt(var + eps) in double, and
 * backward forms the normalized values again from the layer's input by the
 * same arithmetic: storing them cost a write of the whole activation.
 */
#include "nn/layer.h"
#include "nn/net.h"

#include <math.h>
#include <string.h>

/* Channels C of S positions each: a sample's values are (C, S). */
static int positions(const bp__layer *L)
{
    return L->in.h > 0 ? L->in.h * L->in.w : 1;
}

/* A channel's normalization: x - mean, times inv = 1 / sqrt(var + eps). */
typedef struct norm {
    double mean, inv;
} norm;

/* Channel c's norm as the last forward pass kept it (keep holds floats). */
static norm norm_of(const float *keep, int c)
{
    norm n;
    memcpy(&n, keep + (size_t)c * (sizeof n / sizeof *keep), sizeof n);
    return n;
}

/* Keep channel c's norm for backward. */
static void norm_put(float *keep, int c, norm n)
{
    memcpy(keep + (size_t)c * (sizeof n / sizeof *keep), &n, sizeof n);
}

static float xhat_of(float x, norm n)
{
    return (float)((x - n.mean) * n.inv);
}

static int bn_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    const size_t I = bp_shape_size(L->in);
    const double m = d->momentum != 0.0 ? d->momentum : BP__BN_MOMENTUM;
    const double e = d->eps != 0.0 ? d->eps : BP__BN_EPS;
    if (!(m > 0.0 && m <= 1.0)) {
        bp__format(msg, size, "momentum must be in (0, 1], got %g", m);
        return -1;
    }
    if (!(e > 0.0 && isfinite(e))) {
        bp__format(msg, size, "eps must be a positive number, got %g", e);
        return -1;
    }
    L->out = L->in;
    L->I = (int)I;
    L->O = (int)I;
    L->momentum = m;
    L->eps = e;
    L->bias = 1;
    L->n_w = (size_t)L->in.c;
    L->n_b = (size_t)L->in.c;
    L->n_s = 2 * (size_t)L->in.c + 1;
    L->keep = (size_t)L->in.c * (sizeof(norm) / sizeof(float)); /* the last forward's norms */
    L->w_rank = 1;
    memset(L->w_dims, 0, sizeof L->w_dims);
    L->w_dims[0] = (size_t)L->in.c;
    L->fan_in = 0.0;
    L->fan_out = 0.0;
    L->scratch = 0;
    L->macs = 4.0 * (double)I;
    return 0;
}

static void bn_reset(const bp__layer *L, float *params, float *state)
{
    const size_t C = L->n_w;
    for (size_t c = 0; c < C; c++) {
        params[L->w_off + c] = 1.0f;
        params[L->b_off + c] = 0.0f;
        state[L->s_off + c] = 0.0f;
        state[L->s_off + C + c] = 1.0f;
    }
    state[L->s_off + 2 * C] = 0.0f;
}

/* A channel's sums run as 16 independent chains of additions, two vectors
 * of eight (bp__v8d), over every 16th position, so that they need not wait
 * on one another; the chains are added at the end in a fixed order, so the
 * result never depends on the thread count. */

/* Eight positions' xhat by the norm n, rounded to float as forward rounds
 * it (a macro: a function returning a vector would take another calling
 * convention in each build). */
#define XHAT8(p, n)                                                                            \
    __builtin_convertvector(__builtin_convertvector((BP__LOAD8(p) - (n).mean) * (n).inv,     \
                                                    bp__v8f),                                  \
                            bp__v8d)

/* Add v to chain k of the 16 (k < 8 in lo, else in hi). */
static void chain_add(bp__v8d *lo, bp__v8d *hi, int k, double v)
{
    if (k < 8)
        (*lo)[k] += v;
    else
        (*hi)[k - 8] += v;
}

static double chains_total(const bp__v8d *a0, const bp__v8d *a1)
{
    const bp__v8d a = *a0 + *a1;
    return bp__v8d_total(&a);
}

/* Channel c's sums in double over every row, in one pass: of x into *sx
 * and of x^2 into *sxx (a float's square is exact in double). */
BP__WIDE static void sums_of_x(const bp__layer *L, int B, int c, const float *x, double *sx,
                               double *sxx)
{
    const int S = positions(L);
    bp__v8d a0 = {0.0}, a1 = {0.0}, q0 = {0.0}, q1 = {0.0};
    for (int b = 0; b < B; b++) {
        const float *r = x + (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
        int s = 0;
        for (; s + 16 <= S; s += 16) {
            const bp__v8d v0 = BP__LOAD8(r + s), v1 = BP__LOAD8(r + s + 8);
            a0 += v0;
            a1 += v1;
            q0 += v0 * v0;
            q1 += v1 * v1;
        }
        for (; s < S; s++) {
            const double v = r[s];
            chain_add(&a0, &a1, s % 16, v);
            chain_add(&q0, &q1, s % 16, v * v);
        }
    }
    *sx = chains_total(&a0, &a1);
    *sxx = chains_total(&q0, &q1);
}

/* Channel c's sums of dz into *sd and of dz * xhat into *sdx, xhat formed
 * from the input x by the channel's norm n. */
BP__WIDE static void sums_of_dz(const bp__layer *L, int B, int c, const float *dz,
                                const float *x, norm n, double *sd, double *sdx)
{
    const int S = positions(L);
    bp__v8d a0 = {0.0}, a1 = {0.0}, q0 = {0.0}, q1 = {0.0};
    for (int b = 0; b < B; b++) {
        const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
        const float *d = dz + at, *r = x + at;
        int s = 0;
        for (; s + 16 <= S; s += 16) {
            const bp__v8d d0 = BP__LOAD8(d + s), d1 = BP__LOAD8(d + s + 8);
            a0 += d0;
            a1 += d1;
            q0 += d0 * XHAT8(r + s, n);
            q1 += d1 * XHAT8(r + s + 8, n);
        }
        for (; s < S; s++) {
            chain_add(&a0, &a1, s % 16, d[s]);
            chain_add(&q0, &q1, s % 16, (double)d[s] * xhat_of(r[s], n));
        }
    }
    *sd = chains_total(&a0, &a1);
    *sdx = chains_total(&q0, &q1);
}

/* A whole-batch pass of channels [c0, c1), for bp__for_blocks. */
typedef struct bn_job {
    const bp__layer *L;
    const bp__pass *ps;
    const float *in, *dz; /* (B, I) */
    float *z;             /* (B, I) */
    float *din;           /* (B, I), NULL when not wanted */
    int fresh;
    int track;            /* move the running statistics (forward) */
    double *sums;         /* (4 C) with L->allsum: this process's sums, then every one's */
} bn_job;

/* Mean and biased variance from the sums of x and x^2 over N values. */
static void batch_stats(double s1, double sq, double N, double *mean, double *var)
{
    *mean = s1 / N;
    *var = sq / N - *mean * *mean;
    *var = *var > 0.0 ? *var : 0.0;
}

/* Move channel c's running statistics towards the batch's. */
static void track(const bp__layer *L, float *state, int c, double mean, double var, double N)
{
    float *rmean = state + L->s_off, *rvar = rmean + L->n_w;
    const double s2 = var * N;
    const double unbiased = N > 1.0 ? s2 / (N - 1.0) : var;
    rmean[c] = (float)((1.0 - L->momentum) * rmean[c] + L->momentum * mean);
    rvar[c] = (float)((1.0 - L->momentum) * rvar[c] + L->momentum * unbiased);
}

/* This process's sums of channels [c0, c1) into sums (x and x^2 in
 * forward, dz and dz * xhat in backward): the first pass across processes. */
static void local_sums(void *ctx, int blk, int n)
{
    const bn_job *j = ctx;
    const int C = (int)j->L->n_w;
    const int c0 = BP__BLOCK_START(C, blk, n), c1 = BP__BLOCK_START(C, blk + 1, n);
    for (int c = c0; c < c1; c++) {
        if (j->dz)
            sums_of_dz(j->L, j->ps->B, c, j->dz, j->in, norm_of(j->ps->keep, c), &j->sums[2 * c],
                       &j->sums[2 * c + 1]);
        else
            sums_of_x(j->L, j->ps->B, c, j->in, &j->sums[2 * c], &j->sums[2 * c + 1]);
    }
}

/* Sum v (n) over every process; on a failure, keep it for the caller. */
static void allsum(bp__allsum *a, double *v, size_t n)
{
    int rc = a->sum(v, n, a->ctx);
    if (rc != 0 && a->rc == 0)
        a->rc = rc;
}

BP__WIDE static void forward_channels(void *ctx, int blk, int n)
{
    const bn_job *j = ctx;
    const bp__layer *L = j->L;
    const bp__pass *ps = j->ps;
    const int C = (int)L->n_w, S = positions(L), B = ps->B;
    const int c0 = BP__BLOCK_START(C, blk, n), c1 = BP__BLOCK_START(C, blk + 1, n);
    const double N = (j->sums ? (double)L->allsum->rows : (double)B) * (double)S;
    float *rmean = ps->state + L->s_off, *rvar = rmean + C;
    for (int c = c0; c < c1; c++) {
        double mean, var;
        if (ps->training) {
            /* one pass: the sums of x and x^2 in double (a float's square
             * is exact in double; the variance keeps float's precision
             * while the mean is within about 1e4 standard deviations) */
            double s1, sq;
            if (j->sums) {
                s1 = j->sums[2 * c];
                sq = j->sums[2 * c + 1];
            } else {
                sums_of_x(L, B, c, j->in, &s1, &sq);
            }
            batch_stats(s1, sq, N, &mean, &var);
            if (j->track)
                track(L, ps->state, c, mean, var, N);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        const norm nm = {mean, 1.0 / sqrt(var + L->eps)};
        norm_put(ps->keep, c, nm);
        const float g = ps->params[L->w_off + (size_t)c], be = ps->params[L->b_off + (size_t)c];
        /* the normalized values in double before their rounding: their sum
         * over the batch, which the slopes of the layers before rest on,
         * stays 0 to rounding, however far the mean lies from 0 */
        for (int b = 0; b < B; b++) {
            const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
            const float *x = j->in + at;
            float *z = j->z + at;
            for (int s = 0; s < S; s++)
                z[s] = g * xhat_of(x[s], nm) + be;
        }
    }
}

/* Channel blocks for a pass over B rows: one for small work, else up to
 * BP__MAX_ROW_BLOCKS (each channel's result is the same in any block). */
static int channel_blocks(const bp__layer *L, int B)
{
    const int C = (int)L->n_w;
    if ((double)B * L->macs < BP__PARALLEL_WORK)
        return 1;
    return C < BP__MAX_ROW_BLOCKS ? C : BP__MAX_ROW_BLOCKS;
}

static void bn_forward_batch(const bp__layer *L, const bp__pass *ps, const float *in, float *z,
                             float *scratch)
{
    const int given = L->allsum && L->allsum->given;
    bn_job job = {.L = L, .ps = ps, .in = in, .z = z, .track = !given};
    (void)scratch;
    const int n = channel_blocks(L, ps->B);
    if (ps->training && L->allsum) { /* the global batch's sums first */
        job.sums = L->allsum->buf;
        if (!given) {
            bp__for_blocks(n, n, local_sums, &job);
            allsum(L->allsum, job.sums, 2 * L->n_w);
        }
    }
    bp__for_blocks(n, n, forward_channels, &job);
    if (ps->training && !given)
        ps->state[L->s_off + 2 * L->n_w] += 1.0f; /* num_batches_tracked */
}

BP__WIDE static void backward_channels(void *ctx, int blk, int n)
{
    const bn_job *j = ctx;
    const bp__layer *L = j->L;
    const bp__pass *ps = j->ps;
    const int C = (int)L->n_w, S = positions(L), B = ps->B;
    const int c0 = BP__BLOCK_START(C, blk, n), c1 = BP__BLOCK_START(C, blk + 1, n);
    const double N = (double)B * (double)S;
    for (int c = c0; c < c1; c++) {
        /* sums of dz and dz * xhat */
        const norm nm = norm_of(ps->keep, c);
        double sd, sdx;
        if (j->sums) {
            sd = j->sums[2 * c];
            sdx = j->sums[2 * c + 1];
        } else {
            sums_of_dz(L, B, c, j->dz, j->in, nm, &sd, &sdx);
        }
        float *gw = ps->grads + L->w_off + (size_t)c, *gb = ps->grads + L->b_off + (size_t)c;
        *gw = j->fresh ? (float)sdx : *gw + (float)sdx;
        *gb = j->fresh ? (float)sd : *gb + (float)sd;
        if (!j->din)
            continue;
        const float g = ps->params[L->w_off + (size_t)c];
        if (ps->training) {
            /* dx = g inv (dz - mean dz - xhat mean(dz xhat)), in double: the
             * terms cancel, and a layer before reads their sum over the batch */
            double md = sd / N, mdx = sdx / N;
            if (j->sums) { /* the global means, in this process's scale */
                const bp__allsum *a = L->allsum;
                const double Ng = (double)a->rows * (double)S * a->share;
                const double *gs = j->sums + 2 * C;
                md = gs[2 * c] / Ng;
                mdx = gs[2 * c + 1] / Ng;
            }
            const double k = g * nm.inv;
            for (int b = 0; b < B; b++) {
                const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
                const float *d = j->dz + at, *x = j->in + at;
                float *dx = j->din + at;
                for (int s = 0; s < S; s++)
                    dx[s] = (float)(k * ((d[s] - md) - xhat_of(x[s], nm) * mdx));
            }
        } else { /* fixed statistics: a scale per channel */
            const float k = g * (float)nm.inv;
            for (int b = 0; b < B; b++) {
                const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
                for (int s = 0; s < S; s++)
                    j->din[at + (size_t)s] = k * j->dz[at + (size_t)s];
            }
        }
    }
}

static void bn_backward_batch(const bp__layer *L, const bp__pass *ps, const float *in,
                              const float *scratch, const float *dz, float *din, int fresh)
{
    bn_job job = {.L = L, .ps = ps, .in = in, .dz = dz, .din = din, .fresh = fresh};
    (void)scratch;
    const int n = channel_blocks(L, ps->B);
    if (ps->training && L->allsum) {
        /* this process's sums (for the parameters' slopes), then every
         * process's, each weighed by its share of the batch: a process's
         * dz is the slope of the mean loss over its own rows */
        const size_t C = L->n_w;
        double *gs = L->allsum->buf + 2 * C;
        job.sums = L->allsum->buf;
        bp__for_blocks(n, n, local_sums, &job);
        if (!L->allsum->given) {
            for (size_t i = 0; i < 2 * C; i++)
                gs[i] = job.sums[i] * L->allsum->share;
            allsum(L->allsum, gs, 2 * C);
        }
    }
    bp__for_blocks(n, n, backward_channels, &job);
}

/* The whole batch in double, naively: each channel's statistics (the
 * batch's in training mode, the running ones else), then z. */
static void bn_forward_batch_d(const bp__layer *L, const double *p, const float *state,
                               int training, int B, const double *in, double *z)
{
    const int C = (int)L->n_w, S = positions(L);
    const double N = (double)B * (double)S;
    for (int c = 0; c < C; c++) {
        double mean = state[L->s_off + (size_t)c], var = state[L->s_off + (size_t)(C + c)];
        if (training) {
            double s1 = 0.0, s2 = 0.0;
            for (int b = 0; b < B; b++)
                for (int s = 0; s < S; s++)
                    s1 += in[(size_t)b * (size_t)L->I + (size_t)c * (size_t)S + (size_t)s];
            mean = s1 / N;
            for (int b = 0; b < B; b++)
                for (int s = 0; s < S; s++) {
                    const double dv =
                        in[(size_t)b * (size_t)L->I + (size_t)c * (size_t)S + (size_t)s] - mean;
                    s2 += dv * dv;
                }
            var = s2 / N;
        }
        const double inv = 1.0 / sqrt(var + L->eps);
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) {
                const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S + (size_t)s;
                z[at] = p[L->w_off + (size_t)c] * (in[at] - mean) * inv + p[L->b_off + (size_t)c];
            }
    }
}

void bp__net_set_allsum(bp_net *net, bp__allsum *a)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind->id == BP_LAYER_BATCHNORM)
            net->layers[l].allsum = a;
}

size_t bp__net_bn_channels(const bp_net *net)
{
    size_t C = 0;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind->id == BP_LAYER_BATCHNORM && net->layers[l].n_w > C)
            C = net->layers[l].n_w;
    return C;
}

void bp__net_bn_track(bp_net *net, int l, const double *sums, int rows)
{
    const bp__layer *L = &net->layers[l];
    const double N = (double)rows * (double)positions(L);
    for (int c = 0; c < (int)L->n_w; c++) {
        double mean, var;
        batch_stats(sums[2 * c], sums[2 * c + 1], N, &mean, &var);
        track(L, net->state, c, mean, var, N);
    }
    net->state[L->s_off + 2 * L->n_w] += 1.0f; /* num_batches_tracked */
}

void bp__bn_sums(const bp__layer *L, const float *keep, int B, const float *x, const float *dz,
                 double *v)
{
    const bp__pass ps = {.B = B, .keep = (float *)(uintptr_t)keep};
    bn_job job = {.L = L, .ps = &ps, .in = x, .dz = dz, .sums = v};
    const int n = channel_blocks(L, B);
    bp__for_blocks(n, n, local_sums, &job);
}

void bp__net_allsum_idle(bp_net *net, bp__allsum *a)
{
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        if (L->kind->id != BP_LAYER_BATCHNORM)
            continue;
        memset(a->buf, 0, 2 * L->n_w * sizeof *a->buf);
        allsum(a, a->buf, 2 * L->n_w);
        bp__net_bn_track(net, l, a->buf, a->rows);
    }
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const bp__layer *L = &net->layers[l];
        if (L->kind->id != BP_LAYER_BATCHNORM)
            continue;
        memset(a->buf, 0, 2 * L->n_w * sizeof *a->buf);
        allsum(a, a->buf, 2 * L->n_w);
    }
}

const bp__kind bp__kind_batchnorm = {
    .id = BP_LAYER_BATCHNORM,
    .word = "batchnorm",
    .takes = BP__TAKES_NORM,
    .plan = bn_plan,
    .reset = bn_reset,
    .forward_batch = bn_forward_batch,
    .backward_batch = bn_backward_batch,
    .forward_batch_d = bn_forward_batch_d,
};
