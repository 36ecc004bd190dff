/*
 * explain.c - backpropagation for one sample, kept factor by factor, in
 * double precision: for each weight, the value of the node feeding it, the
 * slope of the loss with respect to the node it feeds, and the slope of
 * that node's activation (summed over every position a convolution's
 * weight touches); for each node, its slope as the sum over the weights
 * that leave it. One allocation holds the whole result.
 */
#include "internal.h"
#include "nn/net.h"

#include <string.h>

/* Doubles one layer needs: input, dinput (2 I), z, value, dnode, dact
 * (4 O), its parameter slopes (n_w + n_b). */
static size_t layer_doubles(const bp__layer *L)
{
    return 2 * (size_t)L->I + 4 * (size_t)L->O + bp__layer_params(L);
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

int bp_explain_sample_d(bp_net *net, const double *p, bp_loss loss, const double *x,
                        const float *t, int T, bp_explain **out)
{
    int rc, n_layers;
    size_t total = 0, bytes, head, P;
    if (!net || !x || !out)
        return BP_EINVAL;
    *out = NULL;
    if ((rc = bp__net_check_targets(net, loss, 1, t, T)) != 0)
        return rc;
    n_layers = bp_net_layers(net);
    P = bp_net_param_count(net);
    for (int l = 0; l < n_layers; l++) {
        const bp__layer *L = bp__net_layer(net, l);
        if (!L->kind->backward_d) { /* its slopes are not sums of products of one sample */
            bp__net_set_message(net, "explain: layer %d (%s) couples the samples of a batch; "
                                "its slopes have no one-sample form", l + 1,
                                bp_layer_kind_name(L->kind->id));
            return BP_EINVAL;
        }
        size_t n = layer_doubles(L);
        if (total > SIZE_MAX / 16 - n)
            return BP_EOVERFLOW;
        total += n;
    }
    head = sizeof(bp_explain) + (size_t)n_layers * sizeof(bp_explain_layer);
    head = (head + sizeof(double) - 1) / sizeof(double) * sizeof(double);
    if (bp__mul_size(total, sizeof(double), &bytes) || bytes > SIZE_MAX - head)
        return BP_EOVERFLOW;
    bp_explain *ex = bp__calloc(1, head + bytes);
    /* the float parameters in double, when not given; the dz of a layer; and
     * the terms of one weight's slope */
    double *own = p ? NULL : bp__malloc((P ? P : 1) * sizeof *own);
    double *dz = bp__malloc((size_t)net->max_width * sizeof *dz);
    size_t *io = bp__malloc(2 * (size_t)net->max_width * sizeof *io);
    if (!ex || (!p && !own) || !dz || !io) {
        bp__free(ex);
        bp__free(own);
        bp__free(dz);
        bp__free(io);
        bp__net_set_message(net, "explain: out of memory");
        return BP_ENOMEM;
    }
    if (!p) {
        const float *params = bp_net_params(net);
        for (size_t k = 0; k < P; k++)
            own[k] = (double)params[k];
        p = own;
    }
    bp_explain_layer *layers = (bp_explain_layer *)(void *)(ex + 1);
    double *mem = (double *)(void *)((char *)ex + head);
    ex->n_layers = n_layers;
    ex->layers = layers;

    /* Carve the views and run the forward pass. */
    for (int l = 0; l < n_layers; l++) {
        const bp__layer *L = bp__net_layer(net, l);
        bp_explain_layer *E = &layers[l];
        double *input = mem, *z = input + L->I, *value = z + L->O;
        double *dnode = value + L->O, *dact = dnode + L->O;
        double *g = dact + L->O, *dinput = g + bp__layer_params(L);
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
        E->grad_w = L->n_w ? g : NULL;
        E->grad_b = L->bias ? g + L->n_w : NULL;
        E->dinput = dinput;
        E->weights = L->n_w;

        for (int i = 0; i < L->I; i++)
            input[i] = l == 0 ? x[i] : layers[l - 1].value[i];
        bp__layer_forward_d(L, p, input, z, value);
    }

    /* The loss and its slope with respect to the output nodes. */
    const bp__layer *last = bp__net_layer(net, n_layers - 1);
    bp_explain_layer *E = &layers[n_layers - 1];
    ex->loss = bp__loss_row_d(loss, last->act, last->O, E->z, E->value, t, T,
                              bp__loss_norm(loss, 1, last->O), (double *)E->dnode);
    if (last->act == BP_ACT_SOFTMAX && loss != BP_LOSS_CCE) /* dL/da -> dL/dz */
        softmax_combine(last->O, E->value, (double *)E->dnode);

    /* Backward, layer by layer, keeping each factor. A weight's slope is
     * the sum, over the products it takes part in, of its three factors
     * multiplied in that order. */
    for (int l = n_layers - 1; l >= 0; l--) {
        const bp__layer *L = bp__net_layer(net, l);
        E = &layers[l];
        double *dact = (double *)E->dact, *g = dact + L->O; /* as carved above */
        for (int o = 0; o < L->O; o++) {
            dact[o] = bp__act_slope_d(L->act, L->slope, E->z[o], E->value[o]);
            dz[o] = E->dnode[o] * dact[o];
        }
        L->kind->backward_d(L, p, E->input, dz, g, (double *)E->dinput);
        for (size_t w = 0; w < L->n_w; w++) {
            size_t n = L->kind->weight_terms(L, w, (size_t)net->max_width, io);
            double sum = 0.0;
            for (size_t j = 0; j < n; j++)
                sum += E->input[io[2 * j]] * E->dnode[io[2 * j + 1]] * dact[io[2 * j + 1]];
            g[w] = sum;
        }
        if (l > 0) {
            bp_explain_layer *Pl = &layers[l - 1];
            memcpy((double *)Pl->dnode, E->dinput, (size_t)L->I * sizeof(double));
            if (Pl->act == BP_ACT_SOFTMAX)
                softmax_combine(Pl->outputs, Pl->value, (double *)Pl->dnode);
        }
    }
    bp__free(own);
    bp__free(dz);
    bp__free(io);
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

size_t bp_explain_terms(const bp_net *net, int l, size_t weight, size_t max, size_t *io)
{
    if (!net || l < 0 || l >= bp_net_layers(net))
        return 0;
    const bp__layer *L = bp__net_layer(net, l);
    if (weight >= L->n_w || !L->kind->weight_terms)
        return 0;
    return L->kind->weight_terms(L, weight, io ? max : 0, io);
}

void bp_explain_free(bp_explain *ex)
{
    bp__free(ex);
}
