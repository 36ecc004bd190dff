/*
 * meta.c - model metadata: an ordered string-to-string map, small enough
 * that a linear search is the right structure; and the input scaling kept
 * in it as a JSON text.
 */
#include "internal.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct bp_meta {
    int n, cap;
    char **keys;   /* (cap) */
    char **values; /* (cap) */
};

bp_meta *bp_meta_create(void)
{
    return bp__calloc(1, sizeof(bp_meta));
}

void bp_meta_free(bp_meta *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        bp__free(m->keys[i]);
        bp__free(m->values[i]);
    }
    bp__free(m->keys);
    bp__free(m->values);
    bp__free(m);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = bp__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int bp_meta_set(bp_meta *m, const char *key, const char *value)
{
    if (!m || !key || !value)
        return BP_EINVAL;
    char *v = dup_str(value);
    if (!v)
        return BP_ENOMEM;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) {
            bp__free(m->values[i]);
            m->values[i] = v;
            return 0;
        }
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        char **k = bp__calloc((size_t)cap, sizeof *k);
        char **vs = bp__calloc((size_t)cap, sizeof *vs);
        if (!k || !vs) {
            bp__free(k);
            bp__free(vs);
            bp__free(v);
            return BP_ENOMEM;
        }
        if (m->n) {
            memcpy(k, m->keys, (size_t)m->n * sizeof *k);
            memcpy(vs, m->values, (size_t)m->n * sizeof *vs);
        }
        bp__free(m->keys);
        bp__free(m->values);
        m->keys = k;
        m->values = vs;
        m->cap = cap;
    }
    char *k = dup_str(key);
    if (!k) {
        bp__free(v);
        return BP_ENOMEM;
    }
    m->keys[m->n] = k;
    m->values[m->n] = v;
    m->n++;
    return 0;
}

const char *bp_meta_get(const bp_meta *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->values[i];
    return NULL;
}

int bp_meta_count(const bp_meta *m)
{
    return m ? m->n : 0;
}

const char *bp_meta_key(const bp_meta *m, int i)
{
    return m && i >= 0 && i < m->n ? m->keys[i] : NULL;
}

const char *bp_meta_value(const bp_meta *m, int i)
{
    return m && i >= 0 && i < m->n ? m->values[i] : NULL;
}

int bp_meta_set_scaling(bp_meta *meta, int n, const float *shift, const float *mul)
{
    size_t cap, len = 0;
    char *text;
    int rc;
    if (!meta || n <= 0 || !shift || !mul)
        return BP_EINVAL;
    /* Each value: at most 16 characters ("-1.23456789e-38") and a comma. */
    if (bp__mul_size((size_t)n, 2 * 18, &cap) || cap > SIZE_MAX - 64)
        return BP_EOVERFLOW;
    cap += 64;
    if (!(text = bp__malloc(cap)))
        return BP_ENOMEM;
    for (int part = 0; part < 2; part++) {
        const float *v = part == 0 ? shift : mul;
        len += (size_t)snprintf(text + len, cap - len, part == 0 ? "{\"shift\": [" : "], \"mul\": [");
        for (int i = 0; i < n; i++) {
            if (!isfinite(v[i])) {
                bp__free(text);
                return BP_ENONFINITE;
            }
            len += (size_t)snprintf(text + len, cap - len, "%s%.9g", i ? "," : "", (double)v[i]);
        }
    }
    snprintf(text + len, cap - len, "]}");
    rc = bp_meta_set(meta, "scaling", text);
    bp__free(text);
    return rc;
}

static int scaling_list(const bp__json *root, const char *key, int n, float *out, bp_error *err)
{
    const bp__json *a = bp__json_get(root, key);
    if (!a || a->type != BP__JSON_ARRAY)
        return bp__error_set(err, BP_EFORMAT, "metadata scaling: \"%s\" is %s, expected a list of %d numbers",
                             key, a ? bp__json_type_name(a->type) : "missing", n);
    if (a->n != (size_t)n)
        return bp__error_set(err, BP_EFORMAT,
                             "metadata scaling: \"%s\" has %zu values, the network has %d inputs", key,
                             a->n, n);
    for (int i = 0; i < n; i++) {
        const bp__json *v = &a->items[i];
        if (v->type != BP__JSON_NUMBER || !isfinite((float)v->number))
            return bp__error_set(err, BP_EFORMAT, "metadata scaling: %s[%d] is not a finite number", key, i);
    }
    for (int i = 0; i < n; i++)
        out[i] = (float)a->items[i].number;
    return 0;
}

int bp_meta_get_scaling(const bp_meta *meta, int n, float *shift, float *mul, bp_error *err)
{
    const char *text = bp_meta_get(meta, "scaling");
    char msg[160];
    int code, rc;
    if (!text)
        return 1;
    if (n <= 0 || !shift || !mul)
        return bp__error_set(err, BP_EINVAL, "metadata scaling: no room for the values");
    bp__json *root = bp__json_parse(text, strlen(text), msg, sizeof msg, &code);
    if (!root)
        return bp__error_set(err, code, "metadata scaling: %s", msg);
    float *tmp = bp__calloc(2 * (size_t)n, sizeof *tmp);
    if (!tmp) {
        rc = bp__error_set(err, BP_ENOMEM, "metadata scaling: out of memory");
    } else if (root->type != BP__JSON_OBJECT) {
        rc = bp__error_set(err, BP_EFORMAT, "metadata scaling: expected an object with shift and mul");
    } else if ((rc = scaling_list(root, "shift", n, tmp, err)) == 0 &&
               (rc = scaling_list(root, "mul", n, tmp + n, err)) == 0) {
        memcpy(shift, tmp, (size_t)n * sizeof *tmp);
        memcpy(mul, tmp + n, (size_t)n * sizeof *tmp);
    }
    bp__free(tmp);
    bp__json_free(root);
    return rc;
}

int bp__meta_from_json(const char *path, const char *field, const bp__json *md, bp_meta **out,
                       bp_error *err)
{
    bp_meta *meta;
    *out = NULL;
    if (md && md->type != BP__JSON_OBJECT)
        return bp__error_set(err, BP_EFORMAT, "%s: %s is %s, expected an object of strings", path,
                             field, bp__json_type_name(md->type));
    if (!(meta = bp_meta_create()))
        return bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
    for (size_t i = 0; md && i < md->n; i++) {
        int rc;
        if (md->items[i].type != BP__JSON_STRING)
            rc = bp__error_set(err, BP_EFORMAT, "%s: %s.%s is %s, expected a string", path, field,
                               md->keys[i], bp__json_type_name(md->items[i].type));
        else if (bp_meta_set(meta, md->keys[i], md->items[i].string) != 0)
            rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        else
            continue;
        bp_meta_free(meta);
        return rc;
    }
    *out = meta;
    return 0;
}
