/*
 * spec.c - the network spec string: the input's shape (a width, or CxHxW
 * for images), then one entry per layer, separated by commas, e.g.
 * "784,256:relu,128:relu,10:softmax" or
 * "1x28x28,conv:32:3:relu:same,maxpool:2,128:relu,10:softmax".
 *
 * An entry is a dense layer's width, an activation's name standing alone
 * ("relu", "leaky_relu=0.2"), or a kind's word (nn/layer.c's table)
 * followed by the counts the kind takes (conv: filters, then kernel; the
 * pools: kernel; dropout: its probability); then options in any order: an
 * activation (identity when none; leaky_relu takes its slope as
 * "leaky_relu=0.2"), nobias, same, pad=P, stride=S, momentum=M, eps=E, as
 * the kind takes them. Blanks around entries are ignored. Errors name the
 * entry and what was expected.
 */
#include "nn/layer.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH (1 << 24)
#define MAX_LAYERS 1024
#define ACT_LIST "identity, relu, leaky_relu, sigmoid, tanh or softmax"

/* Parse a positive integer of at most MAX_WIDTH from [s, e). */
static int parse_width(const char *s, const char *e, int *out)
{
    long v = 0;
    if (s == e)
        return -1;
    for (const char *p = s; p < e; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > MAX_WIDTH)
            return -2;
    }
    if (v <= 0)
        return -1;
    *out = (int)v;
    return 0;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* The kinds' words, for messages: "conv, maxpool or avgpool". */
static void kind_words(char *buf, size_t size)
{
    int n, used = 0, k = 0;
    const bp__kind *const *kinds = bp__kinds(&n);
    buf[0] = '\0';
#define NAMED(K) ((K)->word && !((K)->takes & BP__ACT_WORD))
    for (int i = 0; i < n; i++) {
        if (!NAMED(kinds[i]))
            continue;
        int left = 0;
        for (int j = i + 1; j < n; j++)
            left += NAMED(kinds[j]);
        int w = snprintf(buf + used, size - (size_t)used, "%s%s", k == 0 ? "" : left ? ", " : " or ",
                         kinds[i]->word);
        if (w < 0 || (size_t)(used + w) >= size)
            return;
        used += w;
        k++;
    }
#undef NAMED
}

/* How many counts (a width, a kernel) a kind's entry takes after its word. */
static int kind_counts(const bp__kind *K)
{
    return !!(K->takes & BP__TAKES_WIDTH) + !!(K->takes & BP__TAKES_KERNEL) +
           !!(K->takes & BP__TAKES_RATE);
}

/* A finite number from the NUL-terminated s, into *out; -1 when s is not one. */
static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* A leaky_relu slope from s into d, or the entry's error. */
#define ENTRY_ERR(...) bp__error_set(err, BP_ESPEC, "layer %d ('%.*s'): " __VA_ARGS__)
static int parse_slope(const char *val, bp_layer_desc *d, int index, const char *s,
                       const char *e, bp_error *err)
{
    double slope;
    if (parse_number(val, &slope) != 0 || slope <= 0.0 || slope >= 1.0)
        return ENTRY_ERR("leaky_relu slope must be a number in (0, 1), got '%s'", index,
                         (int)(e - s), s, val);
    d->slope = (float)slope;
    return 0;
}

/* Parse one option field `word` (value after '=' in `val`, or NULL) into d. */
static int parse_option(const bp__kind *K, const char *word, const char *val, bp_layer_desc *d,
                        int first, int index, const char *s, const char *e, bp_error *err)
{
    const int n = (int)(e - s);
    bp_act act;
    int v;
    if ((K->takes & BP__TAKES_BIAS) && !val && strcmp(word, "nobias") == 0) {
        d->bias = 0;
    } else if ((K->takes & BP__TAKES_BIAS) && !val && strcmp(word, "bias") == 0) {
        d->bias = 1;
    } else if ((K->takes & BP__TAKES_PAD) && !val && strcmp(word, "same") == 0) {
        d->pad = BP_PAD_SAME;
    } else if ((K->takes & (BP__TAKES_PAD | BP__TAKES_STRIDE)) && val &&
               (strcmp(word, "pad") == 0 || strcmp(word, "stride") == 0)) {
        const int is_pad = word[0] == 'p';
        if (!(K->takes & (is_pad ? BP__TAKES_PAD : BP__TAKES_STRIDE)))
            return ENTRY_ERR("a %s layer takes no %s", index, n, s, K->word, word);
        if (strcmp(val, "0") == 0 && is_pad)
            v = 0;
        else if (parse_width(val, val + strlen(val), &v) != 0)
            return ENTRY_ERR("%s must be an integer from %d to %d, got '%s'", index, n, s, word,
                             is_pad ? 0 : 1, MAX_WIDTH, val);
        if (is_pad)
            d->pad = v;
        else
            d->stride = v;
    } else if ((K->takes & BP__TAKES_ACT) && bp_act_parse(word, &act) == 0) {
        d->act = act;
        if (val) {
            if (act != BP_ACT_LEAKY_RELU)
                return ENTRY_ERR("only leaky_relu takes a parameter", index, n, s);
            if (parse_slope(val, d, index, s, e, err) != 0)
                return BP_ESPEC;
        }
    } else if ((K->takes & BP__TAKES_NORM) && val &&
               (strcmp(word, "momentum") == 0 || strcmp(word, "eps") == 0)) {
        double x;
        const int is_m = word[0] == 'm';
        if (parse_number(val, &x) != 0 || !(is_m ? x > 0.0 && x <= 1.0 : x > 0.0))
            return ENTRY_ERR("%s must be a number in %s, got '%s'", index, n, s, word,
                             is_m ? "(0, 1]" : "(0, inf)", val);
        if (is_m)
            d->momentum = x;
        else
            d->eps = x;
    } else {
        if (first && (K->takes & BP__TAKES_ACT) && !val)
            return ENTRY_ERR("unknown activation '%s' (expected " ACT_LIST ")", index, n, s, word);
        char expected[160];
        int used = 0;
        expected[0] = '\0';
#define EXPECT(cond, text)                                                                     \
    if (cond)                                                                                  \
    used += snprintf(expected + used, sizeof expected - (size_t)used, "%s%s", used ? ", " : "", \
                     text)
        EXPECT(K->takes & BP__TAKES_ACT, "an activation (" ACT_LIST ")");
        EXPECT(K->takes & BP__TAKES_BIAS, "nobias");
        EXPECT(K->takes & BP__TAKES_PAD, "same, pad=P");
        EXPECT(K->takes & BP__TAKES_STRIDE, "stride=S");
        EXPECT(K->takes & BP__TAKES_NORM, "momentum=M, eps=E");
#undef EXPECT
        if (val)
            return ENTRY_ERR("unknown option '%s=%s' (expected %s)", index, n, s, word, val,
                             expected);
        return ENTRY_ERR("unknown option '%s' (expected %s)", index, n, s, word, expected);
    }
    return 0;
}

/* Parse one layer entry [s, e) into d. */
static int parse_layer(const char *s, const char *e, int index, bp_layer_desc *d,
                       bp_error *err)
{
    const char *p = s;
    const int n = (int)(e - s);
    int field = 0, counts = 0;
    const bp__kind *K = NULL;
    memset(d, 0, sizeof *d);
    d->act = BP_ACT_IDENTITY;
    d->bias = 1;
    while (p <= e) {
        const char *q = p;
        while (q < e && *q != ':')
            q++;
        const char *fs = p, *fe = q;
        trim(&fs, &fe);
        size_t len = (size_t)(fe - fs);
        if (field == 0) {
            /* An activation standing alone, a width (dense) or a kind's word. */
            char name[32];
            const char *eq = memchr(fs, '=', len);
            const size_t nl = eq ? (size_t)(eq - fs) : len;
            bp_act act;
            K = len > 0 && isalpha((unsigned char)*fs) ? bp__kind_by_word(fs, len) : NULL;
            if (K && (K->takes & BP__ACT_WORD))
                K = NULL; /* written by its activation's name */
            if (nl < sizeof name) {
                memcpy(name, fs, nl);
                name[nl] = '\0';
            }
            if (!K && nl < sizeof name && bp_act_parse(name, &act) == 0) {
                K = bp__kind_of(BP_LAYER_ACT);
                d->act = act;
                if (eq) {
                    char val[32];
                    const size_t vl = (size_t)(fe - eq - 1);
                    if (act != BP_ACT_LEAKY_RELU)
                        return ENTRY_ERR("only leaky_relu takes a parameter", index, n, s);
                    if (vl >= sizeof val)
                        return ENTRY_ERR("leaky_relu slope must be a number in (0, 1)", index,
                                         n, s);
                    memcpy(val, eq + 1, vl);
                    val[vl] = '\0';
                    if (parse_slope(val, d, index, s, e, err) != 0)
                        return BP_ESPEC;
                }
            }
            if (!K) {
                char words[64];
                kind_words(words, sizeof words);
                if (parse_width(fs, fe, &d->width) != 0) {
                    if (len > 0 && isalpha((unsigned char)*fs) && words[0])
                        return ENTRY_ERR("width must be an integer from 1 to %d or a layer "
                                         "kind (%s), got '%.*s'",
                                         index, n, s, MAX_WIDTH, words, (int)len, fs);
                    return ENTRY_ERR("width must be an integer from 1 to %d, got '%.*s'", index,
                                     n, s, MAX_WIDTH, (int)len, fs);
                }
                K = bp__kind_of(BP_LAYER_DENSE);
                counts = 1;
            }
            d->kind = K->id;
        } else if (K->takes & BP__ACT_WORD) {
            /* leaky_relu:SLOPE, the slope as its own field */
            char val[32];
            if (field > 1 || d->act != BP_ACT_LEAKY_RELU || d->slope != 0.0f)
                return ENTRY_ERR("an activation layer takes no options", index, n, s);
            if (len == 0 || len >= sizeof val)
                return ENTRY_ERR("leaky_relu slope must be a number in (0, 1)", index, n, s);
            memcpy(val, fs, len);
            val[len] = '\0';
            if (parse_slope(val, d, index, s, e, err) != 0)
                return BP_ESPEC;
        } else if ((K->takes & BP__TAKES_RATE) && counts == 0) {
            /* dropout's probability */
            char val[32];
            double r;
            if (len >= sizeof val)
                len = sizeof val - 1;
            memcpy(val, fs, len);
            val[len] = '\0';
            if (parse_number(val, &r) != 0 || !(r >= 0.0 && r < 1.0))
                return ENTRY_ERR("the probability must be a number in [0, 1), got '%.*s' "
                                 "(expected %s:P)", index, n, s, (int)len, fs, K->word);
            d->rate = r;
            counts++;
        } else if (counts < kind_counts(K)) {
            /* The counts the kind takes, in order: width, then kernel. */
            const int is_width = counts == 0 && (K->takes & BP__TAKES_WIDTH);
            int v;
            if (parse_width(fs, fe, &v) != 0)
                return ENTRY_ERR("%s must be an integer from 1 to %d, got '%.*s' (expected %s:%s)",
                                 index, n, s, is_width ? "the filter count" : "the kernel size",
                                 MAX_WIDTH, (int)len, fs, K->word,
                                 K->takes & BP__TAKES_WIDTH ? "OUT:K" : "K");
            if (is_width)
                d->width = v;
            else
                d->kernel = v;
            counts++;
        } else {
            char word[64];
            if (len == 0 || len >= sizeof word)
                return ENTRY_ERR("empty or overlong field %d", index, n, s, field + 1);
            memcpy(word, fs, len);
            word[len] = '\0';
            char *eq = strchr(word, '=');
            if (eq)
                *eq++ = '\0';
            int rc = parse_option(K, word, eq, d, field == counts + (K->word != NULL), index, s, e,
                                  err);
            if (rc != 0)
                return rc;
        }
        field++;
        if (field > 8)
            return ENTRY_ERR("too many fields", index, n, s);
        if (K->id == BP_LAYER_DENSE && field > 3)
            return ENTRY_ERR("too many fields (expected WIDTH:ACTIVATION[:nobias])", index, n, s);
        p = q + 1;
    }
    if (counts < kind_counts(K))
        return ENTRY_ERR("expected %s:%s", index, n, s, K->word,
                         K->takes & BP__TAKES_RATE    ? "P"
                         : K->takes & BP__TAKES_WIDTH ? "OUT:K"
                                                      : "K");
    return 0;
}

/* The input's shape from [s, e): "784" or "1x28x28". */
static int parse_shape(const char *s, const char *e, bp_shape *shape)
{
    const char *x1 = memchr(s, 'x', (size_t)(e - s));
    if (!x1) {
        shape->h = shape->w = 0;
        return parse_width(s, e, &shape->c);
    }
    const char *x2 = memchr(x1 + 1, 'x', (size_t)(e - x1 - 1));
    if (!x2 || parse_width(s, x1, &shape->c) != 0 || parse_width(x1 + 1, x2, &shape->h) != 0 ||
        parse_width(x2 + 1, e, &shape->w) != 0)
        return -1;
    return bp_shape_size(*shape) <= (size_t)MAX_WIDTH ? 0 : -1;
}

int bp__spec_parse(const char *spec, bp_shape *input, int *n_layers, bp_layer_desc **layers,
                   bp_error *err)
{
    bp_layer_desc *descs = NULL;
    int count = 0, rc = 0;
    const char *p, *end;

    *layers = NULL;
    if (!spec)
        return bp__error_set(err, BP_ESPEC, "no network spec given");
    end = spec + strlen(spec);
    /* Count entries to size the array once. */
    int entries = 1;
    for (p = spec; *p; p++)
        entries += *p == ',';
    if (entries < 2)
        return bp__error_set(err, BP_ESPEC,
                             "network spec '%s' needs the input width and at least one layer, "
                             "e.g. '2,3:relu,1:sigmoid'", spec);
    if (entries - 1 > MAX_LAYERS)
        return bp__error_set(err, BP_ESPEC, "network spec has %d layers; at most %d are allowed",
                             entries - 1, MAX_LAYERS);
    descs = bp__calloc((size_t)entries - 1, sizeof *descs);
    if (!descs)
        return bp__error_set(err, BP_ENOMEM, "out of memory parsing the network spec");

    p = spec;
    for (int i = 0; i < entries; i++) {
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *s = p, *e = q;
        trim(&s, &e);
        if (s == e) {
            rc = bp__error_set(err, BP_ESPEC, "network spec '%s': entry %d is empty", spec, i + 1);
            goto fail;
        }
        if (i == 0) {
            if (parse_shape(s, e, input) != 0) {
                rc = bp__error_set(err, BP_ESPEC,
                                   "network spec '%s': the input must be a width or CxHxW "
                                   "(e.g. 784 or 1x28x28), each side an integer from 1 to %d, "
                                   "got '%.*s'",
                                   spec, MAX_WIDTH, (int)(e - s), s);
                goto fail;
            }
        } else {
            rc = parse_layer(s, e, i, &descs[count], err);
            if (rc != 0)
                goto fail;
            count++;
        }
        p = q + 1;
    }
    *n_layers = count;
    *layers = descs;
    return 0;
fail:
    bp__free(descs);
    return rc;
}

void bp__spec_shape(bp_shape s, char *buf, size_t size)
{
    if (s.h == 0 && s.w == 0)
        snprintf(buf, size, "%d", s.c);
    else
        snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
}

/* The shortest decimal of v that reads back to v. */
static void shortest(double v, char *buf, size_t size)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void bp__spec_entry(const bp_layer_desc *d, char *buf, size_t size)
{
    const bp__kind *K = bp__kind_of(d->kind);
    int used = 0, w;
#define PUT(...)                                                                 \
    do {                                                                         \
        w = snprintf(buf + used, size - (size_t)used, __VA_ARGS__);              \
        if (w < 0 || (size_t)(used + w) >= size)                                 \
            return;                                                              \
        used += w;                                                               \
    } while (0)
    if (size == 0)
        return;
    buf[0] = '\0';
    if (!K) {
        PUT("kind %d", (int)d->kind);
        return;
    }
    if (K->takes & BP__ACT_WORD) {
        PUT("%s", bp_act_name(d->act) ? bp_act_name(d->act) : "?");
        if (d->act == BP_ACT_LEAKY_RELU && d->slope != 0.0f &&
            d->slope != BP_LEAKY_SLOPE_DEFAULT)
            PUT("=%g", (double)d->slope);
        return;
    }
    if (K->takes & (BP__TAKES_RATE | BP__TAKES_NORM)) {
        char num[32];
        PUT("%s", K->word);
        if (K->takes & BP__TAKES_RATE) {
            shortest(d->rate, num, sizeof num);
            PUT(":%s", num);
        }
        if ((K->takes & BP__TAKES_NORM) && d->momentum != 0.0 && d->momentum != BP__BN_MOMENTUM) {
            shortest(d->momentum, num, sizeof num);
            PUT(":momentum=%s", num);
        }
        if ((K->takes & BP__TAKES_NORM) && d->eps != 0.0 && d->eps != BP__BN_EPS) {
            shortest(d->eps, num, sizeof num);
            PUT(":eps=%s", num);
        }
        return;
    }
    if (K->word)
        PUT("%s:", K->word);
    if (K->takes & BP__TAKES_WIDTH)
        PUT("%d", d->width);
    if (K->takes & BP__TAKES_KERNEL)
        PUT("%s%d", K->takes & BP__TAKES_WIDTH ? ":" : "", d->kernel);
    if ((K->takes & BP__TAKES_ACT) && (K->id == BP_LAYER_DENSE || d->act != BP_ACT_IDENTITY)) {
        PUT(":%s", bp_act_name(d->act) ? bp_act_name(d->act) : "?");
        if (d->act == BP_ACT_LEAKY_RELU && d->slope != 0.0f &&
            d->slope != BP_LEAKY_SLOPE_DEFAULT)
            PUT("=%g", (double)d->slope);
    }
    if ((K->takes & BP__TAKES_PAD) && d->pad == BP_PAD_SAME)
        PUT(":same");
    else if ((K->takes & BP__TAKES_PAD) && d->pad > 0)
        PUT(":pad=%d", d->pad);
    if ((K->takes & BP__TAKES_STRIDE) && d->stride > 0 &&
        d->stride != (K->takes & BP__TAKES_WIDTH ? 1 : d->kernel))
        PUT(":stride=%d", d->stride);
    if ((K->takes & BP__TAKES_BIAS) && !d->bias)
        PUT(":nobias");
#undef PUT
}
