/*
 * svg.c - plot areas, frames with ticks, lines, markers, legends, class
 * cells and grey images as SVG text (see svg.h). Coordinates are written
 * with two decimals; the data a line shows goes, exactly, into its
 * data-values attribute.
 */
#include "svg.h"
#include "cli.h"

#include <math.h>
#include <string.h>

/* A palette that stays distinguishable (the "tab10" colours). */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

#define N_PALETTE ((int)(sizeof palette / sizeof palette[0]))

const char *svg_color(int i)
{
    return palette[((i % N_PALETTE) + N_PALETTE) % N_PALETTE];
}

void svg_begin(FILE *f, int width, int height, const char *cls)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\"",
            width, height, width, height);
    if (cls)
        fprintf(f, " class=\"%s\"", cls);
    fprintf(f, ">\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
}

void svg_end(FILE *f)
{
    fputs("</svg>\n", f);
}

void svg_escape(FILE *f, const char *text)
{
    for (; *text; text++) {
        switch (*text) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*text, f);
        }
    }
}

void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text)
{
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" text-anchor=\"%s\">", x, y, size,
            anchor);
    svg_escape(f, text);
    fputs("</text>\n", f);
}

/* ---- ranges and scales --------------------------------------------------- */

void svg_range_add(double *lo, double *hi, const double *v, int n, int log)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (log && !(v[i] > 0.0)))
            continue;
        if (*lo > *hi) {
            *lo = *hi = v[i];
            continue;
        }
        if (v[i] < *lo)
            *lo = v[i];
        if (v[i] > *hi)
            *hi = v[i];
    }
}

void svg_range_fix(double *lo, double *hi, int log)
{
    if (*lo > *hi) {
        *lo = log ? 0.1 : 0.0;
        *hi = 1.0;
    }
    if (log) {
        if (*hi <= *lo) {
            *lo /= 2.0;
            *hi *= 2.0;
        }
        double pad = pow(10.0, 0.04 * (log10(*hi) - log10(*lo)));
        *lo /= pad;
        *hi *= pad;
        return;
    }
    if (*hi <= *lo) {
        double d = fabs(*lo) > 0.0 ? 0.1 * fabs(*lo) : 1.0;
        *lo -= d;
        *hi += d;
    }
    double pad = 0.04 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* The position of v in [0, 1] along a scale. */
static double frac(double v, double lo, double hi, int log)
{
    if (log)
        return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
    return (v - lo) / (hi - lo);
}

double svg_px(const svg_axes *a, double x)
{
    return a->left + a->width * frac(x, a->x0, a->x1, a->logx);
}

double svg_py(const svg_axes *a, double y)
{
    return a->top + a->height * (1.0 - frac(y, a->y0, a->y1, a->logy));
}

/* A tick step of 1, 2 or 5 times a power of ten giving about 5 ticks. */
static double nice_step(double span)
{
    double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

/* A tick label: compact, without float noise. */
static void tick_label(char *buf, size_t size, double v, double step)
{
    if (fabs(v) < 1e-12 * step)
        v = 0.0;
    if (v != 0.0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
        snprintf(buf, size, "%.0e", v);
    else
        snprintf(buf, size, "%.6g", v);
}

/* Ticks along one axis: positions in data units into t (at most max);
 * whole numbers only when integer is set. */
static int ticks(double lo, double hi, int log, int integer, double *t, int max, double *step)
{
    int n = 0;
    if (log && floor(log10(hi) + 1e-9) - ceil(log10(lo) - 1e-9) < 1.0)
        log = 0; /* less than two decades' marks: ticks as on a linear axis */
    if (log) {
        double e0 = ceil(log10(lo) - 1e-9), e1 = floor(log10(hi) + 1e-9);
        int every = (int)ceil((e1 - e0 + 1.0) / 6.0);
        if (every < 1)
            every = 1;
        for (double e = e0; e <= e1 && n < max; e += every)
            t[n++] = pow(10.0, e);
        *step = 1.0;
        return n;
    }
    *step = nice_step(hi - lo);
    if (integer && *step < 1.0)
        *step = 1.0;
    for (double v = ceil(lo / *step) * *step; v <= hi + 1e-9 * *step && n < max; v += *step)
        t[n++] = v;
    return n;
}

void svg_axes_draw(FILE *f, const svg_axes *a, const char *title, const char *xlabel,
                   const char *ylabel)
{
    double t[16], step;
    char label[32];
    int n;
    fprintf(f, "<g class=\"axes\" stroke-width=\"1\">\n");
    n = ticks(a->x0, a->x1, a->logx, a->xint, t, 16, &step);
    for (int i = 0; i < n; i++) {
        double x = svg_px(a, t[i]);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>\n",
                x, a->top, x, a->top + a->height);
        tick_label(label, sizeof label, t[i], step);
        svg_text(f, x, a->top + a->height + 14, 10, "middle", label);
    }
    n = ticks(a->y0, a->y1, a->logy, 0, t, 16, &step);
    for (int i = 0; i < n; i++) {
        double y = svg_py(a, t[i]);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>\n",
                a->left, y, a->left + a->width, y);
        tick_label(label, sizeof label, t[i], step);
        svg_text(f, a->left - 4, y + 3.5, 10, "end", label);
    }
    fprintf(f,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
            "stroke=\"#444444\"/>\n</g>\n",
            a->left, a->top, a->width, a->height);
    if (title)
        svg_text(f, a->left + a->width / 2, a->top - 8, 13, "middle", title);
    if (xlabel)
        svg_text(f, a->left + a->width / 2, a->top + a->height + 30, 11, "middle", xlabel);
    if (ylabel) {
        double x = a->left - 44, y = a->top + a->height / 2;
        fprintf(f,
                "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 %.2f %.2f)\">",
                x, y, x, y);
        svg_escape(f, ylabel);
        fputs("</text>\n", f);
    }
}

/* ---- lines and markers --------------------------------------------------- */

static int drawable(const svg_axes *a, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!a->logx || x > 0.0) && (!a->logy || y > 0.0);
}

/* data-values="x y;x y;..." with every value exact. */
static void data_values(FILE *f, const double *x, const double *y, int n)
{
    char b1[32], b2[32];
    fputs(" data-values=\"", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s %s", i ? ";" : "", x ? cli_num(b1, x[i]) : cli_num(b1, i + 1.0),
                cli_num(b2, y[i]));
    fputc('"', f);
}

void svg_line(FILE *f, const svg_axes *a, const char *name, const double *x, const double *y,
              int n, const char *color, double width, int dash)
{
    int open = 0;
    fputs("<g class=\"line\" data-name=\"", f);
    svg_escape(f, name ? name : "");
    fputc('"', f);
    data_values(f, x, y, n);
    fputs(">\n", f);
    for (int i = 0; i < n; i++) {
        double xi = x ? x[i] : i + 1.0;
        if (!drawable(a, xi, y[i])) {
            if (open)
                fputs("\"/>\n", f);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(f,
                    "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s "
                    "stroke-linejoin=\"round\" points=\"",
                    color, width, dash ? " stroke-dasharray=\"5,3\"" : "");
        fprintf(f, "%s%.2f,%.2f", open ? " " : "", svg_px(a, xi), svg_py(a, y[i]));
        open = 1;
    }
    if (open)
        fputs("\"/>\n", f);
    fputs("</g>\n", f);
}

void svg_dots(FILE *f, const svg_axes *a, const char *name, const double *x, const double *y,
              int n, const char *color, double radius)
{
    fputs("<g class=\"dots\" data-name=\"", f);
    svg_escape(f, name ? name : "");
    fputc('"', f);
    data_values(f, x, y, n);
    fprintf(f, " fill=\"%s\">\n", color);
    for (int i = 0; i < n; i++) {
        double xi = x ? x[i] : i + 1.0;
        if (drawable(a, xi, y[i]))
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\"/>\n", svg_px(a, xi),
                    svg_py(a, y[i]), radius);
    }
    fputs("</g>\n", f);
}

void svg_legend(FILE *f, const svg_axes *a, const char *const *names, const char *const *colors,
                int n, int bottom)
{
    double w = 0.0;
    for (int i = 0; i < n; i++) {
        double tw = 6.2 * (double)strlen(names[i]) + 28;
        w = tw > w ? tw : w;
    }
    double h = 15.0 * n + 6, x = bottom ? a->left + 6 : a->left + a->width - w - 6;
    double y = bottom ? a->top + a->height - h - 6 : a->top + 6;
    fprintf(f,
            "<g class=\"legend\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
            "fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>\n",
            x, y, w, h);
    for (int i = 0; i < n; i++) {
        double ly = y + 13 + 15.0 * i;
        fprintf(f,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>\n",
                x + 5, ly - 4, x + 21, ly - 4, colors[i]);
        svg_text(f, x + 25, ly, 11, "start", names[i]);
    }
    fputs("</g>\n", f);
}

/* ---- cells and images ---------------------------------------------------- */

/* A palette colour mixed halfway with white. */
static void light(char *buf, size_t size, int cls)
{
    unsigned r, g, b;
    if (sscanf(svg_color(cls), "#%2x%2x%2x", &r, &g, &b) != 3)
        r = g = b = 128;
    snprintf(buf, size, "#%02x%02x%02x", ((r & 255u) + 255u) / 2, ((g & 255u) + 255u) / 2,
             ((b & 255u) + 255u) / 2);
}

void svg_class_cells(FILE *f, double left, double top, double width, double height, int rows,
                     int cols, const int *cls)
{
    double cw = width / cols, ch = height / rows;
    char color[16];
    fputs("<g class=\"cells\" shape-rendering=\"crispEdges\">\n", f);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols;) {
            int k = cls[r * cols + c], run = 1;
            while (c + run < cols && cls[r * cols + c + run] == k)
                run++;
            light(color, sizeof color, k);
            fprintf(f,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                    left + c * cw, top + r * ch, run * cw + 0.3, ch + 0.3, color);
            c += run;
        }
    }
    fputs("</g>\n", f);
}

void svg_image(FILE *f, double left, double top, int w, int h, const float *v, double scale)
{
    fprintf(f,
            "<g class=\"image\" shape-rendering=\"crispEdges\"><rect x=\"%.2f\" y=\"%.2f\" "
            "width=\"%.2f\" height=\"%.2f\" fill=\"#ffffff\" stroke=\"#999999\"/>\n",
            left, top, w * scale, h * scale);
    for (int r = 0; r < h; r++) {
        for (int c = 0; c < w;) {
            float p = v[r * w + c];
            int grey = 255 - (int)lrintf(255.0f * (p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p));
            int run = 1;
            while (c + run < w) {
                float q = v[r * w + c + run];
                int g2 = 255 - (int)lrintf(255.0f * (q < 0.0f ? 0.0f : q > 1.0f ? 1.0f : q));
                if (g2 != grey)
                    break;
                run++;
            }
            if (grey < 255)
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "fill=\"#%02x%02x%02x\"/>\n",
                        left + c * scale, top + r * scale, run * scale, scale, grey, grey, grey);
            c += run;
        }
    }
    fputs("</g>\n", f);
}

/* The ends of the diverging scale: a deep red for +m, a deep blue for -m. */
static const int pos_end[3] = {178, 24, 43}, neg_end[3] = {33, 102, 172};

const char *svg_diverging_color(char *buf, double v, double m)
{
    double t = m > 0.0 && isfinite(v) ? v / m : 0.0;
    const int *end = t < 0.0 ? neg_end : pos_end;
    int c[3];
    t = fabs(t) > 1.0 ? 1.0 : fabs(t);
    for (int i = 0; i < 3; i++)
        c[i] = (int)lrint(255.0 + (end[i] - 255.0) * t);
    snprintf(buf, 8, "#%02x%02x%02x", c[0] & 255, c[1] & 255, c[2] & 255);
    return buf;
}

void svg_diverging_image(FILE *f, double left, double top, int w, int h, const float *v,
                         double m, double scale, const char *cls)
{
    char color[8], next[8];
    fprintf(f, "<g class=\"%s\" shape-rendering=\"crispEdges\">\n", cls);
    for (int r = 0; r < h; r++) {
        for (int c = 0; c < w;) {
            int run = 1;
            svg_diverging_color(color, v[r * w + c], m);
            while (c + run < w &&
                   strcmp(svg_diverging_color(next, v[r * w + c + run], m), color) == 0)
                run++;
            fprintf(f,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                    "fill=\"%s\"/>\n",
                    left + c * scale, top + r * scale, run * scale, scale, color);
            c += run;
        }
    }
    fprintf(f,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
            "stroke=\"#999999\"/>\n</g>\n",
            left, top, w * scale, h * scale);
}
