/*
 * reference.c - the network's loss computed in double precision, sample by
 * sample, with naive loops: the slow twin of the float forward pass and the
 * loss, used by gradient checking as the function to differentiate.
 */
#include "internal.h"
#include "nn/net.h"

int bp__reference_loss(const bp_net *net, const double *params, bp_loss loss,
                       int B, const float *x, const float *t, int T,
                       double *value)
{
    int n_layers = bp_net_layers(net), width = bp_net_inputs(net);
    for (int l = 0; l < n_layers; l++) {
        int o = bp__net_layer(net, l)->O;
        width = o > width ? o : width;
    }
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
        int I = bp_net_inputs(net);
        for (int i = 0; i < I; i++)
            in[i] = x[(size_t)b * (size_t)I + (size_t)i];
        for (int l = 0; l < n_layers; l++) {
            const bp__layer *L = bp__net_layer(net, l);
            const double *w = params + L->w_off;
            for (int o = 0; o < L->O; o++) {
                double acc = L->bias ? params[L->b_off + (size_t)o] : 0.0;
                for (int i = 0; i < L->I; i++)
                    acc += w[(size_t)o * (size_t)L->I + (size_t)i] * in[i];
                z[o] = acc;
            }
            if (L->act == BP_ACT_SOFTMAX)
                bp__softmax_d(L->O, z, a);
            else
                for (int o = 0; o < L->O; o++)
                    a[o] = bp__act_value_d(L->act, L->slope, z[o]);
            if (l == n_layers - 1)
                sum += bp__loss_row_wd(loss, L->act, L->O, z, a, t + (size_t)b * (size_t)T, T,
                                       cw, n, NULL);
            else
                for (int o = 0; o < L->O; o++)
                    in[o] = a[o];
        }
    }
    *value = sum;
    bp__free(buf);
    return 0;
}
