/*
 * shard.c - a batch's gradient as the sum of fixed sub-batches: the hook
 * that data-parallel training (bp_shard) runs on, with or without MPI.
 *
 * Part k of a batch of B rows holds rows [k B / parts, (k + 1) B / parts).
 * Each part's gradient is computed on its own (forward, loss, backward on
 * its rows), scaled by rows / B, and the parts are added element by
 * element in part order, here when this process computes them all, or by
 * the caller's reduction. The arithmetic of a part depends only on its
 * rows and the weights, never on which process computes it, so a
 * reduction that adds in part order reproduces this file's sum bit for bit.
 * A part with no rows (a short last batch) contributes zeros.
 *
 * Batch norm couples a batch's rows, so a part alone would normalize by
 * its own statistics. With one part per process and the shard's allsum,
 * the batch norm layers sum their per-channel sums over every process
 * (nn/batchnorm.c) and see the whole batch; a process without rows in
 * its part still takes part in those sums, with zeros. In the ordered
 * form (alone, or in_order with allsum) the parts run layer by layer
 * instead and the sums are added in part order (dist/split.c).
 */
#include "internal.h"

#include <string.h>

int bp__shard_setup(const bp_train_opts *o, const bp_net *net, bp__shard_work *w,
                    bp_error *err)
{
    const bp_shard *sh = &o->shard;
    size_t P = bp_net_param_count(net), n = 0, bytes;
    memset(w, 0, sizeof *w);
    if (sh->parts == 0)
        return 0;
    if (sh->parts < 0 || sh->first < 0 || sh->count < 1 || sh->first > sh->parts - sh->count)
        return bp__error_set(err, BP_EINVAL,
                             "shard: parts %d..%d (first %d, count %d) do not lie in 0..%d",
                             sh->first, sh->first + sh->count - 1, sh->first, sh->count,
                             sh->parts - 1);
    if (!sh->reduce && sh->count != sh->parts)
        return bp__error_set(err, BP_EINVAL,
                             "shard: without a reduction this process must compute all %d "
                             "parts, not %d", sh->parts, sh->count);
    if (o->optim.kind == BP_OPTIM_RANDOM)
        return bp__error_set(err, BP_EINVAL, "shard: random search cannot be split over parts");
    if (o->dropout > 0.0)
        return bp__error_set(err, BP_EINVAL,
                             "shard: dropout cannot be split over parts (its draws would differ)");
    /* batch norm: the parts in order (dist/split.c), or, in the default
     * form, the statistics summed over the processes */
    const size_t C = bp__net_bn_channels(net);
    w->split = C > 0 && (!sh->reduce || (sh->in_order && sh->allsum));
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp_layer_desc d = bp_net_layer(net, l);
        if (d.kind == BP_LAYER_BATCHNORM &&
            (w->split || (sh->allsum && sh->count == 1 && !sh->in_order)))
            continue;
        if (d.kind == BP_LAYER_BATCHNORM || (d.kind == BP_LAYER_DROPOUT && d.rate > 0.0))
            return bp__error_set(err, BP_EINVAL, "shard: layer %d (%s) cannot be split over parts "
                                 "(its %s would differ)", l + 1, bp_layer_kind_name(d.kind),
                                 d.kind == BP_LAYER_BATCHNORM ? "batch statistics" : "draws");
    }
    /* reduce with several parts: each part's gradient kept; alone with
     * several parts: one running sum; one part for reduce: in place. */
    if (sh->reduce && sh->count > 1)
        n = (size_t)sh->count;
    else if (!sh->reduce && sh->parts > 1)
        n = 1;
    if (n > 0) {
        if (bp__mul_size(n, P, &bytes) || bp__mul_size(bytes, sizeof(float), &bytes))
            return bp__error_set(err, BP_EOVERFLOW, "shard: %zu part gradients are too large", n);
        if (!(w->grads = bp__malloc(bytes)))
            return bp__error_set(err, BP_ENOMEM, "out of memory for %zu part gradients", n);
    }
    if (!(w->sums = bp__calloc(2 * (size_t)sh->count, sizeof *w->sums))) {
        bp__shard_free(w);
        return bp__error_set(err, BP_ENOMEM, "out of memory for the parts' sums");
    }
    if (C > 0 && (sh->allsum || w->split)) {
        if (!(w->allsum.buf = bp__calloc(4 * C, sizeof *w->allsum.buf)) ||
            (w->split && !(w->table = bp__calloc((size_t)sh->parts * 2 * C, sizeof *w->table)))) {
            bp__shard_free(w);
            return bp__error_set(err, BP_ENOMEM, "out of memory for batch norm's sums");
        }
        w->allsum.sum = sh->allsum;
        w->allsum.ctx = sh->ctx;
    }
    return 0;
}

void bp__shard_free(bp__shard_work *w)
{
    bp__free(w->grads);
    bp__free(w->sums);
    bp__free(w->allsum.buf);
    bp__free(w->table);
    w->grads = NULL;
    w->sums = NULL;
    w->allsum.buf = NULL;
    w->table = NULL;
}

/* The passes of part k with batch norm's sums over every process when a
 * is set; a failure of those sums is the pass's. */
static int part_passes(bp_net *net, bp__allsum *a, bp_loss loss, int b, const float *x,
                       const float *t, int T, const float **out, double *value)
{
    int rc;
    if (a)
        bp__net_set_allsum(net, a);
    if (a && b == 0) {
        bp__net_allsum_idle(net, a);
        rc = 0;
    } else if ((rc = bp_net_forward(net, b, x, out)) == 0 &&
               (rc = bp__net_loss_checked(net, loss, t, T, value)) == 0) {
        rc = bp_net_backward(net, NULL);
    }
    if (a) {
        bp__net_set_allsum(net, NULL);
        if (rc == 0 && a->rc != 0) {
            bp__net_set_message(net, "batch norm's sums over the processes failed: %s",
                                bp_strerror(a->rc));
            rc = a->rc;
        }
    }
    return rc;
}

/* Part k's gradient into the gradient block, scaled to its share of the
 * batch, and its loss and accuracy times its rows into s[0], s[1]. */
static int part_gradient(bp_net *net, bp__allsum *a, bp_loss loss, int B, int lo, int hi,
                         const float *x, const float *t, int T, int classify, double *s)
{
    size_t I = (size_t)bp_net_inputs(net), P = bp_net_param_count(net);
    const float *out = NULL;
    double value = 0.0;
    int b = hi - lo, rc;
    bp_net_zero_grad(net);
    s[0] = s[1] = 0.0;
    if (a) {
        a->rows = B;
        a->share = (double)b / (double)B;
        a->rc = 0;
    }
    if (b == 0 && !a)
        return 0;
    if ((rc = part_passes(net, a, loss, b, x + (size_t)lo * I, t + (size_t)lo * (size_t)T, T,
                          &out, &value)) != 0 || b == 0)
        return rc;
    s[0] = value * b;
    if (classify)
        s[1] = bp__net_accuracy(net, loss, b, out, t + (size_t)lo * (size_t)T, T) * b;
    if (b != B) {
        float share = (float)((double)b / (double)B), *g = bp_net_grads(net);
        for (size_t i = 0; i < P; i++)
            g[i] *= share;
    }
    return 0;
}

int bp__shard_gradient(const bp_shard *sh, bp__shard_work *w, bp_net *net, bp_loss loss,
                       int B, const float *x, const float *t, int T, int classify,
                       double *value, double *acc)
{
    size_t P = bp_net_param_count(net);
    float *g = bp_net_grads(net);
    double *s = w->sums;
    int rc;
    if (w->split) { /* batch norm: the parts layer by layer */
        if ((rc = bp__split_gradient(sh, w, net, loss, B, x, t, T, classify, s)) != 0)
            return rc;
        for (int j = 1; !sh->reduce && j < sh->count; j++) {
            s[0] += s[2 * j];
            s[1] += s[2 * j + 1];
        }
    }
    for (int j = 0; j < sh->count && !w->split; j++) {
        int k = sh->first + j;
        int lo = BP__BLOCK_START(B, k, sh->parts), hi = BP__BLOCK_START(B, k + 1, sh->parts);
        if ((rc = part_gradient(net, w->allsum.buf ? &w->allsum : NULL, loss, B, lo, hi, x, t,
                                T, classify, s + 2 * j)) != 0)
            return rc;
        if (sh->reduce) {
            if (sh->count > 1)
                memcpy(w->grads + (size_t)j * P, g, P * sizeof *g);
        } else if (sh->parts > 1) {
            float *sum = w->grads;
            if (j == 0) {
                memcpy(sum, g, P * sizeof *g);
            } else {
                for (size_t i = 0; i < P; i++)
                    sum[i] += g[i];
                s[0] += s[2 * j];
                s[1] += s[2 * j + 1];
            }
        }
    }
    if (sh->reduce) {
        const float *parts = sh->count > 1 ? w->grads : g;
        if ((rc = sh->reduce(parts, sh->count, P, g, s, sh->ctx)) != 0) {
            bp__net_set_message(net, "the gradient reduction failed: %s", bp_strerror(rc));
            return rc;
        }
    } else if (sh->parts > 1) {
        memcpy(g, w->grads, P * sizeof *g);
    }
    *value = s[0] / (double)B;
    *acc = classify ? s[1] / (double)B : 0.0;
    return 0;
}
