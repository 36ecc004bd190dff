/*
 * report_net.c - the report's sections on the network itself (report.h):
 * the table of layers, each with its spec entry, the shape it reads and
 * the shape it gives, its weights' tensor shape and parameter count; and
 * the first convolution layer's filters as small pictures, all on one
 * diverging colour scale symmetric about 0, so that a filter's sign
 * pattern (an edge, a spot) shows as it is.
 */
#include "cli.h"
#include "report.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 128 /* filters drawn; the rest are counted */
#define MAX_CHANNELS 16 /* above this, a filter's channel mean is drawn */
#define PAGE_WIDTH 760  /* pixels the grid of filters may span */

static void cell(FILE *f, const char *cls, const char *text)
{
    fprintf(f, "<td class=\"%s\">", cls);
    svg_escape(f, text);
    fputs("</td>", f);
}

int cli_report_layers(FILE *f, const bp_net *net)
{
    int L = bp_net_layers(net), need = bp_net_spec(net, NULL, 0);
    char *spec = need >= 0 ? malloc((size_t)need + 1) : NULL, *entry, *next;
    char in[64], out[64], dims_text[96], num[32];
    bp_shape prev = bp_net_input_shape(net);
    if (!spec) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    bp_net_spec(net, spec, (size_t)need + 1);
    fputs("<section class=\"layers\" id=\"layers\">\n<h2>Layers</h2>\n"
          "<table class=\"layers\">\n<tr><th>layer</th><th>spec entry</th><th>reads</th>"
          "<th>gives</th><th>weights</th><th>parameters</th></tr>\n",
          f);
    /* The canonical spec: the input's shape, then one entry per layer. */
    entry = spec;
    next = strchr(entry, ',');
    if (next)
        *next++ = '\0';
    fputs("<tr data-layer=\"input\"><td>input</td>", f);
    cell(f, "entry", entry);
    cell(f, "in", "");
    cell(f, "out", cli_shape(out, sizeof out, prev));
    fputs("<td class=\"weights\"></td><td class=\"params\"></td></tr>\n", f);
    for (int l = 0; l < L; l++) {
        bp_shape s = bp_net_layer_shape(net, l);
        size_t dims[4];
        int rank = bp_net_weight_dims(net, l, dims);
        entry = next ? next : "";
        next = next ? strchr(next, ',') : NULL;
        if (next)
            *next++ = '\0';
        cli_shape(in, sizeof in, prev);
        if (prev.h > 0 && bp_net_layer(net, l).kind == BP_LAYER_DENSE) {
            size_t len = strlen(in);
            snprintf(in + len, sizeof in - len, " flattened to %zu", bp_shape_size(prev));
        }
        dims_text[0] = '\0';
        for (int i = 0; i < rank; i++) {
            size_t len = strlen(dims_text);
            snprintf(dims_text + len, sizeof dims_text - len, "%s%zu", i ? "x" : "", dims[i]);
        }
        fprintf(f, "<tr data-layer=\"%d\"><td>%d</td>", l, l);
        cell(f, "entry", entry);
        cell(f, "in", in);
        cell(f, "out", cli_shape(out, sizeof out, s));
        cell(f, "weights", rank ? dims_text : "none");
        snprintf(num, sizeof num, "%zu", bp_net_layer_params(net, l));
        cell(f, "params", num);
        fputs("</tr>\n", f);
        prev = s;
    }
    fprintf(f, "<tr data-layer=\"total\"><th colspan=\"5\">total</th><td class=\"params\">%zu"
               "</td></tr>\n</table>\n</section>\n",
            bp_net_param_count(net));
    free(spec);
    return CLI_OK;
}

/* A horizontal bar of the scale from -m to +m, labelled, at (left, top). */
static void scale_bar(FILE *f, double left, double top, double m)
{
    char color[8], label[48], num[32];
    const int steps = 21;
    const double w = 240, h = 12;
    fputs("<g class=\"scale\">\n", f);
    for (int i = 0; i < steps; i++) {
        double v = m * (2.0 * i / (steps - 1) - 1.0);
        fprintf(f,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                left + w * i / steps, top, w / steps + 0.3, h, svg_diverging_color(color, v, m));
    }
    fprintf(f,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
            "stroke=\"#999999\"/>\n",
            left, top, w, h);
    snprintf(num, sizeof num, "%.3g", m);
    snprintf(label, sizeof label, "-%s", num);
    svg_text(f, left, top + h + 12, 10, "start", label);
    svg_text(f, left + w / 2, top + h + 12, 10, "middle", "0");
    snprintf(label, sizeof label, "+%s", num);
    svg_text(f, left + w, top + h + 12, 10, "end", label);
    fputs("</g>\n", f);
}

int cli_report_filters(FILE *f, bp_net *net)
{
    int L = bp_net_layers(net), l = 0;
    while (l < L && bp_net_layer(net, l).kind != BP_LAYER_CONV)
        l++;
    if (l == L)
        return CLI_OK; /* no convolution: nothing to draw */
    size_t dims[4];
    if (bp_net_weight_dims(net, l, dims) != 4)
        return CLI_OK;
    int OUT = (int)dims[0], C = (int)dims[1], K = (int)dims[2];
    int shown = OUT < MAX_FILTERS ? OUT : MAX_FILTERS, mean = C > MAX_CHANNELS;
    int per = mean ? 1 : C; /* pictures per filter */
    size_t KK = (size_t)K * (size_t)K;
    const float *w = bp_net_weight(net, l); /* (OUT, C, K, K) */
    float *pic = malloc(KK * sizeof *pic);  /* (K, K) one channel, or their mean */
    char text[256], num[32];
    double m = 0.0;
    if (!pic || !w) {
        free(pic);
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    /* One scale for every filter drawn, so that they compare. */
    for (int o = 0; o < shown; o++) {
        for (size_t i = 0; i < KK; i++) {
            double s = 0.0;
            for (int c = 0; c < C; c++) {
                double v = w[((size_t)o * (size_t)C + (size_t)c) * KK + i];
                s += v;
                if (!mean && fabs(v) > m)
                    m = fabs(v);
            }
            if (mean && fabs(s / C) > m)
                m = fabs(s / C);
        }
    }
    double px = 48.0 / K > 3.0 ? 48.0 / K : 3.0, side = K * px, gap = 3;
    double block = per * side + (per - 1) * gap, cw = block + 14, ch = side + 24;
    int across = (int)(PAGE_WIDTH / cw) > 0 ? (int)(PAGE_WIDTH / cw) : 1;
    if (across > shown)
        across = shown;
    int rows = (shown + across - 1) / across;

    fputs("<section class=\"plot\" id=\"filters\">\n<h2>Filters of the first convolution"
          "</h2>\n<p>",
          f);
    snprintf(text, sizeof text,
             "Layer %d: %d filters of %dx%d over %d input channel%s, %s. Every filter on one "
             "colour scale: red positive, blue negative, white 0; the deepest colour is the "
             "largest magnitude drawn, %s.",
             l, OUT, K, K, C, C == 1 ? "" : "s",
             mean ? "each drawn as the mean over its channels"
                  : C == 1 ? "one picture each" : "each a row of one picture per channel",
             cli_fnum(num, (float)m));
    svg_escape(f, text);
    if (shown < OUT)
        fprintf(f, " The first %d of %d filters are drawn.", shown, OUT);
    if (m == 0.0)
        fputs(" Every weight drawn is 0.", f);
    fputs("</p>\n", f);
    int width = (int)(across * cw) + 10;
    svg_begin(f, width > 260 ? width : 260, (int)(rows * ch) + 50, "chart");
    for (int o = 0; o < shown; o++) {
        double left = 5 + cw * (o % across), top = 5 + ch * (o / across);
        const float *fw = w + (size_t)o * (size_t)C * KK;
        fprintf(f, "<g class=\"filter\" data-layer=\"%d\" data-filter=\"%d\" data-values=\"", l,
                o);
        for (size_t i = 0; i < (size_t)C * KK; i++)
            fprintf(f, "%s%s", i ? " " : "", cli_fnum(num, fw[i]));
        fputs("\">\n", f);
        for (int p = 0; p < per; p++) {
            for (size_t i = 0; i < KK; i++) {
                double s = 0.0;
                if (mean) {
                    for (int c = 0; c < C; c++)
                        s += fw[(size_t)c * KK + i];
                    s /= C;
                } else {
                    s = fw[(size_t)p * KK + i];
                }
                pic[i] = (float)s;
            }
            svg_diverging_image(f, left + p * (side + gap), top, K, K, pic, m, px, "kernel");
        }
        snprintf(text, sizeof text, "%d", o);
        svg_text(f, left + block / 2, top + side + 13, 10, "middle", text);
        fputs("</g>\n", f);
    }
    scale_bar(f, 5, rows * ch + 12, m);
    svg_end(f);
    fputs("</section>\n", f);
    free(pic);
    return CLI_OK;
}
