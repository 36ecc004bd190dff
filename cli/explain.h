/*
 * explain.h - what `backprop explain` (cmd_explain.c) shares with its part
 * for networks of any layer kind (explain_weight.c): the figures' format,
 * the names of nodes, one weight chosen by --weight and its breakdown into
 * the products its slope sums, and the per-layer summary shown for
 * networks with convolution or pooling layers.
 */
#ifndef BACKPROP_CLI_EXPLAIN_H
#define BACKPROP_CLI_EXPLAIN_H

#include "cli.h"

/* Name of layer l's output nodes ("y" the last, "h" the one hidden layer,
 * else "h1", "h2", ...); l = -1 is the input, "x". */
void explain_node_name(char *buf, size_t size, int l, int L);
/* A figure computed in double, as the shortest decimal that reads back as
 * the nearest float (see cmd_explain.c). buf holds 32 bytes. */
const char *explain_fig(char *buf, double v);
/* The same as a JSON number, and an array of them. */
void explain_json_fig(double v);
void explain_json_figs(const double *v, size_t n);

/* A weight named by --weight LAYER:INDEX. */
typedef struct explain_weight {
    int layer;
    size_t index; /* within the layer's weights, in their layout */
} explain_weight;

/* Read --weight: LAYER:O,I (dense), LAYER:OUT,C,KY,KX (conv), either in
 * parentheses or not, or LAYER:N, the flat index. Returns 0 or CLI_USAGE
 * (printed: a layer without weights, an index outside the weights' shape). */
int explain_weight_parse(const char *arg, const bp_net *net, explain_weight *out);
/* "w[l][o][i]" or "w[l][o][c][ky][kx]" for weight w of layer l. */
void explain_weight_label(char *buf, size_t size, const bp_net *net, int l, size_t w);
/* The weight's slope and the largest of the products it sums, as text or
 * as a JSON member (",\n \"weight\": {...}"). Returns 0 or CLI_RUNTIME
 * (printed: out of memory). */
int explain_weight_text(bp_net *net, const bp_explain *ex, const explain_weight *w);
int explain_weight_json(bp_net *net, const bp_explain *ex, const explain_weight *w);

/* 1 when every layer is dense: the full breakdown fits such a network. */
int explain_all_dense(const bp_net *net);
/* For other networks: each layer's output shape on the way forward (and
 * its values when few), the target and the loss; then the largest slopes
 * of each layer with weights. */
void explain_summary_forward(bp_net *net, const bp_explain *ex, bp_loss loss, const float *t,
                             int T);
void explain_summary_backward(bp_net *net, const bp_explain *ex);

#endif
