/*
 * svg.h - the small SVG vocabulary the plots are drawn with: a plot area
 * that maps data coordinates to pixels (linear or log scale), its frame
 * with ticks, lines, markers, a legend, class-coloured cells, grey-level
 * images and pictures of signed values in diverging colours. Everything
 * is written to a FILE as it is drawn; nothing is kept.
 *
 * Every line carries its data in a data-values attribute ("x y;x y;..."
 * written so each value reads back as the same double), so a test or a
 * reader can check that a picture shows exactly the figures measured.
 * Non-finite points are gaps, never drawn.
 */
#ifndef BACKPROP_CLI_SVG_H
#define BACKPROP_CLI_SVG_H

#include <stdio.h>

/* A plot area: a pixel box and the data range it shows. */
typedef struct svg_axes {
    double left, top, width, height; /* the pixel box inside the frame */
    double x0, x1, y0, y1;           /* the data range */
    int logx, logy;                  /* log10 scale on that axis */
    int xint;                        /* x ticks at whole numbers only */
} svg_axes;

/* A colour of the palette (index taken modulo its size), "#rrggbb". */
const char *svg_color(int i);

/* "<svg ...>" of width x height pixels with a white background, and its
 * end. The class, when not NULL, goes on the svg element. */
void svg_begin(FILE *f, int width, int height, const char *cls);
void svg_end(FILE *f);

/* Text, escaped for XML. anchor: "start", "middle" or "end". */
void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text);
/* The same escaping for any XML or HTML text. */
void svg_escape(FILE *f, const char *text);

/* Grow [*lo, *hi] to hold the finite values of v (and for a log scale only
 * the positive ones); *lo > *hi means empty. */
void svg_range_add(double *lo, double *hi, const double *v, int n, int log);
/* Fix a range for drawing: an empty one becomes [0, 1], a single value is
 * widened, a linear one is padded by 4% on each side. */
void svg_range_fix(double *lo, double *hi, int log);

/* Data to pixels. */
double svg_px(const svg_axes *a, double x);
double svg_py(const svg_axes *a, double y);

/* The frame, grid lines and tick labels, a title above and axis labels
 * (each may be NULL). */
void svg_axes_draw(FILE *f, const svg_axes *a, const char *title, const char *xlabel,
                   const char *ylabel);

/* A line through (x[i], y[i]), broken at non-finite points; dash 1 draws
 * it dashed. x may be NULL for x = 1, 2, ... n. name labels the data. */
void svg_line(FILE *f, const svg_axes *a, const char *name, const double *x, const double *y,
              int n, const char *color, double width, int dash);
/* A marker at each finite point. */
void svg_dots(FILE *f, const svg_axes *a, const char *name, const double *x, const double *y,
              int n, const char *color, double radius);

/* A legend in the top right corner of the plot area (or at the bottom
 * left when bottom is set). */
void svg_legend(FILE *f, const svg_axes *a, const char *const *names, const char *const *colors,
                int n, int bottom);

/* A grid of cells (rows, cols) painted with the palette colour of each
 * cell's class (cls[r * cols + c], row 0 at the top), lightened; runs of
 * equal cells along a row are drawn as one rectangle. */
void svg_class_cells(FILE *f, double left, double top, double width, double height, int rows,
                     int cols, const int *cls);

/* A grey-level picture of h rows and w columns (values in [0, 1], 1 drawn
 * black) at (left, top), each pixel `scale` pixels wide; runs of equal grey
 * along a row are one rectangle. */
void svg_image(FILE *f, double left, double top, int w, int h, const float *v, double scale);

/* The colour of v on a diverging scale symmetric about 0: white at 0, a
 * deepening red up to +m, blue down to -m (clamped beyond), as "#rrggbb"
 * into buf (8 bytes). Returns buf. */
const char *svg_diverging_color(char *buf, double v, double m);

/* A picture of h rows and w columns of values v (row-major) in those
 * colours for the scale m, each value a square `scale` pixels wide, framed
 * in grey, inside a <g> of class cls; runs of equal colour along a row are
 * one rectangle. */
void svg_diverging_image(FILE *f, double left, double top, int w, int h, const float *v,
                         double m, double scale, const char *cls);

#endif
