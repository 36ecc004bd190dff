/*
 * schema.c - a plan of columns (data.h) as JSON text and back: what a
 * model keeps of the data it was trained on, so that new data are read by
 * the same rules. The text:
 *
 *   {"format": "backprop-data", "version": 1, "header": true,
 *    "columns": 5, "missing": "mean",
 *    "inputs": [{"name": "age", "position": 0, "kind": "number", "fill": 41.5},
 *               {"name": "color", "position": 1, "kind": "text",
 *                "values": ["blue", "red"], "fill": "red"}],
 *    "label": {"name": "species", "position": 4, "kind": "text"},
 *    "task": "classify", "reason": "3 distinct text labels",
 *    "classes": ["setosa", "versicolor", "virginica"],
 *    "target": {"mean": 0, "scale": 1}}
 *
 * "name" is null without a header; "fill" appears only for a column with
 * one; "target" only for a standardized regression target (a model's
 * outputs times scale plus mean, bp_meta_get_target_scaling). Numbers are
 * written with 17 significant digits, so they read back exactly. Every
 * string must be UTF-8 (bp__utf8_valid), as JSON requires.
 */
#include "data.h"
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_number(bp__jbuf *b, double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.17g", v);
    bp__jbuf_str(b, t);
}

static void put_int(bp__jbuf *b, long v)
{
    char t[24];
    snprintf(t, sizeof t, "%ld", v);
    bp__jbuf_str(b, t);
}

static void put_col(bp__jbuf *b, const bp__col *c, int input)
{
    bp__jbuf_str(b, "{\"name\": ");
    bp__jbuf_quoted(b, c->name);
    bp__jbuf_str(b, ", \"position\": ");
    put_int(b, c->pos);
    bp__jbuf_str(b, c->text ? ", \"kind\": \"text\"" : ", \"kind\": \"number\"");
    if (input && c->text) {
        bp__jbuf_str(b, ", \"values\": [");
        for (int k = 0; k < c->nvocab; k++) {
            if (k)
                bp__jbuf_str(b, ", ");
            bp__jbuf_quoted(b, c->vocab[k]);
        }
        bp__jbuf_str(b, "]");
    }
    if (input && c->has_fill) {
        bp__jbuf_str(b, ", \"fill\": ");
        if (c->text)
            bp__jbuf_quoted(b, c->vocab[c->fill_cat]);
        else
            put_number(b, c->fill);
    }
    bp__jbuf_str(b, "}");
}

char *bp__schema_write(const bp__plan *p)
{
    static const char *const missing[] = {"error", "drop", "mean"};
    bp__jbuf b = {NULL, 0, 0, 0};
    bp__jbuf_str(&b, "{\"format\": \"backprop-data\", \"version\": 1, \"header\": ");
    bp__jbuf_str(&b, p->header ? "true" : "false");
    bp__jbuf_str(&b, ", \"columns\": ");
    put_int(&b, p->file_cols);
    bp__jbuf_str(&b, ", \"missing\": \"");
    bp__jbuf_str(&b, missing[p->missing]);
    bp__jbuf_str(&b, "\", \"inputs\": [");
    for (int k = 0; k < p->ncols; k++) {
        if (k)
            bp__jbuf_str(&b, ", ");
        put_col(&b, &p->cols[k], 1);
    }
    bp__jbuf_str(&b, "], \"label\": ");
    put_col(&b, &p->label, 0);
    bp__jbuf_str(&b, p->task == BP_TASK_CLASSIFY ? ", \"task\": \"classify\"" : ", \"task\": \"regress\"");
    bp__jbuf_str(&b, ", \"reason\": ");
    bp__jbuf_quoted(&b, p->reason);
    if (p->task == BP_TASK_CLASSIFY) {
        bp__jbuf_str(&b, ", \"classes\": [");
        for (int k = 0; k < p->classes; k++) {
            if (k)
                bp__jbuf_str(&b, ", ");
            bp__jbuf_quoted(&b, p->class_names[k]);
        }
        bp__jbuf_str(&b, "]");
    }
    if (p->t_scaled) {
        bp__jbuf_str(&b, ", \"target\": {\"mean\": ");
        put_number(&b, p->t_mean);
        bp__jbuf_str(&b, ", \"scale\": ");
        put_number(&b, p->t_scale);
        bp__jbuf_str(&b, "}");
    }
    bp__jbuf_str(&b, "}");
    if (b.failed) {
        bp__free(b.s);
        return NULL;
    }
    return b.s;
}

int bp__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned cp, min;
        size_t k;
        if (*p < 0x80) {
            p++;
            continue;
        }
        if (*p >= 0xc2 && *p <= 0xdf)
            k = 2, cp = *p & 0x1fu, min = 0x80;
        else if (*p >= 0xe0 && *p <= 0xef)
            k = 3, cp = *p & 0x0fu, min = 0x800;
        else if (*p >= 0xf0 && *p <= 0xf4)
            k = 4, cp = *p & 0x07u, min = 0x10000;
        else
            return 0;
        if ((size_t)(end - p) < k)
            return 0;
        for (size_t i = 1; i < k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += k;
    }
    return 1;
}

/* ---- reading */

typedef struct rd {
    const bp__json *root;
    bp_error *err;
    int rc;
} rd;

static const bp__json *field(rd *r, const bp__json *obj, const char *key, bp__json_type type,
                             int optional)
{
    const bp__json *v = obj ? bp__json_get(obj, key) : NULL;
    if (r->rc)
        return NULL;
    if (!v && optional)
        return NULL;
    if (!v || (v->type != type && !(optional == 2 && v->type == BP__JSON_NULL))) {
        r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: \"%s\" %s (expected %s)", key,
                              v ? "has the wrong type" : "is missing", bp__json_type_name(type));
        return NULL;
    }
    return v->type == type ? v : NULL;
}

static char *copy(rd *r, const char *s)
{
    char *d;
    if (r->rc)
        return NULL;
    d = bp__malloc(strlen(s) + 1);
    if (!d) {
        r->rc = bp__error_set(r->err, BP_ENOMEM, "data schema: out of memory");
        return NULL;
    }
    strcpy(d, s);
    return d;
}

/* Strings of an array into a list, each after the one before: in byte
 * order, or (numeric) in the order of their values, as the class names of
 * a numeric label are. */
static char **strings(rd *r, const bp__json *a, int numeric, int *n)
{
    char **v;
    *n = 0;
    if (!a || r->rc)
        return NULL;
    v = bp__calloc(a->n ? a->n : 1, sizeof *v);
    if (!v) {
        r->rc = bp__error_set(r->err, BP_ENOMEM, "data schema: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type != BP__JSON_STRING) {
            r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: a list holds a %s, not "
                                  "a string", bp__json_type_name(a->items[i].type));
            break;
        }
        if (!(v[i] = copy(r, a->items[i].string)))
            break;
        *n = (int)i + 1;
        if (i > 0 && (numeric ? !(strtod(v[i - 1], NULL) < strtod(v[i], NULL))
                              : strcmp(v[i - 1], v[i]) >= 0)) {
            /* byte order: strcmp compares as unsigned char */
            r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: values not in sorted "
                                  "order ('%s' after '%s')", v[i], v[i - 1]);
            break;
        }
    }
    return v;
}

static void read_col(rd *r, const bp__json *o, bp__col *c, int input)
{
    const bp__json *name, *pos, *kind, *fill;
    if (!o || o->type != BP__JSON_OBJECT) {
        if (!r->rc)
            r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: a column is not an object");
        return;
    }
    name = field(r, o, "name", BP__JSON_STRING, 2);
    pos = field(r, o, "position", BP__JSON_NUMBER, 0);
    kind = field(r, o, "kind", BP__JSON_STRING, 0);
    if (r->rc)
        return;
    if (name)
        c->name = copy(r, name->string);
    if (!(pos->number >= 0 && pos->number < BP__DATA_MAX_INPUTS &&
          pos->number == floor(pos->number)) ||
        (strcmp(kind->string, "text") != 0 && strcmp(kind->string, "number") != 0)) {
        r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: a column's position or kind "
                              "is not valid");
        return;
    }
    c->pos = (int)pos->number;
    c->src = -1;
    c->text = strcmp(kind->string, "text") == 0;
    if (!input)
        return;
    if (c->text) {
        c->vocab = strings(r, field(r, o, "values", BP__JSON_ARRAY, 0), 0, &c->nvocab);
        if (!r->rc && c->nvocab == 0)
            r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: a text column without "
                                  "values");
    }
    fill = o ? bp__json_get(o, "fill") : NULL;
    if (r->rc || !fill)
        return;
    c->has_fill = 1;
    if (c->text && fill->type == BP__JSON_STRING) {
        c->fill_cat = bp__r_vocab_find(c->vocab, c->nvocab, fill->string, strlen(fill->string));
        if (c->fill_cat >= 0)
            return;
    } else if (!c->text && fill->type == BP__JSON_NUMBER) {
        c->fill = fill->number;
        return;
    }
    r->rc = bp__error_set(r->err, BP_EFORMAT, "data schema: a column's fill is not valid");
}

int bp__schema_read(const char *json, bp__plan *p, bp_error *err)
{
    char msg[160];
    int code = 0;
    rd r = {NULL, err, 0};
    const bp__json *inputs, *task, *reason, *target, *header, *cols, *missing;
    bp__json *root;

    memset(p, 0, sizeof *p);
    if (!json)
        return bp__error_set(err, BP_EINVAL, "no data schema given");
    root = bp__json_parse(json, strlen(json), msg, sizeof msg, &code);
    if (!root)
        return bp__error_set(err, code, "data schema: %s", msg);
    r.root = root;
    if (root->type != BP__JSON_OBJECT) {
        r.rc = bp__error_set(err, BP_EFORMAT, "data schema: not a JSON object");
        goto done;
    }
    header = bp__json_get(root, "header");
    cols = field(&r, root, "columns", BP__JSON_NUMBER, 0);
    missing = field(&r, root, "missing", BP__JSON_STRING, 0);
    inputs = field(&r, root, "inputs", BP__JSON_ARRAY, 0);
    task = field(&r, root, "task", BP__JSON_STRING, 0);
    reason = field(&r, root, "reason", BP__JSON_STRING, 0);
    target = field(&r, root, "target", BP__JSON_OBJECT, 1);
    if (r.rc)
        goto done;
    if (!header || header->type != BP__JSON_BOOL || !(cols->number >= 2 &&
        cols->number <= BP__DATA_MAX_INPUTS) || inputs->n == 0 ||
        inputs->n > (size_t)BP__DATA_MAX_INPUTS) {
        r.rc = bp__error_set(err, BP_EFORMAT, "data schema: \"header\", \"columns\" or "
                             "\"inputs\" is not valid");
        goto done;
    }
    p->header = header->number != 0;
    p->file_cols = (int)cols->number;
    p->has_label = 1;
    p->missing = strcmp(missing->string, "drop") == 0   ? BP_MISSING_DROP
                 : strcmp(missing->string, "mean") == 0 ? BP_MISSING_MEAN
                                                        : BP_MISSING_ERROR;
    p->cols = bp__calloc(inputs->n, sizeof *p->cols);
    if (!p->cols) {
        r.rc = bp__error_set(err, BP_ENOMEM, "data schema: out of memory");
        goto done;
    }
    p->ncols = (int)inputs->n;
    for (size_t k = 0; k < inputs->n && !r.rc; k++)
        read_col(&r, &inputs->items[k], &p->cols[k], 1);
    read_col(&r, field(&r, root, "label", BP__JSON_OBJECT, 0), &p->label, 0);
    if (r.rc)
        goto done;
    for (int k = 0; k <= p->ncols; k++) {
        const bp__col *c = k < p->ncols ? &p->cols[k] : &p->label;
        if ((p->header && !c->name) || c->pos >= p->file_cols) {
            r.rc = bp__error_set(err, BP_EFORMAT, "data schema: column %d has no name or a "
                                 "position past %d", k, p->file_cols);
            goto done;
        }
    }
    snprintf(p->reason, sizeof p->reason, "%s", reason->string);
    if (strcmp(task->string, "classify") == 0) {
        p->task = BP_TASK_CLASSIFY;
        p->class_names = strings(&r, field(&r, root, "classes", BP__JSON_ARRAY, 0),
                                 !p->label.text, &p->classes);
        if (!r.rc && p->classes == 0)
            r.rc = bp__error_set(err, BP_EFORMAT, "data schema: no classes");
    } else if (strcmp(task->string, "regress") == 0) {
        p->task = BP_TASK_REGRESS;
        if (target) {
            const bp__json *m = field(&r, target, "mean", BP__JSON_NUMBER, 0);
            const bp__json *s = field(&r, target, "scale", BP__JSON_NUMBER, 0);
            if (!r.rc && (!isfinite(m->number) || !(s->number > 0) || !isfinite(s->number)))
                r.rc = bp__error_set(err, BP_EFORMAT, "data schema: the target's mean or "
                                     "scale is not valid");
            if (!r.rc) {
                p->t_scaled = 1;
                p->t_mean = m->number;
                p->t_scale = s->number;
            }
        }
    } else {
        r.rc = bp__error_set(err, BP_EFORMAT, "data schema: task '%s' is not classify or "
                             "regress", task->string);
    }
    if (r.rc)
        goto done;
    /* offsets */
    {
        long inputs_n = 0;
        for (int k = 0; k < p->ncols; k++) {
            p->cols[k].offset = (int)inputs_n;
            inputs_n += p->cols[k].text ? p->cols[k].nvocab : 1;
            if (inputs_n > BP__DATA_MAX_INPUTS) {
                r.rc = bp__error_set(err, BP_EFORMAT, "data schema: too many inputs");
                goto done;
            }
        }
        p->inputs = (int)inputs_n;
    }
done:
    bp__json_free(root);
    if (r.rc)
        bp__plan_free(p);
    return r.rc;
}

int bp_meta_get_target_scaling(const bp_meta *meta, double *mean, double *scale, bp_error *err)
{
    const char *schema = bp_meta_get(meta, "schema");
    bp__plan p;
    int rc;
    if (!schema)
        return 1;
    if ((rc = bp__schema_read(schema, &p, err)) != 0)
        return rc;
    rc = p.t_scaled ? 0 : 1;
    if (mean && !rc)
        *mean = p.t_mean;
    if (scale && !rc)
        *scale = p.t_scale;
    bp__plan_free(&p);
    return rc;
}
