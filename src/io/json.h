/*
 * json.h - a small JSON reader for the model formats: parses a whole text
 * into a tree (one allocation per node array, freed together) with limits
 * on depth, and reports errors by line and column.
 */
#ifndef BP_IO_JSON_H
#define BP_IO_JSON_H

#include <stddef.h>

typedef enum bp__json_type {
    BP__JSON_NULL,
    BP__JSON_BOOL,
    BP__JSON_NUMBER,
    BP__JSON_STRING,
    BP__JSON_ARRAY,
    BP__JSON_OBJECT
} bp__json_type;

typedef struct bp__json bp__json;
struct bp__json {
    bp__json_type type;
    double number;          /* NUMBER; BOOL as 0 or 1 */
    char *string;           /* STRING (NUL-terminated, may hold no NULs) */
    char **keys;            /* OBJECT: n keys */
    bp__json *items;        /* ARRAY / OBJECT: n values */
    size_t n;
};

/* Parse text[0, len). On failure returns NULL, writes "line L, column C:
 * what" into msg and sets *code to BP_ENOMEM or BP_EFORMAT. The tree is
 * freed with bp__json_free. */
bp__json *bp__json_parse(const char *text, size_t len, char *msg, size_t msg_size, int *code);
void bp__json_free(bp__json *j);

/* The value of key in an object, or NULL. */
const bp__json *bp__json_get(const bp__json *obj, const char *key);
const char *bp__json_type_name(bp__json_type t);

/* Append s to out as a JSON string literal (quotes included). Returns the
 * length it needs, as snprintf does; writes at most size bytes. */
size_t bp__json_quote(const char *s, char *out, size_t size);

/* A growable text buffer for writing JSON: appends never fail one by one;
 * an allocation that fails sets `failed` and later appends do nothing.
 * s (NUL-terminated while not failed) is freed with bp__free. */
typedef struct bp__jbuf {
    char *s;
    size_t n, cap;
    int failed;
} bp__jbuf;

void bp__jbuf_put(bp__jbuf *b, const char *s, size_t n);
void bp__jbuf_str(bp__jbuf *b, const char *s);
/* s as a JSON string literal; NULL as null. */
void bp__jbuf_quoted(bp__jbuf *b, const char *s);

#endif
