/*
 * json.c - a strict JSON reader (RFC 8259): objects, arrays, strings with
 * escapes (\uXXXX to UTF-8, surrogate pairs joined), numbers, true, false,
 * null. Strings must be valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF). Duplicate keys are rejected (found by sorting the
 * keys once the object is read, so a huge object costs n log n, not n^2);
 * nesting is limited to 64 levels; every allocation goes through the
 * library's hooks.
 */
#include "io/json.h"
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const char *s, *end, *p;
    char *msg;
    size_t msg_size;
    int failed;
    int oom;
} parser;

static void fail(parser *ps, const char *what)
{
    if (ps->failed)
        return;
    int line = 1, col = 1;
    for (const char *q = ps->s; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(ps->msg, ps->msg_size, "line %d, column %d: %s", line, col, what);
    ps->failed = 1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void free_node(bp__json *j)
{
    switch (j->type) {
    case BP__JSON_STRING:
        bp__free(j->string);
        break;
    case BP__JSON_OBJECT:
        for (size_t i = 0; i < j->n; i++)
            bp__free(j->keys[i]);
        bp__free(j->keys);
        /* fall through */
    case BP__JSON_ARRAY:
        for (size_t i = 0; i < j->n; i++)
            free_node(&j->items[i]);
        bp__free(j->items);
        break;
    default:
        break;
    }
}

void bp__json_free(bp__json *j)
{
    if (!j)
        return;
    free_node(j);
    bp__free(j);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *ps, unsigned *out)
{
    unsigned v = 0;
    if (ps->end - ps->p < 4) {
        fail(ps, "truncated \\u escape");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) {
            fail(ps, "bad hex digit in \\u escape");
            return -1;
        }
        v = v * 16 + (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parse a string literal at ps->p (on the opening quote). The decoded text
 * is never longer than the literal, so one allocation of that size serves. */
/* The length of the UTF-8 sequence at [p, end), or 0 when it is not valid
 * (RFC 3629: shortest form, no surrogates, at most U+10FFFF). */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned cp, min;
    size_t n;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2, cp = p[0] & 0x1fu, min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3, cp = p[0] & 0x0fu, min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4, cp = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static char *parse_string(parser *ps)
{
    const char *q = ps->p + 1;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = bp__malloc((size_t)(q - ps->p));
    if (!out) {
        ps->oom = 1;
        fail(ps, "out of memory");
        return NULL;
    }
    size_t n = 0;
    ps->p++;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in string");
            goto bad;
        }
        if (c >= 0x80) {
            size_t k = utf8_length((const unsigned char *)ps->p, (const unsigned char *)ps->end);
            if (k == 0) {
                char what[64];
                snprintf(what, sizeof what, "byte 0x%02x in a string is not valid UTF-8", c);
                fail(ps, what);
                goto bad;
            }
            memcpy(out + n, ps->p, k);
            n += k;
            ps->p += k;
            continue;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (read_hex4(ps, &cp) != 0)
                goto bad;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "unpaired surrogate in \\u escape");
                    goto bad;
                }
                ps->p += 2;
                if (read_hex4(ps, &lo) != 0)
                    goto bad;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    fail(ps, "bad low surrogate in \\u escape");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                fail(ps, "unpaired surrogate in \\u escape");
                goto bad;
            }
            if (cp == 0) {
                fail(ps, "\\u0000 is not allowed in strings here");
                goto bad;
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            ps->p--;
            fail(ps, "bad escape in string");
            goto bad;
        }
    }
    ps->p++;
    out[n] = '\0';
    return out;
bad:
    bp__free(out);
    return NULL;
}

static int parse_value(parser *ps, bp__json *out, int depth);

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Refuse an object that holds a key twice, naming the key. */
static int check_keys(parser *ps, const bp__json *obj)
{
    char **sorted, what[128];
    int rc = 0;
    if (obj->n < 2)
        return 0;
    if (!(sorted = bp__calloc(obj->n, sizeof *sorted))) {
        ps->oom = 1;
        fail(ps, "out of memory");
        return -1;
    }
    memcpy(sorted, obj->keys, obj->n * sizeof *sorted);
    qsort(sorted, obj->n, sizeof *sorted, compare_keys);
    for (size_t i = 1; i < obj->n && rc == 0; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            snprintf(what, sizeof what, "duplicate key \"%.80s\" in this object", sorted[i]);
            fail(ps, what);
            rc = -1;
        }
    bp__free(sorted);
    return rc;
}

/* Parse the elements of an array or object into a growing node array. */
static int parse_container(parser *ps, bp__json *out, int depth, int object)
{
    char close = object ? '}' : ']';
    size_t cap = 0;
    out->type = object ? BP__JSON_OBJECT : BP__JSON_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "expected a string key");
                return -1;
            }
            if (!(key = parse_string(ps)))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                bp__free(key);
                fail(ps, "expected ':' after the key");
                return -1;
            }
            ps->p++;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 4, bytes;
            bp__json *items;
            char **keys = NULL;
            if (bp__mul_size(ncap, sizeof *items, &bytes) || !(items = bp__malloc(bytes))) {
                bp__free(key);
                ps->oom = 1;
        fail(ps, "out of memory");
                return -1;
            }
            if (object && !(keys = bp__malloc(ncap * sizeof *keys))) {
                bp__free(items);
                bp__free(key);
                ps->oom = 1;
        fail(ps, "out of memory");
                return -1;
            }
            if (out->n) {
                memcpy(items, out->items, out->n * sizeof *items);
                if (object)
                    memcpy(keys, out->keys, out->n * sizeof *keys);
            }
            bp__free(out->items);
            bp__free(out->keys);
            out->items = items;
            out->keys = keys;
            cap = ncap;
        }
        memset(&out->items[out->n], 0, sizeof out->items[0]);
        if (object)
            out->keys[out->n] = key;
        out->n++;
        if (parse_value(ps, &out->items[out->n - 1], depth + 1) != 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            if (object && check_keys(ps, out) != 0)
                return -1;
            ps->p++;
            return 0;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return -1;
    }
}

static int parse_number(parser *ps, bp__json *out)
{
    const char *q = ps->p;
    char buf[64];
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || !isdigit((unsigned char)*q)) {
        fail(ps, "expected a value");
        return -1;
    }
    if (*q == '0' && q + 1 < ps->end && isdigit((unsigned char)q[1])) {
        fail(ps, "leading zeros are not allowed");
        return -1;
    }
    while (q < ps->end && isdigit((unsigned char)*q))
        q++;
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || !isdigit((unsigned char)*q)) {
            fail(ps, "expected a digit after '.'");
            return -1;
        }
        while (q < ps->end && isdigit((unsigned char)*q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !isdigit((unsigned char)*q)) {
            fail(ps, "expected a digit in the exponent");
            return -1;
        }
        while (q < ps->end && isdigit((unsigned char)*q))
            q++;
    }
    size_t len = (size_t)(q - ps->p);
    if (len >= sizeof buf) {
        fail(ps, "number too long");
        return -1;
    }
    memcpy(buf, ps->p, len);
    buf[len] = '\0';
    errno = 0;
    out->type = BP__JSON_NUMBER;
    out->number = strtod(buf, NULL);
    if (errno == ERANGE && (out->number > 1.0 || out->number < -1.0)) {
        fail(ps, "number out of range");
        return -1;
    }
    ps->p = q;
    return 0;
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static int parse_value(parser *ps, bp__json *out, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(ps, "nesting too deep");
        return -1;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of text");
        return -1;
    }
    switch (*ps->p) {
    case '{':
        return parse_container(ps, out, depth, 1);
    case '[':
        return parse_container(ps, out, depth, 0);
    case '"':
        out->type = BP__JSON_STRING;
        out->string = parse_string(ps);
        return out->string ? 0 : -1;
    default:
        if (literal(ps, "true") || literal(ps, "false")) {
            out->type = BP__JSON_BOOL;
            out->number = ps->p[-4] == 't'; /* "true" ends 4 back at its 't' */
            return 0;
        }
        if (literal(ps, "null")) {
            out->type = BP__JSON_NULL;
            return 0;
        }
        return parse_number(ps, out);
    }
}

bp__json *bp__json_parse(const char *text, size_t len, char *msg, size_t msg_size, int *code)
{
    parser ps = {text, text + len, text, msg, msg_size, 0, 0};
    bp__json *root = bp__calloc(1, sizeof *root);
    *code = BP_ENOMEM;
    if (!root) {
        snprintf(msg, msg_size, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, root, 0) == 0) {
        skip_ws(&ps);
        if (ps.p == ps.end)
            return root;
        fail(&ps, "unexpected text after the value");
    }
    *code = ps.oom ? BP_ENOMEM : BP_EFORMAT;
    bp__json_free(root);
    return NULL;
}

const bp__json *bp__json_get(const bp__json *obj, const char *key)
{
    if (!obj || obj->type != BP__JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *bp__json_type_name(bp__json_type t)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array",
                                        "an object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t bp__json_quote(const char *s, char *out, size_t size)
{
    size_t n = 0;
#define PUT(c)                \
    do {                      \
        if (n + 1 < size)     \
            out[n] = (c);     \
        n++;                  \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT((char)*p);
        } else if (*p < 0x20) {
            char hex[8];
            snprintf(hex, sizeof hex, "\\u%04x", *p);
            for (int i = 0; hex[i]; i++)
                PUT(hex[i]);
        } else {
            PUT((char)*p);
        }
    }
    PUT('"');
#undef PUT
    if (size)
        out[n < size ? n : size - 1] = '\0';
    return n;
}

void bp__jbuf_put(bp__jbuf *b, const char *s, size_t n)
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

void bp__jbuf_str(bp__jbuf *b, const char *s)
{
    bp__jbuf_put(b, s, strlen(s));
}

void bp__jbuf_quoted(bp__jbuf *b, const char *s)
{
    char small[256], *q = small;
    size_t need;
    if (!s) {
        bp__jbuf_str(b, "null");
        return;
    }
    need = bp__json_quote(s, small, sizeof small);
    if (need >= sizeof small) {
        if (!(q = bp__malloc(need + 1))) {
            b->failed = 1;
            return;
        }
        bp__json_quote(s, q, need + 1);
    }
    bp__jbuf_put(b, q, need);
    if (q != small)
        bp__free(q);
}
