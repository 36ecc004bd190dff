/*
 * util.c - code shared by the subcommands: error messages, option values
 * (numbers, comma lists, network specs, weights, losses) parsed with errors
 * that name the option and the bad value, shortest round-trip number
 * formatting and JSON output.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---------------------------------------------------------- */

static int json_errors;     /* --json was given: errors are kept for main */
static char kept[4096];     /* the errors kept, joined by "; " */

void cli_json_errors(int on)
{
    json_errors = on;
}

void cli_json_errors_flush(int rc)
{
    if (!json_errors || !kept[0])
        return;
    fprintf(stderr, "{\"%s\": ", rc ? "error" : "warning");
    cli_json_string(stderr, kept);
    fprintf(stderr, ", \"exit\": %d}\n", rc);
    kept[0] = '\0';
}

/* One message, with `tail` after it: on stderr, or kept under --json. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void message(const char *tail, const char *fmt, va_list ap)
{
    if (json_errors) {
        size_t at = strlen(kept);
        if (at > 0 && at + 2 < sizeof kept) {
            memcpy(kept + at, "; ", 3);
            at += 2;
        }
        if (at + 1 < sizeof kept)
            vsnprintf(kept + at, sizeof kept - at, fmt, ap);
        at = strlen(kept);
        snprintf(kept + at, sizeof kept - at, "%s", tail);
        return;
    }
    fputs("backprop: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s\n", tail);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char tail[64];
    va_list ap;
    snprintf(tail, sizeof tail, " (see backprop %s --help)", cmd);
    va_start(ap, fmt);
    message(tail, fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_lib_error(const char *what, int code, const bp_net *net)
{
    const char *detail = net ? bp_net_message(net) : "";
    if (detail && detail[0])
        cli_error("%s: %s (%s)", what, bp_strerror(code), detail);
    else
        cli_error("%s: %s", what, bp_strerror(code));
    return CLI_RUNTIME;
}

/* ---- numbers ----------------------------------------------------------- */

/* Parse all of s (spaces around it allowed) as a finite number. */
static int read_number(const char *s, double *out)
{
    char *end;
    double v;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (end == s)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double *out)
{
    if (read_number(s, out) != 0) {
        cli_error("%s: expected a number, got '%s'", opt, s);
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_positive(const char *opt, const char *s, double *out)
{
    if (read_number(s, out) != 0 || !(*out > 0.0)) {
        cli_error("%s: expected a positive number, got '%s'", opt, s);
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_nonneg(const char *opt, const char *s, double *out)
{
    if (read_number(s, out) != 0 || !(*out >= 0.0)) {
        cli_error("%s: expected a number >= 0, got '%s'", opt, s);
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_int(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max) {
        if (min == 1)
            cli_error("%s: expected a positive integer up to %ld, got '%s'", opt, max, s);
        else if (min == 0)
            cli_error("%s: expected an integer from 0 to %ld, got '%s'", opt, max, s);
        else
            cli_error("%s: expected an integer from %ld to %ld, got '%s'", opt, min, max, s);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_seed(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno == ERANGE) {
        cli_error("%s: expected a non-negative integer, got '%s'", opt, s);
        return CLI_USAGE;
    }
    *out = (uint64_t)v;
    return 0;
}

/* ---- lists ------------------------------------------------------------- */

/* Number of fields of s separated by sep (an empty string has one). */
static int count_fields(const char *s, char sep)
{
    int n = 1;
    for (; *s; s++)
        n += *s == sep;
    return n;
}

/* Cut the field at *p off at the next sep; advance *p past it. */
static char *next_field(char **p, char sep)
{
    char *field = *p, *cut = strchr(field, sep);
    if (cut) {
        *cut = '\0';
        *p = cut + 1;
    } else {
        *p = field + strlen(field);
    }
    return field;
}

static char *copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);
    if (c)
        memcpy(c, s, len);
    else
        cli_error("out of memory");
    return c;
}

int cli_parse_list(const char *opt, const char *s, double **out, int *n)
{
    char *buf = copy_string(s), *p = buf;
    double *v = NULL;
    int count, rc = CLI_RUNTIME;
    *out = NULL;
    *n = 0;
    if (!buf)
        goto done;
    count = count_fields(buf, ',');
    v = malloc((size_t)count * sizeof *v);
    if (!v) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < count; i++) {
        const char *field = next_field(&p, ',');
        if (read_number(field, &v[i]) != 0) {
            cli_error("%s: expected a comma-separated list of numbers, got '%s' (item %d of '%s')",
                      opt, field, i + 1, s);
            rc = CLI_USAGE;
            goto done;
        }
    }
    *out = v;
    *n = count;
    v = NULL;
    rc = 0;
done:
    free(v);
    free(buf);
    return rc;
}

/* ---- networks ---------------------------------------------------------- */

bp_net *cli_parse_net(const char *opt, const char *spec)
{
    bp_error err = {0, ""};
    bp_net *net = bp_net_parse(spec, &err);
    if (!net) {
        if (err.code == BP_ENOMEM)
            cli_error("out of memory");
        else
            cli_error("%s: %s", opt, err.message[0] ? err.message : bp_strerror(err.code));
    }
    return net;
}

/* The layers that hold weights (pools hold none). */
static int weighted_layers(const bp_net *net)
{
    int n = 0;
    for (int l = 0; l < bp_net_layers(net); l++) {
        size_t dims[4];
        n += bp_net_weight_dims(net, l, dims) > 0;
    }
    return n;
}

int cli_parse_weights(const char *opt, const char *s, bp_net *net)
{
    char *buf = copy_string(s), *p = buf;
    int L = bp_net_layers(net), weighted = weighted_layers(net), found, rc = CLI_USAGE;
    if (!buf)
        return CLI_RUNTIME;
    found = count_fields(buf, '/');
    if (found != weighted) {
        cli_error("%s: expected %d layer%s separated by '/'%s, found %d", opt, weighted,
                  weighted == 1 ? "" : "s", weighted < L ? " (one per layer with weights)" : "",
                  found);
        goto done;
    }
    for (int l = 0; l < L; l++) {
        size_t dims[4];
        int rank = bp_net_weight_dims(net, l, dims);
        if (rank == 0)
            continue;
        /* a row per output (dense) or filter (conv): its inputs, or C x K x K */
        size_t O = dims[0], I = 1;
        for (int k = 1; k < rank; k++)
            I *= dims[k];
        char *layer = next_field(&p, '/');
        float *w = bp_net_weight(net, l);
        size_t rows = (size_t)count_fields(layer, ';');
        if (rows != O) {
            cli_error("%s: layer %d: expected %zu row%s separated by ';', found %zu", opt, l, O,
                      O == 1 ? "" : "s", rows);
            goto done;
        }
        for (size_t o = 0; o < O; o++) {
            char *row = next_field(&layer, ';');
            size_t values = (size_t)count_fields(row, ',');
            if (values != I) {
                cli_error("%s: layer %d row %zu: expected %zu value%s, found %zu", opt, l, o, I,
                          I == 1 ? "" : "s", values);
                goto done;
            }
            for (size_t i = 0; i < I; i++) {
                const char *field = next_field(&row, ',');
                double v;
                if (read_number(field, &v) != 0) {
                    cli_error("%s: layer %d row %zu: expected a number, got '%s'", opt, l, o,
                              field);
                    goto done;
                }
                w[o * I + i] = (float)v;
            }
        }
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

int cli_parse_biases(const char *opt, const char *s, bp_net *net)
{
    char *buf = copy_string(s), *p = buf;
    int L = bp_net_layers(net), with_bias = 0, found, rc = CLI_USAGE;
    if (!buf)
        return CLI_RUNTIME;
    for (int l = 0; l < L; l++)
        with_bias += bp_net_bias(net, l) != NULL;
    found = count_fields(buf, '/');
    if (with_bias == 0) {
        cli_error("%s: no layer of this network has a bias", opt);
        goto done;
    }
    if (found != with_bias) {
        cli_error("%s: expected %d layer%s separated by '/' (one per layer with a bias), found %d",
                  opt, with_bias, with_bias == 1 ? "" : "s", found);
        goto done;
    }
    for (int l = 0; l < L; l++) {
        float *b = bp_net_bias(net, l);
        int O = bp_net_layer(net, l).width;
        if (!b)
            continue;
        char *layer = next_field(&p, '/');
        int values = count_fields(layer, ',');
        if (values != O) {
            cli_error("%s: layer %d: expected %d value%s, found %d", opt, l, O,
                      O == 1 ? "" : "s", values);
            goto done;
        }
        for (int o = 0; o < O; o++) {
            const char *field = next_field(&layer, ',');
            double v;
            if (read_number(field, &v) != 0) {
                cli_error("%s: layer %d: expected a number, got '%s'", opt, l, field);
                goto done;
            }
            b[o] = (float)v;
        }
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

int cli_parse_loss(const char *opt, const char *name, const bp_net *net, bp_loss *out)
{
    if (name) {
        if (bp_loss_parse(name, out) != 0) {
            cli_error("%s: unknown loss '%s' (expected mse, mae, bce or cce)", opt, name);
            return CLI_USAGE;
        }
        return 0;
    }
    switch (bp_net_layer(net, bp_net_layers(net) - 1).act) {
    case BP_ACT_SOFTMAX:
        *out = BP_LOSS_CCE;
        break;
    case BP_ACT_SIGMOID:
        *out = BP_LOSS_BCE;
        break;
    default:
        *out = BP_LOSS_MSE;
        break;
    }
    return 0;
}

/* ---- output ------------------------------------------------------------ */

const char *cli_shape(char *buf, size_t size, bp_shape s)
{
    if (s.h == 0 && s.w == 0)
        snprintf(buf, size, "%d", s.c);
    else
        snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
    return buf;
}

int cli_spec_entry(const bp_net *net, int l, char *buf, size_t size)
{
    int n = bp_net_layer_spec(net, l, buf, size);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

const char *cli_num(char *buf, double v)
{
    if (isnan(v))
        return strcpy(buf, "nan");
    if (isinf(v))
        return strcpy(buf, v < 0 ? "-inf" : "inf");
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* Whole numbers below 1e17 without an exponent: 10, not 1e+01. */
    const char *e = strchr(buf, 'e');
    if (e && e[1] == '+') {
        int exponent = atoi(e + 2);
        if (exponent < 17)
            snprintf(buf, 32, "%.*g", exponent + 1, v);
    }
    return buf;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void cli_json_number(FILE *f, double v)
{
    char buf[32];
    if (!isfinite(v))
        fputs("null", f);
    else
        fputs(cli_num(buf, v), f);
}

void cli_json_float(FILE *f, float v)
{
    char buf[32];
    if (!isfinite(v))
        fputs("null", f);
    else
        fputs(cli_fnum(buf, v), f);
}

void cli_json_array(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_json_number(f, v[i]);
    }
    fputc(']', f);
}

const char *cli_fnum(char *buf, float v)
{
    if (!isfinite(v))
        return cli_num(buf, (double)v);
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, 32, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    const char *e = strchr(buf, 'e');
    if (e && e[1] == '+') {
        int exponent = atoi(e + 2);
        if (exponent < 9)
            snprintf(buf, 32, "%.*g", exponent + 1, (double)v);
    }
    return buf;
}

void cli_json_farray(FILE *f, const float *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_json_float(f, v[i]);
    }
    fputc(']', f);
}
