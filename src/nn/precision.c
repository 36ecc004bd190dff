/*
 * precision.c - a network's precision (bp_net_set_precision): which of its
 * layers take bf16 products, the scratch those keep their bf16 copies
 * in, and the primitives, made here so that an error shows at once.
 */
#include "nn/net.h"

#include <string.h>

const char *bp_precision_name(bp_precision p)
{
    switch (p) {
    case BP_PRECISION_FP32:
        return "fp32";
    case BP_PRECISION_BF16:
        return "bf16";
    }
    return "?";
}

int bp_precision_parse(const char *name, bp_precision *out)
{
    if (!name || !out)
        return BP_EINVAL;
    if (strcmp(name, "fp32") == 0)
        *out = BP_PRECISION_FP32;
    else if (strcmp(name, "bf16") == 0)
        *out = BP_PRECISION_BF16;
    else
        return BP_EINVAL;
    return 0;
}

bp_precision bp_net_precision(const bp_net *net)
{
    return net ? net->precision : BP_PRECISION_FP32;
}

/* The scratch offsets from the layers' scratch sizes. */
static void lay_out_scratch(bp_net *net)
{
    size_t sum = 0;
    for (int l = 0; l < net->n_layers; l++) {
        net->scr_off[l] = sum;
        sum += net->layers[l].scratch;
    }
    net->sum_scratch = sum;
    bp__net_bind_scratch(net);
}

/* Every layer with bf16 products back to float. */
static void to_fp32(bp_net *net)
{
    for (int l = 0; l < net->n_layers; l++) {
        bp__layer *L = &net->layers[l];
        char msg[160];
        /* float products cannot be refused: a kind without its primitives
         * takes its built-in path */
        if (L->half)
            (void)L->kind->set_half(L, 0, msg, sizeof msg);
    }
    lay_out_scratch(net);
}

/* Every layer with products to bf16; the network's message says why not. */
static int to_bf16(bp_net *net)
{
#ifndef BP_HAVE_DNNL
    bp__net_set_message(net, "bf16 needs the oneDNN build; this one has the built-in kernel only");
    return BP_EUNSUPPORTED;
#endif
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        if (L->kind->grad_params && !L->kind->set_half) {
            char entry[96];
            bp_net_layer_spec(net, l, entry, sizeof entry);
            bp__net_set_message(net, "bf16: layer %d (%s) has no bf16 path", l + 1, entry);
            return BP_EUNSUPPORTED;
        }
    }
    for (int l = 0; l < net->n_layers; l++) {
        bp__layer *L = &net->layers[l];
        char msg[160];
        int rc = L->kind->set_half ? L->kind->set_half(L, 1, msg, sizeof msg) : 0;
        if (rc != 0) {
            bp__net_set_message(net, "bf16: layer %d: %s", l + 1, msg);
            return rc;
        }
    }
    lay_out_scratch(net);
    return 0;
}

int bp_net_set_precision(bp_net *net, bp_precision p, bp_error *err)
{
    int rc;
    if (!net)
        return bp__error_set(err, BP_EINVAL, "set precision: no network");
    if (p != BP_PRECISION_FP32 && p != BP_PRECISION_BF16) {
        bp__net_set_message(net, "precision: expected fp32 or bf16, got %d", (int)p);
        return bp__error_set(err, BP_EINVAL, "%s", net->message);
    }
    if (p == net->precision)
        return 0;
    if (p == BP_PRECISION_FP32) {
        to_fp32(net); /* the workspace is large enough */
    } else {
        bp_error why = {0};
        if ((rc = bp_bf16_check(&why)) != 0) {
            bp__net_set_message(net, "%s", why.message);
            return bp__error_set(err, rc, "%s", why.message);
        }
        if ((rc = to_bf16(net)) != 0 ||
            (net->capacity > 0 &&
             (rc = bp__net_workspace(net, net->capacity, net->drop_ready)) != 0)) {
            to_fp32(net);
            return bp__error_set(err, rc, "%s", net->message);
        }
    }
    net->precision = p;
    net->half_fresh = 0; /* the copies were made again or dropped */
    net->batch = 0;
    net->have_delta = 0;
    return 0;
}
