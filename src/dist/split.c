/*
 * split.c - the parts of a batch in part order for a network with batch
 * norm: the ordered form of bp_shard (one process alone, or a reduction
 * that adds in part order with bp_shard.in_order set).
 *
 * A batch norm normalizes by the statistics of the whole batch, so the
 * parts cannot run one after another: they run layer by layer instead,
 * this process's parts side by side in the workspace (nn/net_rows.c). At
 * each batch norm, forward, every part's per-channel sums of x and x^2
 * are written into its row of a (parts, 2 C) table, zeros elsewhere; the
 * allsum hook sums the table over the processes, which is exact in any
 * order (each value has one term that is not zero), and every process
 * adds the rows in part order. Backward likewise with the sums of dz and
 * dz * xhat, each weighed by its part's share of the batch. The arithmetic
 * of a part depends on its rows, the weights and those sums alone, so the
 * bits are the same over any number of processes: that of one process
 * running this schedule. Each part's parameter slopes are scaled by its
 * share and added in part order as in shard.c, layer by layer when this
 * process adds them itself; the running statistics move once a batch, by
 * the whole batch's sums, alike on every process.
 */
#include "internal.h"

#include <string.h>

/* The parts' rows: part first + j holds the batch's rows [lo_j, hi_j);
 * in the workspace, rows from lo_j - base. */
typedef struct parts {
    int K, first, count, B, base;
} parts;

static int part_lo(const parts *p, int j)
{
    return BP__BLOCK_START(p->B, p->first + j, p->K) - p->base;
}

static int part_hi(const parts *p, int j)
{
    return BP__BLOCK_START(p->B, p->first + j + 1, p->K) - p->base;
}

/* Batch norm layer l's sums over the whole batch into the allsum's
 * buffer: forward's at buf, backward's weighed by the shares at buf + 2 C. */
static int gather(const bp_shard *sh, bp__shard_work *w, bp_net *net, const parts *p, int l,
                  int backward)
{
    const size_t C = bp__net_layer(net, l)->n_w;
    double *v = w->table, *sum = w->allsum.buf + (backward ? 2 * C : 0);
    int rc;
    memset(v, 0, (size_t)p->K * 2 * C * sizeof *v);
    for (int j = 0; j < p->count; j++) {
        const int lo = part_lo(p, j), hi = part_hi(p, j);
        double *row = v + (size_t)(p->first + j) * 2 * C;
        if (hi == lo)
            continue;
        bp__net_rows_bn_sums(net, l, lo, hi, backward, row);
        if (backward) { /* a part's dz is the slope of its own mean loss */
            const double share = (double)(hi - lo) / (double)p->B;
            for (size_t i = 0; i < 2 * C; i++)
                row[i] *= share;
        }
    }
    if (sh->allsum && (rc = sh->allsum(v, (size_t)p->K * 2 * C, sh->ctx)) != 0) {
        bp__net_set_message(net, "batch norm's sums over the processes failed: %s",
                            bp_strerror(rc));
        return rc;
    }
    memcpy(sum, v, 2 * C * sizeof *sum);
    for (int k = 1; k < p->K; k++)
        for (size_t i = 0; i < 2 * C; i++)
            sum[i] += v[(size_t)k * 2 * C + i];
    return 0;
}

/* Layer l backward for every part: part j's slopes of the layer's
 * parameters (n from off) scaled by its share, into its own block for the
 * reduction, or added in part order to this process's sum. */
static void backward_layer(const bp_shard *sh, bp__shard_work *w, bp_net *net, const parts *p,
                           int l)
{
    const bp__layer *L = bp__net_layer(net, l);
    const size_t P = bp_net_param_count(net), off = L->w_off, n = bp__layer_params(L);
    float *g = bp_net_grads(net);
    for (int j = 0; j < p->count; j++) {
        const int lo = part_lo(p, j), hi = part_hi(p, j);
        float *own = sh->reduce && p->count > 1 ? w->grads + (size_t)j * P : g;
        w->allsum.share = (double)(hi - lo) / (double)p->B;
        if (hi > lo)
            bp__net_rows_backward(net, l, lo, hi, own);
        else
            memset(own + off, 0, n * sizeof *own);
        if (hi - lo != p->B && hi > lo) {
            const float share = (float)w->allsum.share;
            for (size_t i = off; i < off + n; i++)
                own[i] *= share;
        }
        if (!sh->reduce && p->K > 1) {
            float *sum = w->grads;
            if (j == 0) {
                memcpy(sum + off, g + off, n * sizeof *sum);
            } else {
                for (size_t i = off; i < off + n; i++)
                    sum[i] += g[i];
            }
        }
    }
}

int bp__split_gradient(const bp_shard *sh, bp__shard_work *w, bp_net *net, bp_loss loss, int B,
                       const float *x, const float *t, int T, int classify, double *s)
{
    const int layers = bp_net_layers(net);
    const size_t I = (size_t)bp_net_inputs(net);
    parts p = {.K = sh->parts, .first = sh->first, .count = sh->count, .B = B};
    int rc = 0;
    p.base = BP__BLOCK_START(B, p.first, p.K);
    if ((rc = bp__net_rows_begin(net, part_hi(&p, p.count - 1), x + (size_t)p.base * I)) != 0)
        return rc;
    w->allsum.rows = B;
    w->allsum.given = 1;
    w->allsum.rc = 0;
    bp__net_set_allsum(net, &w->allsum);
    for (int l = 0; l < layers && rc == 0; l++) {
        if (bp_net_layer(net, l).kind == BP_LAYER_BATCHNORM) {
            if ((rc = gather(sh, w, net, &p, l, 0)) != 0)
                break;
            bp__net_bn_track(net, l, w->allsum.buf, B);
        }
        for (int j = 0; j < p.count; j++)
            if (part_hi(&p, j) > part_lo(&p, j))
                bp__net_rows_forward(net, l, part_lo(&p, j), part_hi(&p, j));
    }
    for (int j = 0; j < p.count && rc == 0; j++) {
        const int lo = part_lo(&p, j), hi = part_hi(&p, j), rows = p.base + lo;
        double value = 0.0, acc = 0.0;
        if (hi > lo)
            bp__net_rows_loss(net, loss, lo, hi, t + (size_t)rows * (size_t)T, T, &value,
                              classify ? &acc : NULL);
        s[2 * j] = value * (hi - lo);
        s[2 * j + 1] = acc * (hi - lo);
    }
    for (int l = layers - 1; l >= 0 && rc == 0; l--) {
        if (bp_net_layer(net, l).kind == BP_LAYER_BATCHNORM &&
            (rc = gather(sh, w, net, &p, l, 1)) != 0)
            break;
        backward_layer(sh, w, net, &p, l);
    }
    bp__net_set_allsum(net, NULL);
    w->allsum.given = 0;
    return rc;
}
