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
 */
#include "nn/layer.h"

#include <math.h>
#include <string.h>

/* Channels C of S positions each: a sample's values are (C, S). */
static int positions(const bp__layer *L)
{
    return L->in.h > 0 ? L->in.h * L->in.w : 1;
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
    L->keep = (size_t)L->in.c; /* each channel's 1 / sqrt(var + eps) of the last forward */
    L->w_rank = 1;
    memset(L->w_dims, 0, sizeof L->w_dims);
    L->w_dims[0] = (size_t)L->in.c;
    L->fan_in = 0.0;
    L->fan_out = 0.0;
    L->scratch = I; /* the normalized values */
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

/* Channel c's sums in double over every row, in one pass: of x into *sx
 * and of x * y into *sxy (y = x: the squares). Four running sums of each,
 * over every fourth position, added at the end in a fixed order, so that
 * the additions need not wait on one another and the result never depends
 * on the thread count. */
static void channel_sums(const bp__layer *L, int B, int c, const float *x, const float *y,
                         double *sx, double *sxy)
{
    const int S = positions(L);
    double a[4] = {0.0, 0.0, 0.0, 0.0}, q[4] = {0.0, 0.0, 0.0, 0.0};
    for (int b = 0; b < B; b++) {
        const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
        const float *xr = x + at, *yr = y + at;
        int s = 0;
        for (; s + 4 <= S; s += 4)
            for (int k = 0; k < 4; k++) {
                a[k] += xr[s + k];
                q[k] += (double)xr[s + k] * yr[s + k];
            }
        for (; s < S; s++) {
            a[s & 3] += xr[s];
            q[s & 3] += (double)xr[s] * yr[s];
        }
    }
    *sx = (a[0] + a[1]) + (a[2] + a[3]);
    *sxy = (q[0] + q[1]) + (q[2] + q[3]);
}

/* A whole-batch pass of channels [c0, c1), for bp__for_blocks. */
typedef struct bn_job {
    const bp__layer *L;
    const bp__pass *ps;
    const float *in, *dz; /* (B, I) */
    float *z, *xhat;      /* (B, I) */
    float *din;           /* (B, I), NULL when not wanted */
    int fresh;
} bn_job;

static void forward_channels(void *ctx, int blk, int n)
{
    const bn_job *j = ctx;
    const bp__layer *L = j->L;
    const bp__pass *ps = j->ps;
    const int C = (int)L->n_w, S = positions(L), B = ps->B;
    const int c0 = BP__BLOCK_START(C, blk, n), c1 = BP__BLOCK_START(C, blk + 1, n);
    const double N = (double)B * (double)S;
    float *rmean = ps->state + L->s_off, *rvar = rmean + C;
    for (int c = c0; c < c1; c++) {
        double mean, var;
        if (ps->training) {
            /* one pass: the sums of x and x^2 in double (a float's square
             * is exact in double; the variance keeps float's precision
             * while the mean is within about 1e4 standard deviations) */
            double s1, sq;
            channel_sums(L, B, c, j->in, j->in, &s1, &sq);
            mean = s1 / N;
            var = sq / N - mean * mean;
            var = var > 0.0 ? var : 0.0;
            const double s2 = var * N;
            const double unbiased = N > 1.0 ? s2 / (N - 1.0) : var;
            rmean[c] = (float)((1.0 - L->momentum) * rmean[c] + L->momentum * mean);
            rvar[c] = (float)((1.0 - L->momentum) * rvar[c] + L->momentum * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        const double inv = 1.0 / sqrt(var + L->eps);
        ps->keep[c] = (float)inv;
        const float g = ps->params[L->w_off + (size_t)c], be = ps->params[L->b_off + (size_t)c];
        /* the normalized values in double before their rounding: their sum
         * over the batch, which the slopes of the layers before rest on,
         * stays 0 to rounding, however far the mean lies from 0 */
        for (int b = 0; b < B; b++) {
            const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
            const float *x = j->in + at;
            float *xh = j->xhat + at, *z = j->z + at;
            for (int s = 0; s < S; s++) {
                xh[s] = (float)((x[s] - mean) * inv);
                z[s] = g * xh[s] + be;
            }
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
    bn_job job = {.L = L, .ps = ps, .in = in, .z = z, .xhat = scratch};
    const int n = channel_blocks(L, ps->B);
    bp__for_blocks(n, n, forward_channels, &job);
    if (ps->training)
        ps->state[L->s_off + 2 * L->n_w] += 1.0f; /* num_batches_tracked */
}

static void backward_channels(void *ctx, int blk, int n)
{
    const bn_job *j = ctx;
    const bp__layer *L = j->L;
    const bp__pass *ps = j->ps;
    const int C = (int)L->n_w, S = positions(L), B = ps->B;
    const int c0 = BP__BLOCK_START(C, blk, n), c1 = BP__BLOCK_START(C, blk + 1, n);
    const double N = (double)B * (double)S;
    for (int c = c0; c < c1; c++) {
        /* sums of dz and dz * xhat */
        double sd, sdx;
        channel_sums(L, B, c, j->dz, j->xhat, &sd, &sdx);
        float *gw = ps->grads + L->w_off + (size_t)c, *gb = ps->grads + L->b_off + (size_t)c;
        *gw = j->fresh ? (float)sdx : *gw + (float)sdx;
        *gb = j->fresh ? (float)sd : *gb + (float)sd;
        if (!j->din)
            continue;
        const float g = ps->params[L->w_off + (size_t)c];
        if (ps->training) {
            /* dx = g inv (dz - mean dz - xhat mean(dz xhat)), in double: the
             * terms cancel, and a layer before reads their sum over the batch */
            const double k = g * (double)ps->keep[c], md = sd / N, mdx = sdx / N;
            for (int b = 0; b < B; b++) {
                const size_t at = (size_t)b * (size_t)L->I + (size_t)c * (size_t)S;
                const float *d = j->dz + at, *xh = j->xhat + at;
                float *dx = j->din + at;
                for (int s = 0; s < S; s++)
                    dx[s] = (float)(k * ((d[s] - md) - xh[s] * mdx));
            }
        } else { /* fixed statistics: a scale per channel */
            const float k = g * ps->keep[c];
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
    bn_job job = {.L = L, .ps = ps, .in = in, .dz = dz, .xhat = (float *)scratch, .din = din,
                  .fresh = fresh};
    const int n = channel_blocks(L, ps->B);
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
