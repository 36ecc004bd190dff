/*
 * explain_weight.c - `backprop explain` for networks of any layer kind: one
 * weight named by --weight, its slope and the products of three factors it
 * sums (one for a dense weight, one per position of a convolution's filter
 * on its input, from bp_explain_terms), and the per-layer summary shown
 * instead of the full breakdown when a network has conv or pool layers.
 */
#include "explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Products shown for one weight, the largest by size; and slopes shown per
 * layer in the summary. */
#define SHOWN_TERMS 8
#define SHOWN_SLOPES 3

int explain_all_dense(const bp_net *net)
{
    for (int l = 0; l < bp_net_layers(net); l++)
        if (bp_net_layer(net, l).kind != BP_LAYER_DENSE)
            return 0;
    return 1;
}

/* The shape of layer l's input (l = 0: the network's) and output. */
static bp_shape shape_in(const bp_net *net, int l)
{
    return l == 0 ? bp_net_input_shape(net) : bp_net_layer_shape(net, l - 1);
}

/* "[i]" for a flat shape, "[c,y,x]" for a spatial one. */
static void position(char *buf, size_t size, bp_shape s, size_t i)
{
    if (s.h == 0 && s.w == 0)
        snprintf(buf, size, "[%zu]", i);
    else
        snprintf(buf, size, "[%zu,%zu,%zu]", i / ((size_t)s.h * (size_t)s.w),
                 i / (size_t)s.w % (size_t)s.h, i % (size_t)s.w);
}

/* The same as a JSON array. */
static void json_position(bp_shape s, size_t i)
{
    if (s.h == 0 && s.w == 0)
        printf("[%zu]", i);
    else
        printf("[%zu, %zu, %zu]", i / ((size_t)s.h * (size_t)s.w), i / (size_t)s.w % (size_t)s.h,
               i % (size_t)s.w);
}

/* "[4, 1, 3, 3] (OUT, C, K, K)" or "[3, 2] (O, I)". */
static void dims_text(char *buf, size_t size, const bp_net *net, int l)
{
    size_t dims[4];
    int rank = bp_net_weight_dims(net, l, dims), at = snprintf(buf, size, "[");
    for (int k = 0; k < rank && at > 0 && (size_t)at < size; k++)
        at += snprintf(buf + at, size - (size_t)at, "%s%zu", k ? ", " : "", dims[k]);
    if (at > 0 && (size_t)at < size)
        snprintf(buf + at, size - (size_t)at, "] %s",
                 rank == 4 ? "(OUT, C, K, K)" : "(O, I)");
}

void explain_weight_label(char *buf, size_t size, const bp_net *net, int l, size_t w)
{
    size_t dims[4], n = 1;
    int rank = bp_net_weight_dims(net, l, dims);
    int at = snprintf(buf, size, "w[%d]", l);
    for (int k = 0; k < rank; k++)
        n *= dims[k];
    for (int k = 0; k < rank && at > 0 && (size_t)at < size; k++) {
        n /= dims[k];
        at += snprintf(buf + at, size - (size_t)at, "[%zu]", w / n);
        w %= n;
    }
}

int explain_weight_parse(const char *arg, const bp_net *net, explain_weight *out)
{
    char entry[256], shape[128], *end;
    const char *p = arg;
    size_t dims[4], idx[4], total = 1;
    int n = 0, rank, L = bp_net_layers(net);
    long l = strtol(p, &end, 10);
    if (end == p || *end != ':' || l < 0) {
        cli_error("--weight: expected LAYER:INDEX, e.g. 0:3,0,1,2 or 0:7, got '%s'", arg);
        return CLI_USAGE;
    }
    if (l >= L) {
        cli_error("--weight %s: the network has layers 0 to %d", arg, L - 1);
        return CLI_USAGE;
    }
    if (cli_spec_entry(net, (int)l, entry, sizeof entry) != 0)
        snprintf(entry, sizeof entry, "%s", bp_layer_kind_name(bp_net_layer(net, (int)l).kind));
    if ((rank = bp_net_weight_dims(net, (int)l, dims)) == 0) {
        cli_error("--weight %s: layer %ld (%s) has no weights", arg, l, entry);
        return CLI_USAGE;
    }
    for (int k = 0; k < rank; k++)
        total *= dims[k];
    dims_text(shape, sizeof shape, net, (int)l);
    p = end + 1;
    int paren = *p == '(' || *p == '[';
    p += paren;
    for (;;) {
        if (!(*p >= '0' && *p <= '9') || n == 4) {
            n = -1;
            break;
        }
        unsigned long long v = strtoull(p, &end, 10);
        idx[n++] = (size_t)v;
        p = end;
        if (*p != ',')
            break;
        p++;
    }
    if (n > 0 && paren)
        n = (*p == ')' || *p == ']') ? (p++, n) : -1;
    if (n < 0 || *p != '\0' || (n != 1 && n != rank)) {
        cli_error("--weight %s: layer %ld's weights have shape %s: give %d indices, as "
                  "%ld:%s, or one flat index from 0 to %zu",
                  arg, l, shape, rank, l, rank == 4 ? "OUT,C,KY,KX" : "O,I", total - 1);
        return CLI_USAGE;
    }
    if (n == 1) {
        if (idx[0] >= total) {
            cli_error("--weight %s: index %zu is outside layer %ld's %zu weights of shape %s "
                      "(0 to %zu)",
                      arg, idx[0], l, total, shape, total - 1);
            return CLI_USAGE;
        }
        out->index = idx[0];
    } else {
        size_t flat = 0;
        for (int k = 0; k < rank; k++) {
            static const char *const conv_names[] = {"OUT", "C", "KY", "KX"};
            static const char *const dense_names[] = {"O", "I"};
            const char *name = rank == 4 ? conv_names[k] : dense_names[k < 2 ? k : 1];
            if (idx[k] >= dims[k]) {
                cli_error("--weight %s: %s is %zu, outside layer %ld's weights of shape %s: %s "
                          "goes from 0 to %zu",
                          arg, name, idx[k], l, shape, name, dims[k] - 1);
                return CLI_USAGE;
            }
            flat = flat * dims[k] + idx[k];
        }
        out->index = flat;
    }
    out->layer = (int)l;
    return CLI_OK;
}

/* One product of a weight's slope: input node i, output node o. */
typedef struct term {
    size_t i, o;
    double product;
} term;

static int by_size(const void *a, const void *b)
{
    double x = fabs(((const term *)a)->product), y = fabs(((const term *)b)->product);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The products of weight w of layer l, the largest first, into *out
 * (malloc'd); returns their count, or (size_t)-1 when out of memory. */
static size_t terms_of(const bp_net *net, const bp_explain_layer *E, int l, size_t w, term **out)
{
    size_t n = bp_explain_terms(net, l, w, 0, NULL);
    size_t *io = malloc((n ? 2 * n : 1) * sizeof *io);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!io || !*out) {
        free(io);
        free(*out);
        *out = NULL;
        cli_error("out of memory");
        return (size_t)-1;
    }
    bp_explain_terms(net, l, w, n, io);
    for (size_t j = 0; j < n; j++) {
        term *t = &(*out)[j];
        t->i = io[2 * j];
        t->o = io[2 * j + 1];
        t->product = E->input[t->i] * E->dnode[t->o] * E->dact[t->o];
    }
    free(io);
    qsort(*out, n, sizeof **out, by_size);
    return n;
}

int explain_weight_text(bp_net *net, const bp_explain *ex, const explain_weight *w)
{
    const int l = w->layer, L = ex->n_layers;
    const bp_explain_layer *E = &ex->layers[l];
    const char *dname = E->combined ? "dL/dz" : "dL/dnode";
    char label[96], entry[256], shape[128], in[16], out[16], n1[32], n2[32], n3[32], n4[32];
    term *t;
    size_t n = terms_of(net, E, l, w->index, &t);
    if (n == (size_t)-1)
        return CLI_RUNTIME;
    explain_weight_label(label, sizeof label, net, l, w->index);
    if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
        entry[0] = '\0';
    dims_text(shape, sizeof shape, net, l);
    explain_node_name(in, sizeof in, l - 1, L);
    explain_node_name(out, sizeof out, l, L);
    printf("\nWeight %s of layer %d (%s), weights %s\n", label, l, entry, shape);
    printf("  value %s\n", cli_fnum(n1, bp_net_weight(net, l)[w->index]));
    printf("  slope dL/dw = %s, the sum of %zu product%s value x %s x act'%s\n",
           explain_fig(n1, E->grad_w[w->index]), n, n == 1 ? "" : "s", dname,
           bp_net_layer(net, l).kind == BP_LAYER_CONV
               ? ",\n  one per position of the filter on the input"
               : "");
    if (E->combined)
        printf("  (softmax: %s is the loss's slope for the node's input z, and act' is 1)\n",
               dname);
    if (n > 0) {
        size_t shown = n < SHOWN_TERMS ? n : SHOWN_TERMS;
        bp_shape si = shape_in(net, l), so = bp_net_layer_shape(net, l);
        double rest = 0.0;
        printf("  %s:\n", n > shown ? "the largest by size"
                         : n > 1   ? "the products, largest first"
                                   : "the product");
        printf("    %-14s  %-14s  %14s  %14s  %14s  %14s\n", "input node", "output node",
               "input value", dname, "act'", "product");
        for (size_t j = 0; j < shown; j++) {
            char a[96], b[96], pa[72], pb[72];
            position(pa, sizeof pa, si, t[j].i);
            position(pb, sizeof pb, so, t[j].o);
            snprintf(a, sizeof a, "%s%s", in, pa);
            snprintf(b, sizeof b, "%s%s", out, pb);
            printf("    %-14s  %-14s  %14s  %14s  %14s  %14s\n", a, b,
                   explain_fig(n1, E->input[t[j].i]), explain_fig(n2, E->dnode[t[j].o]),
                   explain_fig(n3, E->dact[t[j].o]), explain_fig(n4, t[j].product));
        }
        for (size_t j = shown; j < n; j++)
            rest += t[j].product;
        if (n > shown)
            printf("    and %zu more, together %s\n", n - shown, explain_fig(n1, rest));
    }
    free(t);
    return CLI_OK;
}

int explain_weight_json(bp_net *net, const bp_explain *ex, const explain_weight *w)
{
    const int l = w->layer;
    const bp_explain_layer *E = &ex->layers[l];
    size_t dims[4], rest = w->index, count = 1;
    int rank = bp_net_weight_dims(net, l, dims);
    bp_shape si = shape_in(net, l), so = bp_net_layer_shape(net, l);
    term *t;
    size_t n = terms_of(net, E, l, w->index, &t);
    if (n == (size_t)-1)
        return CLI_RUNTIME;
    for (int k = 0; k < rank; k++)
        count *= dims[k];
    printf(",\n \"weight\": {\"layer\": %d, \"flat\": %zu, \"index\": [", l, w->index);
    for (int k = 0; k < rank; k++) {
        count /= dims[k];
        printf("%s%zu", k ? ", " : "", rest / count);
        rest %= count;
    }
    printf("], \"weight_dims\": [");
    for (int k = 0; k < rank; k++)
        printf("%s%zu", k ? ", " : "", dims[k]);
    printf("], \"value\": ");
    cli_json_float(stdout, bp_net_weight(net, l)[w->index]);
    printf(", \"slope\": ");
    explain_json_fig(E->grad_w[w->index]);
    printf(", \"terms\": %zu, \"largest\": [", n);
    for (size_t j = 0; j < n && j < SHOWN_TERMS; j++) {
        printf("%s\n   {\"input\": ", j ? "," : "");
        json_position(si, t[j].i);
        printf(", \"output\": ");
        json_position(so, t[j].o);
        printf(", \"value\": ");
        explain_json_fig(E->input[t[j].i]);
        printf(", \"dnode\": ");
        explain_json_fig(E->dnode[t[j].o]);
        printf(", \"dact\": ");
        explain_json_fig(E->dact[t[j].o]);
        printf(", \"product\": ");
        explain_json_fig(t[j].product);
        printf("}");
    }
    printf("]}");
    free(t);
    return CLI_OK;
}

/* The largest |slope| weights of layer l, up to SHOWN_SLOPES, as lines. */
static void print_largest_slopes(bp_net *net, const bp_explain_layer *E, int l)
{
    size_t best[SHOWN_SLOPES], nb = 0;
    for (size_t w = 0; w < E->weights; w++) {
        size_t k = nb < SHOWN_SLOPES ? nb++ : SHOWN_SLOPES;
        if (k == SHOWN_SLOPES && !(fabs(E->grad_w[w]) > fabs(E->grad_w[best[k - 1]])))
            continue;
        if (k == SHOWN_SLOPES)
            k--;
        while (k > 0 && fabs(E->grad_w[w]) > fabs(E->grad_w[best[k - 1]])) {
            best[k] = best[k - 1];
            k--;
        }
        best[k] = w;
    }
    for (size_t j = 0; j < nb; j++) {
        char label[96], n1[32], n2[32];
        size_t terms = bp_explain_terms(net, l, best[j], 0, NULL);
        explain_weight_label(label, sizeof label, net, l, best[j]);
        printf("    %-22s = %-12s slope %s (%zu product%s)\n", label,
               cli_fnum(n1, bp_net_weight(net, l)[best[j]]), explain_fig(n2, E->grad_w[best[j]]),
               terms, terms == 1 ? "" : "s");
    }
}

void explain_summary_forward(bp_net *net, const bp_explain *ex, bp_loss loss, const float *t,
                             int T)
{
    const int L = ex->n_layers;
    char shape[64], entry[256], name[16], n1[32];
    printf("Forward pass\n  input:  x %s\n", cli_shape(shape, sizeof shape,
                                                        bp_net_input_shape(net)));
    for (int l = 0; l < L; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
            entry[0] = '\0';
        explain_node_name(name, sizeof name, l, L);
        printf("  layer %d (%s): %s %s", l, entry, name,
               cli_shape(shape, sizeof shape, bp_net_layer_shape(net, l)));
        if (E->outputs <= 16) {
            printf(" =");
            for (int o = 0; o < E->outputs; o++)
                printf(" %s", explain_fig(n1, E->value[o]));
        }
        printf("\n");
    }
    printf("  target:");
    for (int k = 0; k < T; k++)
        printf(T == 1 && ex->layers[L - 1].outputs > 1 ? "  class %s" : "  %s", cli_fnum(n1, t[k]));
    printf("\n  loss: %s = %s\n", bp_loss_name(loss), explain_fig(n1, ex->loss));
}

void explain_summary_backward(bp_net *net, const bp_explain *ex)
{
    const int L = ex->n_layers;
    char entry[256], dims[128];
    int example = -1;
    printf("\nBackward pass, from the output back: each layer's largest slopes. A slope\n"
           "sums value x dL/dnode x act' over the products its weight takes part in:\n"
           "one for a dense weight, one per position of a filter on its input for a\n"
           "convolution's.\n");
    for (int l = L - 1; l >= 0; l--) {
        const bp_explain_layer *E = &ex->layers[l];
        if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
            entry[0] = '\0';
        if (!E->grad_w || E->weights == 0) {
            printf("  layer %d (%s): no weights; it passes each node's slope back\n", l, entry);
            continue;
        }
        dims_text(dims, sizeof dims, net, l);
        printf("  layer %d (%s), weights %s\n", l, entry, dims);
        print_largest_slopes(net, E, l);
        if (bp_net_layer(net, l).kind == BP_LAYER_CONV)
            example = l;
    }
    if (example >= 0)
        printf("The products of one slope: --weight LAYER:OUT,C,KY,KX, e.g. "
               "--weight %d:0,0,0,0\n",
               example);
}
