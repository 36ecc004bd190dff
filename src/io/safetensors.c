/*
 * safetensors.c - models as safetensors files: an 8-byte little-endian
 * header length N, N bytes of JSON naming each tensor's dtype, shape and
 * data offsets (plus __metadata__, a string map), then the data. Tensors are
 * layers.N.weight [O, I] and layers.N.bias [O], written in the order of the
 * parameter block, so the data section is that block byte for byte.
 *
 * The reader trusts nothing: header size, JSON, every tensor's name, dtype,
 * shape (against the spec in the metadata) and offsets (inside the data,
 * not overlapping, covering it all), and finite values.
 */
#include "io/file.h"
#include "io/io.h"
#include "internal.h"

#include <errno.h>
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

/* A growable text buffer for the header. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *t = bp__malloc(cap);
        if (!t) {
            b->failed = 1;
            return;
        }
        if (b->n)
            memcpy(t, b->s, b->n);
        bp__free(b->s);
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_quoted(sbuf *b, const char *s)
{
    size_t need = bp__json_quote(s, NULL, 0);
    char *q = bp__malloc(need + 1);
    if (!q) {
        b->failed = 1;
        return;
    }
    bp__json_quote(s, q, need + 1);
    sb_put(b, q, need);
    bp__free(q);
}

static void sb_tensor(sbuf *b, int layer, const char *kind, int O, int I, size_t begin,
                      size_t end)
{
    char t[256];
    if (I > 0)
        snprintf(t, sizeof t,
                 ",\"layers.%d.%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                 layer, kind, O, I, begin, end);
    else
        snprintf(t, sizeof t,
                 ",\"layers.%d.%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                 layer, kind, O, begin, end);
    sb_str(b, t);
}

int bp_model_save(const char *path, bp_net *net, const bp_meta *meta, bp_error *err)
{
    sbuf h = {0};
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
            size_t nw = (size_t)L->O * (size_t)L->I, nb = L->bias ? (size_t)L->O : 0;
            for (size_t k = 0; k < nw + nb; k++)
                if (!isfinite(p[L->w_off + k]))
                    return bp__error_set(err, BP_ENONFINITE,
                                         "%s: not saved: layers.%d.%s value %zu is not finite", path,
                                         l, k < nw ? "weight" : "bias", k < nw ? k : k - nw);
        }
    }

    /* The header: metadata first, then the tensors in block order. */
    sb_str(&h, "{\"__metadata__\":{\"net\":");
    sb_quoted(&h, spec);
    sb_str(&h, ",\"backprop_version\":");
    sb_quoted(&h, bp_version());
    for (int i = 0; i < bp_meta_count(meta); i++) {
        const char *k = bp_meta_key(meta, i);
        if (strcmp(k, "net") == 0 || strcmp(k, "backprop_version") == 0)
            continue;
        sb_str(&h, ",");
        sb_quoted(&h, k);
        sb_str(&h, ":");
        sb_quoted(&h, bp_meta_value(meta, i));
    }
    sb_str(&h, "}");
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        size_t w = L->w_off * 4, we = w + (size_t)L->O * (size_t)L->I * 4;
        sb_tensor(&h, l, "weight", L->O, L->I, w, we);
        if (L->bias)
            sb_tensor(&h, l, "bias", L->O, 0, L->b_off * 4, L->b_off * 4 + (size_t)L->O * 4);
    }
    sb_str(&h, "}");
    while (!h.failed && h.n % 8 != 0) /* align the data to 8 bytes */
        sb_str(&h, " ");
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
    bp__free(h.s);
    if (!ok) {
        int e = errno ? errno : EIO;  /* before abort's close and remove touch it */
        bp__atomic_abort(&a);
        return bp__error_set(err, BP_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return bp__atomic_commit(&a, err);
}

/* Parse "layers.N.weight" / "layers.N.bias": layer index and kind (0
 * weight, 1 bias), or -1. */
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
    if (strcmp(p, ".weight") == 0)
        return 0;
    if (strcmp(p, ".bias") == 0)
        return 1;
    return -1;
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

bp_net *bp__safetensors_load(const char *path, const char *data, size_t len,
                             bp_meta **meta_out, bp_error *err)
{
    bp__json *root = NULL;
    bp_net *net = NULL;
    bp_meta *meta = NULL;
    unsigned char *seen = NULL;
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
    if (!spec) {
        bp__error_set(err, BP_EFORMAT, "%s: __metadata__ has no \"net\" (the network spec); "
                      "backprop cannot tell the activations", path);
        goto fail;
    }
    bp_error serr;
    if (!(net = bp_net_parse(spec, &serr))) {
        bp__error_set(err, serr.code == BP_ENOMEM ? BP_ENOMEM : BP_EFORMAT,
                      "%s: __metadata__.net: %s", path, serr.message);
        goto fail;
    }

    int n_layers = bp_net_layers(net);
    if (!(seen = bp__calloc((size_t)n_layers * 2, 1))) {
        bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    size_t covered = 0;
    float *params = bp_net_params(net);
    for (size_t i = 0; i < root->n; i++) {
        const char *name = root->keys[i];
        const bp__json *t = &root->items[i];
        int layer = -1, kind;
        if (strcmp(name, "__metadata__") == 0)
            continue;
        kind = tensor_name(name, &layer);
        if (kind < 0 || layer >= n_layers) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: unexpected tensor '%s' (the spec %s has layers.0 to layers.%d, "
                          "each with .weight and, when it has a bias, .bias)",
                          path, name, spec, n_layers - 1);
            goto fail;
        }
        const bp__layer *L = bp__net_layer(net, layer);
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
        if (!dtype || dtype->type != BP__JSON_STRING || strcmp(dtype->string, "F32") != 0) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': dtype is %s%s%s, expected \"F32\"", path,
                          name, dtype && dtype->type == BP__JSON_STRING ? "\"" : "",
                          dtype ? (dtype->type == BP__JSON_STRING ? dtype->string
                                                                  : bp__json_type_name(dtype->type))
                                : "missing",
                          dtype && dtype->type == BP__JSON_STRING ? "\"" : "");
            goto fail;
        }
        size_t want_dims = kind == 0 ? 2 : 1, d0 = 0, d1 = 0;
        if (!shape || shape->type != BP__JSON_ARRAY || shape->n != want_dims ||
            json_size(&shape->items[0], &d0) != 0 ||
            (want_dims == 2 && json_size(&shape->items[1], &d1) != 0) ||
            d0 != (size_t)L->O || (want_dims == 2 && d1 != (size_t)L->I)) {
            if (kind == 0)
                bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': shape is not [%d, %d] as the spec %s requires",
                              path, name, L->O, L->I, spec);
            else
                bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': shape is not [%d] as the spec %s requires",
                              path, name, L->O, spec);
            goto fail;
        }
        size_t count = kind == 0 ? (size_t)L->O * (size_t)L->I : (size_t)L->O;
        size_t begin, end;
        if (!offs || offs->type != BP__JSON_ARRAY || offs->n != 2 ||
            json_size(&offs->items[0], &begin) != 0 || json_size(&offs->items[1], &end) != 0 ||
            end < begin || end > body_len || end - begin != count * 4) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: tensor '%s': data_offsets must be [begin, end] with end - begin = %zu "
                          "bytes inside the %zu bytes of data",
                          path, name, count * 4, body_len);
            goto fail;
        }
        seen[2 * layer + kind] = 1;
        covered += count * 4;
        float *dst = params + (kind == 0 ? L->w_off : L->b_off);
        memcpy(dst, body + begin, count * 4);
        if (!bp__little_endian())
            swap4(dst, count);
        for (size_t k = 0; k < count; k++)
            if (!isfinite(dst[k])) {
                bp__error_set(err, BP_EFORMAT, "%s: tensor '%s': value %zu is not finite", path, name, k);
                goto fail;
            }
    }
    for (int l = 0; l < n_layers; l++)
        for (int kind = 0; kind < 2; kind++)
            if (!seen[2 * l + kind] && (kind == 0 || bp__net_layer(net, l)->bias)) {
                bp__error_set(err, BP_EFORMAT, "%s: tensor 'layers.%d.%s' is missing (the spec is %s)",
                              path, l, kind == 0 ? "weight" : "bias", spec);
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
    bp__free(seen);
    bp__json_free(root);
    if (meta_out)
        *meta_out = meta;
    else
        bp_meta_free(meta);
    return net;
fail:
    bp__free(seen);
    bp__json_free(root);
    bp_meta_free(meta);
    bp_net_free(net);
    return NULL;
}
