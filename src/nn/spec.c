/*
 * spec.c - the network spec string: the input width, then one entry per
 * dense layer, WIDTH[:ACTIVATION][:nobias|:bias], separated by commas, e.g.
 * "784,256:relu,128:relu,10:softmax". A missing activation means identity;
 * leaky_relu takes its slope as "leaky_relu=0.2". Blanks around entries are
 * ignored. Errors name the entry and what was expected.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH (1 << 24)
#define MAX_LAYERS 1024
#define ACT_LIST "identity, relu, leaky_relu, sigmoid, tanh or softmax"

/* Parse a positive width from [s, e). */
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

/* Parse one layer entry [s, e) into d. */
static int parse_layer(const char *s, const char *e, int index, bp_layer_desc *d,
                       bp_error *err)
{
    const char *p = s;
    int field = 0, w;
    d->width = 0;
    d->act = BP_ACT_IDENTITY;
    d->bias = 1;
    d->slope = 0.0f;
    while (p <= e) {
        const char *q = p;
        while (q < e && *q != ':')
            q++;
        const char *fs = p, *fe = q;
        trim(&fs, &fe);
        char word[64];
        size_t len = (size_t)(fe - fs);
        if (field == 0) {
            int rc = parse_width(fs, fe, &w);
            if (rc != 0)
                return bp__error_set(err, BP_ESPEC,
                                     "layer %d ('%.*s'): width must be an integer from 1 to %d, got '%.*s'",
                                     index, (int)(e - s), s, MAX_WIDTH, (int)len, fs);
            d->width = w;
        } else {
            if (len == 0 || len >= sizeof word)
                return bp__error_set(err, BP_ESPEC,
                                     "layer %d ('%.*s'): empty or overlong field %d",
                                     index, (int)(e - s), s, field + 1);
            memcpy(word, fs, len);
            word[len] = '\0';
            char *eq = strchr(word, '=');
            if (eq)
                *eq = '\0';
            bp_act act;
            if (field >= 1 && strcmp(word, "nobias") == 0 && !eq) {
                d->bias = 0;
            } else if (field >= 1 && strcmp(word, "bias") == 0 && !eq) {
                d->bias = 1;
            } else if (field == 1 && bp_act_parse(word, &act) == 0) {
                d->act = act;
                if (eq) {
                    char *end;
                    errno = 0;
                    double slope = strtod(eq + 1, &end);
                    if (act != BP_ACT_LEAKY_RELU)
                        return bp__error_set(err, BP_ESPEC,
                                             "layer %d ('%.*s'): only leaky_relu takes a parameter",
                                             index, (int)(e - s), s);
                    if (end == eq + 1 || *end != '\0' || errno || !isfinite(slope) ||
                        slope <= 0.0 || slope >= 1.0)
                        return bp__error_set(err, BP_ESPEC,
                                             "layer %d ('%.*s'): leaky_relu slope must be a number in (0, 1), got '%s'",
                                             index, (int)(e - s), s, eq + 1);
                    d->slope = (float)slope;
                }
            } else {
                return bp__error_set(err, BP_ESPEC,
                                     "layer %d ('%.*s'): unknown %s '%.*s' (expected %s)",
                                     index, (int)(e - s), s,
                                     field == 1 ? "activation" : "option", (int)len, fs,
                                     field == 1 ? ACT_LIST : "nobias or bias");
            }
        }
        field++;
        if (field > 3)
            return bp__error_set(err, BP_ESPEC,
                                 "layer %d ('%.*s'): too many fields (expected WIDTH:ACTIVATION[:nobias])",
                                 index, (int)(e - s), s);
        p = q + 1;
    }
    return 0;
}

int bp__spec_parse(const char *spec, int *inputs, int *n_layers,
                   bp_layer_desc **layers, bp_error *err)
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
            if (parse_width(s, e, inputs) != 0) {
                rc = bp__error_set(err, BP_ESPEC,
                                   "network spec '%s': the input width must be an integer from 1 to %d, got '%.*s'",
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
