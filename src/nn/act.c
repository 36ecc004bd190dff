/*
 * act.c - two kinds without parameters that keep their input's shape:
 * an activation standing alone ("relu" after "batchnorm"), whose kind
 * passes its input through and lets the network apply the activation as
 * for any layer (so a standalone softmax at the output still fuses with
 * the loss), in place on its input's buffer where the network can give
 * it that (BP__PASS_THROUGH: nothing is copied then); and inverted
 * dropout ("dropout:P", as PyTorch's nn.Dropout), which in training mode
 * zeroes each value with probability P and scales the kept ones by
 * 1 / (1 - P), and in evaluation mode passes its input through. Dropout
 * draws its masks over the whole batch in order, on one thread, so the
 * bits never depend on the thread count.
 */
#include "nn/layer.h"

#include <string.h>

/* Shape kept, nothing to learn, nothing kept. */
static void pass_plan(bp__layer *L)
{
    const size_t I = bp_shape_size(L->in);
    L->out = L->in;
    L->I = (int)I;
    L->O = (int)I;
    bp__layer_no_params(L);
    L->scratch = 0;
    L->macs = (double)I;
}

static int act_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    (void)d;
    (void)msg;
    (void)size;
    pass_plan(L);
    return 0;
}

static void copy_forward(const bp__layer *L, const float *params, int rows, const float *in,
                         float *z, float *scratch)
{
    (void)params;
    (void)scratch;
    if (z != in) /* in place: nothing to do */
        memcpy(z, in, (size_t)rows * (size_t)L->I * sizeof *z);
}

static void copy_grad_input(const bp__layer *L, const float *params, int rows, const float *in,
                            const float *scratch, const float *dz, float *din, float *work)
{
    (void)params;
    (void)in;
    (void)scratch;
    (void)work;
    memcpy(din, dz, (size_t)rows * (size_t)L->I * sizeof *din);
}

static void copy_forward_d(const bp__layer *L, const double *p, const double *in, double *z)
{
    (void)p;
    memcpy(z, in, (size_t)L->I * sizeof *z);
}

static void copy_backward_d(const bp__layer *L, const double *p, const double *in,
                            const double *dz, double *g, double *din)
{
    (void)p;
    (void)in;
    (void)g;
    memcpy(din, dz, (size_t)L->I * sizeof *din);
}

const bp__kind bp__kind_act = {
    .id = BP_LAYER_ACT,
    .word = "activation",
    .takes = BP__TAKES_ACT | BP__ACT_WORD | BP__PASS_THROUGH,
    .plan = act_plan,
    .forward = copy_forward,
    .grad_input = copy_grad_input,
    .forward_d = copy_forward_d,
    .backward_d = copy_backward_d,
};

/* ---- dropout ------------------------------------------------------------ */

static int dropout_plan(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size)
{
    if (!(d->rate >= 0.0 && d->rate < 1.0)) {
        bp__format(msg, size, "the probability must be in [0, 1), got %g", d->rate);
        return -1;
    }
    pass_plan(L);
    L->rate = d->rate;
    L->scratch = (size_t)L->I; /* the mask */
    return 0;
}

/* Whether the pass drops values. */
static int drops(const bp__layer *L, const bp__pass *ps)
{
    return ps->training && L->rate > 0.0 && ps->rng;
}

/* The masks of the whole batch in order, two values per 64 random bits, as
 * the global dropout draws them. */
static void dropout_forward_batch(const bp__layer *L, const bp__pass *ps, const float *in,
                                  float *z, float *mask)
{
    const size_t n = (size_t)ps->B * (size_t)L->I;
    if (!drops(L, ps)) {
        memcpy(z, in, n * sizeof *z);
        return;
    }
    const uint64_t threshold = (uint64_t)(L->rate * 4294967296.0);
    const float keep = (float)(1.0 / (1.0 - L->rate));
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 1) == 0)
            bits = bp_rng_next(ps->rng);
        const uint64_t r = (i & 1) ? bits >> 32 : bits & 0xffffffffu;
        mask[i] = r < threshold ? 0.0f : keep;
        z[i] = in[i] * mask[i];
    }
}

static void dropout_backward_batch(const bp__layer *L, const bp__pass *ps, const float *in,
                                   const float *mask, const float *dz, float *din, int fresh)
{
    const size_t n = (size_t)ps->B * (size_t)L->I;
    (void)in;
    (void)fresh;
    if (!din)
        return;
    if (!drops(L, ps)) {
        memcpy(din, dz, n * sizeof *din);
        return;
    }
    for (size_t i = 0; i < n; i++)
        din[i] = dz[i] * mask[i];
}

const bp__kind bp__kind_dropout = {
    .id = BP_LAYER_DROPOUT,
    .word = "dropout",
    .takes = BP__TAKES_RATE,
    .plan = dropout_plan,
    .forward_batch = dropout_forward_batch,
    .backward_batch = dropout_backward_batch,
    .forward_d = copy_forward_d,
    .backward_d = copy_backward_d,
};
