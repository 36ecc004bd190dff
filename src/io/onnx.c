/*
 * onnx.c - networks as ONNX models (IR version 7, opset 13), written with
 * our own protocol-buffers encoder (onnx_pb.c) and read back by the same
 * means, so no protobuf library is needed.
 *
 * The graph is one chain: the input (batch, I), the model's input scaling as
 * Sub and Mul (each left out when it would change nothing), then per layer a
 * Gemm with transB = 1 (the weights stay (O, I), as the parameter block holds
 * them) and the activation's op, and for a regression model with a
 * standardized target a Mul by its scale and an Add of its mean, so that the
 * graph's outputs are in the target's units. Every value the graph holds is
 * a float32 initializer stored as little-endian raw data.
 *
 * The reader (onnx_read.c) accepts exactly that chain and rebuilds the
 * network from it, checking every node, attribute, tensor shape and value.
 */
#include "io/file.h"
#include "io/io.h"
#include "io/onnx.h"
#include "io/onnx_pb.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The op of each activation; NULL for identity (no node). */
static const char *act_op(bp_act act)
{
    switch (act) {
    case BP_ACT_RELU:
        return "Relu";
    case BP_ACT_LEAKY_RELU:
        return "LeakyRelu";
    case BP_ACT_SIGMOID:
        return "Sigmoid";
    case BP_ACT_TANH:
        return "Tanh";
    case BP_ACT_SOFTMAX:
        return "Softmax";
    case BP_ACT_IDENTITY:
        break;
    }
    return NULL;
}

/* ---- writing ------------------------------------------------------------ */

static void put_tensor(bp__pb *graph, const char *name, int rank, const int64_t *dims,
                       const float *v)
{
    bp__pb t = {0};
    size_t n = 1;
    for (int k = 0; k < rank; k++) {
        bp__pb_int64(&t, BP__ONNX_TENSOR_DIMS, dims[k]);
        n *= (size_t)dims[k];
    }
    bp__pb_varint(&t, BP__ONNX_TENSOR_TYPE, BP__ONNX_FLOAT);
    bp__pb_string(&t, BP__ONNX_TENSOR_NAME, name);
    bp__pb_floats(&t, BP__ONNX_TENSOR_RAW, v, n);
    bp__pb_message(graph, BP__ONNX_GRAPH_INITIALIZER, &t);
    bp__pb_free(&t);
}

/* A graph input or output: float32 (batch, width). */
static void put_value(bp__pb *graph, int field, const char *name, int width)
{
    bp__pb dim = {0}, shape = {0}, tensor = {0}, type = {0}, value = {0};
    bp__pb_string(&dim, BP__ONNX_DIM_PARAM, "batch");
    bp__pb_message(&shape, BP__ONNX_SHAPE_DIM, &dim);
    bp__pb_free(&dim);
    bp__pb_int64(&dim, BP__ONNX_DIM_VALUE, width);
    bp__pb_message(&shape, BP__ONNX_SHAPE_DIM, &dim);
    bp__pb_varint(&tensor, BP__ONNX_TTENSOR_ELEM, BP__ONNX_FLOAT);
    bp__pb_message(&tensor, BP__ONNX_TTENSOR_SHAPE, &shape);
    bp__pb_message(&type, BP__ONNX_TYPE_TENSOR, &tensor);
    bp__pb_string(&value, BP__ONNX_VALUE_NAME, name);
    bp__pb_message(&value, BP__ONNX_VALUE_TYPE, &type);
    bp__pb_message(graph, field, &value);
    bp__pb_free(&dim);
    bp__pb_free(&shape);
    bp__pb_free(&tensor);
    bp__pb_free(&type);
    bp__pb_free(&value);
}

/* One node; in2 and in3 may be NULL. attr (may be NULL) is one attribute
 * message already encoded. */
static void put_node(bp__pb *graph, const char *name, const char *op, const char *in1,
                     const char *in2, const char *in3, const char *out, const bp__pb *attr)
{
    bp__pb node = {0};
    bp__pb_string(&node, BP__ONNX_NODE_INPUT, in1);
    if (in2)
        bp__pb_string(&node, BP__ONNX_NODE_INPUT, in2);
    if (in3)
        bp__pb_string(&node, BP__ONNX_NODE_INPUT, in3);
    bp__pb_string(&node, BP__ONNX_NODE_OUTPUT, out);
    bp__pb_string(&node, BP__ONNX_NODE_NAME, name);
    bp__pb_string(&node, BP__ONNX_NODE_OP, op);
    if (attr)
        bp__pb_message(&node, BP__ONNX_NODE_ATTR, attr);
    bp__pb_message(graph, BP__ONNX_GRAPH_NODE, &node);
    bp__pb_free(&node);
}

static void attr_int(bp__pb *a, const char *name, int64_t v)
{
    bp__pb_string(a, BP__ONNX_ATTR_NAME, name);
    bp__pb_int64(a, BP__ONNX_ATTR_I, v);
    bp__pb_varint(a, BP__ONNX_ATTR_TYPE, BP__ONNX_ATTR_INT);
}

static void attr_float(bp__pb *a, const char *name, float v)
{
    bp__pb_string(a, BP__ONNX_ATTR_NAME, name);
    bp__pb_float(a, BP__ONNX_ATTR_F, v);
    bp__pb_varint(a, BP__ONNX_ATTR_TYPE, BP__ONNX_ATTR_FLOAT);
}

/* The graph of net with the scaling (shift, mul) of its I inputs (either
 * may be NULL: no such node) and the target's scaling (target: scale, mean;
 * NULL: none). */
static void put_graph(bp__pb *g, bp_net *net, const char *spec, const float *shift,
                      const float *mul, const float *target)
{
    const float *p = bp_net_params(net);
    int I = bp_net_inputs(net), L = bp_net_layers(net);
    char cur[64], name[64], w[64], b[64], z[64];
    int64_t dims[2];
    bp__pb_string(g, BP__ONNX_GRAPH_NAME, "backprop");
    bp__pb_string(g, BP__ONNX_GRAPH_DOC, spec);
    snprintf(cur, sizeof cur, "input");
    dims[0] = I;
    if (shift) {
        put_tensor(g, "scaling.shift", 1, dims, shift);
        put_node(g, "scaling.sub", "Sub", cur, "scaling.shift", NULL, "scaling.shifted", NULL);
        snprintf(cur, sizeof cur, "scaling.shifted");
    }
    if (mul) {
        put_tensor(g, "scaling.mul", 1, dims, mul);
        put_node(g, "scaling.mul", "Mul", cur, "scaling.mul", NULL, "scaling.scaled", NULL);
        snprintf(cur, sizeof cur, "scaling.scaled");
    }
    for (int l = 0; l < L; l++) {
        const bp__layer *ly = bp__net_layer(net, l);
        const char *op = act_op(ly->act);
        bp__pb attr = {0};
        snprintf(w, sizeof w, "layers.%d.weight", l);
        snprintf(b, sizeof b, "layers.%d.bias", l);
        dims[0] = ly->O;
        dims[1] = ly->I;
        put_tensor(g, w, 2, dims, p + ly->w_off);
        if (ly->bias)
            put_tensor(g, b, 1, dims, p + ly->b_off);
        if (l == L - 1 && !op && !target)
            snprintf(z, sizeof z, "output");
        else
            snprintf(z, sizeof z, "layers.%d.z", l);
        snprintf(name, sizeof name, "layers.%d.gemm", l);
        attr_int(&attr, "transB", 1);
        put_node(g, name, "Gemm", cur, w, ly->bias ? b : NULL, z, &attr);
        bp__pb_free(&attr);
        snprintf(cur, sizeof cur, "%s", z);
        if (!op)
            continue;
        if (ly->act == BP_ACT_LEAKY_RELU)
            attr_float(&attr, "alpha", ly->slope);
        else if (ly->act == BP_ACT_SOFTMAX)
            attr_int(&attr, "axis", -1);
        if (l == L - 1 && !target)
            snprintf(z, sizeof z, "output");
        else
            snprintf(z, sizeof z, "layers.%d.a", l);
        snprintf(name, sizeof name, "layers.%d.%s", l, bp_act_name(ly->act));
        put_node(g, name, op, cur, NULL, NULL, z, attr.len ? &attr : NULL);
        bp__pb_free(&attr);
        snprintf(cur, sizeof cur, "%s", z);
    }
    if (target) {
        dims[0] = 1;
        put_tensor(g, "target.scale", 1, dims, target);
        put_tensor(g, "target.mean", 1, dims, target + 1);
        put_node(g, "target.mul", "Mul", cur, "target.scale", NULL, "target.scaled", NULL);
        put_node(g, "target.add", "Add", "target.scaled", "target.mean", NULL, "output", NULL);
    }
    put_value(g, BP__ONNX_GRAPH_INPUT, "input", I);
    put_value(g, BP__ONNX_GRAPH_OUTPUT, "output", bp_net_outputs(net));
}

static void put_entry(bp__pb *m, const char *k, const char *v)
{
    bp__pb e = {0};
    bp__pb_string(&e, BP__ONNX_ENTRY_KEY, k);
    bp__pb_string(&e, BP__ONNX_ENTRY_VALUE, v);
    bp__pb_message(m, BP__ONNX_MODEL_METADATA, &e);
    bp__pb_free(&e);
}

/* The model's scaling into *shift and *mul (n values each, one allocation
 * at *block), each set to NULL when it is the identity. */
static int scaling_of(const char *path, const bp_meta *meta, int n, float **block,
                      const float **shift, const float **mul, bp_error *err)
{
    int rc, any_shift = 0, any_mul = 0;
    *shift = *mul = NULL;
    if (!(*block = bp__calloc(2 * (size_t)n, sizeof **block)))
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    rc = bp_meta_get_scaling(meta, n, *block, *block + n, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0;
    for (int j = 0; j < n; j++) {
        float s = (*block)[j], m = (*block)[n + j];
        any_shift |= s != 0.0f || signbit(s);
        any_mul |= m != 1.0f;
    }
    *shift = any_shift ? *block : NULL;
    *mul = any_mul ? *block + n : NULL;
    return 0;
}

int bp_onnx_save(const char *path, bp_net *net, const bp_meta *meta, bp_error *err)
{
    bp__pb model = {0}, graph = {0}, opset = {0};
    const float *shift, *mul;
    float *scale = NULL, target[2];
    double t_mean, t_scale;
    bp__atomic a;
    char spec[8192], producer[64];
    int rc;
    if (!path || !net)
        return bp__error_set(err, BP_EINVAL, "exporting a model needs a path and a network");
    if ((rc = bp__net_dense_only(net, "the ONNX export", err)) != 0)
        return rc;
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec)
        return bp__error_set(err, BP_EINVAL, "the network spec is too long to export");
    {
        const float *p = bp_net_params(net);
        for (size_t k = 0; k < bp_net_param_count(net); k++)
            if (!isfinite(p[k]))
                return bp__error_set(err, BP_ENONFINITE,
                                     "%s: not exported: parameter %zu is not finite", path, k);
    }
    if ((rc = scaling_of(path, meta, bp_net_inputs(net), &scale, &shift, &mul, err)) != 0 ||
        (rc = bp_meta_get_target_scaling(meta, &t_mean, &t_scale, err)) < 0)
        goto done;
    target[0] = (float)t_scale;
    target[1] = (float)t_mean;
    if (rc == 0 && !(isfinite(target[0]) && isfinite(target[1]))) {
        rc = bp__error_set(err, BP_ENONFINITE, "%s: not exported: the target's mean or scale "
                           "is beyond float range", path);
        goto done;
    }

    put_graph(&graph, net, spec, shift, mul, rc == 0 ? target : NULL);
    rc = 0;
    bp__pb_string(&opset, BP__ONNX_OPSET_DOMAIN, "");
    bp__pb_int64(&opset, BP__ONNX_OPSET_VERSION, BP__ONNX_OPSET);
    bp__pb_int64(&model, BP__ONNX_MODEL_IR_VERSION, BP__ONNX_IR_VERSION);
    bp__pb_string(&model, BP__ONNX_MODEL_PRODUCER, "backprop");
    bp__pb_string(&model, BP__ONNX_MODEL_PRODUCER_VERSION, bp_version());
    snprintf(producer, sizeof producer, "a dense network trained by backprop %s", bp_version());
    bp__pb_string(&model, BP__ONNX_MODEL_DOC, producer);
    bp__pb_message(&model, BP__ONNX_MODEL_GRAPH, &graph);
    bp__pb_message(&model, BP__ONNX_MODEL_OPSET, &opset);
    put_entry(&model, "net", spec);
    for (int i = 0; i < bp_meta_count(meta); i++)
        if (strcmp(bp_meta_key(meta, i), "net") != 0)
            put_entry(&model, bp_meta_key(meta, i), bp_meta_value(meta, i));
    if (model.failed) {
        rc = bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
        goto done;
    }
    if ((rc = bp__atomic_open(&a, path, err)) != 0)
        goto done;
    if (fwrite(model.data, 1, model.len, a.f) != model.len) {
        bp__atomic_abort(&a);
        rc = bp__error_set(err, BP_EIO, "cannot write %s", path);
        goto done;
    }
    rc = bp__atomic_commit(&a, err);
done:
    bp__free(scale);
    bp__pb_free(&model);
    bp__pb_free(&graph);
    bp__pb_free(&opset);
    return rc;
}
