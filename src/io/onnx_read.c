/*
 * onnx_read.c - reading an ONNX model back into a network: the chain that
 * bp_onnx_save writes (optional Sub and Mul of the input scaling, then each
 * layer's nodes as its kind's entry in onnx_layers.c reads them, Flatten
 * where a C x H x W value turns flat, then the optional Mul and Add of the
 * target's scaling), so an exported file can be checked against the model
 * it came from.
 *
 * Nothing is trusted: every field's wire type, every node's op, inputs,
 * outputs and attributes, every tensor's type, shape, size and values (all
 * finite), and the graph's input and output shapes against the network.
 * Strings point into the file's bytes and are not NUL-terminated.
 */
#include "io/file.h"
#include "io/io.h"
#include "io/onnx.h"
#include "io/onnx_pb.h"
#include "internal.h"
#include "nn/layer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef bp__onnx_str str;
typedef bp__onnx_attr attr;
typedef bp__onnx_node node;
typedef bp__onnx_tensor tensor;
typedef bp__onnx_value value;
typedef bp__onnx_reader reader;

#define MAX_ATTRS BP__ONNX_MAX_ATTRS
#define MAX_NODE_IO BP__ONNX_MAX_NODE_IO

/* This file's short names for the shared helpers (onnx.h). */
#define fail bp__onnx_fail
#define is bp__onnx_is

int bp__onnx_fail(reader *r, int code, const char *fmt, ...)
{
    char buf[224];
    va_list ap;
    va_start(ap, fmt);
    bp__vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return bp__error_set(r->err, code, "%s: %s", r->path, buf);
}

int bp__onnx_is(str a, const char *b)
{
    return a.n == strlen(b) && memcmp(a.s, b, a.n) == 0;
}

static int same(str a, str b)
{
    return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

/* The next field of a message: 1, 0 at the end, or a BP_EFORMAT code. */
static int next(reader *r, bp__pb_reader *m, bp__pb_field *f)
{
    int rc = bp__pb_next(m, f, r->msg, sizeof r->msg);
    return rc < 0 ? fail(r, BP_EFORMAT, "%s", r->msg) : rc;
}

/* Check that a known field has the wire type its schema gives. */
static int wire(reader *r, const bp__pb_field *f, int want, const char *what)
{
    if (f->wire == want)
        return 0;
    return fail(r, BP_EFORMAT, "byte %zu: %s: expected wire type %d, found %d", f->offset, what,
                want, f->wire);
}

static int get_str(reader *r, const bp__pb_field *f, const char *what, str *out)
{
    int rc = wire(r, f, BP__PB_LEN, what);
    if (rc == 0 && memchr(f->data, '\0', f->len))
        rc = fail(r, BP_EFORMAT, "byte %zu: %s holds a NUL byte", f->offset, what);
    if (rc == 0) {
        out->s = (const char *)f->data;
        out->n = f->len;
    }
    return rc;
}

/* ---- the messages --------------------------------------------------------- */

static int read_attr(reader *r, const bp__pb_field *af, attr *a)
{
    bp__pb_reader m = bp__pb_sub(&r->file, af);
    bp__pb_field f;
    int rc;
    memset(a, 0, sizeof *a);
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_ATTR_NAME)
            rc = get_str(r, &f, "attribute name", &a->name);
        else if (f.number == BP__ONNX_ATTR_F &&
                 (rc = wire(r, &f, BP__PB_I32, "attribute f")) == 0) {
            a->f = bp__pb_float_of(&f);
            a->has_f = 1;
        } else if (f.number == BP__ONNX_ATTR_I &&
                   (rc = wire(r, &f, BP__PB_VARINT, "attribute i")) == 0) {
            a->i = (int64_t)f.value;
            a->has_i = 1;
        } else if (f.number == BP__ONNX_ATTR_INTS_F && f.wire == BP__PB_VARINT) {
            if (a->n_ints < BP__ONNX_MAX_INTS)
                a->ints[a->n_ints] = (int64_t)f.value;
            a->n_ints += a->n_ints < 0x7fff;
        } else if (f.number == BP__ONNX_ATTR_INTS_F &&
                   (rc = wire(r, &f, BP__PB_LEN, "attribute ints")) == 0) {
            bp__pb_reader p = bp__pb_sub(&r->file, &f); /* packed */
            uint64_t v;
            while ((rc = bp__pb_next_varint(&p, &v)) == 1) {
                if (a->n_ints < BP__ONNX_MAX_INTS)
                    a->ints[a->n_ints] = (int64_t)v;
                a->n_ints += a->n_ints < 0x7fff;
            }
            if (rc < 0)
                return fail(r, BP_EFORMAT, "byte %zu: attribute ints: a varint runs past the "
                            "end", f.offset);
        } else if (f.number == BP__ONNX_ATTR_TYPE &&
                   (rc = wire(r, &f, BP__PB_VARINT, "attribute type")) == 0)
            a->type = (int64_t)f.value;
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int read_node(reader *r, const bp__pb_field *nf, node *n)
{
    bp__pb_reader m = bp__pb_sub(&r->file, nf);
    bp__pb_field f;
    int rc;
    memset(n, 0, sizeof *n);
    n->offset = nf->offset;
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_NODE_INPUT || f.number == BP__ONNX_NODE_OUTPUT) {
            int out = f.number == BP__ONNX_NODE_OUTPUT, *k = out ? &n->n_out : &n->n_in;
            if (*k == MAX_NODE_IO)
                return fail(r, BP_EFORMAT, "byte %zu: a node has more than %d %s", f.offset,
                            MAX_NODE_IO, out ? "outputs" : "inputs");
            rc = get_str(r, &f, out ? "node output" : "node input",
                         out ? &n->out[*k] : &n->in[*k]);
            ++*k;
        } else if (f.number == BP__ONNX_NODE_NAME) {
            rc = get_str(r, &f, "node name", &n->name);
        } else if (f.number == BP__ONNX_NODE_OP) {
            rc = get_str(r, &f, "node op_type", &n->op);
        } else if (f.number == BP__ONNX_NODE_DOMAIN) {
            rc = get_str(r, &f, "node domain", &n->domain);
        } else if (f.number == BP__ONNX_NODE_ATTR &&
                   (rc = wire(r, &f, BP__PB_LEN, "attribute")) == 0) {
            if (n->n_attr == MAX_ATTRS)
                return fail(r, BP_EFORMAT, "byte %zu: a node has more than %d attributes",
                            f.offset, MAX_ATTRS);
            rc = read_attr(r, &f, &n->attrs[n->n_attr++]);
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int read_tensor(reader *r, const bp__pb_field *tf, tensor *t)
{
    bp__pb_reader m = bp__pb_sub(&r->file, tf);
    bp__pb_field f;
    int rc, rank = 0;
    memset(t, 0, sizeof *t);
    t->offset = tf->offset;
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_TENSOR_DIMS) {
            if ((rc = wire(r, &f, BP__PB_VARINT, "tensor dims")) < 0)
                return fail(r, BP_EFORMAT, "byte %zu: tensor dims: expected one varint each "
                            "(unpacked), found wire type %d", f.offset, f.wire);
            if (rank < BP__ONNX_MAX_RANK)
                t->dims[rank] = (int64_t)f.value;
            rank += rank < 0x7fff;
        } else if (f.number == BP__ONNX_TENSOR_TYPE) {
            if ((rc = wire(r, &f, BP__PB_VARINT, "tensor data_type")) == 0)
                t->dtype = (int64_t)f.value;
        } else if (f.number == BP__ONNX_TENSOR_NAME) {
            rc = get_str(r, &f, "tensor name", &t->name);
        } else if (f.number == BP__ONNX_TENSOR_RAW || f.number == BP__ONNX_TENSOR_FLOATS) {
            /* raw_data and packed float_data hold the same little-endian bytes. */
            const char *what =
                f.number == BP__ONNX_TENSOR_RAW ? "tensor raw_data" : "tensor float_data";
            if ((rc = wire(r, &f, BP__PB_LEN, what)) == 0) {
                t->data = f.data;
                t->len = f.len;
            }
        } else if (f.number == BP__ONNX_TENSOR_LOCATION) {
            if ((rc = wire(r, &f, BP__PB_VARINT, "tensor data_location")) == 0)
                t->external = f.value != 0;
        }
        if (rc < 0)
            return rc;
    }
    t->rank = rank;
    return rc;
}

/* A graph input or output: its name, element type and shape (up to rank 4
 * kept; the rank counted). */
static int read_value(reader *r, const bp__pb_field *vf, value *v)
{
    bp__pb_reader m = bp__pb_sub(&r->file, vf), t, tt, sh, d;
    bp__pb_field f, g, h, k;
    int rc;
    memset(v, 0, sizeof *v);
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_VALUE_NAME)
            rc = get_str(r, &f, "value name", &v->name);
        else if (f.number == BP__ONNX_VALUE_TYPE &&
                 (rc = wire(r, &f, BP__PB_LEN, "value type")) == 0) {
            t = bp__pb_sub(&r->file, &f);
            while (rc >= 0 && (rc = next(r, &t, &g)) == 1) {
                if (g.number != BP__ONNX_TYPE_TENSOR ||
                    (rc = wire(r, &g, BP__PB_LEN, "tensor_type")) < 0)
                    continue;
                tt = bp__pb_sub(&r->file, &g);
                while (rc >= 0 && (rc = next(r, &tt, &h)) == 1) {
                    if (h.number == BP__ONNX_TTENSOR_ELEM &&
                        (rc = wire(r, &h, BP__PB_VARINT, "elem_type")) == 0)
                        v->elem = (int64_t)h.value;
                    if (h.number != BP__ONNX_TTENSOR_SHAPE || rc < 0 ||
                        (rc = wire(r, &h, BP__PB_LEN, "shape")) < 0)
                        continue;
                    sh = bp__pb_sub(&r->file, &h);
                    while (rc >= 0 && (rc = next(r, &sh, &k)) == 1) {
                        if (k.number != BP__ONNX_SHAPE_DIM ||
                            (rc = wire(r, &k, BP__PB_LEN, "dim")) < 0)
                            continue;
                        d = bp__pb_sub(&r->file, &k);
                        bp__pb_field e;
                        while (rc >= 0 && (rc = next(r, &d, &e)) == 1) {
                            if (v->rank >= BP__ONNX_MAX_RANK)
                                continue;
                            if (e.number == BP__ONNX_DIM_VALUE &&
                                (rc = wire(r, &e, BP__PB_VARINT, "dim_value")) == 0)
                                v->dim[v->rank] = (int64_t)e.value;
                            else if (e.number == BP__ONNX_DIM_PARAM)
                                rc = get_str(r, &e, "dim_param", &v->param[v->rank]);
                        }
                        if (rc >= 0)
                            v->rank += v->rank < 0x7fff;
                    }
                }
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* The graph: nodes, initializers, the one input and the one output. */
static int read_graph(reader *r, const bp__pb_field *gf, str *name)
{
    bp__pb_reader m = bp__pb_sub(&r->file, gf);
    bp__pb_field f;
    int rc, nodes = 0, tensors = 0;
    while ((rc = next(r, &m, &f)) == 1) {
        nodes += f.number == BP__ONNX_GRAPH_NODE;
        tensors += f.number == BP__ONNX_GRAPH_INITIALIZER;
    }
    if (rc < 0)
        return rc;
    if ((nodes && !(r->nodes = bp__calloc((size_t)nodes, sizeof *r->nodes))) ||
        (tensors && !(r->tensors = bp__calloc((size_t)tensors, sizeof *r->tensors))))
        return fail(r, BP_ENOMEM, "out of memory reading the graph");
    m = bp__pb_sub(&r->file, gf);
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_GRAPH_NAME) {
            rc = get_str(r, &f, "graph name", name);
        } else if (f.number == BP__ONNX_GRAPH_NODE) {
            if ((rc = wire(r, &f, BP__PB_LEN, "graph node")) == 0)
                rc = read_node(r, &f, &r->nodes[r->n_nodes++]);
        } else if (f.number == BP__ONNX_GRAPH_INITIALIZER) {
            if ((rc = wire(r, &f, BP__PB_LEN, "graph initializer")) == 0)
                rc = read_tensor(r, &f, &r->tensors[r->n_tensors++]);
        } else if (f.number == BP__ONNX_GRAPH_INPUT || f.number == BP__ONNX_GRAPH_OUTPUT) {
            int out = f.number == BP__ONNX_GRAPH_OUTPUT;
            value v;
            if ((rc = wire(r, &f, BP__PB_LEN, out ? "graph output" : "graph input")) == 0 &&
                (rc = read_value(r, &f, &v)) == 0) {
                if (out)
                    r->output = v, r->n_outputs++;
                else
                    r->input = v, r->n_inputs++;
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* ---- the chain -------------------------------------------------------------- */

static const tensor *find_tensor(const reader *r, str name)
{
    for (int k = 0; k < r->n_tensors; k++)
        if (same(r->tensors[k].name, name))
            return &r->tensors[k];
    return NULL;
}

static const attr *find_attr(const node *n, const char *name)
{
    for (int k = 0; k < n->n_attr; k++)
        if (is(n->attrs[k].name, name))
            return &n->attrs[k];
    return NULL;
}

const char *bp__onnx_where(const reader *r, int k, char *buf, size_t size)
{
    const node *n = &r->nodes[k];
    snprintf(buf, size, "node %d (%.*s '%.*s')", k, (int)(n->op.n > 32 ? 32 : n->op.n), n->op.s,
             (int)(n->name.n > 48 ? 48 : n->name.n), n->name.s);
    return buf;
}

int bp__onnx_check_node(reader *r, int k, str cur, int ins, int ins_max, const char *attrs)
{
    const node *n = &r->nodes[k];
    char w[128];
    if (n->domain.n && !is(n->domain, "ai.onnx"))
        return fail(r, BP_EFORMAT, "%s: domain '%.*s', expected the default domain",
                    bp__onnx_where(r, k, w, sizeof w), (int)n->domain.n, n->domain.s);
    if (n->n_in < ins || n->n_in > ins_max)
        return fail(r, BP_EFORMAT, "%s: expected %d input%s, found %d", bp__onnx_where(r, k, w, sizeof w),
                    ins, ins == 1 ? "" : "s", n->n_in);
    if (n->n_out != 1)
        return fail(r, BP_EFORMAT, "%s: expected 1 output, found %d", bp__onnx_where(r, k, w, sizeof w),
                    n->n_out);
    if (!same(n->in[0], cur))
        return fail(r, BP_EFORMAT, "%s: its input is '%.*s', expected '%.*s' (the graph is not "
                    "one chain)", bp__onnx_where(r, k, w, sizeof w), (int)n->in[0].n, n->in[0].s,
                    (int)cur.n, cur.s);
    for (int a = 0; a < n->n_attr; a++) {
        const char *list = attrs;
        size_t len = n->attrs[a].name.n;
        int ok = 0;
        while (*list && !ok) {
            size_t m = strcspn(list, " ");
            ok = m == len && memcmp(list, n->attrs[a].name.s, len) == 0;
            list += m + (list[m] == ' ');
        }
        if (!ok)
            return fail(r, BP_EFORMAT, "%s: unexpected attribute '%.*s'",
                        bp__onnx_where(r, k, w, sizeof w), (int)len, n->attrs[a].name.s);
    }
    return 0;
}

int bp__onnx_attr_int_of(reader *r, int k, const char *name, int64_t def, int64_t *out)
{
    const attr *a = find_attr(&r->nodes[k], name);
    char w[128];
    *out = def;
    if (!a)
        return 0;
    if (!a->has_i || (a->type && a->type != BP__ONNX_ATTR_INT))
        return fail(r, BP_EFORMAT, "%s: attribute %s: expected an integer",
                    bp__onnx_where(r, k, w, sizeof w), name);
    *out = a->i;
    return 0;
}

int bp__onnx_attr_float_of(reader *r, int k, const char *name, float def, float *out)
{
    const attr *a = find_attr(&r->nodes[k], name);
    char w[128];
    *out = def;
    if (!a)
        return 0;
    if (!a->has_f || (a->type && a->type != BP__ONNX_ATTR_FLOAT))
        return fail(r, BP_EFORMAT, "%s: attribute %s: expected a float",
                    bp__onnx_where(r, k, w, sizeof w), name);
    *out = a->f;
    return 0;
}

int bp__onnx_attr_ints_of(reader *r, int k, const char *name, int n, int64_t *out)
{
    const attr *a = find_attr(&r->nodes[k], name);
    char w[128];
    if (!a)
        return 0;
    if (a->type != BP__ONNX_ATTR_INTS || a->n_ints != n)
        return fail(r, BP_EFORMAT, "%s: attribute %s: expected %d integers",
                    bp__onnx_where(r, k, w, sizeof w), name, n);
    memcpy(out, a->ints, (size_t)n * sizeof *out);
    return 0;
}

const tensor *bp__onnx_tensor_of(const reader *r, int k, int in)
{
    return in < r->nodes[k].n_in ? find_tensor(r, r->nodes[k].in[in]) : NULL;
}

/* "[2, 3]" for a shape; "rank R" past the ranks kept. */
static void shape_text(char *buf, size_t size, int rank, const int64_t *dims)
{
    size_t len = 0;
    if (rank > BP__ONNX_MAX_RANK) {
        snprintf(buf, size, "rank %d", rank);
        return;
    }
    len += (size_t)snprintf(buf, size, "[");
    for (int j = 0; j < rank && len < size; j++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", j ? ", " : "",
                                (long long)dims[j]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

int bp__onnx_weights(reader *r, int k, int in, int rank, const int64_t *dims, float *out)
{
    const node *n = &r->nodes[k];
    const tensor *t = bp__onnx_tensor_of(r, k, in);
    char w[128], shape[80], found[80];
    size_t count = 1;
    int ok;
    bp__onnx_where(r, k, w, sizeof w);
    shape_text(shape, sizeof shape, rank, dims);
    if (!t)
        return fail(r, BP_EFORMAT, "%s: input '%.*s' is not an initializer",
                    w, (int)n->in[in].n, n->in[in].s);
    if (t->dtype != BP__ONNX_FLOAT)
        return fail(r, BP_EFORMAT, "%s: tensor '%.*s': data_type %lld, expected 1 (float)", w,
                    (int)t->name.n, t->name.s, (long long)t->dtype);
    if (t->external)
        return fail(r, BP_EFORMAT, "%s: tensor '%.*s': external data is not supported", w,
                    (int)t->name.n, t->name.s);
    ok = t->rank == rank;
    for (int j = 0; j < rank && ok; j++)
        ok = t->dims[j] == dims[j];
    if (!ok) {
        shape_text(found, sizeof found, t->rank, t->dims);
        return fail(r, BP_EFORMAT, "%s: tensor '%.*s': shape %s, expected %s", w,
                    (int)t->name.n, t->name.s, found, shape);
    }
    for (int j = 0; j < rank && ok; j++) {
        ok = dims[j] >= 0 && (dims[j] == 0 || count <= SIZE_MAX / 4 / (uint64_t)dims[j]);
        count *= ok ? (size_t)dims[j] : 1;
    }
    if (!ok || t->len != count * 4)
        return fail(r, BP_EFORMAT, "%s: tensor '%.*s': %zu data bytes, expected %zu for %s", w,
                    (int)t->name.n, t->name.s, t->len, count * 4, shape);
    for (size_t i = 0; i < count; i++) {
        const unsigned char *b = t->data + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        float v;
        memcpy(&v, &u, 4);
        if (!isfinite(v))
            return fail(r, BP_ENONFINITE, "%s: tensor '%.*s': value %zu is not finite", w,
                        (int)t->name.n, t->name.s, i);
        if (out)
            out[i] = v;
    }
    return 0;
}

/* What node k, which starts no layer, should have been, for its message. */
static int not_a_layer(reader *r, int k, int l)
{
    char w[128], ops[160];
    bp__onnx_layer_ops(ops, sizeof ops);
    return fail(r, BP_EFORMAT, "%s: expected %s, Flatten or an activation (Relu, LeakyRelu, "
                "Sigmoid, Tanh, Softmax)%s", bp__onnx_where(r, k, w, sizeof w), ops,
                l == 0 ? " (or the scaling's Sub, then Mul)" : " (or the target's Mul, then Add)");
}

/* Walk the chain from the input of shape `in`: count its layers into
 * *n_layers; with descs, also check every tensor and describe each layer;
 * with net (built from those descriptions), fill its weights. Each layer's
 * nodes are read by its kind's entry in the table (onnx_layers.c). shift
 * and mul (the input's size each) receive the scaling's tensors and
 * *scaled is set when the graph has either; target (scale, mean) receives
 * the tail's and *t_scaled is set when it has one. */
static int walk(reader *r, bp_shape in, bp_layer_desc *descs, int *n_layers, bp_net *net,
                float *shift, float *mul, int *scaled, float *target, int *t_scaled)
{
    bp__onnx_step s;
    int k = 0, l = 0, rc;
    const int64_t dims[3] = {in.c, in.h, in.w}, one = 1;
    const int rank = in.h ? 3 : 1;
    char w[128];
    memset(&s, 0, sizeof s);
    s.cur = r->input.name;
    s.shape = in;
    if (k < r->n_nodes && is(r->nodes[k].op, "Sub")) {
        if ((rc = bp__onnx_check_node(r, k, s.cur, 2, 2, "")) != 0 ||
            (rc = bp__onnx_weights(r, k, 1, rank, dims, shift)) != 0)
            return rc;
        *scaled = 1;
        s.cur = r->nodes[k++].out[0];
    }
    if (k < r->n_nodes && is(r->nodes[k].op, "Mul")) {
        if ((rc = bp__onnx_check_node(r, k, s.cur, 2, 2, "")) != 0 ||
            (rc = bp__onnx_weights(r, k, 1, rank, dims, mul)) != 0)
            return rc;
        *scaled = 1;
        s.cur = r->nodes[k++].out[0];
    }
    while (k < r->n_nodes) {
        const node *n = &r->nodes[k];
        const bp__onnx_kind *K;
        if (l > 0 && !s.shape.h && is(n->op, "Mul"))
            break; /* the target's scaling */
        str op = n->op;
        /* a Flatten then a Softmax over an image: a softmax standing alone */
        if (is(op, "Flatten") && s.shape.h && k + 1 < r->n_nodes &&
            is(r->nodes[k + 1].op, "Softmax"))
            op = r->nodes[k + 1].op;
        else if (is(op, "Flatten")) {
            int64_t axis;
            if ((rc = bp__onnx_check_node(r, k, s.cur, 1, 1, "axis")) != 0 ||
                (rc = bp__onnx_attr_int_of(r, k, "axis", 1, &axis)) != 0)
                return rc;
            if (axis != 1 || !s.shape.h)
                return fail(r, BP_EFORMAT, "%s: expected axis 1 over a C x H x W value; found "
                            "axis %lld over a %s value", bp__onnx_where(r, k, w, sizeof w),
                            (long long)axis, s.shape.h ? "C x H x W" : "flat");
            s.shape = (bp_shape){(int)bp_shape_size(s.shape), 0, 0};
            s.cur = n->out[0];
            k++;
            continue;
        }
        if (!(K = bp__onnx_kind_by_op(op)) || !K->read)
            return not_a_layer(r, k, l);
        memset(&s.d, 0, sizeof s.d);
        s.d.act = BP_ACT_IDENTITY;
        s.k = k;
        s.first = k;
        s.net = net;
        s.l = l;
        if ((rc = K->read(r, &s)) != 0)
            return rc;
        k = s.k;
        if (descs)
            descs[l] = s.d;
        l++;
    }
    if (l == 0)
        return fail(r, BP_EFORMAT, "the graph has no layer's node: no layer to read");
    int tail = 0; /* Mul by the target's scale, then Add of its mean */
    for (; tail < 2 && k < r->n_nodes; tail++, k++) {
        if (!is(r->nodes[k].op, tail ? "Add" : "Mul"))
            return fail(r, BP_EFORMAT, "%s: expected Add (of the target's mean)",
                        bp__onnx_where(r, k, w, sizeof w));
        if ((rc = bp__onnx_check_node(r, k, s.cur, 2, 2, "")) != 0 ||
            (rc = bp__onnx_weights(r, k, 1, 1, &one, target + tail)) != 0)
            return rc;
        s.cur = r->nodes[k].out[0];
    }
    if (tail == 1)
        return fail(r, BP_EFORMAT, "%s: expected an Add (of the target's mean) after it",
                    bp__onnx_where(r, k - 1, w, sizeof w));
    if (k < r->n_nodes)
        return fail(r, BP_EFORMAT, "%s: expected nothing after the target's Add",
                    bp__onnx_where(r, k, w, sizeof w));
    *t_scaled = tail == 2;
    if (!same(s.cur, r->output.name))
        return fail(r, BP_EFORMAT, "the chain ends in '%.*s', but the graph's output is '%.*s'",
                    (int)s.cur.n, s.cur.s, (int)r->output.name.n, r->output.name.s);
    if (s.shape.h)
        return fail(r, BP_EFORMAT, "the chain ends in a %dx%dx%d value, expected a Flatten "
                    "last", s.shape.c, s.shape.h, s.shape.w);
    if (r->output.elem != BP__ONNX_FLOAT || r->output.rank != 2 || r->output.dim[1] != s.shape.c)
        return fail(r, BP_EFORMAT, "output '%.*s': expected float32 [batch, %d]",
                    (int)r->output.name.n, r->output.name.s, s.shape.c);
    *n_layers = l;
    return 0;
}

/* ---- the whole file ---------------------------------------------------------- */

static void copy_str(char *dst, size_t size, str s)
{
    size_t n = s.n < size - 1 ? s.n : size - 1;
    if (n > 0) /* an empty field may have no bytes to point at */
        memcpy(dst, s.s, n);
    dst[n] = '\0';
}

/* ModelProto's own fields; metadata entries go into meta. */
static int read_model(reader *r, bp__pb_field *graph, bp_meta *meta, bp_onnx_info *info)
{
    bp__pb_reader m = r->file;
    bp__pb_field f, g;
    str producer = {"", 0}, version = {"", 0};
    int rc, have_graph = 0;
    info->opset = -1;
    while ((rc = next(r, &m, &f)) == 1) {
        if (f.number == BP__ONNX_MODEL_IR_VERSION) {
            if ((rc = wire(r, &f, BP__PB_VARINT, "ir_version")) == 0)
                info->ir_version = (int64_t)f.value;
        } else if (f.number == BP__ONNX_MODEL_PRODUCER) {
            rc = get_str(r, &f, "producer_name", &producer);
        } else if (f.number == BP__ONNX_MODEL_PRODUCER_VERSION) {
            rc = get_str(r, &f, "producer_version", &version);
        } else if (f.number == BP__ONNX_MODEL_GRAPH) {
            if ((rc = wire(r, &f, BP__PB_LEN, "graph")) == 0)
                *graph = f, have_graph = 1;
        } else if (f.number == BP__ONNX_MODEL_OPSET || f.number == BP__ONNX_MODEL_METADATA) {
            int op = f.number == BP__ONNX_MODEL_OPSET;
            str a = {"", 0}, b = {"", 0};
            int64_t v = 0;
            if ((rc = wire(r, &f, BP__PB_LEN, op ? "opset_import" : "metadata_props")) < 0)
                return rc;
            bp__pb_reader s = bp__pb_sub(&r->file, &f);
            while ((rc = next(r, &s, &g)) == 1) {
                if (g.number == 1)
                    rc = get_str(r, &g, op ? "opset domain" : "metadata key", &a);
                else if (g.number == 2 && !op)
                    rc = get_str(r, &g, "metadata value", &b);
                else if (g.number == 2 && (rc = wire(r, &g, BP__PB_VARINT, "opset version")) == 0)
                    v = (int64_t)g.value;
                if (rc < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
            if (op && (a.n == 0 || is(a, "ai.onnx")))
                info->opset = v;
            if (!op && !is(a, "scaling")) { /* the scaling is read from the graph */
                char *kv = bp__malloc(a.n + b.n + 2);
                if (!kv)
                    return fail(r, BP_ENOMEM, "out of memory reading the metadata");
                memcpy(kv, a.s, a.n);
                kv[a.n] = '\0';
                memcpy(kv + a.n + 1, b.s, b.n);
                kv[a.n + 1 + b.n] = '\0';
                rc = bp_meta_set(meta, kv, kv + a.n + 1);
                bp__free(kv);
                if (rc < 0)
                    return fail(r, rc, "the metadata: %s", bp_strerror(rc));
            }
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    snprintf(info->producer, sizeof info->producer, "%.*s%s%.*s",
             (int)(producer.n > 40 ? 40 : producer.n), producer.s, version.n ? " " : "",
             (int)(version.n > 20 ? 20 : version.n), version.s);
    if (!have_graph)
        return fail(r, BP_EFORMAT, "no graph (ModelProto field 7): not an ONNX model");
    if (info->opset < 0)
        return fail(r, BP_EFORMAT, "no opset_import for the default domain");
    if (info->opset < BP__ONNX_OPSET)
        return fail(r, BP_EFORMAT, "opset %lld, expected %d or later", (long long)info->opset,
                    BP__ONNX_OPSET);
    return 0;
}

/* The graph's target scaling (t_scaled: a tail with target = scale, mean)
 * against the schema's in meta: a tail needs the schema's values as floats. */
static int check_target(reader *r, const bp_meta *meta, int t_scaled, const float *target)
{
    double mean, scale;
    bp_error e;
    int rc = bp_meta_get_target_scaling(meta, &mean, &scale, &e);
    if (rc < 0)
        return fail(r, rc, "metadata: %s", e.message);
    if (t_scaled && rc == 1)
        return fail(r, BP_EFORMAT, "the graph scales its outputs (target.scale %g, target.mean "
                    "%g), but its metadata has no data schema with a target", (double)target[0],
                    (double)target[1]);
    if (t_scaled && ((float)scale != target[0] || (float)mean != target[1]))
        return fail(r, BP_EFORMAT, "the graph's target scale %.9g and mean %.9g differ from its "
                    "schema's, %.9g and %.9g", (double)target[0], (double)target[1],
                    (double)(float)scale, (double)(float)mean);
    return 0;
}

static void describe(const reader *r, str graph, bp_onnx_info *info)
{
    size_t len = 0, cap = sizeof info->ops;
    copy_str(info->graph, sizeof info->graph, graph);
    copy_str(info->input, sizeof info->input, r->input.name);
    copy_str(info->output, sizeof info->output, r->output.name);
    copy_str(info->batch, sizeof info->batch, r->input.param[0]);
    info->nodes = r->n_nodes;
    info->initializers = r->n_tensors;
    info->ops[0] = '\0';
    for (int k = 0; k < r->n_nodes; k++) {
        const str op = r->nodes[k].op;
        if (len + op.n + 5 > cap) {
            memcpy(info->ops + len, len ? " ..." : "...", len ? 5 : 4);
            break;
        }
        if (len)
            info->ops[len++] = ' ';
        memcpy(info->ops + len, op.s, op.n);
        len += op.n;
        info->ops[len] = '\0';
    }
}

bp_net *bp_onnx_load(const char *path, bp_meta **meta_out, bp_onnx_info *info_out,
                     bp_error *err)
{
    reader r;
    bp_onnx_info info;
    bp__pb_field graph;
    str gname = {"", 0};
    char *data = NULL;
    size_t len;
    bp_net *net = NULL;
    bp_meta *meta = NULL;
    bp_layer_desc *descs = NULL;
    float *scale = NULL;
    float target[2] = {1.0f, 0.0f};
    int rc, L = 0, scaled = 0, t_scaled = 0, I;
    bp_shape in = {0, 0, 0};
    memset(&r, 0, sizeof r);
    memset(&info, 0, sizeof info);
    if (meta_out)
        *meta_out = NULL;
    r.path = path;
    r.err = err;
    if (!path) {
        bp__error_set(err, BP_EINVAL, "reading an ONNX model needs a path");
        return NULL;
    }
    if ((rc = bp__read_file(path, BP__ONNX_MAX_BYTES, &data, &len, err)) != 0)
        goto done;
    r.file = bp__pb_open(data, len);
    if (!(meta = bp_meta_create())) {
        rc = fail(&r, BP_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_model(&r, &graph, meta, &info)) != 0 ||
        (rc = read_graph(&r, &graph, &gname)) != 0)
        goto done;
    if (r.n_inputs != 1 || r.n_outputs != 1) {
        rc = fail(&r, BP_EFORMAT, "the graph has %d inputs and %d outputs, expected 1 and 1",
                  r.n_inputs, r.n_outputs);
        goto done;
    }
    /* [batch, I] or [batch, C, H, W] */
    {
        const value *v = &r.input;
        int ok = v->elem == BP__ONNX_FLOAT && (v->rank == 2 || v->rank == 4);
        for (int j = 1; j < v->rank && ok; j++)
            ok = v->dim[j] >= 1 && v->dim[j] <= 0x7fffffff;
        if (ok && v->rank == 4)
            in = (bp_shape){(int)v->dim[1], (int)v->dim[2], (int)v->dim[3]};
        else if (ok)
            in = (bp_shape){(int)v->dim[1], 0, 0};
        if (!ok || bp_shape_size(in) > 0x7fffffff) {
            rc = fail(&r, BP_EFORMAT, "input '%.*s': expected float32 [batch, I] or [batch, C, "
                      "H, W] with each size at least 1", (int)v->name.n, v->name.s);
            goto done;
        }
    }
    I = (int)bp_shape_size(in);
    if (!(scale = bp__calloc(2 * (size_t)I, sizeof *scale))) {
        rc = fail(&r, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < I; j++)
        scale[I + j] = 1.0f;
    /* First walk: the layers' shapes; then build the network; then fill it. */
    if ((rc = walk(&r, in, NULL, &L, NULL, scale, scale + I, &scaled, target, &t_scaled)) != 0)
        goto done;
    if (!(descs = bp__calloc((size_t)L, sizeof *descs))) {
        rc = fail(&r, BP_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = walk(&r, in, descs, &L, NULL, scale, scale + I, &scaled, target, &t_scaled)) != 0)
        goto done;
    {
        bp_error e;
        if (!(net = bp_net_create_shaped(in, L, descs, &e))) {
            rc = fail(&r, e.code, "%s", e.message);
            goto done;
        }
    }
    if ((rc = walk(&r, in, NULL, &L, net, scale, scale + I, &scaled, target, &t_scaled)) != 0)
        goto done;
    if (scaled && (rc = bp_meta_set_scaling(meta, I, scale, scale + I)) != 0) {
        rc = fail(&r, rc, "the scaling: %s", bp_strerror(rc));
        goto done;
    }
    if ((rc = check_target(&r, meta, t_scaled, target)) != 0)
        goto done;
    describe(&r, gname, &info);
done:
    if (rc != 0) {
        bp_net_free(net);
        bp_meta_free(meta);
        net = NULL;
        meta = NULL;
    }
    if (meta_out)
        *meta_out = meta;
    else
        bp_meta_free(meta);
    if (info_out && net)
        *info_out = info;
    bp__free(scale);
    bp__free(descs);
    bp__free(r.nodes);
    bp__free(r.tensors);
    bp__free(data);
    return net;
}
