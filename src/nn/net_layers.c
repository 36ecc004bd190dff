/*
 * net_layers.c - the views of a network's layers the public API gives:
 * each layer's description, shapes, parameter counts and tensor shape, and
 * its weights, bias and their slopes inside the parameter and gradient
 * blocks.
 */
#include "internal.h"
#include "nn/net.h"

#include <string.h>

static int layer_ok(const bp_net *net, int l)
{
    return net && l >= 0 && l < net->n_layers;
}

bp_layer_desc bp_net_layer(const bp_net *net, int l)
{
    bp_layer_desc d = {.act = BP_ACT_IDENTITY, .kind = BP_LAYER_DENSE};
    if (layer_ok(net, l)) {
        const bp__layer *L = &net->layers[l];
        d.kind = L->kind->id;
        d.width = (L->kind->takes & BP__TAKES_WIDTH) ? L->out.c : 0;
        d.act = L->act;
        d.bias = L->bias;
        d.slope = L->slope;
        d.kernel = L->k;
        d.stride = L->stride;
        d.pad = L->pad;
        d.rate = L->rate;
        d.momentum = L->momentum;
        d.eps = L->eps;
        if ((L->kind->takes & BP__TAKES_PAD) && L->stride == 1 && L->k % 2 == 1 && L->pad > 0 &&
            L->pad == (L->k - 1) / 2)
            d.pad = BP_PAD_SAME; /* the spec's canonical word for it */
    }
    return d;
}

bp_shape bp_net_input_shape(const bp_net *net)
{
    return net->in_shape;
}

bp_shape bp_net_layer_shape(const bp_net *net, int l)
{
    return layer_ok(net, l) ? net->layers[l].out : (bp_shape){0, 0, 0};
}

size_t bp_net_layer_params(const bp_net *net, int l)
{
    return layer_ok(net, l) ? bp__layer_params(&net->layers[l]) : 0;
}

int bp_net_weight_dims(const bp_net *net, int l, size_t dims[4])
{
    if (!layer_ok(net, l))
        return 0;
    const bp__layer *L = &net->layers[l];
    for (int i = 0; i < L->w_rank; i++)
        dims[i] = L->w_dims[i];
    return L->w_rank;
}

int bp_net_layer_inputs(const bp_net *net, int l)
{
    return layer_ok(net, l) ? net->layers[l].I : 0;
}

float *bp_net_weight(bp_net *net, int l)
{
    if (net)
        net->half_fresh = 0; /* the caller may write through it */
    return layer_ok(net, l) && net->layers[l].n_w ? net->params + net->layers[l].w_off : NULL;
}

float *bp_net_bias(bp_net *net, int l)
{
    if (net)
        net->half_fresh = 0;
    return layer_ok(net, l) && net->layers[l].bias ? net->params + net->layers[l].b_off : NULL;
}

float *bp_net_weight_grad(bp_net *net, int l)
{
    return layer_ok(net, l) && net->layers[l].n_w ? net->grads + net->layers[l].w_off : NULL;
}

float *bp_net_bias_grad(bp_net *net, int l)
{
    return layer_ok(net, l) && net->layers[l].bias ? net->grads + net->layers[l].b_off : NULL;
}

int bp_net_set_layer(bp_net *net, int l, const float *w, const float *b)
{
    if (!layer_ok(net, l) || !w) {
        if (net)
            bp__net_set_message(net, "set_layer: no layer %d (the network has %d)", l,
                                net->n_layers);
        return BP_EINVAL;
    }
    const bp__layer *L = &net->layers[l];
    if (b && !L->bias) {
        bp__net_set_message(net, "set_layer: layer %d has no bias", l);
        return BP_EINVAL;
    }
    net->half_fresh = 0;
    memcpy(net->params + L->w_off, w, L->n_w * sizeof *w);
    if (b)
        memcpy(net->params + L->b_off, b, L->n_b * sizeof *b);
    return 0;
}
