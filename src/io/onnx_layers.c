/*
 * onnx_layers.c - the table of layer kinds for ONNX: per kind, the nodes
 * its layer becomes and how they are read back. One entry per kind; the
 * writer (onnx.c) and the reader (onnx_read.c) walk the layers and the
 * nodes through it and never switch on a kind.
 *
 *   dense    [Flatten when its input is C x H x W] Gemm (transB = 1)
 *   conv     Conv (kernel_shape, strides, pads, group 1), bias optional
 *   maxpool  MaxPool (kernel_shape, strides; no padding, ceil_mode 0)
 *   avgpool  AveragePool (the same)
 *   batchnorm  BatchNormalization in its inference form (scale, B, mean,
 *            var; epsilon, and momentum as ONNX counts it: 1 - ours)
 *   activation  its op alone, named as its own layer's ("layers.3.relu")
 *   dropout  no node: the identity at inference (read back, the layer is
 *            gone, as is a standalone identity's)
 *
 * then the layer's activation when it has one (Relu, LeakyRelu, Sigmoid,
 * Tanh, Softmax; a softmax over a C x H x W output is preceded by a
 * Flatten, since ONNX's takes one axis). An activation node belongs to the
 * layer before it unless its name gives another layer's index, so that a
 * standalone one reads back standing alone. Weights keep the parameter
 * block's layout, which is ONNX's: dense (O, I), conv (OUT, C, K, K).
 */
#include "io/onnx.h"
#include "nn/layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- activations, which every kind that takes one shares ----------------- */

static const struct {
    bp_act act;
    const char *op;
} ACTS[] = {{BP_ACT_RELU, "Relu"},
            {BP_ACT_LEAKY_RELU, "LeakyRelu"},
            {BP_ACT_SIGMOID, "Sigmoid"},
            {BP_ACT_TANH, "Tanh"},
            {BP_ACT_SOFTMAX, "Softmax"}};

int bp__onnx_act_of(bp__onnx_str op)
{
    for (size_t k = 0; k < sizeof ACTS / sizeof ACTS[0]; k++)
        if (bp__onnx_is(op, ACTS[k].op))
            return (int)ACTS[k].act;
    return -1;
}

static const char *act_op(bp_act act)
{
    for (size_t k = 0; k < sizeof ACTS / sizeof ACTS[0]; k++)
        if (ACTS[k].act == act)
            return ACTS[k].op;
    return NULL; /* identity: no node */
}

/* Layer l's activation after its nodes (w->shape is the layer's output). */
static void put_act(bp__onnx_writer *w, const bp__layer *L, int l)
{
    const char *op = act_op(L->act);
    char name[64], out[64];
    bp__pb attr = {0};
    if (!op)
        return;
    if (L->act == BP_ACT_SOFTMAX && w->shape.h) {
        bp__onnx_attr_int(&attr, "axis", 1);
        snprintf(name, sizeof name, "layers.%d.flatten", l);
        snprintf(out, sizeof out, "layers.%d.flat", l);
        bp__onnx_put_node(w, name, "Flatten", NULL, 0, out, &attr);
        bp__pb_free(&attr);
        w->shape = (bp_shape){(int)bp_shape_size(w->shape), 0, 0};
    }
    if (L->act == BP_ACT_LEAKY_RELU)
        bp__onnx_attr_float(&attr, "alpha", L->slope);
    else if (L->act == BP_ACT_SOFTMAX)
        bp__onnx_attr_int(&attr, "axis", -1);
    snprintf(name, sizeof name, "layers.%d.%s", l, bp_act_name(L->act));
    snprintf(out, sizeof out, "layers.%d.a", l);
    bp__onnx_put_node(w, name, op, NULL, 0, out, attr.len ? &attr : NULL);
    bp__pb_free(&attr);
}

/* The length of a node name's "layers.N." prefix, 0 when it has none. */
static size_t layer_prefix(bp__onnx_str name)
{
    size_t n = 7;
    if (name.n < 9 || memcmp(name.s, "layers.", 7) != 0)
        return 0;
    while (n < name.n && name.s[n] >= '0' && name.s[n] <= '9')
        n++;
    return n > 7 && n < name.n && name.s[n] == '.' ? n + 1 : 0;
}

/* Whether node k belongs to the layer that starts at node `first`: yes
 * unless both names give a layer's index and the indices differ. */
static int same_layer(const bp__onnx_reader *r, int first, int k)
{
    const bp__onnx_str a = r->nodes[first].name, b = r->nodes[k].name;
    const size_t m = layer_prefix(a), n = layer_prefix(b);
    return !m || !n || (m == n && memcmp(a.s, b.s, m) == 0);
}

/* The activation op at node s->k, when there is one of the layer that
 * starts at node s->first, into s->d: a Flatten then Softmax after a
 * C x H x W output, or one of ACTS. */
static int read_act(bp__onnx_reader *r, bp__onnx_step *s)
{
    char w[128];
    int rc, act;
    if (s->k >= r->n_nodes || !same_layer(r, s->first, s->k))
        return 0;
    if (s->k + 1 < r->n_nodes && s->shape.h && bp__onnx_is(r->nodes[s->k].op, "Flatten") &&
        bp__onnx_is(r->nodes[s->k + 1].op, "Softmax")) {
        int64_t axis;
        if ((rc = bp__onnx_check_node(r, s->k, s->cur, 1, 1, "axis")) != 0 ||
            (rc = bp__onnx_attr_int_of(r, s->k, "axis", 1, &axis)) != 0)
            return rc;
        if (axis != 1)
            return bp__onnx_fail(r, BP_EFORMAT, "%s: axis %lld, expected 1",
                                 bp__onnx_where(r, s->k, w, sizeof w), (long long)axis);
        s->shape = (bp_shape){(int)bp_shape_size(s->shape), 0, 0};
        s->cur = r->nodes[s->k++].out[0];
    }
    if (s->k >= r->n_nodes || (act = bp__onnx_act_of(r->nodes[s->k].op)) < 0)
        return 0;
    s->d.act = (bp_act)act;
    if (s->d.act == BP_ACT_LEAKY_RELU) {
        if ((rc = bp__onnx_check_node(r, s->k, s->cur, 1, 1, "alpha")) != 0 ||
            (rc = bp__onnx_attr_float_of(r, s->k, "alpha", 0.01f, &s->d.slope)) != 0)
            return rc;
        if (!(s->d.slope > 0.0f && s->d.slope < 1.0f))
            return bp__onnx_fail(r, BP_EFORMAT, "%s: alpha %g, expected a value in (0, 1)",
                                 bp__onnx_where(r, s->k, w, sizeof w), (double)s->d.slope);
    } else if (s->d.act == BP_ACT_SOFTMAX) {
        int64_t axis;
        if ((rc = bp__onnx_check_node(r, s->k, s->cur, 1, 1, "axis")) != 0 ||
            (rc = bp__onnx_attr_int_of(r, s->k, "axis", -1, &axis)) != 0)
            return rc;
        if (axis != -1 && axis != 1)
            return bp__onnx_fail(r, BP_EFORMAT, "%s: axis %lld, expected -1 (the last axis)",
                                 bp__onnx_where(r, s->k, w, sizeof w), (long long)axis);
        if (s->shape.h)
            return bp__onnx_fail(r, BP_EFORMAT, "%s: a softmax over a %dx%dx%d value, expected "
                                 "a Flatten before it", bp__onnx_where(r, s->k, w, sizeof w),
                                 s->shape.c, s->shape.h, s->shape.w);
    } else if ((rc = bp__onnx_check_node(r, s->k, s->cur, 1, 1, "")) != 0) {
        return rc;
    }
    s->cur = r->nodes[s->k++].out[0];
    return 0;
}

/* The layer s->d reading s->shape, planned by its kind as the network
 * will plan it: s->shape becomes its output. Node k is named on error. */
static int plan(bp__onnx_reader *r, int k, bp__onnx_step *s)
{
    const bp__kind *K = bp__kind_of(s->d.kind);
    bp__layer L;
    char why[192], w[128];
    memset(&L, 0, sizeof L);
    L.kind = K;
    L.in = s->shape;
    L.bias = (K->takes & BP__TAKES_BIAS) && s->d.bias;
    if ((K->takes & BP__SPATIAL_IN) && !s->shape.h)
        snprintf(why, sizeof why, "needs a C x H x W input, gets a flat vector of %d",
                 s->shape.c);
    else if (K->plan(&L, &s->d, why, sizeof why) == 0) {
        s->shape = L.out;
        return 0;
    }
    return bp__onnx_fail(r, BP_EFORMAT, "%s: layer %d: %s", bp__onnx_where(r, k, w, sizeof w),
                         s->l + 1, why);
}

/* A windowed node's square window attribute `name` ([v, v], or pads
 * [v, v, v, v]) into *v; def when it is absent. */
static int square(bp__onnx_reader *r, int k, const char *name, int n, int64_t def, int64_t *v)
{
    int64_t a[4] = {def, def, def, def};
    char w[128];
    int rc = bp__onnx_attr_ints_of(r, k, name, n, a);
    if (rc != 0)
        return rc;
    for (int j = 1; j < n; j++)
        if (a[j] != a[0])
            return bp__onnx_fail(r, BP_EFORMAT, "%s: %s: expected the same value on every "
                                 "side, found %lld and %lld",
                                 bp__onnx_where(r, k, w, sizeof w), name, (long long)a[0],
                                 (long long)a[j]);
    if (a[0] < 0 || a[0] > 0x7fffffff)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: %s %lld is out of range",
                             bp__onnx_where(r, k, w, sizeof w), name, (long long)a[0]);
    *v = a[0];
    return 0;
}

/* ---- dense ------------------------------------------------------------------ */

static void put_dense(bp__onnx_writer *w, const bp__layer *L, int l)
{
    char name[64], wt[64], b[64], out[64];
    const char *more[2] = {wt, b};
    int64_t dims[2] = {L->O, L->I};
    bp__pb attr = {0};
    if (w->shape.h) {
        bp__onnx_attr_int(&attr, "axis", 1);
        snprintf(name, sizeof name, "layers.%d.flatten", l);
        snprintf(out, sizeof out, "layers.%d.flat", l);
        bp__onnx_put_node(w, name, "Flatten", NULL, 0, out, &attr);
        bp__pb_free(&attr);
    }
    snprintf(wt, sizeof wt, "layers.%d.weight", l);
    snprintf(b, sizeof b, "layers.%d.bias", l);
    bp__onnx_put_tensor(w, wt, 2, dims, w->params + L->w_off);
    if (L->bias)
        bp__onnx_put_tensor(w, b, 1, dims, w->params + L->b_off);
    snprintf(name, sizeof name, "layers.%d.gemm", l);
    snprintf(out, sizeof out, "layers.%d.z", l);
    bp__onnx_attr_int(&attr, "transB", 1);
    bp__onnx_put_node(w, name, "Gemm", more, L->bias ? 2 : 1, out, &attr);
    bp__pb_free(&attr);
    w->shape = L->out;
    put_act(w, L, l);
}

static int read_dense(bp__onnx_reader *r, bp__onnx_step *s)
{
    const int k = s->k, I = (int)bp_shape_size(s->shape);
    const bp__onnx_node *n = &r->nodes[k];
    int64_t ta, tb, dims[2];
    float alpha, beta;
    char w[128];
    int rc;
    if (s->shape.h)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: its input is %dx%dx%d, expected a Flatten "
                             "before it", bp__onnx_where(r, k, w, sizeof w), s->shape.c,
                             s->shape.h, s->shape.w);
    if ((rc = bp__onnx_check_node(r, k, s->cur, 2, 3, "alpha beta transA transB")) != 0 ||
        (rc = bp__onnx_attr_int_of(r, k, "transA", 0, &ta)) != 0 ||
        (rc = bp__onnx_attr_int_of(r, k, "transB", 0, &tb)) != 0 ||
        (rc = bp__onnx_attr_float_of(r, k, "alpha", 1.0f, &alpha)) != 0 ||
        (rc = bp__onnx_attr_float_of(r, k, "beta", 1.0f, &beta)) != 0)
        return rc;
    if (ta != 0 || tb != 1 || alpha != 1.0f || beta != 1.0f)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: expected transA 0, transB 1, alpha 1, beta 1; "
                             "found %lld, %lld, %g, %g", bp__onnx_where(r, k, w, sizeof w),
                             (long long)ta, (long long)tb, (double)alpha, (double)beta);
    const bp__onnx_tensor *t = bp__onnx_tensor_of(r, k, 1);
    if (!t || t->rank != 2 || t->dims[0] < 1 || t->dims[0] > 0x7fffffff)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: its weights are not an initializer of shape "
                             "[O, %d]", bp__onnx_where(r, k, w, sizeof w), I);
    s->d.kind = BP_LAYER_DENSE;
    s->d.width = (int)t->dims[0];
    s->d.bias = n->n_in == 3;
    dims[0] = s->d.width;
    dims[1] = I;
    if ((rc = bp__onnx_weights(r, k, 1, 2, dims, s->net ? bp_net_weight(s->net, s->l) : NULL)) !=
            0 ||
        (s->d.bias &&
         (rc = bp__onnx_weights(r, k, 2, 1, dims, s->net ? bp_net_bias(s->net, s->l) : NULL)) !=
             0) ||
        (rc = plan(r, k, s)) != 0)
        return rc;
    s->cur = n->out[0];
    s->k++;
    return read_act(r, s);
}

/* ---- conv --------------------------------------------------------------------- */

static void put_conv(bp__onnx_writer *w, const bp__layer *L, int l)
{
    char name[64], wt[64], b[64], out[64];
    const char *more[2] = {wt, b};
    const int64_t dims[4] = {(int64_t)L->w_dims[0], (int64_t)L->w_dims[1],
                             (int64_t)L->w_dims[2], (int64_t)L->w_dims[3]};
    const int64_t kk[2] = {L->k, L->k}, ss[2] = {L->stride, L->stride},
                  pp[4] = {L->pad, L->pad, L->pad, L->pad};
    bp__pb attr = {0};
    snprintf(wt, sizeof wt, "layers.%d.weight", l);
    snprintf(b, sizeof b, "layers.%d.bias", l);
    bp__onnx_put_tensor(w, wt, 4, dims, w->params + L->w_off);
    if (L->bias)
        bp__onnx_put_tensor(w, b, 1, dims, w->params + L->b_off);
    bp__onnx_attr_ints(&attr, "kernel_shape", 2, kk);
    bp__onnx_attr_ints(&attr, "strides", 2, ss);
    bp__onnx_attr_ints(&attr, "pads", 4, pp);
    bp__onnx_attr_int(&attr, "group", 1);
    snprintf(name, sizeof name, "layers.%d.conv", l);
    snprintf(out, sizeof out, "layers.%d.z", l);
    bp__onnx_put_node(w, name, "Conv", more, L->bias ? 2 : 1, out, &attr);
    bp__pb_free(&attr);
    w->shape = L->out;
    put_act(w, L, l);
}

static int read_conv(bp__onnx_reader *r, bp__onnx_step *s)
{
    const int k = s->k;
    const bp__onnx_node *n = &r->nodes[k];
    int64_t K, S = 1, P = 0, group = 1, dil = 1, kernel = 0;
    char w[128];
    int rc;
    if ((rc = bp__onnx_check_node(r, k, s->cur, 2, 3,
                                  "kernel_shape strides pads group dilations")) != 0)
        return rc;
    const bp__onnx_tensor *t = bp__onnx_tensor_of(r, k, 1);
    if (!t || t->rank != 4 || t->dims[0] < 1 || t->dims[0] > 0x7fffffff || t->dims[2] < 1 ||
        t->dims[2] > 0x7fffffff || t->dims[3] != t->dims[2])
        return bp__onnx_fail(r, BP_EFORMAT, "%s: its weights are not an initializer of shape "
                             "[OUT, %d, K, K]", bp__onnx_where(r, k, w, sizeof w), s->shape.c);
    K = t->dims[2];
    if ((rc = square(r, k, "kernel_shape", 2, K, &kernel)) != 0 ||
        (rc = square(r, k, "strides", 2, 1, &S)) != 0 ||
        (rc = square(r, k, "pads", 4, 0, &P)) != 0 ||
        (rc = square(r, k, "dilations", 2, 1, &dil)) != 0 ||
        (rc = bp__onnx_attr_int_of(r, k, "group", 1, &group)) != 0)
        return rc;
    if (kernel != K || group != 1 || dil != 1 || S < 1)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: expected kernel_shape [%lld, %lld] (the "
                             "weights'), group 1, dilations 1 and strides of at least 1; found "
                             "%lld, %lld, %lld, %lld", bp__onnx_where(r, k, w, sizeof w),
                             (long long)K, (long long)K, (long long)kernel, (long long)group,
                             (long long)dil, (long long)S);
    s->d.kind = BP_LAYER_CONV;
    s->d.width = (int)t->dims[0];
    s->d.kernel = (int)K;
    s->d.stride = (int)S;
    s->d.pad = (int)P;
    s->d.bias = n->n_in == 3;
    const int64_t dims[4] = {t->dims[0], s->shape.c, K, K};
    if ((rc = plan(r, k, s)) != 0 ||
        (rc = bp__onnx_weights(r, k, 1, 4, dims, s->net ? bp_net_weight(s->net, s->l) : NULL)) !=
            0 ||
        (s->d.bias &&
         (rc = bp__onnx_weights(r, k, 2, 1, dims, s->net ? bp_net_bias(s->net, s->l) : NULL)) !=
             0))
        return rc;
    s->cur = n->out[0];
    s->k++;
    return read_act(r, s);
}

/* ---- maxpool, avgpool ----------------------------------------------------------- */

static void put_pool(bp__onnx_writer *w, const bp__layer *L, int l)
{
    const int max = L->kind->id == BP_LAYER_MAXPOOL;
    const int64_t kk[2] = {L->k, L->k}, ss[2] = {L->stride, L->stride};
    char name[64], out[64];
    bp__pb attr = {0};
    bp__onnx_attr_ints(&attr, "kernel_shape", 2, kk);
    bp__onnx_attr_ints(&attr, "strides", 2, ss);
    snprintf(name, sizeof name, "layers.%d.%s", l, max ? "maxpool" : "avgpool");
    snprintf(out, sizeof out, "layers.%d.z", l);
    bp__onnx_put_node(w, name, max ? "MaxPool" : "AveragePool", NULL, 0, out, &attr);
    bp__pb_free(&attr);
    w->shape = L->out;
}

static int read_pool(bp__onnx_reader *r, bp__onnx_step *s)
{
    const int k = s->k, max = bp__onnx_is(r->nodes[k].op, "MaxPool");
    int64_t K = 0, S = 1, P = 0, dil = 1, ceil = 0;
    char w[128];
    int rc;
    if ((rc = bp__onnx_check_node(r, k, s->cur, 1, 1,
                                  max ? "kernel_shape strides pads ceil_mode dilations"
                                      : "kernel_shape strides pads ceil_mode "
                                        "count_include_pad")) != 0)
        return rc;
    if ((rc = square(r, k, "kernel_shape", 2, 0, &K)) != 0 ||
        (rc = square(r, k, "strides", 2, 1, &S)) != 0 ||
        (rc = square(r, k, "pads", 4, 0, &P)) != 0 ||
        (max && (rc = square(r, k, "dilations", 2, 1, &dil)) != 0) ||
        (rc = bp__onnx_attr_int_of(r, k, "ceil_mode", 0, &ceil)) != 0)
        return rc;
    if (K < 1 || S < 1 || P != 0 || dil != 1 || ceil != 0)
        return bp__onnx_fail(r, BP_EFORMAT, "%s: expected a kernel_shape, strides of at least "
                             "1, no pads, dilations 1 and ceil_mode 0",
                             bp__onnx_where(r, k, w, sizeof w));
    s->d.kind = max ? BP_LAYER_MAXPOOL : BP_LAYER_AVGPOOL;
    s->d.kernel = (int)K;
    s->d.stride = (int)S;
    if ((rc = plan(r, k, s)) != 0)
        return rc;
    s->cur = r->nodes[k].out[0];
    s->k++;
    return 0;
}

/* ---- activation, dropout ------------------------------------------------------ */

static void put_alone(bp__onnx_writer *w, const bp__layer *L, int l)
{
    w->shape = L->out;
    put_act(w, L, l);
}

static int read_alone(bp__onnx_reader *r, bp__onnx_step *s)
{
    const int k = s->k;
    int rc;
    s->d.kind = BP_LAYER_ACT;
    if ((rc = plan(r, k, s)) != 0 || (rc = read_act(r, s)) != 0)
        return rc;
    return 0;
}

/* ---- batchnorm ------------------------------------------------------------------ */

/* The shortest decimal whose float is (float)v: a float attribute's value
 * as it was written ("1e-05", not 1.0000000000000001e-05). */
static double short_float(double v)
{
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        double x = strtod(buf, NULL);
        if ((float)x == (float)v)
            return x;
    }
    return v;
}

static void put_bn(bp__onnx_writer *w, const bp__layer *L, int l)
{
    static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
    char name[64], in[4][64], out[64];
    const char *more[4] = {in[0], in[1], in[2], in[3]};
    const int64_t dims[1] = {(int64_t)L->n_w};
    const float *v[4] = {w->params + L->w_off, w->params + L->b_off, w->state + L->s_off,
                         w->state + L->s_off + L->n_w};
    bp__pb attr = {0};
    for (int j = 0; j < 4; j++) {
        snprintf(in[j], sizeof in[j], "layers.%d.%s", l, what[j]);
        bp__onnx_put_tensor(w, in[j], 1, dims, v[j]);
    }
    bp__onnx_attr_float(&attr, "epsilon", (float)L->eps);
    bp__onnx_attr_float(&attr, "momentum", (float)(1.0 - L->momentum));
    snprintf(name, sizeof name, "layers.%d.batchnorm", l);
    snprintf(out, sizeof out, "layers.%d.z", l);
    bp__onnx_put_node(w, name, "BatchNormalization", more, 4, out, &attr);
    bp__pb_free(&attr);
    w->shape = L->out;
    put_act(w, L, l);
}

static int read_bn(bp__onnx_reader *r, bp__onnx_step *s)
{
    const int k = s->k, C = s->shape.c;
    const int64_t dims[1] = {C};
    float eps, mom, *state = NULL;
    char w[128];
    int rc;
    if ((rc = bp__onnx_check_node(r, k, s->cur, 5, 5, "epsilon momentum")) != 0 ||
        (rc = bp__onnx_attr_float_of(r, k, "epsilon", 1e-5f, &eps)) != 0 ||
        (rc = bp__onnx_attr_float_of(r, k, "momentum", 0.9f, &mom)) != 0)
        return rc;
    if (!(eps > 0.0f && mom >= 0.0f && mom < 1.0f))
        return bp__onnx_fail(r, BP_EFORMAT, "%s: expected epsilon > 0 and momentum in [0, 1); "
                             "found %g and %g", bp__onnx_where(r, k, w, sizeof w), (double)eps,
                             (double)mom);
    s->d.kind = BP_LAYER_BATCHNORM;
    s->d.eps = short_float(eps);
    s->d.momentum = short_float(1.0 - short_float(mom));
    if (s->net) {
        size_t n;
        state = bp_net_layer_state(s->net, s->l, &n);
    }
    if ((rc = plan(r, k, s)) != 0 ||
        (rc = bp__onnx_weights(r, k, 1, 1, dims, s->net ? bp_net_weight(s->net, s->l) : NULL)) !=
            0 ||
        (rc = bp__onnx_weights(r, k, 2, 1, dims, s->net ? bp_net_bias(s->net, s->l) : NULL)) !=
            0 ||
        (rc = bp__onnx_weights(r, k, 3, 1, dims, state)) != 0 ||
        (rc = bp__onnx_weights(r, k, 4, 1, dims, state ? state + C : NULL)) != 0)
        return rc;
    for (int c = 0; state && c < C; c++)
        if (state[C + c] < 0.0f)
            return bp__onnx_fail(r, BP_EFORMAT, "%s: var[%d] is %g, expected a variance of at "
                                 "least 0", bp__onnx_where(r, k, w, sizeof w), c,
                                 (double)state[C + c]);
    s->cur = r->nodes[k].out[0];
    s->k++;
    return read_act(r, s);
}

/* ---- the table ---------------------------------------------------------------- */

static const bp__onnx_kind KINDS[] = {
    {BP_LAYER_DENSE, "Gemm", put_dense, read_dense},
    {BP_LAYER_CONV, "Conv", put_conv, read_conv},
    {BP_LAYER_MAXPOOL, "MaxPool", put_pool, read_pool},
    {BP_LAYER_AVGPOOL, "AveragePool", put_pool, read_pool},
    {BP_LAYER_BATCHNORM, "BatchNormalization", put_bn, read_bn},
    {BP_LAYER_ACT, "Relu LeakyRelu Sigmoid Tanh Softmax", put_alone, read_alone},
    {BP_LAYER_DROPOUT, NULL, put_alone, NULL},
};

const bp__onnx_kind *bp__onnx_kind_of(bp_layer_kind kind)
{
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++)
        if (KINDS[k].kind == kind)
            return &KINDS[k];
    return NULL;
}

const bp__onnx_kind *bp__onnx_kind_by_op(bp__onnx_str op)
{
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
        const char *list = KINDS[k].ops;
        while (list && *list) {
            size_t m = strcspn(list, " ");
            if (m == op.n && memcmp(list, op.s, m) == 0)
                return &KINDS[k];
            list += m + (list[m] == ' ');
        }
    }
    return NULL;
}

void bp__onnx_layer_ops(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0] && len < size; k++)
        if (KINDS[k].ops && KINDS[k].kind != BP_LAYER_ACT)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", KINDS[k].ops);
}

int bp__onnx_can_put(const bp__layer *L, int l, int last, bp_error *err)
{
    const bp__onnx_kind *K = bp__onnx_kind_of(L->kind->id);
    if (K && (L->act != BP_ACT_SOFTMAX || !L->out.h || last))
        return 0;
    if (!K)
        return bp__error_set(err, BP_EINVAL, "the ONNX export cannot write layer %d: no ONNX "
                             "form for %s layers", l + 1, bp_layer_kind_name(L->kind->id));
    return bp__error_set(err, BP_EINVAL, "the ONNX export cannot write layer %d: a softmax "
                         "over its %dx%dx%d output is written only as the last layer", l + 1,
                         L->out.c, L->out.h, L->out.w);
}
