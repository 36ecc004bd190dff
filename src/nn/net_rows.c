/*
 * net_rows.c - the network's training passes one layer at a time over a
 * run of rows [r0, r1) of the batch in the workspace: what the ordered
 * schedule of batch norm networks (dist/split.c) runs for each part of a
 * batch, layer by layer, so that every part waits at a batch norm for the
 * sums of all of them.
 *
 * Each layer's buffers in the workspace are (rows, width) row-major, so a
 * part's rows are one contiguous stretch of every one of them, the slope
 * buffers included as long as every part goes through a layer before any
 * goes on to the next. The calls are those of bp_net_forward and backward
 * (net.c) for a batch of the part's rows alone, block for block, on the
 * same kernels: a part's bits never depend on where its rows sit, hence
 * on how many processes share the batch. Global dropout is off here (a
 * sharded batch refuses it), so every layer reads its input's values.
 */
#include "internal.h"
#include "nn/net.h"

#include <string.h>

int bp__net_rows_begin(bp_net *net, int rows, const float *x)
{
    int rc;
    if (net->drop_p > 0.0) {
        bp__net_set_message(net, "passes by rows: dropout cannot be split over parts");
        return BP_EINVAL;
    }
    if (rows > 0 && (rc = bp_net_reserve(net, rows)) != 0)
        return rc;
    net->x = x;
    bp__net_refresh(net);
    net->batch = 0; /* the public passes start afresh */
    net->have_delta = 0;
    return 0;
}

/* Layer l's input over rows from r0: the batch's, or the layer before's. */
static const float *input_of(const bp_net *net, int l, int r0)
{
    const bp__layer *L = &net->layers[l];
    return (l == 0 ? net->x : bp__acts_of(net, l - 1)) + (size_t)r0 * (size_t)L->I;
}

/* A whole-batch pass's view of layer l over b rows, slopes into grads. */
static bp__pass pass_for(bp_net *net, int l, int b, float *grads)
{
    bp__pass ps = {.params = net->params, .grads = grads, .state = net->state,
                   .keep = net->keep + net->layers[l].keep_off, .training = net->training,
                   .rng = net->rng, .B = b};
    return ps;
}

/* One job over rows or output units of a part: forward blocks of rows,
 * or backward's nw blocks of units then nd blocks of rows. */
typedef struct rows_job {
    bp_net *net;
    int l, r0, b, nw, nd;
    float *grads;
} rows_job;

/* Rows [r0 + s, r0 + e) of layer l forward, its activation after. */
static void forward_span(bp_net *net, int l, int r0, int s, int e)
{
    const bp__layer *L = &net->layers[l];
    const int rows = e - s;
    float *z = bp__acts_of(net, l) + (size_t)(r0 + s) * (size_t)L->O; /* (rows, O) */
    if (!L->kind->forward_batch)
        L->kind->forward(L, net->params, rows, input_of(net, l, r0 + s), z,
                         bp__scratch_of(net, l) + (size_t)(r0 + s) * L->scratch);
    if (l == net->n_layers - 1 && bp__loss_fuses_any(L->act))
        memcpy(net->logits + (size_t)(r0 + s) * (size_t)L->O, z,
               (size_t)rows * (size_t)L->O * sizeof *z);
    if (!bp__act_in_forward(L))
        bp__act_forward(L->act, L->slope, rows, L->O, z);
}

static void forward_block(void *ctx, int i, int n)
{
    rows_job *j = ctx;
    forward_span(j->net, j->l, j->r0, BP__BLOCK_START(j->b, i, n),
                 BP__BLOCK_START(j->b, i + 1, n));
}

void bp__net_rows_forward(bp_net *net, int l, int r0, int r1)
{
    const bp__layer *L = &net->layers[l];
    const int b = r1 - r0;
    if (L->kind->forward_batch) { /* the kind splits its own work */
        const bp__pass ps = pass_for(net, l, b, net->grads);
        L->kind->forward_batch(L, &ps, input_of(net, l, r0),
                               bp__acts_of(net, l) + (size_t)r0 * (size_t)L->O,
                               bp__scratch_of(net, l) + (size_t)r0 * L->scratch);
        forward_span(net, l, r0, 0, b);
        return;
    }
    const int n = bp__one_block(net, b) ? 1 : bp__blocks(b, (double)b * L->macs);
    rows_job job = {.net = net, .l = l, .r0 = r0, .b = b};
    bp__for_blocks(n, n, forward_block, &job);
}

void bp__net_rows_loss(bp_net *net, bp_loss loss, int r0, int r1, const float *t, int T,
                       double *value, double *acc)
{
    const int last = net->n_layers - 1, b = r1 - r0;
    const bp__layer *L = &net->layers[last];
    const size_t at = (size_t)r0 * (size_t)L->O;
    const float *a = bp__acts_of(net, last) + at; /* (b, O) */
    float *dz = net->delta[0] + at;
    if (bp__loss_fuses(loss, L->act)) {
        *value = bp__loss_fused(loss, b, L->O, L->act == BP_ACT_IDENTITY ? a : net->logits + at,
                                t, T, net->class_weight, dz);
    } else {
        *value = bp__loss_values(loss, b, L->O, a, t, T, net->class_weight, dz);
        bp__act_backward(L->act, L->slope, b, L->O, a, dz);
    }
    bp__net_keep_dz(net, last, r0, r1, net->delta[0]);
    if (acc)
        *acc = bp__net_accuracy(net, loss, b, a, t, T);
}

/* Whether layer l hands its slope on to the layer before in place. */
static int passes_slope(const bp_net *net, int l)
{
    return (net->layers[l].kind->takes & BP__PASS_THROUGH) && l > 0;
}

/* The slope buffer holding layer l's dz: backward alternates the two from
 * the output's, except past a layer that passes its slope on. */
static float *slope_of(const bp_net *net, int l)
{
    int cur = 0;
    for (int k = net->n_layers - 1; k > l; k--)
        cur ^= !passes_slope(net, k);
    return net->delta[cur];
}

/* Rows [r0 + s, r0 + e) of din (layer l's input slope) back through the
 * activation of the layer before, so they become its dz. */
static void through_prev(bp_net *net, int l, int r0, int s, int e, float *din)
{
    if (l == 0)
        return;
    const bp__layer *P = &net->layers[l - 1];
    const size_t at = (size_t)(r0 + s) * (size_t)P->O;
    bp__act_backward(P->act, P->slope, e - s, P->O, bp__acts_of(net, l - 1) + at, din + at);
    bp__net_keep_dz(net, l - 1, r0 + s, r0 + e, din);
}

static void backward_block(void *ctx, int i, int jobs)
{
    rows_job *j = ctx;
    bp_net *net = j->net;
    const bp__layer *L = &net->layers[j->l];
    const float *dz = slope_of(net, j->l) + (size_t)j->r0 * (size_t)L->O; /* (b, O) */
    const float *in = input_of(net, j->l, j->r0);
    const float *scr = bp__scratch_of(net, j->l) + (size_t)j->r0 * L->scratch;
    (void)jobs;
    if (i < j->nw) {
        const int U = bp__layer_units(L);
        L->kind->grad_params(L, BP__BLOCK_START(U, i, j->nw), BP__BLOCK_START(U, i + 1, j->nw),
                             j->b, in, scr, dz, j->grads, 1);
        return;
    }
    const int k = i - j->nw, s = BP__BLOCK_START(j->b, k, j->nd);
    const int e = BP__BLOCK_START(j->b, k + 1, j->nd);
    float *din = slope_of(net, j->l - 1) + (size_t)j->r0 * (size_t)L->I; /* (b, I) */
    L->kind->grad_input(L, net->params, e - s, in + (size_t)s * (size_t)L->I,
                        scr + (size_t)s * L->scratch, dz + (size_t)s * (size_t)L->O,
                        din + (size_t)s * (size_t)L->I, net->bwork + (size_t)k * net->max_work);
    through_prev(net, j->l, j->r0, s, e, slope_of(net, j->l - 1));
}

void bp__net_rows_backward(bp_net *net, int l, int r0, int r1, float *grads)
{
    const bp__layer *L = &net->layers[l];
    const int b = r1 - r0, small = bp__one_block(net, b);
    const double work = (double)b * L->macs;
    if (passes_slope(net, l)) { /* dz is the input's slope: on in place */
        through_prev(net, l, r0, 0, b, slope_of(net, l));
        return;
    }
    if (L->kind->backward_batch) { /* the kind splits its own work */
        const bp__pass ps = pass_for(net, l, b, grads);
        float *din = l > 0 ? slope_of(net, l - 1) + (size_t)r0 * (size_t)L->I : NULL;
        L->kind->backward_batch(L, &ps, input_of(net, l, r0),
                                bp__scratch_of(net, l) + (size_t)r0 * L->scratch,
                                slope_of(net, l) + (size_t)r0 * (size_t)L->O, din, 1);
        if (din)
            through_prev(net, l, r0, 0, b, slope_of(net, l - 1));
        return;
    }
    /* the parameter slopes by blocks of units, d in by blocks of rows, as
     * backward splits a batch of b rows */
    const int nw = bp__net_unit_blocks(net, l, b);
    const int nd = l == 0 ? 0 : small ? 1 : bp__blocks(b, work);
    rows_job job = {.net = net, .l = l, .r0 = r0, .b = b, .nw = nw, .nd = nd, .grads = grads};
    bp__for_blocks(nw + nd, nw + nd, backward_block, &job);
}

void bp__net_rows_bn_sums(const bp_net *net, int l, int r0, int r1, int backward, double *v)
{
    const bp__layer *L = &net->layers[l];
    const size_t at = (size_t)r0 * (size_t)L->I; /* a batch norm's I is its O */
    bp__bn_sums(L, net->keep + L->keep_off, r1 - r0, input_of(net, l, r0),
                backward ? slope_of(net, l) + at : NULL, v);
}
