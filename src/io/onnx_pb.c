/*
 * onnx_pb.c - the protocol-buffers wire format, as far as ONNX files need
 * it (see onnx_pb.h). The writer grows one buffer through the allocation
 * hooks; the reader never reads past the end of the message it was given
 * and refuses varints longer than ten bytes, lengths past the end, and the
 * deprecated group wire types.
 */
#include "io/onnx_pb.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

void bp__pb_free(bp__pb *b)
{
    bp__free(b->data);
    memset(b, 0, sizeof *b);
}

static void put(bp__pb *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (n > (size_t)-1 / 2 - b->len) {
        b->failed = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *t = bp__malloc(cap);
        if (!t) {
            b->failed = 1;
            return;
        }
        if (b->len)
            memcpy(t, b->data, b->len);
        bp__free(b->data);
        b->data = t;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void raw_varint(bp__pb *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        t[n++] |= v ? 0x80 : 0;
    } while (v);
    put(b, t, n);
}

static void key(bp__pb *b, int field, int wire)
{
    raw_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void bp__pb_varint(bp__pb *b, int field, uint64_t v)
{
    key(b, field, BP__PB_VARINT);
    raw_varint(b, v);
}

void bp__pb_int64(bp__pb *b, int field, int64_t v)
{
    bp__pb_varint(b, field, (uint64_t)v);
}

static void le32(unsigned char *t, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int k = 0; k < 4; k++)
        t[k] = (unsigned char)(u >> (8 * k));
}

void bp__pb_float(bp__pb *b, int field, float v)
{
    unsigned char t[4];
    key(b, field, BP__PB_I32);
    le32(t, v);
    put(b, t, 4);
}

void bp__pb_bytes(bp__pb *b, int field, const void *p, size_t n)
{
    key(b, field, BP__PB_LEN);
    raw_varint(b, n);
    put(b, p, n);
}

void bp__pb_string(bp__pb *b, int field, const char *s)
{
    bp__pb_bytes(b, field, s, strlen(s));
}

void bp__pb_message(bp__pb *b, int field, const bp__pb *sub)
{
    if (sub->failed) {
        b->failed = 1;
        return;
    }
    bp__pb_bytes(b, field, sub->data, sub->len);
}

void bp__pb_floats(bp__pb *b, int field, const float *v, size_t n)
{
    unsigned char t[256];
    key(b, field, BP__PB_LEN);
    raw_varint(b, n * 4);
    for (size_t i = 0; i < n; i += 64) {
        size_t m = n - i < 64 ? n - i : 64;
        for (size_t k = 0; k < m; k++)
            le32(t + 4 * k, v[i + k]);
        put(b, t, 4 * m);
    }
}

void bp__pb_append(bp__pb *b, const bp__pb *sub)
{
    if (sub->failed) {
        b->failed = 1;
        return;
    }
    put(b, sub->data, sub->len);
}

bp__pb_reader bp__pb_open(const void *data, size_t len)
{
    bp__pb_reader r;
    r.base = data;
    r.p = r.base;
    r.end = r.base + len;
    return r;
}

/* A varint at r->p; 0, or -1 when it runs past the end or past ten bytes. */
static int read_varint(bp__pb_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int k = 0; k < 10; k++) {
        if (r->p >= r->end)
            return -1;
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << (7 * k);
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int bp__pb_next(bp__pb_reader *r, bp__pb_field *f, char *msg, size_t size)
{
    uint64_t k, v;
    if (r->p >= r->end)
        return 0;
    memset(f, 0, sizeof *f);
    f->offset = (size_t)(r->p - r->base);
    if (read_varint(r, &k) != 0) {
        snprintf(msg, size, "byte %zu: a field key runs past the end of its message", f->offset);
        return -1;
    }
    if (k >> 3 == 0 || k >> 3 > 0x1fffffff) {
        snprintf(msg, size, "byte %zu: field number %llu is out of range", f->offset,
                 (unsigned long long)(k >> 3));
        return -1;
    }
    f->number = (int)(k >> 3);
    f->wire = (int)(k & 7);
    switch (f->wire) {
    case BP__PB_VARINT:
        if (read_varint(r, &f->value) != 0) {
            snprintf(msg, size, "byte %zu: field %d: a varint runs past the end", f->offset,
                     f->number);
            return -1;
        }
        return 1;
    case BP__PB_I64:
    case BP__PB_I32: {
        size_t n = f->wire == BP__PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) {
            snprintf(msg, size, "byte %zu: field %d: expected %zu bytes, found %zu", f->offset,
                     f->number, n, (size_t)(r->end - r->p));
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 1;
    }
    case BP__PB_LEN:
        if (read_varint(r, &v) != 0 || v > (uint64_t)(r->end - r->p)) {
            snprintf(msg, size, "byte %zu: field %d: its length runs past the end of the data",
                     f->offset, f->number);
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)v;
        r->p += f->len;
        return 1;
    default:
        snprintf(msg, size, "byte %zu: field %d: wire type %d is not one of 0, 1, 2, 5",
                 f->offset, f->number, f->wire);
        return -1;
    }
}

int bp__pb_next_varint(bp__pb_reader *r, uint64_t *v)
{
    if (r->p >= r->end)
        return 0;
    return read_varint(r, v) == 0 ? 1 : -1;
}

bp__pb_reader bp__pb_sub(const bp__pb_reader *r, const bp__pb_field *f)
{
    bp__pb_reader s;
    s.base = r->base;
    s.p = f->data;
    s.end = f->data + f->len;
    return s;
}

float bp__pb_float_of(const bp__pb_field *f)
{
    uint32_t u = (uint32_t)f->value;
    float v;
    memcpy(&v, &u, 4);
    return v;
}
