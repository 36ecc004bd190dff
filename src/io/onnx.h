/*
 * onnx.h - what the ONNX writer (onnx.c), the reader (onnx_read.c) and the
 * table of layer kinds (onnx_layers.c) share: the versions written, the
 * field numbers of the ONNX messages used (from onnx.proto; every other
 * field is skipped on reading), the writer's and reader's state, and the
 * table's entry: how one layer kind becomes nodes and is read back.
 */
#ifndef BP_IO_ONNX_H
#define BP_IO_ONNX_H

#include "io/onnx_pb.h"
#include "internal.h"

#include <stddef.h>
#include <stdint.h>

#define BP__ONNX_IR_VERSION 7
#define BP__ONNX_OPSET 13
#define BP__ONNX_FLOAT 1          /* TensorProto.DataType FLOAT */
#define BP__ONNX_ATTR_FLOAT 1     /* AttributeProto.AttributeType */
#define BP__ONNX_ATTR_INT 2
#define BP__ONNX_ATTR_INTS 7
/* The largest file read: protocol buffers are limited to 2 GiB. */
#define BP__ONNX_MAX_BYTES ((size_t)1 << 31)

/* Field numbers of the ONNX messages used here (onnx.proto). */
enum {
    /* ModelProto */
    BP__ONNX_MODEL_IR_VERSION = 1, BP__ONNX_MODEL_PRODUCER = 2,
    BP__ONNX_MODEL_PRODUCER_VERSION = 3, BP__ONNX_MODEL_DOC = 6, BP__ONNX_MODEL_GRAPH = 7,
    BP__ONNX_MODEL_OPSET = 8, BP__ONNX_MODEL_METADATA = 14,
    /* OperatorSetIdProto, StringStringEntryProto */
    BP__ONNX_OPSET_DOMAIN = 1, BP__ONNX_OPSET_VERSION = 2,
    BP__ONNX_ENTRY_KEY = 1, BP__ONNX_ENTRY_VALUE = 2,
    /* GraphProto */
    BP__ONNX_GRAPH_NODE = 1, BP__ONNX_GRAPH_NAME = 2, BP__ONNX_GRAPH_INITIALIZER = 5,
    BP__ONNX_GRAPH_DOC = 10, BP__ONNX_GRAPH_INPUT = 11, BP__ONNX_GRAPH_OUTPUT = 12,
    /* NodeProto, AttributeProto */
    BP__ONNX_NODE_INPUT = 1, BP__ONNX_NODE_OUTPUT = 2, BP__ONNX_NODE_NAME = 3,
    BP__ONNX_NODE_OP = 4, BP__ONNX_NODE_ATTR = 5, BP__ONNX_NODE_DOMAIN = 7,
    BP__ONNX_ATTR_NAME = 1, BP__ONNX_ATTR_F = 2, BP__ONNX_ATTR_I = 3, BP__ONNX_ATTR_INTS_F = 8,
    BP__ONNX_ATTR_TYPE = 20,
    /* TensorProto */
    BP__ONNX_TENSOR_DIMS = 1, BP__ONNX_TENSOR_TYPE = 2, BP__ONNX_TENSOR_FLOATS = 4,
    BP__ONNX_TENSOR_NAME = 8, BP__ONNX_TENSOR_RAW = 9, BP__ONNX_TENSOR_LOCATION = 14,
    /* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto(.Dimension) */
    BP__ONNX_VALUE_NAME = 1, BP__ONNX_VALUE_TYPE = 2,
    BP__ONNX_TYPE_TENSOR = 1, BP__ONNX_TTENSOR_ELEM = 1, BP__ONNX_TTENSOR_SHAPE = 2,
    BP__ONNX_SHAPE_DIM = 1, BP__ONNX_DIM_VALUE = 1, BP__ONNX_DIM_PARAM = 2
};

/* ---- writing ---------------------------------------------------------- */

/* The graph being written. Nodes go out one behind: the last one is held
 * back so that its output can be named "output" when nothing follows. */
typedef struct bp__onnx_writer {
    bp__pb *graph;
    const float *params; /* the network's parameter block */
    const float *state;  /* its state block: batch norm's running statistics */
    char cur[64];        /* the value the next node reads */
    bp_shape shape;      /* that value's shape per sample (h = w = 0: flat) */
    int held;            /* a node is held back */
    char held_name[64], held_op[32], held_in[5][64], held_out[64];
    int held_n_in;
    bp__pb held_attrs;
} bp__onnx_writer;

/* A float32 initializer of the given rank and dims, v little-endian. */
void bp__onnx_put_tensor(bp__onnx_writer *w, const char *name, int rank, const int64_t *dims,
                         const float *v);
/* A node `name` of op `op` reading w->cur then the n_more (up to 4) values in more,
 * writing `out`, which becomes w->cur. attrs (may be NULL) holds whole
 * NodeProto.attribute fields (bp__onnx_attr_*). */
void bp__onnx_put_node(bp__onnx_writer *w, const char *name, const char *op,
                       const char *const *more, int n_more, const char *out,
                       const bp__pb *attrs);
/* One attribute field each, appended to attrs. */
void bp__onnx_attr_int(bp__pb *attrs, const char *name, int64_t v);
void bp__onnx_attr_ints(bp__pb *attrs, const char *name, int n, const int64_t *v);
void bp__onnx_attr_float(bp__pb *attrs, const char *name, float v);

/* ---- reading ---------------------------------------------------------- */

/* Strings point into the file's bytes and are not NUL-terminated. */
typedef struct bp__onnx_str {
    const char *s;
    size_t n;
} bp__onnx_str;

#define BP__ONNX_MAX_INTS 8
#define BP__ONNX_MAX_ATTRS 8
#define BP__ONNX_MAX_NODE_IO 6
#define BP__ONNX_MAX_RANK 4

typedef struct bp__onnx_attr {
    bp__onnx_str name;
    int64_t type;
    float f;
    int64_t i;
    int64_t ints[BP__ONNX_MAX_INTS];
    int has_f, has_i, n_ints; /* n_ints counts past BP__ONNX_MAX_INTS */
} bp__onnx_attr;

typedef struct bp__onnx_node {
    bp__onnx_str op, name, domain;
    bp__onnx_str in[BP__ONNX_MAX_NODE_IO], out[BP__ONNX_MAX_NODE_IO];
    int n_in, n_out, n_attr;
    bp__onnx_attr attrs[BP__ONNX_MAX_ATTRS];
    size_t offset;
} bp__onnx_node;

typedef struct bp__onnx_tensor {
    bp__onnx_str name;
    int rank; /* counted; dims holds the first BP__ONNX_MAX_RANK */
    int64_t dims[BP__ONNX_MAX_RANK];
    int64_t dtype;
    const unsigned char *data; /* little-endian float32 values */
    size_t len;
    int external;
    size_t offset;
} bp__onnx_tensor;

typedef struct bp__onnx_value {
    bp__onnx_str name;
    int64_t elem;
    int rank; /* counted; dim and param hold the first BP__ONNX_MAX_RANK */
    int64_t dim[BP__ONNX_MAX_RANK];
    bp__onnx_str param[BP__ONNX_MAX_RANK];
} bp__onnx_value;

typedef struct bp__onnx_reader {
    const char *path;
    bp_error *err;
    bp__pb_reader file;
    char msg[192];
    bp__onnx_node *nodes;
    bp__onnx_tensor *tensors;
    int n_nodes, n_tensors;
    bp__onnx_value input, output;
    int n_inputs, n_outputs;
} bp__onnx_reader;

/* Where the walk of the chain stands when a kind reads its layer: node k
 * is the layer's first, reading the value cur of shape `shape`. The kind
 * fills d (its kind and the rest) and moves k and cur past its nodes,
 * activation included; with net, it also copies layer l's parameters in. */
typedef struct bp__onnx_step {
    int k;
    int first; /* the layer's first node, whose name says which layer it is */
    bp__onnx_str cur;
    bp_shape shape;
    bp_layer_desc d;
    bp_net *net;
    int l;
} bp__onnx_step;

/* A message naming the file; returns code. */
int bp__onnx_fail(bp__onnx_reader *r, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Node k for messages: "node 3 (Gemm 'layers.0.gemm')", into buf. */
const char *bp__onnx_where(const bp__onnx_reader *r, int k, char *buf, size_t size);
int bp__onnx_is(bp__onnx_str a, const char *b);
/* Check node k: ins to ins_max inputs, one output, its first input the
 * value cur, only the attributes in attrs (space-separated) present. */
int bp__onnx_check_node(bp__onnx_reader *r, int k, bp__onnx_str cur, int ins, int ins_max,
                        const char *attrs);
/* Node k's attribute `name` of type INT, FLOAT, INTS (def when absent;
 * for INTS, n values expected, *out left alone when absent). */
int bp__onnx_attr_int_of(bp__onnx_reader *r, int k, const char *name, int64_t def,
                         int64_t *out);
int bp__onnx_attr_float_of(bp__onnx_reader *r, int k, const char *name, float def, float *out);
int bp__onnx_attr_ints_of(bp__onnx_reader *r, int k, const char *name, int n, int64_t *out);
/* The initializer named by node k's input `in`: float32 of the given
 * rank and dims, its values finite; copied to out when not NULL. */
int bp__onnx_weights(bp__onnx_reader *r, int k, int in, int rank, const int64_t *dims,
                     float *out);
/* The initializer named by node k's input `in`, or NULL. */
const bp__onnx_tensor *bp__onnx_tensor_of(const bp__onnx_reader *r, int k, int in);

/* ---- the table of layer kinds (onnx_layers.c) ---------------------------- */

typedef struct bp__onnx_kind {
    bp_layer_kind kind;
    /* The op types that start the layer, space-separated ("Conv"); NULL for
     * a kind that writes no node (its layer cannot be read back). */
    const char *ops;
    /* Write layer l's nodes (and its activation's) from w->cur, leaving
     * w->cur and w->shape at its output. */
    void (*put)(bp__onnx_writer *w, const bp__layer *L, int l);
    /* Read the layer that starts at node s->k (see bp__onnx_step). */
    int (*read)(bp__onnx_reader *r, bp__onnx_step *s);
} bp__onnx_kind;

/* The entry of a kind, or of a node's op type; NULL when none. */
const bp__onnx_kind *bp__onnx_kind_of(bp_layer_kind kind);
const bp__onnx_kind *bp__onnx_kind_by_op(bp__onnx_str op);
/* 0 when the export can write layer l (its kind has an entry, a softmax
 * over a C x H x W output is the last layer's), else BP_EINVAL with err. */
int bp__onnx_can_put(const bp__layer *L, int l, int last, bp_error *err);
/* The activation whose op is `op`, or -1. */
int bp__onnx_act_of(bp__onnx_str op);
/* The op types that start a layer other than a standalone activation,
 * for messages: "Gemm, Conv, ...". */
void bp__onnx_layer_ops(char *buf, size_t size);

#endif
