/*
 * reference.c - the network in double precision, sample by sample, with
 * naive loops: one layer's forward (its kind's double twin, then the
 * activation), which explain keeps factor by factor, and the loss of a
 * batch, which gradient checking differentiates.
 */
#include "internal.h"
#include "nn/net.h"

void bp__layer_forward_d(const bp__layer *L, const double *p, const double *in, double *z,
                         double *a)
{
    L->kind->forward_d(L, p, in, z);
    if (L->act == BP_ACT_SOFTMAX)
        bp__softmax_d(L->O, z, a);
    else
        for (int o = 0; o < L->O; o++)
            a[o] = bp__act_value_d(L->act, L->slope, z[o]);
}

int bp__reference_loss(const bp_net *net, const double *params, bp_loss loss,
                       int B, const float *x, const float *t, int T,
                       double *value)
{
    const int n_layers = net->n_layers, width = net->max_width;
    /* in, z, a: three rows of the widest layer. */
    double *buf = bp__calloc(3 * (size_t)width, sizeof *buf);
    if (!buf)
        return BP_ENOMEM;
    double *in = buf, *z = buf + width, *a = buf + 2 * (size_t)width;
    const int O_last = bp_net_outputs(net);
    const float *cw = net->class_weight;
    const double n = bp__loss_wnorm(loss, cw, B, O_last, t, T);
    double sum = 0.0;

    for (int b = 0; b < B; b++) {
        const int I = net->inputs;
        for (int i = 0; i < I; i++)
            in[i] = x[(size_t)b * (size_t)I + (size_t)i];
        for (int l = 0; l < n_layers; l++) {
            const bp__layer *L = &net->layers[l];
            bp__layer_forward_d(L, params, in, z, a);
            if (l == n_layers - 1)
                sum += bp__loss_row_wd(loss, L->act, L->O, z, a, t + (size_t)b * (size_t)T, T,
                                       cw, n, NULL);
            else
                memcpy(in, a, (size_t)L->O * sizeof *in);
        }
    }
    *value = sum;
    bp__free(buf);
    return 0;
}
