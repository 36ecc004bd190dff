/*
 * explain.c - backpropagation for one sample, kept factor by factor, in
 * double precision: for each weight, the value of the node feeding it, the
 * slope of the loss with respect to the node it feeds, and the slope of
 * that node's activation; for each node, its slope as the sum over the
 * weights that leave it. One allocation holds the whole result.
 */
#include "internal.h"

#include <string.h>

/* Doubles one layer needs: input, z, value, dnode, dact (I + 4 O), grad_w
 * (O I), grad_b (O), dinput (I). */
static size_t layer_doubles(const bp__layer *L)
{
    return 2 * (size_t)L->I + 5 * (size_t)L->O + (size_t)L->O * (size_t)L->I;
}

/* Turn dL/da into dL/dz through a softmax: dz_k = a_k (da_k - sum_j a_j da_j). */
static void softmax_combine(int O, const double *a, double *d)
{
    double dotp = 0.0;
    for (int k = 0; k < O; k++)
        dotp += a[k] * d[k];
    for (int k = 0; k < O; k++)
        d[k] = a[k] * (d[k] - dotp);
}

/* The parameter at offset k: from p when given, else the network's float. */
static double param_at(const float *params, const double *p, size_t k)
{
    return p ? p[k] : (double)params[k];
}

int bp_explain_sample_d(bp_net *net, const double *p, bp_loss loss, const double *x,
                        const float *t, int T, bp_explain **out)
{
    int rc, n_layers;
    size_t total = 0, bytes, head;
    if (!net || !x || !out)
        return BP_EINVAL;
    *out = NULL;
    if ((rc = bp__net_check_targets(net, loss, 1, t, T)) != 0)
        return rc;
    n_layers = bp_net_layers(net);
    for (int l = 0; l < n_layers; l++) {
        size_t n = layer_doubles(bp__net_layer(net, l));
        if (total > SIZE_MAX / 16 - n)
            return BP_EOVERFLOW;
        total += n;
    }
    head = sizeof(bp_explain) + (size_t)n_layers * sizeof(bp_explain_layer);
    head = (head + sizeof(double) - 1) / sizeof(double) * sizeof(double);
    if (bp__mul_size(total, sizeof(double), &bytes) || bytes > SIZE_MAX - head)
        return BP_EOVERFLOW;
    bp_explain *ex = bp__calloc(1, head + bytes);
    if (!ex) {
        bp__net_set_message(net, "explain: out of memory");
        return BP_ENOMEM;
    }
    bp_explain_layer *layers = (bp_explain_layer *)(void *)(ex + 1);
    double *mem = (double *)(void *)((char *)ex + head);
    const float *params = bp_net_params(net);
    ex->n_layers = n_layers;
    ex->layers = layers;

    /* Carve the views and run the forward pass. */
    for (int l = 0; l < n_layers; l++) {
        const bp__layer *L = bp__net_layer(net, l);
        bp_explain_layer *E = &layers[l];
        double *input = mem, *z = input + L->I, *value = z + L->O;
        double *dnode = value + L->O, *dact = dnode + L->O;
        double *gw = dact + L->O, *gb = gw + (size_t)L->O * (size_t)L->I;
        double *dinput = gb + L->O;
        mem = dinput + L->I;
        E->inputs = L->I;
        E->outputs = L->O;
        E->act = L->act;
        E->combined = L->act == BP_ACT_SOFTMAX;
        E->input = input;
        E->z = z;
        E->value = value;
        E->dnode = dnode;
        E->dact = dact;
        E->grad_w = gw;
        E->grad_b = L->bias ? gb : NULL;
        E->dinput = dinput;

        for (int i = 0; i < L->I; i++)
            input[i] = l == 0 ? x[i] : layers[l - 1].value[i];
        for (int o = 0; o < L->O; o++) {
            double acc = L->bias ? param_at(params, p, L->b_off + (size_t)o) : 0.0;
            for (int i = 0; i < L->I; i++)
                acc += param_at(params, p, L->w_off + (size_t)o * (size_t)L->I + (size_t)i) * input[i];
            z[o] = acc;
        }
        if (L->act == BP_ACT_SOFTMAX)
            bp__softmax_d(L->O, z, value);
        else
            for (int o = 0; o < L->O; o++)
                value[o] = bp__act_value_d(L->act, L->slope, z[o]);
    }

    /* The loss and its slope with respect to the output nodes. */
    const bp__layer *last = bp__net_layer(net, n_layers - 1);
    bp_explain_layer *E = &layers[n_layers - 1];
    ex->loss = bp__loss_row_d(loss, last->act, last->O, E->z, E->value, t, T,
                              bp__loss_norm(loss, 1, last->O), (double *)E->dnode);
    if (last->act == BP_ACT_SOFTMAX && loss != BP_LOSS_CCE) /* dL/da -> dL/dz */
        softmax_combine(last->O, E->value, (double *)E->dnode);

    /* Backward, layer by layer, keeping each factor. */
    for (int l = n_layers - 1; l >= 0; l--) {
        const bp__layer *L = bp__net_layer(net, l);
        E = &layers[l];
        double *dact = (double *)E->dact, *gw = (double *)E->grad_w;
        double *gb = (double *)(E->grad_w + (size_t)L->O * (size_t)L->I);
        double *dinput = (double *)E->dinput;
        for (int o = 0; o < L->O; o++) {
            dact[o] = bp__act_slope_d(L->act, L->slope, E->z[o], E->value[o]);
            for (int i = 0; i < L->I; i++)
                gw[(size_t)o * (size_t)L->I + (size_t)i] = E->input[i] * E->dnode[o] * dact[o];
            gb[o] = E->dnode[o] * dact[o];
        }
        for (int i = 0; i < L->I; i++) {
            double acc = 0.0;
            for (int o = 0; o < L->O; o++)
                acc += param_at(params, p, L->w_off + (size_t)o * (size_t)L->I + (size_t)i) *
                       E->dnode[o] * dact[o];
            dinput[i] = acc;
        }
        if (l > 0) {
            bp_explain_layer *P = &layers[l - 1];
            memcpy((double *)P->dnode, dinput, (size_t)L->I * sizeof(double));
            if (P->act == BP_ACT_SOFTMAX)
                softmax_combine(P->outputs, P->value, (double *)P->dnode);
        }
    }
    *out = ex;
    return 0;
}

int bp_explain_sample(bp_net *net, bp_loss loss, const float *x, const float *t, int T,
                      bp_explain **out)
{
    double *xd;
    int rc, I;
    if (!net || !x || !out)
        return BP_EINVAL;
    I = bp_net_inputs(net);
    if (!(xd = bp__malloc((size_t)I * sizeof *xd))) {
        bp__net_set_message(net, "explain: out of memory");
        return BP_ENOMEM;
    }
    for (int i = 0; i < I; i++)
        xd[i] = (double)x[i];
    rc = bp_explain_sample_d(net, NULL, loss, xd, t, T, out);
    bp__free(xd);
    return rc;
}

void bp_explain_free(bp_explain *ex)
{
    bp__free(ex);
}
