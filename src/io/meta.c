/*
 * meta.c - model metadata: an ordered string-to-string map, small enough
 * that a linear search is the right structure.
 */
#include "internal.h"

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
