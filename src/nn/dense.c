/*
 * dense.c - the dense layer kind: every output a weighted sum of every
 * input plus a bias, z = x W^T + b, with the weights (O, I) row-major and
 * the bias (O) after them in the parameter block. A spatial input is read
 * flattened in its (C, H, W) order, as torch.nn.Flatten then nn.Linear.
 */
#include "nn/layer.h"
#include "nn/dense_bf16.h"

static int dense_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    size_t I = bp_shape_size(L->in), w;
    if (d->width <= 0) {
        bp__format(msg, size, "width must be positive, got %d", d->width);
        return -1;
    }
    if (I > (size_t)INT32_MAX || bp__mul_size(I, (size_t)d->width, &w) != 0 ||
        w > SIZE_MAX / 8) {
        bp__format(msg, size, "too many parameters");
        return -1;
    }
    L->out = (bp_shape){d->width, 0, 0};
    L->I = (int)I;
    L->O = d->width;
    L->n_w = w;
    L->n_b = L->bias ? (size_t)L->O : 0;
    L->w_rank = 2;
    L->w_dims[0] = (size_t)L->O;
    L->w_dims[1] = I;
    L->fan_in = (double)I;
    L->fan_out = (double)L->O;
    L->scratch = 0;
    L->macs = (double)I * (double)L->O;
    return 0;
}

/* Units [u0, u1) of z (rows, O): the product's values, read from src
 * (rows, u1 - u0; rows lds apart, src = z + u0 and lds = O in place),
 * plus the bias, with relu (or leaky relu) in the same pass where the
 * layer applies it: in the order and with the expressions of the
 * separate passes, so the same bits. */
static void bias_act(const bp__layer *L, const float *params, int rows, const float *src,
                     size_t lds, float *z, int u0, int u1)
{
    const float *bias = L->bias ? params + L->b_off : NULL;
    const float slope = L->slope;
    const size_t O = (size_t)L->O;
    const bp_act act = bp__act_in_forward(L) ? L->act : BP_ACT_IDENTITY;
    for (int b = 0; b < rows; b++) {
        const float *s = src + (size_t)b * lds - u0;
        float *row = z + (size_t)b * O;
        switch (act) {
        case BP_ACT_RELU:
            for (int o = u0; o < u1; o++)
                row[o] = bp__act_simple(BP_ACT_RELU, slope, bias ? s[o] + bias[o] : s[o]);
            break;
        case BP_ACT_LEAKY_RELU:
            for (int o = u0; o < u1; o++)
                row[o] = bp__act_simple(BP_ACT_LEAKY_RELU, slope, bias ? s[o] + bias[o] : s[o]);
            break;
        default:
            if (bias)
                for (int o = u0; o < u1; o++)
                    row[o] = s[o] + bias[o];
            else if (s != row)
                for (int o = u0; o < u1; o++)
                    row[o] = s[o];
            break;
        }
    }
}

static void dense_forward(const bp__layer *L, const float *params, int rows, const float *x,
                          float *z, float *scratch)
{
    (void)scratch;
#ifdef BP_HAVE_DNNL
    if (L->prims)
        bp__dense_half_forward(L->prims, rows, x, z,
                               bp__dense_half_x16(L, scratch));
    else
#endif
        bp__gemm(0, 1, rows, L->O, L->I, 1.0f, x, L->I, params + L->w_off, L->I, 0.0f, z, L->O);
    bias_act(L, params, rows, z, (size_t)L->O, z, 0, L->O);
}

/* z[:, u0:u1] = x W[u0:u1]^T + b[u0:u1] over the batch (bf16: x from the
 * scratch's input plane). */
static void dense_forward_units(const bp__layer *L, const float *params, int B, const float *x,
                                float *z, float *scratch, int u0, int u1)
{
    (void)scratch;
#ifdef BP_HAVE_DNNL
    if (L->prims) { /* the product in a dense buffer, else in z */
        const float *dense =
            bp__dense_half_forward_units(L->prims, B, bp__dense_half_x16(L, scratch), z, u0, u1);
        if (dense)
            bias_act(L, params, B, dense, (size_t)(u1 - u0), z, u0, u1);
        else
            bias_act(L, params, B, z + u0, (size_t)L->O, z, u0, u1);
        return;
    }
#endif
    bp__gemm(0, 1, B, u1 - u0, L->I, 1.0f, x, L->I, params + L->w_off + (size_t)u0 * (size_t)L->I,
             L->I, 0.0f, z + u0, L->O);
    bias_act(L, params, B, z + u0, (size_t)L->O, z, u0, u1);
}

/* dW += dz^T in, db += column sums of dz (summed in double), for outputs
 * [o0, o1). */
static void dense_grad_params(const bp__layer *L, int o0, int o1, int B, const float *in,
                              const float *scratch, const float *dz, float *grads, int fresh)
{
    (void)scratch;
#ifdef BP_HAVE_DNNL
    if (L->prims)
        bp__dense_half_grad_w(L->prims, o0, o1, B, bp__dense_half_x16(L, scratch),
                              bp__dense_half_dz16(L, scratch), grads + L->w_off, fresh);
    else
#endif
        bp__gemm(1, 0, o1 - o0, L->I, B, 1.0f, dz + o0, L->O, in, L->I, fresh ? 0.0f : 1.0f,
                 grads + L->w_off + (size_t)o0 * (size_t)L->I, L->I);
    if (L->bias) {
        /* Row by row into a strip of double sums, so the reads of dz run
         * along its rows; each sum still adds its column in row order. */
        enum { STRIP = 256 };
        double cs[STRIP];
        float *db = grads + L->b_off;
        for (int s0 = o0; s0 < o1; s0 += STRIP) {
            const int w = o1 - s0 < STRIP ? o1 - s0 : STRIP;
            for (int o = 0; o < w; o++)
                cs[o] = 0.0;
            for (int b = 0; b < B; b++) {
                const float *row = dz + (size_t)b * (size_t)L->O + (size_t)s0;
                for (int o = 0; o < w; o++)
                    cs[o] += row[o];
            }
            for (int o = 0; o < w; o++)
                db[s0 + o] = fresh ? (float)cs[o] : db[s0 + o] + (float)cs[o];
        }
    }
}

/* din = dz W */
static void dense_grad_input(const bp__layer *L, const float *params, int rows, const float *in,
                             const float *scratch, const float *dz, float *din, float *work)
{
    (void)in;
    (void)work;
#ifdef BP_HAVE_DNNL
    if (L->prims) {
        bp__dense_half_grad_input(L->prims, rows,
                                  bp__dense_half_dz16(L, scratch), din);
        return;
    }
#endif
    (void)scratch;
    bp__gemm(0, 0, rows, L->I, L->O, 1.0f, dz, L->O, params + L->w_off, L->I, 0.0f, din, L->I);
}

static void dense_release(bp__layer *L)
{
#ifdef BP_HAVE_DNNL
    bp__dense_half_free(L->prims);
#endif
    L->prims = NULL;
}

/* bf16 products: the scratch for the copies, the primitives and the
 * weights' copy, made once here; back to float: none of them. */
static int dense_set_half(bp__layer *L, int on, char *msg, size_t size)
{
    dense_release(L);
    L->half = on;
    L->scratch = 0;
    if (!on)
        return 0;
#ifdef BP_HAVE_DNNL
    bp__dense_half *H = NULL;
    L->scratch = bp__dense_half_scratch(L);
    int rc = bp__dense_half_make(L, &H, msg, size);
    L->prims = H;
    return rc;
#else
    bp__format(msg, size, "bf16 needs the oneDNN build");
    return BP_EUNSUPPORTED;
#endif
}

static void dense_refresh(const bp__layer *L, const float *params)
{
#ifdef BP_HAVE_DNNL
    bp__dense_half_refresh(L->prims, params + L->w_off);
#else
    (void)L;
    (void)params;
#endif
}

static uint16_t *dense_half_weights(const bp__layer *L)
{
#ifdef BP_HAVE_DNNL
    return bp__dense_half_w16(L->prims);
#else
    (void)L;
    return NULL;
#endif
}

static void dense_keep_dz(const bp__layer *L, int rows, const float *dz, float *scratch)
{
#ifdef BP_HAVE_DNNL
    bp__dense_half_keep_dz(L->prims, rows, dz,
                           bp__dense_half_dz16(L, scratch));
#else
    (void)L;
    (void)rows;
    (void)dz;
    (void)scratch;
#endif
}

static void dense_keep_in(const bp__layer *L, int rows, const float *in, float *scratch, int c0,
                          int c1)
{
#ifdef BP_HAVE_DNNL
    bp__dense_half_keep_in(L->prims, rows, in,
                           bp__dense_half_x16(L, scratch), c0, c1);
#else
    (void)L;
    (void)rows;
    (void)in;
    (void)scratch;
    (void)c0;
    (void)c1;
#endif
}

static void dense_forward_d(const bp__layer *L, const double *p, const double *in, double *z)
{
    const double *w = p + L->w_off;
    for (int o = 0; o < L->O; o++) {
        double acc = L->bias ? p[L->b_off + (size_t)o] : 0.0;
        for (int i = 0; i < L->I; i++)
            acc += w[(size_t)o * (size_t)L->I + (size_t)i] * in[i];
        z[o] = acc;
    }
}

static void dense_backward_d(const bp__layer *L, const double *p, const double *in,
                             const double *dz, double *g, double *din)
{
    const double *w = p + L->w_off;
    if (g) {
        for (int o = 0; o < L->O; o++) {
            for (int i = 0; i < L->I; i++)
                g[(size_t)o * (size_t)L->I + (size_t)i] = in[i] * dz[o];
            if (L->bias)
                g[L->n_w + (size_t)o] = dz[o];
        }
    }
    for (int i = 0; i < L->I; i++) {
        double acc = 0.0;
        for (int o = 0; o < L->O; o++)
            acc += w[(size_t)o * (size_t)L->I + (size_t)i] * dz[o];
        din[i] = acc;
    }
}

static size_t dense_weight_terms(const bp__layer *L, size_t weight, size_t max, size_t *io)
{
    if (max > 0) {
        io[0] = weight % (size_t)L->I;
        io[1] = weight / (size_t)L->I;
    }
    return 1;
}

const bp__kind bp__kind_dense = {
    .id = BP_LAYER_DENSE,
    .word = NULL,
    .takes = BP__TAKES_WIDTH | BP__TAKES_BIAS | BP__TAKES_ACT | BP__ACT_IN_FORWARD,
    .plan = dense_plan,
    .forward = dense_forward,
    .forward_units = dense_forward_units,
    .grad_params = dense_grad_params,
    .grad_input = dense_grad_input,
    .set_half = dense_set_half,
    .release = dense_release,
    .refresh = dense_refresh,
    .half_weights = dense_half_weights,
    .keep_dz = dense_keep_dz,
    .keep_in = dense_keep_in,
    .forward_d = dense_forward_d,
    .backward_d = dense_backward_d,
    .weight_terms = dense_weight_terms,
};
