/*
 * reference.c - the network in double precision with naive loops: one
 * layer's forward (its kind's double twin, then the activation), which
 * explain keeps factor by factor, and the loss of a batch, which gradient
 * checking differentiates. The loss runs sample by sample, or layer by
 * layer over the whole batch when a kind couples the rows (batch
 * normalization), in the network's mode; running statistics are read,
 * never changed.
 */
#include "internal.h"
#include "nn/net.h"

/* The activation of z (O) into a (O). */
static void activate_d(const bp__layer *L, const double *z, double *a)
{
    if (L->act == BP_ACT_SOFTMAX)
        bp__softmax_d(L->O, z, a);
    else
        for (int o = 0; o < L->O; o++)
            a[o] = bp__act_value_d(L->act, L->slope, z[o]);
}

void bp__layer_forward_d(const bp__layer *L, const double *p, const double *in, double *z,
                         double *a)
{
    L->kind->forward_d(L, p, in, z);
    activate_d(L, z, a);
}

/* The loss with every layer over the whole batch at once: buffers of
 * (B, max_width) for the input, z and the activations. */
static int loss_by_layer(const bp_net *net, const double *params, bp_loss loss, int B,
                         const float *x, const float *t, int T, double *value)
{
    const size_t W = (size_t)net->max_width, rows = (size_t)B;
    size_t n;
    if (bp__mul_size(rows, 3 * W, &n) != 0)
        return BP_EOVERFLOW;
    double *buf = bp__calloc(n, sizeof *buf);
    if (!buf)
        return BP_ENOMEM;
    double *in = buf, *z = buf + rows * W, *a = z + rows * W;
    const bp__layer *last = &net->layers[net->n_layers - 1];
    const float *cw = net->class_weight;
    const double norm = bp__loss_wnorm(loss, cw, B, last->O, t, T);
    double sum = 0.0;
    for (size_t i = 0; i < rows * (size_t)net->inputs; i++)
        in[i] = x[i];
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        if (L->kind->forward_batch_d)
            L->kind->forward_batch_d(L, params, net->state, net->training, B, in, z);
        else
            for (size_t b = 0; b < rows; b++)
                L->kind->forward_d(L, params, in + b * (size_t)L->I, z + b * (size_t)L->O);
        for (size_t b = 0; b < rows; b++)
            activate_d(L, z + b * (size_t)L->O, a + b * (size_t)L->O);
        memcpy(in, a, rows * (size_t)L->O * sizeof *in);
    }
    for (size_t b = 0; b < rows; b++)
        sum += bp__loss_row_wd(loss, last->act, last->O, z + b * (size_t)last->O,
                               a + b * (size_t)last->O, t + b * (size_t)T, T, cw, norm, NULL);
    *value = sum;
    bp__free(buf);
    return 0;
}

int bp__reference_loss(const bp_net *net, const double *params, bp_loss loss,
                       int B, const float *x, const float *t, int T,
                       double *value)
{
    const int n_layers = net->n_layers, width = net->max_width;
    for (int l = 0; l < n_layers; l++)
        if (net->layers[l].kind->forward_batch_d)
            return loss_by_layer(net, params, loss, B, x, t, T, value);
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
