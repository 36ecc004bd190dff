/*
 * onnx.c - networks as ONNX models (IR version 7, opset 13), written with
 * our own protocol-buffers encoder (onnx_pb.c) and read back by the same
 * means, so no protobuf library is needed.
 *
 * The graph is one chain: the input (batch, I) or (batch, C, H, W), the
 * model's input scaling as Sub and Mul (each left out when it would change
 * nothing), then each layer's nodes as its kind's entry in onnx_layers.c
 * writes them (Gemm, Conv, MaxPool, AveragePool, Flatten before a dense
 * layer that reads an image, the activation's op), a Flatten when the last
 * layer's output is C x H x W, and for a regression model with a
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

/* ---- the graph's pieces, for onnx_layers.c too ------------------------ */

void bp__onnx_put_tensor(bp__onnx_writer *w, const char *name, int rank, const int64_t *dims,
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
    bp__pb_message(w->graph, BP__ONNX_GRAPH_INITIALIZER, &t);
    bp__pb_free(&t);
}

/* Write the node held back, its output named out when out is not NULL. */
static void flush(bp__onnx_writer *w, const char *out)
{
    bp__pb node = {0};
    if (!w->held)
        return;
    for (int k = 0; k < w->held_n_in; k++)
        bp__pb_string(&node, BP__ONNX_NODE_INPUT, w->held_in[k]);
    bp__pb_string(&node, BP__ONNX_NODE_OUTPUT, out ? out : w->held_out);
    bp__pb_string(&node, BP__ONNX_NODE_NAME, w->held_name);
    bp__pb_string(&node, BP__ONNX_NODE_OP, w->held_op);
    bp__pb_append(&node, &w->held_attrs);
    bp__pb_message(w->graph, BP__ONNX_GRAPH_NODE, &node);
    bp__pb_free(&node);
    bp__pb_free(&w->held_attrs);
    w->held = 0;
}

void bp__onnx_put_node(bp__onnx_writer *w, const char *name, const char *op,
                       const char *const *more, int n_more, const char *out,
                       const bp__pb *attrs)
{
    flush(w, NULL);
    snprintf(w->held_name, sizeof w->held_name, "%s", name);
    snprintf(w->held_op, sizeof w->held_op, "%s", op);
    snprintf(w->held_in[0], sizeof w->held_in[0], "%s", w->cur);
    for (int k = 0; k < n_more && k < 4; k++)
        snprintf(w->held_in[k + 1], sizeof w->held_in[k + 1], "%s", more[k]);
    w->held_n_in = 1 + (n_more < 4 ? n_more : 4);
    snprintf(w->held_out, sizeof w->held_out, "%s", out);
    if (attrs)
        bp__pb_append(&w->held_attrs, attrs);
    w->held = 1;
    snprintf(w->cur, sizeof w->cur, "%s", out);
}

void bp__onnx_attr_int(bp__pb *attrs, const char *name, int64_t v)
{
    bp__pb a = {0};
    bp__pb_string(&a, BP__ONNX_ATTR_NAME, name);
    bp__pb_int64(&a, BP__ONNX_ATTR_I, v);
    bp__pb_varint(&a, BP__ONNX_ATTR_TYPE, BP__ONNX_ATTR_INT);
    bp__pb_message(attrs, BP__ONNX_NODE_ATTR, &a);
    bp__pb_free(&a);
}

void bp__onnx_attr_ints(bp__pb *attrs, const char *name, int n, const int64_t *v)
{
    bp__pb a = {0};
    bp__pb_string(&a, BP__ONNX_ATTR_NAME, name);
    for (int k = 0; k < n; k++) /* unpacked, as onnx.proto (proto2) has it */
        bp__pb_int64(&a, BP__ONNX_ATTR_INTS_F, v[k]);
    bp__pb_varint(&a, BP__ONNX_ATTR_TYPE, BP__ONNX_ATTR_INTS);
    bp__pb_message(attrs, BP__ONNX_NODE_ATTR, &a);
    bp__pb_free(&a);
}

void bp__onnx_attr_float(bp__pb *attrs, const char *name, float v)
{
    bp__pb a = {0};
    bp__pb_string(&a, BP__ONNX_ATTR_NAME, name);
    bp__pb_float(&a, BP__ONNX_ATTR_F, v);
    bp__pb_varint(&a, BP__ONNX_ATTR_TYPE, BP__ONNX_ATTR_FLOAT);
    bp__pb_message(attrs, BP__ONNX_NODE_ATTR, &a);
    bp__pb_free(&a);
}

/* ---- the graph ---------------------------------------------------------- */

/* A graph input or output: float32 (batch, dims of s), s flat or C x H x W. */
static void put_value(bp__pb *graph, int field, const char *name, bp_shape s)
{
    bp__pb dim = {0}, shape = {0}, tensor = {0}, type = {0}, value = {0};
    const int64_t dims[3] = {s.c, s.h, s.w};
    bp__pb_string(&dim, BP__ONNX_DIM_PARAM, "batch");
    bp__pb_message(&shape, BP__ONNX_SHAPE_DIM, &dim);
    for (int k = 0; k < (s.h ? 3 : 1); k++) {
        bp__pb_free(&dim);
        bp__pb_int64(&dim, BP__ONNX_DIM_VALUE, dims[k]);
        bp__pb_message(&shape, BP__ONNX_SHAPE_DIM, &dim);
    }
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

/* The graph of net with the scaling (shift, mul) of its inputs (either may
 * be NULL: no such node) and the target's scaling (target: scale, mean;
 * NULL: none). Each layer's nodes come from its kind's entry in the table
 * (onnx_layers.c); a network ending in a C x H x W output ends in a
 * Flatten, so the graph's output is (batch, O) as predict's rows are. */
static void put_graph(bp__onnx_writer *w, bp_net *net, const char *spec, const float *shift,
                      const float *mul, const float *target)
{
    const bp_shape in = bp_net_input_shape(net);
    int L = bp_net_layers(net);
    /* The scaling's tensors take the input's shape so that they broadcast. */
    int64_t dims[3] = {in.c, in.h, in.w};
    const int rank = in.h ? 3 : 1;
    const char *more[1];
    bp__pb_string(w->graph, BP__ONNX_GRAPH_NAME, "backprop");
    bp__pb_string(w->graph, BP__ONNX_GRAPH_DOC, spec);
    snprintf(w->cur, sizeof w->cur, "input");
    w->shape = in;
    if (shift) {
        bp__onnx_put_tensor(w, "scaling.shift", rank, dims, shift);
        more[0] = "scaling.shift";
        bp__onnx_put_node(w, "scaling.sub", "Sub", more, 1, "scaling.shifted", NULL);
    }
    if (mul) {
        bp__onnx_put_tensor(w, "scaling.mul", rank, dims, mul);
        more[0] = "scaling.mul";
        bp__onnx_put_node(w, "scaling.mul", "Mul", more, 1, "scaling.scaled", NULL);
    }
    for (int l = 0; l < L; l++) {
        const bp__layer *ly = bp__net_layer(net, l);
        bp__onnx_kind_of(bp_net_layer(net, l).kind)->put(w, ly, l);
    }
    if (w->shape.h) {
        bp__pb attr = {0};
        bp__onnx_attr_int(&attr, "axis", 1);
        bp__onnx_put_node(w, "flatten", "Flatten", NULL, 0, "flat", &attr);
        bp__pb_free(&attr);
        w->shape = (bp_shape){(int)bp_shape_size(w->shape), 0, 0};
    }
    if (target) {
        dims[0] = 1;
        bp__onnx_put_tensor(w, "target.scale", 1, dims, target);
        bp__onnx_put_tensor(w, "target.mean", 1, dims, target + 1);
        more[0] = "target.scale";
        bp__onnx_put_node(w, "target.mul", "Mul", more, 1, "target.scaled", NULL);
        more[0] = "target.mean";
        bp__onnx_put_node(w, "target.add", "Add", more, 1, "output", NULL);
    }
    flush(w, "output");
    put_value(w->graph, BP__ONNX_GRAPH_INPUT, "input", in);
    put_value(w->graph, BP__ONNX_GRAPH_OUTPUT, "output", (bp_shape){bp_net_outputs(net), 0, 0});
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
    for (int l = 0; l < bp_net_layers(net); l++)
        if ((rc = bp__onnx_can_put(bp__net_layer(net, l), l, l == bp_net_layers(net) - 1,
                                   err)) != 0)
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

    {
        bp__onnx_writer w;
        memset(&w, 0, sizeof w);
        w.graph = &graph;
        w.params = bp_net_params(net);
        w.state = bp_net_state(net);
        put_graph(&w, net, spec, shift, mul, rc == 0 ? target : NULL);
        if (w.held_attrs.failed)
            graph.failed = 1;
        bp__pb_free(&w.held_attrs);
    }
    rc = 0;
    bp__pb_string(&opset, BP__ONNX_OPSET_DOMAIN, "");
    bp__pb_int64(&opset, BP__ONNX_OPSET_VERSION, BP__ONNX_OPSET);
    bp__pb_int64(&model, BP__ONNX_MODEL_IR_VERSION, BP__ONNX_IR_VERSION);
    bp__pb_string(&model, BP__ONNX_MODEL_PRODUCER, "backprop");
    bp__pb_string(&model, BP__ONNX_MODEL_PRODUCER_VERSION, bp_version());
    snprintf(producer, sizeof producer, "a network trained by backprop %s", bp_version());
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
