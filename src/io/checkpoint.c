/*
 * checkpoint.c - training state to and from a file: safetensors (an 8-byte
 * little-endian header length, a JSON header, little-endian data) holding
 * the tensors "params", "optim.0", "optim.1" (F32, [P] each), "best" (F32,
 * [P + S], the best weights then their running statistics), "state" (F32,
 * [S], the network's running statistics, when it has any) and
 * "order" (U64, [n]), and in __metadata__ the spec, the position and the
 * generator. Integers are written in decimal, doubles in C99 hex notation
 * (%a), so every bit reads back. Writing is atomic (file.c); reading
 * checks every field before it trusts it: a loaded state has finite
 * parameters and an order that is a permutation of its rows.
 */
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/io.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "backprop-checkpoint"
#define VERSION "1"
#define MAX_BYTES ((size_t)1 << 36)
#define HEADER_CAP 4096             /* header bytes besides the spec */

/* ---- writing */

static int put_bytes(FILE *f, const unsigned char *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

/* n floats, little-endian, through a small buffer. */
static int put_floats(FILE *f, const float *v, size_t n)
{
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; b++)
            buf[k++] = (unsigned char)(u >> (8 * b));
        if (k == sizeof buf) {
            if (put_bytes(f, buf, k) != 0)
                return -1;
            k = 0;
        }
    }
    return put_bytes(f, buf, k);
}

static int put_u64s(FILE *f, const size_t *v, size_t n)
{
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = v[i];
        for (int b = 0; b < 8; b++)
            buf[k++] = (unsigned char)(u >> (8 * b));
        if (k == sizeof buf) {
            if (put_bytes(f, buf, k) != 0)
                return -1;
            k = 0;
        }
    }
    return put_bytes(f, buf, k);
}

/* Append a tensor entry to the header at *pos; returns the new offset. */
static size_t tensor_entry(char *h, size_t cap, size_t *pos, const char *name, const char *dtype,
                           size_t count, size_t width, size_t offset)
{
    int n = snprintf(h + *pos, cap - *pos, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%zu],"
                     "\"data_offsets\":[%zu,%zu]}", name, dtype, count, offset,
                     offset + count * width);
    if (n > 0)
        *pos += (size_t)n < cap - *pos ? (size_t)n : cap - *pos - 1;
    return offset + count * width;
}

/* "model.KEY": value entries of meta, each after a comma, at h + *pos. */
static int put_model_meta(char *h, size_t cap, size_t *pos, const bp_meta *meta)
{
    for (int i = 0; i < bp_meta_count(meta); i++) {
        const char *k = bp_meta_key(meta, i);
        size_t kn = bp__json_quote(k, NULL, 0), vn = bp__json_quote(bp_meta_value(meta, i), NULL, 0);
        if (*pos + kn + vn + 16 >= cap)
            return -1;
        memcpy(h + *pos, ",\"model.", 8);
        *pos += 8;
        bp__json_quote(k, h + *pos, cap - *pos);
        memmove(h + *pos, h + *pos + 1, kn - 1); /* drop the key's opening quote */
        *pos += kn - 1;
        h[(*pos)++] = ':';
        bp__json_quote(bp_meta_value(meta, i), h + *pos, cap - *pos);
        *pos += vn;
    }
    return 0;
}

/* The bytes put_model_meta needs. */
static size_t model_meta_size(const bp_meta *meta)
{
    size_t n = 0;
    for (int i = 0; i < bp_meta_count(meta); i++)
        n += bp__json_quote(bp_meta_key(meta, i), NULL, 0) +
             bp__json_quote(bp_meta_value(meta, i), NULL, 0) + 16;
    return n;
}

int bp_train_state_save(const char *path, const bp_train_state *s, bp_error *err)
{
    return bp_train_state_save_meta(path, s, NULL, err);
}

int bp_train_state_save_meta(const char *path, const bp_train_state *s, const bp_meta *meta,
                             bp_error *err)
{
    bp__atomic a;
    char *h = NULL, spec_json[8];
    size_t cap, pos = 0, off = 0, P, quoted;
    unsigned char len8[8];
    int rc = 0, n;

    if (!path || !s)
        return bp__error_set(err, BP_EINVAL, "saving a checkpoint needs a path and a state");
    P = s->P;
    if (P > SIZE_MAX / 8 / 4 || s->n_rows > SIZE_MAX / 16 || s->S > SIZE_MAX / 8 / 4)
        return bp__error_set(err, BP_EOVERFLOW, "checkpoint of %zu parameters is too large", P);
    quoted = bp__json_quote(s->spec, spec_json, 0);
    cap = HEADER_CAP + quoted + model_meta_size(meta);
    if (!(h = bp__malloc(cap)))
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    n = snprintf(h, cap, "{\"__metadata__\":{\"format\":\"" FORMAT "\",\"version\":\"" VERSION
                 "\",\"net\":");
    pos = (size_t)n;
    bp__json_quote(s->spec, h + pos, cap - pos);
    pos += quoted;
    n = snprintf(h + pos, cap - pos,
                 ",\"epoch\":\"%d\",\"batch\":\"%ld\",\"step\":\"%ld\",\"optim_steps\":\"%ld\","
                 "\"since_best\":\"%d\",\"best_epoch\":\"%d\",\"lsum\":\"%a\",\"asum\":\"%a\","
                 "\"norm\":\"%a\",\"best_val_loss\":\"%a\",\"rng\":\"%016llx %016llx %016llx "
                 "%016llx\",\"rng_spare\":\"%a\",\"rng_has_spare\":\"%d\"",
                 s->epoch, s->batch, s->step, s->optim_steps, s->since_best, s->best_epoch,
                 s->lsum, s->asum, s->norm, s->best_val_loss,
                 (unsigned long long)s->rng.s[0], (unsigned long long)s->rng.s[1],
                 (unsigned long long)s->rng.s[2], (unsigned long long)s->rng.s[3],
                 s->rng.spare, s->rng.has_spare ? 1 : 0);
    if (n < 0 || (size_t)n >= cap - pos) {
        rc = bp__error_set(err, BP_EOVERFLOW, "checkpoint header for %s is too large", path);
        goto done;
    }
    pos += (size_t)n;
    if (put_model_meta(h, cap, &pos, meta) != 0) {
        rc = bp__error_set(err, BP_EOVERFLOW, "checkpoint header for %s is too large", path);
        goto done;
    }
    h[pos++] = '}';
    off = tensor_entry(h, cap, &pos, "params", "F32", P, 4, off);
    for (int k = 0; k < s->blocks; k++) {
        char name[32];
        snprintf(name, sizeof name, "optim.%d", k);
        off = tensor_entry(h, cap, &pos, name, "F32", P, 4, off);
    }
    if (s->best)
        off = tensor_entry(h, cap, &pos, "best", "F32", P + s->S, 4, off);
    if (s->S)
        off = tensor_entry(h, cap, &pos, "state", "F32", s->S, 4, off);
    off = tensor_entry(h, cap, &pos, "order", "U64", s->n_rows, 8, off);
    if (pos + 2 >= cap) {
        rc = bp__error_set(err, BP_EOVERFLOW, "checkpoint header for %s is too large", path);
        goto done;
    }
    h[pos++] = '}';
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)pos >> (8 * b));

    if ((rc = bp__atomic_open(&a, path, err)) != 0)
        goto done;
    errno = 0;
    if (put_bytes(a.f, len8, 8) != 0 || put_bytes(a.f, (unsigned char *)h, pos) != 0 ||
        put_floats(a.f, s->params, P) != 0 ||
        put_floats(a.f, s->optim, (size_t)s->blocks * P) != 0 ||
        (s->best && put_floats(a.f, s->best, P + s->S) != 0) ||
        (s->S && put_floats(a.f, s->state, s->S) != 0) || put_u64s(a.f, s->order, s->n_rows) != 0) {
        int e = errno ? errno : EIO;
        bp__atomic_abort(&a);
        rc = bp__error_set(err, BP_EIO, "cannot write %s: %s", path, strerror(e));
        goto done;
    }
    rc = bp__atomic_commit(&a, err);
done:
    bp__free(h);
    return rc;
}

/* ---- reading */

typedef struct reader {
    const char *path;
    const bp__json *md;
    bp_error *err;
} reader;

static const char *md_string(reader *r, const char *key)
{
    const bp__json *v = bp__json_get(r->md, key);
    if (!v || v->type != BP__JSON_STRING) {
        bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.%s: expected a string, found %s",
                      r->path, key, v ? bp__json_type_name(v->type) : "nothing");
        return NULL;
    }
    return v->string;
}

static int md_long(reader *r, const char *key, long lo, long hi, long *out)
{
    const char *s = md_string(r, key);
    char *end;
    long v;
    if (!s)
        return BP_EFORMAT;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.%s: expected a whole number "
                             "from %ld to %ld, found '%.40s'", r->path, key, lo, hi, s);
    *out = v;
    return 0;
}

static int md_double(reader *r, const char *key, int finite, double *out)
{
    const char *s = md_string(r, key);
    char *end;
    if (!s)
        return BP_EFORMAT;
    *out = strtod(s, &end);
    if (end == s || *end || (finite && !isfinite(*out)))
        return bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.%s: expected a %snumber, "
                             "found '%.40s'", r->path, key, finite ? "finite " : "", s);
    return 0;
}

/* A tensor of count elements of the dtype inside the body; NULL when it
 * is absent (and not required) or bad (*rc set). */
static const unsigned char *tensor(reader *r, const bp__json *root, const char *name,
                                   const char *dtype, size_t width, size_t *count,
                                   const char *body, size_t body_len, int required, int *rc)
{
    const bp__json *t = bp__json_get(root, name), *d, *sh, *of;
    double b, e;
    *rc = 0;
    if (!t) {
        if (required)
            *rc = bp__error_set(r->err, BP_EFORMAT, "%s: tensor '%s' is missing", r->path, name);
        return NULL;
    }
    d = bp__json_get(t, "dtype");
    sh = bp__json_get(t, "shape");
    of = bp__json_get(t, "data_offsets");
    if (t->type != BP__JSON_OBJECT || !d || d->type != BP__JSON_STRING ||
        strcmp(d->string, dtype) != 0) {
        *rc = bp__error_set(r->err, BP_EFORMAT, "%s: tensor '%s': expected dtype \"%s\"",
                            r->path, name, dtype);
        return NULL;
    }
    if (!sh || sh->type != BP__JSON_ARRAY || sh->n != 1 || sh->items[0].type != BP__JSON_NUMBER ||
        !(sh->items[0].number >= 0 && sh->items[0].number <= (double)(body_len / width)) ||
        sh->items[0].number != floor(sh->items[0].number)) {
        *rc = bp__error_set(r->err, BP_EFORMAT, "%s: tensor '%s': shape must be [N] with N "
                            "elements inside the %zu bytes of data", r->path, name, body_len);
        return NULL;
    }
    *count = (size_t)sh->items[0].number;
    if (!of || of->type != BP__JSON_ARRAY || of->n != 2 || of->items[0].type != BP__JSON_NUMBER ||
        of->items[1].type != BP__JSON_NUMBER || (b = of->items[0].number) < 0 ||
        b != floor(b) || (e = of->items[1].number) != b + (double)(*count * width) ||
        e > (double)body_len) {
        *rc = bp__error_set(r->err, BP_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, "
                            "end] with end - begin = %zu bytes inside the %zu bytes of data",
                            r->path, name, *count * width, body_len);
        return NULL;
    }
    return (const unsigned char *)body + (size_t)b;
}

static void get_floats(float *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(&out[i], &u, 4);
    }
}

static int finite_all(reader *r, const char *name, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return bp__error_set(r->err, BP_EFORMAT, "%s: tensor '%s': value %zu is not finite",
                                 r->path, name, i);
    return 0;
}

/* The scalar fields of __metadata__ into s. */
static int read_position(reader *r, bp_train_state *s)
{
    long v[6];
    unsigned long long w[4];
    const char *f, *rng;
    int used = 0;
    if (!(f = md_string(r, "format")))
        return BP_EFORMAT;
    if (strcmp(f, FORMAT) != 0)
        return bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.format: expected \"" FORMAT
                             "\", found \"%.40s\" (not a checkpoint)", r->path, f);
    if (!(f = md_string(r, "version")))
        return BP_EFORMAT;
    if (strcmp(f, VERSION) != 0)
        return bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.version: expected \"" VERSION
                             "\", found \"%.40s\"", r->path, f);
    if (md_long(r, "epoch", 1, INT_MAX, &v[0]) || md_long(r, "batch", 0, LONG_MAX, &v[1]) ||
        md_long(r, "step", 0, LONG_MAX, &v[2]) || md_long(r, "optim_steps", 0, LONG_MAX, &v[3]) ||
        md_long(r, "since_best", 0, INT_MAX, &v[4]) || md_long(r, "best_epoch", 0, INT_MAX, &v[5]) ||
        md_double(r, "lsum", 1, &s->lsum) || md_double(r, "asum", 1, &s->asum) ||
        md_double(r, "norm", 0, &s->norm) || md_double(r, "best_val_loss", 0, &s->best_val_loss) ||
        md_double(r, "rng_spare", 1, &s->rng.spare))
        return BP_EFORMAT;
    s->epoch = (int)v[0];
    s->batch = v[1];
    s->step = v[2];
    s->optim_steps = v[3];
    s->since_best = (int)v[4];
    s->best_epoch = (int)v[5];
    if (md_long(r, "rng_has_spare", 0, 1, &v[0]))
        return BP_EFORMAT;
    s->rng.has_spare = (int)v[0];
    if (!(rng = md_string(r, "rng")))
        return BP_EFORMAT;
    if (sscanf(rng, "%16llx %16llx %16llx %16llx%n", &w[0], &w[1], &w[2], &w[3], &used) != 4 ||
        rng[used] != '\0' || (w[0] | w[1] | w[2] | w[3]) == 0)
        return bp__error_set(r->err, BP_EFORMAT, "%s: __metadata__.rng: expected four non-zero "
                             "64-bit hex words, found '%.80s'", r->path, rng);
    for (int k = 0; k < 4; k++)
        s->rng.s[k] = (uint64_t)w[k];
    return 0;
}

bp_train_state *bp_train_state_load(const char *path, bp_error *err)
{
    char *data = NULL, msg[200], *spec;
    size_t len = 0, P = 0, n = 0, nb = 0, spec_len, total, bytes;
    bp__json *root = NULL;
    bp_train_state *s = NULL;
    const unsigned char *tp, *to, *tb, *ts, *tk[2] = {NULL, NULL};
    size_t S = 0;
    reader r = {path, NULL, err};
    uint64_t hlen = 0;
    unsigned char *seen = NULL;
    int rc = 0, code, blocks = 0;

    if (!path) {
        bp__error_set(err, BP_EINVAL, "no checkpoint file given");
        return NULL;
    }
    if (bp__read_file(path, MAX_BYTES, &data, &len, err) != 0)
        return NULL;
    if (len < 8) {
        bp__error_set(err, BP_EFORMAT, "%s: not a checkpoint: %zu bytes, shorter than the "
                      "8-byte header length", path, len);
        goto fail;
    }
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)(unsigned char)data[i] << (8 * i);
    if (hlen < 2 || hlen > BP__ST_MAX_HEADER || hlen > len - 8) {
        bp__error_set(err, BP_EFORMAT, "%s: header length %llu is impossible for a file of %zu "
                      "bytes", path, (unsigned long long)hlen, len);
        goto fail;
    }
    if (!(root = bp__json_parse(data + 8, (size_t)hlen, msg, sizeof msg, &code))) {
        bp__error_set(err, code, "%s: header JSON %s", path, msg);
        goto fail;
    }
    r.md = bp__json_get(root, "__metadata__");
    if (root->type != BP__JSON_OBJECT || !r.md || r.md->type != BP__JSON_OBJECT) {
        bp__error_set(err, BP_EFORMAT, "%s: not a checkpoint: the header has no __metadata__ "
                      "object", path);
        goto fail;
    }
    const char *body = data + 8 + hlen;
    size_t body_len = len - 8 - (size_t)hlen;
    bp_train_state head;
    memset(&head, 0, sizeof head);
    if (read_position(&r, &head) != 0 || !(spec = (char *)md_string(&r, "net")))
        goto fail;
    if (!(tp = tensor(&r, root, "params", "F32", 4, &P, body, body_len, 1, &rc)) ||
        !(to = tensor(&r, root, "order", "U64", 8, &n, body, body_len, 1, &rc)))
        goto fail;
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "optim.%d", k);
        if (!(tk[k] = tensor(&r, root, name, "F32", 4, &nb, body, body_len, 0, &rc))) {
            if (rc != 0)
                goto fail;
            break;
        }
        if (nb != P) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor '%s' has %zu values, expected %zu "
                          "(as params)", path, name, nb, P);
            goto fail;
        }
        blocks++;
    }
    ts = tensor(&r, root, "state", "F32", 4, &S, body, body_len, 0, &rc);
    if (rc != 0)
        goto fail;
    if (!ts)
        S = 0;
    tb = tensor(&r, root, "best", "F32", 4, &nb, body, body_len, 0, &rc);
    if (rc != 0)
        goto fail;
    if (tb && nb != P + S) {
        bp__error_set(err, BP_EFORMAT, "%s: tensor 'best' has %zu values, expected %zu (as "
                      "params and state)", path, nb, P + S);
        goto fail;
    }
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i];
        if (strcmp(k, "__metadata__") && strcmp(k, "params") && strcmp(k, "order") &&
            strcmp(k, "best") && strcmp(k, "optim.0") && (blocks < 2 || strcmp(k, "optim.1")) &&
            strcmp(k, "state")) {
            bp__error_set(err, BP_EFORMAT, "%s: unexpected tensor '%.60s' (expected params, "
                          "optim.0, optim.1, best, state, order)", path, k);
            goto fail;
        }
    }

    /* One allocation: the struct, the floats, the order, the spec. */
    spec_len = strlen(spec) + 1;
    total = sizeof *s;
    if (bp__mul_size(P, (size_t)(1 + blocks + (tb ? 1 : 0)) * sizeof(float), &bytes) ||
        (total += bytes) < bytes || S > SIZE_MAX / 16 ||
        (total += (tb ? 2 : 1) * S * sizeof(float)) < S || bp__mul_size(n, sizeof(size_t), &bytes) ||
        (total += bytes) < bytes || (total += spec_len) < spec_len) {
        bp__error_set(err, BP_EOVERFLOW, "%s: a checkpoint of %zu parameters is too large", path, P);
        goto fail;
    }
    if (!(s = bp__calloc(1, total)) || !(seen = bp__calloc(n ? n : 1, 1))) {
        bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    *s = head;
    s->storage = s;
    s->P = P;
    s->n_rows = n;
    s->blocks = blocks;
    size_t *order = (size_t *)(void *)(s + 1);
    float *fl = (float *)(void *)(order + n);
    char *sp = (char *)(fl + P * (size_t)(1 + blocks + (tb ? 1 : 0)) + (tb ? 2 : 1) * S);
    memcpy(sp, spec, spec_len);
    s->spec = sp;
    get_floats(fl, tp, P);
    s->params = fl;
    if (finite_all(&r, "params", fl, P) != 0)
        goto fail;
    fl += P;
    for (int k = 0; k < blocks; k++, fl += P) {
        get_floats(fl, tk[k], P);
        if (finite_all(&r, k ? "optim.1" : "optim.0", fl, P) != 0)
            goto fail;
    }
    s->optim = blocks ? s->params + P : NULL;
    if (tb) {
        get_floats(fl, tb, P + S);
        if (finite_all(&r, "best", fl, P + S) != 0)
            goto fail;
        s->best = fl;
        fl += P + S;
    }
    if (S) {
        get_floats(fl, ts, S);
        if (finite_all(&r, "state", fl, S) != 0)
            goto fail;
        s->S = S;
        s->state = fl;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v |= (uint64_t)to[8 * i + (size_t)b] << (8 * b);
        if (v >= n || seen[v]) {
            bp__error_set(err, BP_EFORMAT, "%s: tensor 'order': entry %zu (%llu) %s; expected a "
                          "permutation of 0 to %zu", path, i, (unsigned long long)v,
                          v >= n ? "is out of range" : "repeats an earlier entry", n - 1);
            goto fail;
        }
        seen[v] = 1;
        order[i] = (size_t)v;
    }
    s->order = order;
    bp__free(seen);
    bp__json_free(root);
    bp__free(data);
    return s;
fail:
    bp__free(seen);
    bp__free(s);
    bp__json_free(root);
    bp__free(data);
    return NULL;
}

void bp_train_state_free(bp_train_state *s)
{
    if (s && s->storage)
        bp__free(s->storage);
}

int bp_train_state_epoch(const bp_train_state *s)
{
    return s ? s->epoch : 0;
}

long bp_train_state_batch(const bp_train_state *s)
{
    return s ? s->batch : 0;
}

long bp_train_state_steps(const bp_train_state *s)
{
    return s ? s->step : 0;
}

/* ---- a checkpoint as a model */

int bp_checkpoint_is(const char *path)
{
    static const char head[] = "{\"__metadata__\":{\"format\":\"" FORMAT "\"";
    unsigned char buf[8 + sizeof head];
    FILE *f = path ? fopen(path, "rb") : NULL;
    size_t got;
    if (!f)
        return 0;
    got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return got == sizeof buf - 1 && memcmp(buf + 8, head, sizeof head - 1) == 0;
}

/* The "model.KEY" entries of path's __metadata__ into a new *meta. */
static int read_model_meta(const char *path, bp_meta **meta, bp_error *err)
{
    char *data = NULL, msg[200];
    size_t len = 0;
    uint64_t hlen = 0;
    bp__json *root = NULL;
    const bp__json *md;
    int rc = 0, code;
    if ((rc = bp__read_file(path, MAX_BYTES, &data, &len, err)) != 0)
        return rc;
    for (int i = 0; i < 8 && len >= 8; i++)
        hlen |= (uint64_t)(unsigned char)data[i] << (8 * i);
    if (len < 8 || hlen > len - 8 ||
        !(root = bp__json_parse(data + 8, (size_t)hlen, msg, sizeof msg, &code)) ||
        !(md = bp__json_get(root, "__metadata__")) || md->type != BP__JSON_OBJECT) {
        rc = bp__error_set(err, BP_EFORMAT, "%s: not a checkpoint", path);
        goto done;
    }
    if (!(*meta = bp_meta_create())) {
        rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    for (size_t i = 0; i < md->n; i++) {
        const bp__json *v = &md->items[i];
        if (strncmp(md->keys[i], "model.", 6) != 0)
            continue;
        if (v->type != BP__JSON_STRING) {
            rc = bp__error_set(err, BP_EFORMAT, "%s: __metadata__.%.60s: expected a string, "
                               "found %s", path, md->keys[i], bp__json_type_name(v->type));
            goto done;
        }
        if (bp_meta_set(*meta, md->keys[i] + 6, v->string) != 0) {
            rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
            goto done;
        }
    }
done:
    if (rc != 0) {
        bp_meta_free(*meta);
        *meta = NULL;
    }
    bp__json_free(root);
    bp__free(data);
    return rc;
}

bp_net *bp_checkpoint_load_model(const char *path, bp_meta **meta, bp_error *err)
{
    bp_train_state *s = bp_train_state_load(path, err);
    bp_meta *m = NULL;
    bp_net *net = NULL;
    char at[64];
    if (meta)
        *meta = NULL;
    if (!s)
        return NULL;
    if (!(net = bp_net_parse(s->spec, err)))
        goto fail;
    if (bp_net_param_count(net) != s->P) {
        bp__error_set(err, BP_EFORMAT, "%s: the network %s has %zu parameters; the checkpoint "
                      "holds %zu", path, s->spec, bp_net_param_count(net), s->P);
        goto fail;
    }
    if (bp_net_state_count(net) != s->S) {
        bp__error_set(err, BP_EFORMAT, "%s: the network %s has %zu state values (running "
                      "statistics); the checkpoint holds %zu", path, s->spec,
                      bp_net_state_count(net), s->S);
        goto fail;
    }
    memcpy(bp_net_params(net), s->params, s->P * sizeof(float));
    if (s->S) /* no state: s->state is NULL */
        memcpy(bp_net_state(net), s->state, s->S * sizeof(float));
    if (read_model_meta(path, &m, err) != 0)
        goto fail;
    snprintf(at, sizeof at, "epoch %d, batch %ld", s->epoch, s->batch);
    if (bp_meta_set(m, "checkpoint", at) != 0) {
        bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    bp_train_state_free(s);
    if (meta)
        *meta = m;
    else
        bp_meta_free(m);
    return net;
fail:
    bp_meta_free(m);
    bp_net_free(net);
    bp_train_state_free(s);
    return NULL;
}
