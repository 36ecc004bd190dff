/*
 * safetensors.c - models as safetensors files: an 8-byte little-endian
 * header length N, N bytes of JSON naming each tensor's dtype, shape and
 * data offsets (plus __metadata__, a string map), then the data. Tensors are
 * layers.N.weight [O, I] and layers.N.bias [O], written in the order of the
 * parameter block, so the data section starts with that block byte for
 * byte; then each batch norm's state: layers.N.running_mean [C],
 * layers.N.running_var [C] (F32) and layers.N.num_batches_tracked (an I64
 * scalar), as PyTorch's BatchNorm2d and BatchNorm1d hold them.
 *
 * The reader trusts nothing: header size, JSON, every tensor's name, dtype,
 * shape (against the spec in the metadata) and offsets (inside the data,
 * not overlapping, covering it all), and finite values. F64, F16 and BF16
 * tensors are converted to float32 (F64 must fit in float range).
 *
 * A file without "net" in its metadata (a PyTorch state dict saved with
 * safetensors.torch.save_file) is read with a spec given by the caller: its
 * tensors are PREFIX N.weight and PREFIX N.bias, one PREFIX for all ("",
 * "net.", "layers."), and the modules, sorted by N, are the spec's layers
 * with weights in order (an nn.Sequential's activations hold no tensors).
 */
#include "io/file.h"
#include "io/io.h"
#include "internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bp__little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap4(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

/* The tensors' names after "layers.N.", by kind: the parameters, then the
 * state. */
enum { T_WEIGHT, T_BIAS, T_MEAN, T_VAR, T_COUNT, N_TENSOR_KINDS };
static const char *const TENSOR_NAMES[N_TENSOR_KINDS] = {
    "weight", "bias", "running_mean", "running_var", "num_batches_tracked"};

/* One tensor's header entry: F32 (I64 for the count) of the given shape at
 * [begin, end). */
static void sb_tensor(bp__jbuf *b, int layer, const char *kind, int rank, const size_t *dims,
                      size_t begin, size_t end)
{
    char t[320];
    int n = snprintf(t, sizeof t, ",\"layers.%d.%s\":{\"dtype\":\"%s\",\"shape\":[", layer, kind,
                     strcmp(kind, "num_batches_tracked") == 0 ? "I64" : "F32");
    for (int i = 0; i < rank && n > 0 && (size_t)n < sizeof t; i++)
        n += snprintf(t + n, sizeof t - (size_t)n, "%s%zu", i ? "," : "", dims[i]);
    if (n > 0 && (size_t)n < sizeof t)
        snprintf(t + n, sizeof t - (size_t)n, "],\"data_offsets\":[%zu,%zu]}", begin, end);
    bp__jbuf_str(b, t);
}

/* A tensor's shape as text for messages: "[32, 1, 3, 3]". */
static void dims_text(int rank, const size_t *dims, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int i = 0; i < rank && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%zu", i ? ", " : "", dims[i]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

int bp_model_save(const char *path, bp_net *net, const bp_meta *meta, bp_error *err)
{
    bp__jbuf h = {0};
    bp__atomic a;
    int rc = 0;
    char spec[8192];
    if (!path || !net)
        return bp__error_set(err, BP_EINVAL, "saving a model needs a path and a network");
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec)
        return bp__error_set(err, BP_EINVAL, "the network spec is too long to save");
    {
        const float *p = bp_net_params(net);
        for (int l = 0; l < bp_net_layers(net); l++) {
            const bp__layer *L = bp__net_layer(net, l);
            size_t nw = L->n_w, nb = L->n_b;
            for (size_t k = 0; k < nw + nb; k++)
                if (!isfinite(p[L->w_off + k]))
                    return bp__error_set(err, BP_ENONFINITE,
                                         "%s: not saved: layers.%d.%s value %zu is not finite", path,
                                         l, k < nw ? "weight" : "bias", k < nw ? k : k - nw);
        }
    }

    /* The header: metadata first, then the tensors in block order. */
    bp__jbuf_str(&h, "{\"__metadata__\":{\"net\":");
    bp__jbuf_quoted(&h, spec);
    bp__jbuf_str(&h, ",\"backprop_version\":");
    bp__jbuf_quoted(&h, bp_version());
    for (int i = 0; i < bp_meta_count(meta); i++) {
        const char *k = bp_meta_key(meta, i);
        if (strcmp(k, "net") == 0 || strcmp(k, "backprop_version") == 0)
            continue;
        bp__jbuf_str(&h, ",");
        bp__jbuf_quoted(&h, k);
        bp__jbuf_str(&h, ":");
        bp__jbuf_quoted(&h, bp_meta_value(meta, i));
    }
    bp__jbuf_str(&h, "}");
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        if (L->n_w)
            sb_tensor(&h, l, "weight", L->w_rank, L->w_dims, L->w_off * 4, (L->w_off + L->n_w) * 4);
        if (L->bias)
            sb_tensor(&h, l, "bias", 1, &L->n_b, L->b_off * 4, (L->b_off + L->n_b) * 4);
    }
    /* the state after the parameters: per layer C means, C variances, the count */
    size_t at = bp_net_param_count(net) * 4;
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        if (!L->n_s)
            continue;
        sb_tensor(&h, l, "running_mean", 1, &L->n_w, at, at + 4 * L->n_w);
        sb_tensor(&h, l, "running_var", 1, &L->n_w, at + 4 * L->n_w, at + 8 * L->n_w);
        sb_tensor(&h, l, "num_batches_tracked", 0, NULL, at + 8 * L->n_w, at + 8 * L->n_w + 8);
        at += 8 * L->n_w + 8;
    }
    bp__jbuf_str(&h, "}");
    while (!h.failed && h.n % 8 != 0) /* align the data to 8 bytes */
        bp__jbuf_str(&h, " ");
    if (h.failed) {
        bp__free(h.s);
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    }

    if ((rc = bp__atomic_open(&a, path, err)) != 0) {
        bp__free(h.s);
        return rc;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    errno = 0;
    int ok = fwrite(len8, 1, 8, a.f) == 8 && fwrite(h.s, 1, h.n, a.f) == h.n;
    const float *p = bp_net_params(net);
    size_t n = bp_net_param_count(net);
    if (bp__little_endian()) {
        ok = ok && fwrite(p, sizeof *p, n, a.f) == n;
    } else {
        float chunk[1024];
        for (size_t i = 0; ok && i < n; i += 1024) {
            size_t m = n - i < 1024 ? n - i : 1024;
            memcpy(chunk, p + i, m * sizeof *p);
            swap4(chunk, m);
            ok = fwrite(chunk, sizeof *chunk, m, a.f) == m;
        }
    }
    for (int l = 0; ok && l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        const float *st = bp_net_state(net) + L->s_off;
        unsigned char b[8];
        for (size_t k = 0; ok && k < 2 * (L->n_s ? L->n_w : 0); k++) {
            uint32_t u;
            memcpy(&u, &st[k], 4);
            for (int i = 0; i < 4; i++)
                b[i] = (unsigned char)(u >> (8 * i));
            ok = fwrite(b, 1, 4, a.f) == 4;
        }
        if (ok && L->n_s) {
            const uint64_t count = (uint64_t)st[2 * L->n_w];
            for (int i = 0; i < 8; i++)
                b[i] = (unsigned char)(count >> (8 * i));
            ok = fwrite(b, 1, 8, a.f) == 8;
        }
    }
    bp__free(h.s);
    if (!ok) {
        int e = errno ? errno : EIO;  /* before abort's close and remove touch it */
        bp__atomic_abort(&a);
        return bp__error_set(err, BP_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return bp__atomic_commit(&a, err);
}

/* The tensor kind (T_*) a name ends with after its module, or -1. */
static int tensor_kind(const char *suffix)
{
    for (int k = 0; k < N_TENSOR_KINDS; k++)
        if (suffix[0] == '.' && strcmp(suffix + 1, TENSOR_NAMES[k]) == 0)
            return k;
    return -1;
}

/* Parse "layers.N.weight", "layers.N.bias", "layers.N.running_mean", ...:
 * layer index and kind (T_*), or -1. */
static int tensor_name(const char *name, int *layer)
{
    const char *p = name;
    long v = 0;
    if (strncmp(p, "layers.", 7) != 0)
        return -1;
    p += 7;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > 1000000)
            return -1;
    }
    *layer = (int)v;
    return tensor_kind(p);
}

/* Parse a state-dict name PREFIX N.weight, PREFIX N.bias (or a batch
 * norm's PREFIX N.running_mean, ...), the prefix empty or ending in '.'
 * ("0.weight", "net.2.bias", "layers.3.weight"): the prefix length, the
 * module index N and the kind (T_*), or -1. */
static int module_name(const char *name, size_t *plen, long *index)
{
    size_t n = strlen(name), d;
    int kind = -1;
    for (int k = 0; k < N_TENSOR_KINDS && kind < 0; k++) {
        const size_t m = strlen(TENSOR_NAMES[k]) + 1;
        if (n > m && tensor_kind(name + n - m) == k) {
            kind = k;
            n -= m;
        }
    }
    if (kind < 0)
        return -1;
    for (d = n; d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9';)
        d--;
    if (d == n || n - d > 7 || (d > 0 && name[d - 1] != '.'))
        return -1;
    long v = 0;
    for (size_t i = d; i < n; i++)
        v = v * 10 + (name[i] - '0');
    *plen = d;
    *index = v;
    return kind;
}

/* Read a non-negative integer JSON number that fits in size_t. */
static int json_size(const bp__json *j, size_t *out)
{
    if (!j || j->type != BP__JSON_NUMBER || !(j->number >= 0.0) || j->number > 9.0e15 ||
        j->number != floor(j->number))
        return -1;
    *out = (size_t)j->number;
    return 0;
}

/* A tensor's shape as the file gives it, for messages: "[4, 1, 5, 5]", an
 * entry that is no size as "?", or what it is when not an array. */
static void json_dims_text(const bp__json *shape, char *buf, size_t size)
{
    if (!shape || shape->type != BP__JSON_ARRAY) {
        snprintf(buf, size, "%s", shape ? bp__json_type_name(shape->type) : "nothing");
        return;
    }
    int n = snprintf(buf, size, "[");
    for (size_t i = 0; i < shape->n && n > 0 && (size_t)n < size; i++) {
        size_t v;
        if (json_size(&shape->items[i], &v) == 0)
            n += snprintf(buf + n, size - (size_t)n, "%s%zu", i ? ", " : "", v);
        else
            n += snprintf(buf + n, size - (size_t)n, "%s?", i ? ", " : "");
    }
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

/* Bytes per element of a dtype read (and converted to float32), 0 for any
 * other. */
static size_t dtype_size(const char *dtype)
{
    if (strcmp(dtype, "F32") == 0)
        return 4;
    if (strcmp(dtype, "F64") == 0)
        return 8;
    if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0)
        return 2;
    if (strcmp(dtype, "I64") == 0) /* num_batches_tracked only */
        return 8;
    return 0;
}

/* IEEE half precision to float (exact: every half is a float). */
static float half_to_float(unsigned h)
{
    unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0x1f)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexpf((float)m, -24);
    else
        v = ldexpf((float)(m | 0x400), (int)e - 25);
    return (h & 0x8000) ? -v : v;
}

/* count little-endian values of `size` bytes each from src into dst as
 * float32; a value that is not finite, or (F64) outside float range,
 * stops it: *bad gets its index and the return is 1 (2: out of range). */
static int convert(const char *dtype, size_t size, const unsigned char *src, size_t count,
                   float *dst, size_t *bad)
{
    for (size_t k = 0; k < count; k++, src += size) {
        uint64_t u = 0;
        for (size_t i = 0; i < size; i++)
            u |= (uint64_t)src[i] << (8 * i);
        float v;
        if (size == 4) {
            uint32_t w = (uint32_t)u;
            memcpy(&v, &w, 4);
        } else if (size == 8) {
            double d;
            memcpy(&d, &u, 8);
            if (!isfinite(d)) {
                *bad = k;
                return 1;
            }
            v = (float)d;
            if (isinf(v)) {
                *bad = k;
                return 2;
            }
        } else if (dtype[0] == 'B') {
            uint32_t w = (uint32_t)u << 16;
            memcpy(&v, &w, 4);
        } else {
            v = half_to_float((unsigned)u);
        }
        if (!isfinite(v)) {
            *bad = k;
            return 1;
        }
        dst[k] = v;
    }
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The module indices of a state dict's tensors, sorted and distinct, into
 * mods (room for root->n); their count, or -1 when a tensor's name is not
 * PREFIX N.weight / .bias with one prefix for all (*odd gets that name). */
static int state_dict_modules(const bp__json *root, long *mods, size_t *plen,
                              const char **prefix, const char **odd)
{
    int n = 0;
    *prefix = NULL;
    for (size_t i = 0; i < root->n; i++) {
        const char *name = root->keys[i];
        size_t pl;
        long idx;
        if (strcmp(name, "__metadata__") == 0)
            continue;
        if (module_name(name, &pl, &idx) < 0 ||
            (*prefix && (pl != *plen || strncmp(name, *prefix, pl) != 0))) {
            *odd = name;
            return -1;
        }
        *prefix = name;
        *plen = pl;
        mods[n++] = idx;
    }
    qsort(mods, (size_t)n, sizeof *mods, cmp_long);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || mods[u - 1] != mods[i])
            mods[u++] = mods[i];
    return u;
}

/* The error for a file with no spec: name the missing option, with an
 * example spec from the weights' shapes when they form a chain. */
static void no_spec_error(const char *path, const bp__json *root, bp_error *err)
{
    long *mods = bp__calloc(root->n + 1, sizeof *mods);
    char ex[512] = "";
    size_t plen = 0, len = 0;
    const char *prefix, *odd;
    int n = mods ? state_dict_modules(root, mods, &plen, &prefix, &odd) : -1;
    for (int l = 0; l < n && len < sizeof ex - 64; l++) {
        char name[96];
        size_t d0, d1;
        snprintf(name, sizeof name, "%.*s%ld.weight", (int)plen, prefix, mods[l]);
        const bp__json *t = bp__json_get(root, name), *sh = t ? bp__json_get(t, "shape") : NULL;
        if (!sh || sh->type != BP__JSON_ARRAY || sh->n != 2 || json_size(&sh->items[0], &d0) != 0 ||
            json_size(&sh->items[1], &d1) != 0 || d0 > 1000000 || d1 > 1000000) {
            len = 0;
            break;
        }
        snprintf(name, sizeof name, "%.*s%ld.bias", (int)plen, prefix, mods[l]);
        if (l == 0)
            len += (size_t)snprintf(ex + len, sizeof ex - len, "%zu", d1);
        len += (size_t)snprintf(ex + len, sizeof ex - len, ",%zu:%s%s", d0,
                                l == n - 1 ? "identity" : "relu",
                                bp__json_get(root, name) ? "" : ":nobias");
    }
    bp__free(mods);
    if (len > 0 && len < sizeof ex - 64)
        bp__error_set(err, BP_EFORMAT,
                      "%s has no network spec (a plain PyTorch state dict?); give it with --net "
                      "SPEC, e.g. --net %s",
                      path, ex);
    else
        bp__error_set(err, BP_EFORMAT,
                      "%s has no network spec (a plain PyTorch state dict?); give it with --net "
                      "SPEC",
                      path);
}

/* The canonical forms of a given spec and a file's own spec must agree. */
int bp__spec_agree(const char *path, const char *given, const char *own, bp_error *err)
{
    bp_error e1, e2;
    bp_net *a = bp_net_parse(given, &e1), *b = bp_net_parse(own, &e2);
    char sa[4096], sb[4096];
    int rc = 0;
    if (!a)
        rc = bp__error_set(err, e1.code == BP_ENOMEM ? BP_ENOMEM : BP_EINVAL,
                           "the spec given for %s: %s", path, e1.message);
    else if (!b)
        rc = bp__error_set(err, e2.code == BP_ENOMEM ? BP_ENOMEM : BP_EFORMAT,
                           "%s: its spec \"%s\": %s", path, own, e2.message);
    else if (bp_net_spec(a, sa, sizeof sa) >= (int)sizeof sa ||
             bp_net_spec(b, sb, sizeof sb) >= (int)sizeof sb || strcmp(sa, sb) != 0)
        rc = bp__error_set(err, BP_EINVAL,
                           "the spec given, %s, disagrees with the spec %s holds, %s", given, path,
                           own);
    bp_net_free(a);
    bp_net_free(b);
    return rc;
}

bp_net *bp__safetensors_load(const char *path, const char *data, size_t len,
                             bp_meta **meta_out, bp_error *err)
{
    return bp__safetensors_load_spec(path, data, len, NULL, meta_out, err);
}

bp_net *bp__safetensors_load_spec(const char *path, const char *data, size_t len,
                                  const char *given, bp_meta **meta_out, bp_error *err)
{
    bp__json *root = NULL;
    bp_net *net = NULL;
    bp_meta *meta = NULL;
    unsigned char *seen = NULL;
    int *weighted = NULL; /* the layers with weights, in order */
    long *mods = NULL;
    const char *prefix = NULL;
    size_t plen = 0;
    int state_dict = 0;
    char msg[200];
    uint64_t hlen = 0;

    if (len < 8) {
        bp__error_set(err, BP_EFORMAT, "%s: not a safetensors file: %zu bytes, shorter than the 8-byte header length",
                      path, len);
        return NULL;
    }
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)(unsigned char)data[i] << (8 * i);
    if (hlen < 2 || hlen > BP__ST_MAX_HEADER || hlen > len - 8) {
        bp__error_set(err, BP_EFORMAT,
                      "%s: header length %llu is impossible for a file of %zu bytes (expected 2 to %zu)",
                      path, (unsigned long long)hlen, len, len - 8 < BP__ST_MAX_HEADER ? len - 8 : BP__ST_MAX_HEADER);
        return NULL;
    }
    const char *hdr = data + 8, *body = data + 8 + hlen;
    size_t body_len = len - 8 - (size_t)hlen;
    int code;
    if (!(root = bp__json_parse(hdr, (size_t)hlen, msg, sizeof msg, &code))) {
        bp__error_set(err, code, "%s: header JSON %s", path, msg);
        return NULL;
    }
    if (root->type != BP__JSON_OBJECT) {
        bp__error_set(err, BP_EFORMAT, "%s: header is %s, expected an object", path,
                      bp__json_type_name(root->type));
        goto fail;
    }
    if (bp__meta_from_json(path, "__metadata__", bp__json_get(root, "__metadata__"), &meta, err) != 0)
        goto fail;
    const char *spec = bp_meta_get(meta, "net");
    if (!spec && !given) {
        no_spec_error(path, root, err);
        goto fail;
    }
    if (spec && given && bp__spec_agree(path, given, spec, err) != 0)
        goto fail;
    bp_error serr;
    if (!spec) { /* a state dict: the given spec, its tensors matched by module order */
        state_dict = 1;
        if (!(net = bp_net_parse(given, &serr))) {
            bp__error_set(err, serr.code == BP_ENOMEM ? BP_ENOMEM : BP_EINVAL,
                          "the spec given for %s: %s", path, serr.message);
            goto fail;
        }
        char canon[8192];
        if (bp_net_spec(net, canon, sizeof canon) >= (int)sizeof canon ||
            bp_meta_set(meta, "net", canon) != 0 || !(spec = bp_meta_get(meta, "net"))) {
            bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
            goto fail;
        }
    } else if (!(net = bp_net_parse(spec, &serr))) {
        bp__error_set(err, serr.code == BP_ENOMEM ? BP_ENOMEM : BP_EFORMAT,
                      "%s: __metadata__.net: %s", path, serr.message);
        goto fail;
    }

    int n_layers = bp_net_layers(net), n_weighted = 0;
    if (!(seen = bp__calloc((size_t)n_layers * N_TENSOR_KINDS, 1)) ||
        !(weighted = bp__calloc((size_t)n_layers, sizeof *weighted)) ||
        (state_dict && !(mods = bp__calloc(root->n + 1, sizeof *mods)))) {
        bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    /* A state dict's modules with tensors are, in order, the layers with
     * weights (pools and activations are modules without tensors). */
    for (int l = 0; l < n_layers; l++)
        if (bp__net_layer(net, l)->n_w)
            weighted[n_weighted++] = l;
    int n_mods = 0;
    if (state_dict) {
        const char *odd = NULL;
        if ((n_mods = state_dict_modules(root, mods, &plen, &prefix, &odd)) < 0) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: unexpected tensor '%s' (expected PREFIX N.weight and PREFIX N.bias, "
                          "N the module index, one PREFIX for all, as %s)",
                          path, odd, prefix ? prefix : "0.weight");
            goto fail;
        }
        if (n_mods < n_weighted) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: the spec %s has %d layers with weights, the file has tensors for %d modules",
                          path, spec, n_weighted, n_mods);
            goto fail;
        }
    }
    size_t covered = 0;
    float *params = bp_net_params(net);
    for (size_t i = 0; i < root->n; i++) {
        const char *name = root->keys[i];
        const bp__json *t = &root->items[i];
        int layer = -1, kind;
        if (strcmp(name, "__metadata__") == 0)
            continue;
        if (state_dict) {
            long idx;
            kind = module_name(name, &plen, &idx);
            int j = 0;
            while (mods[j] != idx)
                j++;
            if (j >= n_weighted) {
                bp__error_set(err, BP_EFORMAT,
                              "%s: extra tensor '%s': the spec %s has %d layers with weights, "
                              "matched to the first %d modules by index",
                              path, name, spec, n_weighted, n_weighted);
                goto fail;
            }
            layer = weighted[j];
        } else {
            kind = tensor_name(name, &layer);
            if (kind < 0 || layer >= n_layers) {
                bp__error_set(err, BP_EFORMAT,
                              "%s: unexpected tensor '%s' (the spec %s has layers.0 to layers.%d, "
                              "each with .weight and, when it has a bias, .bias)",
                              path, name, spec, n_layers - 1);
                goto fail;
            }
        }
        const bp__layer *L = bp__net_layer(net, layer);
        if (kind >= T_MEAN && !L->n_s) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' present, but layer %d of %s has no "
                          "running statistics", path, name, layer, spec);
            goto fail;
        }
        if (kind == 0 && !L->n_w) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' present, but layer %d of %s has no weights",
                          path, name, layer, spec);
            goto fail;
        }
        if (kind == 1 && !L->bias) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' present, but layer %d of %s has no bias",
                          path, name, layer, spec);
            goto fail;
        }
        if (t->type != BP__JSON_OBJECT) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' is %s, expected an object", path, name,
                          bp__json_type_name(t->type));
            goto fail;
        }
        const bp__json *dtype = bp__json_get(t, "dtype"), *shape = bp__json_get(t, "shape");
        const bp__json *offs = bp__json_get(t, "data_offsets");
        size_t esize = dtype && dtype->type == BP__JSON_STRING ? dtype_size(dtype->string) : 0;
        if ((kind == T_COUNT) != (esize == 8 && strcmp(dtype->string, "I64") == 0)) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': dtype is \"%s\", expected %s", path, name,
                          dtype && dtype->type == BP__JSON_STRING ? dtype->string : "not a string",
                          kind == T_COUNT ? "\"I64\"" : "\"F32\", \"F64\", \"F16\" or \"BF16\"");
            goto fail;
        }
        if (esize == 0) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: tensor '%s': dtype is %s%s%s, expected \"F32\", \"F64\", \"F16\" or \"BF16\"",
                          path, name, dtype && dtype->type == BP__JSON_STRING ? "\"" : "",
                          dtype ? (dtype->type == BP__JSON_STRING ? dtype->string
                                                                  : bp__json_type_name(dtype->type))
                                : "missing",
                          dtype && dtype->type == BP__JSON_STRING ? "\"" : "");
            goto fail;
        }
        const int want_dims = kind == T_WEIGHT ? L->w_rank : kind == T_COUNT ? 0 : 1;
        const size_t *want = kind == T_WEIGHT ? L->w_dims : kind == T_BIAS ? &L->n_b : &L->n_w;
        int shape_ok = shape && shape->type == BP__JSON_ARRAY && shape->n == (size_t)want_dims;
        for (int d = 0; shape_ok && d < want_dims; d++) {
            size_t v;
            shape_ok = json_size(&shape->items[d], &v) == 0 && v == want[d];
        }
        if (!shape_ok) {
            char wt[96], ft[96];
            dims_text(want_dims, want, wt, sizeof wt);
            json_dims_text(shape, ft, sizeof ft);
            bp__error_set(err, BP_EFORMAT,
                          "%s: tensor '%s': shape is %s, not %s as the spec %s requires", path,
                          name, ft, wt, spec);
            goto fail;
        }
        size_t count = kind == T_WEIGHT ? L->n_w : kind == T_BIAS ? L->n_b : kind == T_COUNT ? 1 : L->n_w;
        size_t begin, end;
        if (!offs || offs->type != BP__JSON_ARRAY || offs->n != 2 ||
            json_size(&offs->items[0], &begin) != 0 || json_size(&offs->items[1], &end) != 0 ||
            end < begin || end > body_len || end - begin != count * esize) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: tensor '%s': data_offsets must be [begin, end] with end - begin = %zu "
                          "bytes inside the %zu bytes of data",
                          path, name, count * esize, body_len);
            goto fail;
        }
        if (seen[N_TENSOR_KINDS * layer + kind]) { /* only a state dict's names can repeat a layer */
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' repeats layer %d's %s", path, name, layer,
                          TENSOR_NAMES[kind]);
            goto fail;
        }
        seen[N_TENSOR_KINDS * layer + kind] = 1;
        covered += count * esize;
        float *dst = kind == T_WEIGHT ? params + L->w_off
                     : kind == T_BIAS ? params + L->b_off
                                      : bp_net_state(net) + L->s_off + (kind - T_MEAN) * L->n_w;
        size_t bad = 0;
        int why = 0;
        if (kind == T_COUNT) { /* a little-endian int64, kept as a float */
            const unsigned char *b = (const unsigned char *)body + begin;
            uint64_t v = 0;
            for (int k = 0; k < 8; k++)
                v |= (uint64_t)b[k] << (8 * k);
            if (v > (1u << 24)) {
                bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': %llu batches, more than the "
                              "2^24 this reader keeps exactly", path, name, (unsigned long long)v);
                goto fail;
            }
            *dst = (float)v;
        } else if (esize == 4 && bp__little_endian()) {
            memcpy(dst, body + begin, count * 4);
            for (size_t k = 0; k < count && !why; k++)
                if (!isfinite(dst[k])) {
                    bad = k;
                    why = 1;
                }
        } else {
            why = convert(dtype->string, esize, (const unsigned char *)body + begin, count, dst, &bad);
        }
        if (why) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': value %zu is %s", path, name, bad,
                          why == 1 ? "not finite" : "outside float range");
            goto fail;
        }
    }
    for (int l = 0, j = 0; l < n_layers; j += bp__net_layer(net, l)->n_w != 0, l++)
        for (int kind = 0; kind < N_TENSOR_KINDS; kind++)
            if (!seen[N_TENSOR_KINDS * l + kind] &&
                (kind == T_WEIGHT ? bp__net_layer(net, l)->n_w != 0
                 : kind == T_BIAS ? bp__net_layer(net, l)->bias
                                  : bp__net_layer(net, l)->n_s != 0)) {
                if (state_dict)
                    bp__error_set(err, BP_EFORMAT,
                                  "%s: tensor '%.*s%ld.%s' is missing: layer %d of the spec %s has %s",
                                  path, (int)plen, prefix, mods[j], TENSOR_NAMES[kind], l,
                                  spec, kind == 0 ? "weights" : kind == 1 ? "a bias (a Linear with bias=False is "
                                                                "N:ACT:nobias in the spec)"
                                                          : "running statistics (a batch norm)");
                else
                    bp__error_set(err, BP_EFORMAT, "%s: tensor 'layers.%d.%s' is missing (the spec is %s)",
                                  path, l, TENSOR_NAMES[kind], spec);
                goto fail;
            }
    /* With every tensor the right size and no tensor twice, full coverage
     * of the data means no two overlap and no byte is unaccounted for. */
    if (covered != body_len) {
        bp__error_set(err, BP_EFORMAT, "%s: the tensors account for %zu bytes of data, the file holds %zu",
                      path, covered, body_len);
        goto fail;
    }
    /* Equal total and in-bounds sizes still allow overlap plus a gap; rule
     * it out by checking that the ranges, sorted, do not overlap. */
    {
        size_t prev_end = 0;
        int ok = 1;
        for (size_t pos = 0; pos < body_len && ok;) {
            int found = 0;
            for (size_t i = 0; i < root->n; i++) {
                const bp__json *o = bp__json_get(&root->items[i], "data_offsets");
                size_t b, e;
                if (strcmp(root->keys[i], "__metadata__") == 0 || !o)
                    continue;
                if (json_size(&o->items[0], &b) == 0 && json_size(&o->items[1], &e) == 0 && b == pos &&
                    e > b) {
                    prev_end = e;
                    found = 1;
                    break;
                }
            }
            ok = found;
            pos = prev_end;
        }
        if (!ok) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor data ranges overlap or leave gaps", path);
            goto fail;
        }
    }
    bp__free(mods);
    bp__free(seen);
    bp__free(weighted);
    bp__json_free(root);
    if (meta_out)
        *meta_out = meta;
    else
        bp_meta_free(meta);
    return net;
fail:
    bp__free(mods);
    bp__free(seen);
    bp__free(weighted);
    bp__json_free(root);
    bp_meta_free(meta);
    bp_net_free(net);
    return NULL;
}
