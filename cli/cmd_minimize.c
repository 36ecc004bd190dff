/*
 * cmd_minimize.c - `backprop minimize`: gradient descent on a function
 * typed as an expression. The expression is parsed once; its value and
 * exact gradient come from expr.c, the steps from bp_minimize (N-D) or
 * bp_minimize_1d. With several rates (--lr 0.01,0.05,0.5) each runs from the
 * same start; --plot draws the function with every path of descent on it
 * (1-D: the curve; 2-D: shaded levels) beside f(x) against the iteration.
 */
#include "cli.h"
#include "expr.h"
#include "progress.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITERS 10000000L
#define MAX_RATES 8

static const char *const CMD = "minimize";

static const cli_help HELP = {
    "minimize", "backprop minimize --expr EXPR [OPTIONS]",
    "Gradient descent on a function: x <- x - lr * grad f(x), with the gradient\n"
    "computed exactly from the expression (no finite differences).",
    "Expressions: numbers (2, 0.5, 1e-3), + - * / ^, parentheses, the functions\n"
    "sin cos tan exp log sqrt abs tanh sigmoid and the constants pi and e.\n"
    "^ is right-associative and binds tighter than a leading minus: -x^2 = -(x^2).\n"
    "Variables: x in 1-D; x, y (, z) or x1, x2 (, x3) in 2-D and 3-D; x1 to xn\n"
    "beyond. x1 is the first coordinate.",
    "Exit status: 0 on success, 1 on a runtime error (such as a non-finite\n"
    "value), 2 on bad usage.",
    "  backprop minimize --expr '(x-3)^2' --x0 1 --lr 0.05 --iters 25\n"
    "  backprop minimize --expr 'x^2 + 10*y^2' --x0 1,1 --lr 0.05 --tol 1e-6\n"
    "  backprop minimize --expr '(x-3)^2' --x0 1 --lr 0.01,0.05,0.5 --iters 25 --plot rates.svg\n"};

/* ---- the function, for the library's callbacks ------------------------- */

static double f_nd(const double *x, void *ctx)
{
    return expr_value(ctx, x);
}

static void grad_nd(const double *x, double *g, void *ctx)
{
    expr_gradient(ctx, x, g);
}

static double f_1d(double x, void *ctx)
{
    return expr_value(ctx, &x);
}

static double df_1d(double x, void *ctx)
{
    double g;
    expr_gradient(ctx, &x, &g);
    return g;
}

/* ---- output ------------------------------------------------------------ */

/* "1.5" in 1-D, "(1.5, -2)" beyond. */
static void format_point(char *buf, size_t size, const double *x, int dim)
{
    char num[32];
    size_t used = 0;
    if (dim == 1) {
        snprintf(buf, size, "%s", cli_num(num, x[0]));
        return;
    }
    buf[0] = '\0';
    for (int d = 0; d < dim && used + 1 < size; d++) {
        int w = snprintf(buf + used, size - used, "%s%s", d ? ", " : "(", cli_num(num, x[d]));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used + 2 < size)
        strcat(buf, ")");
}

static int shown(int it, int last, int every)
{
    return it % every == 0 || it == last;
}

static void print_table(const bp_path *path, expr *e, int every, int upto)
{
    char point[512], slope[512], num[32];
    double grad[64];
    int width = 1;
    for (int it = 0; it <= upto; it++) {
        if (!shown(it, upto, every))
            continue;
        format_point(point, sizeof point, path->x + (size_t)it * (size_t)path->dim, path->dim);
        int len = (int)strlen(point);
        width = len > width ? len : width;
    }
    const char *head = path->dim == 1   ? "x"
                       : path->dim == 2 ? "(x, y)"
                       : path->dim == 3 ? "(x, y, z)"
                                        : "(x1, x2, ...)";
    width = (int)strlen(head) > width ? (int)strlen(head) : width;
    printf("%9s   %-*s   %-24s %s\n", "iteration", width, head, "f(x)",
           path->dim == 1 ? "slope df/dx" : "gradient");
    for (int it = 0; it <= upto; it++) {
        if (!shown(it, upto, every))
            continue;
        const double *x = path->x + (size_t)it * (size_t)path->dim;
        format_point(point, sizeof point, x, path->dim);
        slope[0] = '\0';
        if (path->dim <= (int)(sizeof grad / sizeof grad[0])) {
            expr_gradient(e, x, grad);
            format_point(slope, sizeof slope, grad, path->dim);
        }
        printf("%9d   %-*s   %-24s %s\n", it, width, point, cli_num(num, path->f[it]), slope);
    }
}

static void print_json(const char *text, const double *x0, const bp_minimize_opts *o,
                       const bp_path *path)
{
    int last = path->n - 1;
    printf("{\"f\": ");
    cli_json_string(stdout, text);
    printf(", \"dim\": %d, \"x0\": ", path->dim);
    cli_json_array(stdout, x0, path->dim);
    printf(", \"lr\": ");
    cli_json_number(stdout, o->lr);
    printf(", \"max_iter\": %d, \"tol\": ", o->max_iter);
    cli_json_number(stdout, o->tol);
    printf(", \"iterations\": %d, \"stop\": \"%s\", \"x\": ", last,
           path->converged ? "tolerance" : "iterations");
    cli_json_array(stdout, path->x + (size_t)last * (size_t)path->dim, path->dim);
    printf(", \"fx\": ");
    cli_json_number(stdout, path->f[last]);
    printf(",\n \"path\": [");
    for (int it = 0; it <= last; it++) {
        printf("%s\n  {\"iteration\": %d, \"x\": ", it ? "," : "", it);
        cli_json_array(stdout, path->x + (size_t)it * (size_t)path->dim, path->dim);
        printf(", \"f\": ");
        cli_json_number(stdout, path->f[it]);
        printf("}");
    }
    printf("\n]}\n");
}

/* ---- the plot ---------------------------------------------------------- */

#define LEVELS 10

/* Shades from light to dark blue for levels 0 .. LEVELS-1. */
static void level_color(char *buf, size_t size, int level)
{
    double t = (double)level / (LEVELS - 1);
    snprintf(buf, size, "#%02x%02x%02x", (int)lrint(247 - t * 239), (int)lrint(251 - t * 203),
             (int)lrint(255 - t * 148));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The range of coordinate d over the finite points of every path. */
static void path_range(const bp_path *paths, int n, int d, double *lo, double *hi)
{
    *lo = 1;
    *hi = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < paths[k].n; i++) {
            double v = paths[k].x[(size_t)i * (size_t)paths[k].dim + (size_t)d];
            if (isfinite(paths[k].f[i]))
                svg_range_add(lo, hi, &v, 1, 0);
        }
    svg_range_fix(lo, hi, 0);
    double pad = 0.1 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* 2-D: f over the view in LEVELS shades (quantiles of the values seen). */
static int shade_levels(FILE *f, expr *e, const svg_axes *a)
{
    enum { G = 60 };
    double *v = malloc(2 * G * G * sizeof *v), cut[LEVELS], x[2];
    char color[16];
    if (!v) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int r = 0; r < G; r++)
        for (int c = 0; c < G; c++) {
            x[0] = a->x0 + (a->x1 - a->x0) * (c + 0.5) / G;
            x[1] = a->y1 - (a->y1 - a->y0) * (r + 0.5) / G;
            v[r * G + c] = v[G * G + r * G + c] = expr_value(e, x);
        }
    qsort(v + G * G, G * G, sizeof *v, cmp_double);
    for (int l = 0; l < LEVELS; l++)
        cut[l] = v[G * G + (G * G - 1) * (l + 1) / LEVELS];
    fputs("<g class=\"levels\" shape-rendering=\"crispEdges\">\n", f);
    for (int r = 0; r < G; r++) {
        for (int c = 0; c < G;) {
            int lv = 0, run = 1, l2;
            while (lv < LEVELS - 1 && !(v[r * G + c] <= cut[lv]))
                lv++;
            for (; c + run < G; run++) {
                for (l2 = 0; l2 < LEVELS - 1 && !(v[r * G + c + run] <= cut[l2]); l2++)
                    ;
                if (l2 != lv)
                    break;
            }
            level_color(color, sizeof color, lv);
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                    a->left + a->width * c / G, a->top + a->height * r / G,
                    a->width * run / G + 0.3, a->height / G + 0.3, color);
            c += run;
        }
    }
    fputs("</g>\n", f);
    free(v);
    return CLI_OK;
}

/* Left: the function with each path on it (1-D and 2-D only). */
static int plot_function(FILE *f, const char *text, expr *e, const bp_path *paths,
                         const char *const *names, int n)
{
    int dim = paths[0].dim, N = 0;
    svg_axes a = {.left = 70, .top = 34, .width = 360, .height = 300};
    double lo = 1, hi = 0, *buf;
    char title[160];
    for (int k = 0; k < n; k++)
        N = paths[k].n > N ? paths[k].n : N;
    if (!(buf = malloc(2 * (size_t)(N > 400 ? N : 400) * sizeof *buf))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    double *xs = buf, *ys = buf + (N > 400 ? N : 400);
    path_range(paths, n, 0, &a.x0, &a.x1);
    snprintf(title, sizeof title, "f = %.120s", text);
    if (dim == 1) {
        for (int i = 0; i < 400; i++) {
            xs[i] = a.x0 + (a.x1 - a.x0) * i / 399.0;
            ys[i] = expr_value(e, &xs[i]);
        }
        svg_range_add(&lo, &hi, ys, 400, 0);
        svg_range_fix(&lo, &hi, 0);
        a.y0 = lo;
        a.y1 = hi;
        svg_axes_draw(f, &a, title, "x", "f(x)");
        svg_line(f, &a, "f", xs, ys, 400, "#555555", 1.5, 0);
    } else {
        path_range(paths, n, 1, &a.y0, &a.y1);
        if (shade_levels(f, e, &a) != 0) {
            free(buf);
            return CLI_RUNTIME;
        }
        svg_axes_draw(f, &a, title, "x", "y");
    }
    fprintf(f, "<clipPath id=\"fn\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
               "</clipPath>\n<g clip-path=\"url(#fn)\">\n",
            a.left, a.top, a.width, a.height);
    for (int k = 0; k < n; k++) {
        const bp_path *p = &paths[k];
        for (int i = 0; i < p->n; i++) {
            xs[i] = p->x[(size_t)i * (size_t)dim];
            ys[i] = dim == 1 ? p->f[i] : p->x[(size_t)i * (size_t)dim + 1];
        }
        svg_line(f, &a, names[k], xs, ys, p->n, svg_color(k), 1.5, 0);
        svg_dots(f, &a, names[k], xs, ys, p->n, svg_color(k), 3);
    }
    fputs("</g>\n", f);
    free(buf);
    return CLI_OK;
}

/* Right: f(x) against the iteration. */
static int plot_descent(FILE *f, const bp_path *paths, const char *const *names, int n,
                        double left)
{
    int N = 0, positive = 1;
    svg_axes a = {.left = left, .top = 34, .width = 360, .height = 300, .xint = 1};
    double lo = 1, hi = 0, *its;
    const char *colors[MAX_RATES];
    for (int k = 0; k < n; k++) {
        N = paths[k].n > N ? paths[k].n : N;
        for (int i = 0; i < paths[k].n; i++)
            positive &= !isfinite(paths[k].f[i]) || paths[k].f[i] > 0.0;
        svg_range_add(&lo, &hi, paths[k].f, paths[k].n, positive);
    }
    if (!(its = malloc((size_t)N * sizeof *its))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int i = 0; i < N; i++)
        its[i] = i;
    a.logy = positive;
    if (!positive) { /* the range again, on a linear scale */
        lo = 1;
        hi = 0;
        for (int k = 0; k < n; k++)
            svg_range_add(&lo, &hi, paths[k].f, paths[k].n, 0);
    }
    svg_range_fix(&lo, &hi, positive);
    a.x0 = 0;
    a.x1 = N > 1 ? N - 1 : 1;
    a.y0 = lo;
    a.y1 = hi;
    svg_axes_draw(f, &a, "How close each rate gets", "iteration",
                  positive ? "f(x), log scale" : "f(x)");
    for (int k = 0; k < n; k++) {
        colors[k] = svg_color(k);
        svg_line(f, &a, names[k], its, paths[k].f, paths[k].n, colors[k], 2, 0);
        if (paths[k].n <= 60)
            svg_dots(f, &a, names[k], its, paths[k].f, paths[k].n, colors[k], 2.5);
    }
    svg_legend(f, &a, names, colors, n, 0);
    free(its);
    return CLI_OK;
}

static int write_plot(const char *file, const char *text, expr *e, const bp_path *paths,
                      const double *rates, int n)
{
    cli_outfile of;
    char label[MAX_RATES][48], num[32];
    const char *names[MAX_RATES];
    int two = paths[0].dim <= 2;
    for (int k = 0; k < n; k++) {
        snprintf(label[k], sizeof label[k], "lr %s", cli_num(num, rates[k]));
        names[k] = label[k];
    }
    if (cli_outfile_open(&of, file) != 0)
        return CLI_RUNTIME;
    svg_begin(of.f, two ? 900 : 460, 390, "minimize");
    if ((two && plot_function(of.f, text, e, paths, names, n) != 0) ||
        plot_descent(of.f, paths, names, n, two ? 520 : 70) != 0) {
        cli_outfile_abort(&of);
        return CLI_RUNTIME;
    }
    svg_end(of.f);
    return cli_outfile_commit(&of);
}

/* Several rates from the same start: one line each, and the plot. */
static int compare(const char *text, expr *e, const double *x0, int dim,
                   const bp_minimize_opts *base, const double *rates, int n,
                   const char *plot_path)
{
    bp_path paths[MAX_RATES];
    bp_minimize_opts o = *base;
    char point[512], num[32], num2[32];
    int rc = CLI_RUNTIME, diverged = 0;
    memset(paths, 0, sizeof paths);
    format_point(point, sizeof point, x0, dim);
    printf("gradient descent on f = %s from %s, at most %d iteration%s per rate\n\n", text,
           point, o.max_iter, o.max_iter == 1 ? "" : "s");
    printf("%-10s %10s   %-24s %s\n", "lr", "iterations", "x", "f(x)");
    for (int k = 0; k < n; k++) {
        o.lr = rates[k];
        int lib = dim == 1 ? bp_minimize_1d(f_1d, df_1d, e, x0[0], &o, &paths[k])
                           : bp_minimize(dim, f_nd, grad_nd, e, x0, &o, &paths[k]);
        if ((lib != 0 && lib != BP_ENONFINITE) || paths[k].n < 1) {
            rc = cli_lib_error("minimize", lib ? lib : BP_EINVAL, NULL);
            goto done;
        }
        int last = paths[k].n - 1;
        format_point(point, sizeof point, paths[k].x + (size_t)last * (size_t)dim, dim);
        printf("%-10s %10d   %-24s %s%s\n", cli_num(num, rates[k]), last, point,
               cli_num(num2, paths[k].f[last]),
               lib == BP_ENONFINITE ? "  (diverged: not finite)"
               : paths[k].converged ? "  (reached --tol)"
                                    : "");
        diverged |= lib == BP_ENONFINITE;
    }
    if (plot_path) {
        if (write_plot(plot_path, text, e, paths, rates, n) != 0)
            goto done;
        printf("plot written to %s\n", plot_path);
    }
    if (diverged)
        cli_error("a rate diverged (its f(x) or gradient stopped being finite); try smaller "
                  "rates");
    rc = diverged ? CLI_RUNTIME : CLI_OK;
done:
    for (int k = 0; k < n; k++)
        bp_path_free(&paths[k]);
    return rc;
}

/* ---- the command ------------------------------------------------------- */

int cmd_minimize(int argc, char **argv)
{
    const char *text = NULL, *x0_text = "0", *lr_text = NULL, *plot_path = NULL;
    double *rates = NULL;
    int n_rates = 0;
    bp_minimize_opts o = bp_minimize_defaults();
    long iters = o.max_iter, every = 0;
    int json = 0, rc = CLI_USAGE, dim = 0;
    double *x0 = NULL;
    expr *e = NULL;
    bp_path path;
    char msg[256];

    memset(&path, 0, sizeof path);
    const cli_opt opts[] = {
        {"expr", CLI_OPT_STRING, "EXPR", &text,
         .help = "the function (required), e.g. '(x-3)^2' or 'x^2 + 10*y^2'"},
        {"f", CLI_OPT_STRING, "EXPR", &text, .help = "the same as --expr"},
        {"x0", CLI_OPT_LIST, "LIST", &x0_text,
         .help = "start point; its length is the dimension", .def = "0"},
        {"lr", CLI_OPT_STRING, "LIST", &lr_text,
         .help = "step size, or several to compare, e.g. 0.01,0.05,0.5", .def = "0.01"},
        {"iters", CLI_OPT_INT, "N", &iters, .min = 1, .max = MAX_ITERS,
         .help = "iterations at most", .def = "1000"},
        {"tol", CLI_OPT_NONNEG, "X", &o.tol, .help = "stop once the gradient's norm is <= X",
         .def = "0, never"},
        {"every", CLI_OPT_INT, "N", &every, .min = 1, .max = MAX_ITERS,
         .help = "print every Nth point and the last",
         .def = "every point when there are at most 50, else about 20 of them"},
        {"plot", CLI_OPT_STRING, "FILE", &plot_path,
         .help = "draw the function and the path of each rate as SVG", .def = "none"},
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print the whole path as JSON (one rate only)"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto done;
    }
    rc = CLI_USAGE;
    if (!text) {
        rc = cli_usage(CMD, "--expr is required");
        goto done;
    }
    if ((rc = cli_parse_list("--x0", x0_text, &x0, &dim)) != 0)
        goto done;
    rc = CLI_USAGE;
    if (!(e = expr_parse(text, dim, msg, sizeof msg))) {
        cli_error("--expr: %s in '%s'", msg, text);
        goto done;
    }
    o.max_iter = (int)iters;
    if (lr_text && !strchr(lr_text, ',')) {
        if ((rc = cli_parse_positive("--lr", lr_text, &o.lr)) != 0)
            goto done;
    } else if (lr_text) {
        if ((rc = cli_parse_list("--lr", lr_text, &rates, &n_rates)) != 0)
            goto done;
        rc = CLI_USAGE;
        for (int k = 0; k < n_rates; k++)
            if (!(rates[k] > 0.0)) {
                cli_error("--lr: expected positive rates, got '%s' (item %d)", lr_text, k + 1);
                goto done;
            }
        if (n_rates > MAX_RATES) {
            rc = cli_usage(CMD, "--lr: at most %d rates, got %d", MAX_RATES, n_rates);
            goto done;
        }
        if (n_rates > 1 && json) {
            rc = cli_usage(CMD, "--json takes one --lr; several rates print a table");
            goto done;
        }
        o.lr = rates[0];
    }
    if (plot_path && (rc = cli_check_writable("--plot", plot_path)) != 0)
        goto done;
    if (n_rates > 1) {
        rc = compare(text, e, x0, dim, &o, rates, n_rates, plot_path);
        goto done;
    }

    int lib_rc = dim == 1 ? bp_minimize_1d(f_1d, df_1d, e, x0[0], &o, &path)
                          : bp_minimize(dim, f_nd, grad_nd, e, x0, &o, &path);
    if (lib_rc != 0 && lib_rc != BP_ENONFINITE) {
        rc = cli_lib_error("minimize", lib_rc, NULL);
        goto done;
    }
    if (path.n < 1) {
        rc = cli_lib_error("minimize", BP_EINVAL, NULL);
        goto done;
    }
    int last = path.n - 1;
    if (plot_path && write_plot(plot_path, text, e, &path, &o.lr, 1) != 0) {
        rc = CLI_RUNTIME;
        goto done;
    }
    if (every == 0)
        every = path.n <= 50 ? 1 : (last + 19) / 20;
    if (json && lib_rc == 0) {
        print_json(text, x0, &o, &path);
    } else if (!json) {
        char point[512], num[32];
        format_point(point, sizeof point, x0, dim);
        printf("gradient descent on f = %s from %s, lr %s, at most %d iteration%s\n\n", text,
               point, cli_num(num, o.lr), o.max_iter, o.max_iter == 1 ? "" : "s");
        print_table(&path, e, (int)every, last);
    }
    if (plot_path && !json)
        printf("plot written to %s\n", plot_path);
    if (lib_rc == BP_ENONFINITE) {
        char point[512];
        if (path.n > 0 && !isfinite(path.f[last])) {
            format_point(point, sizeof point, path.x + (size_t)last * (size_t)dim, dim);
            cli_error("f(x) is not finite at iteration %d (x = %s); try a smaller --lr", last,
                      point);
        } else {
            format_point(point, sizeof point, path.x + (size_t)last * (size_t)dim, dim);
            cli_error("the gradient is too large or not finite at iteration %d (x = %s); "
                      "try a smaller --lr",
                      last, point);
        }
        rc = CLI_RUNTIME;
        goto done;
    }
    if (!json) {
        char point[512], num[32];
        format_point(point, sizeof point, path.x + (size_t)last * (size_t)dim, dim);
        printf("\nstopped after %d iteration%s (%s): x = %s, f(x) = %s\n", last,
               last == 1 ? "" : "s",
               path.converged ? "the gradient's norm reached --tol" : "the iteration limit",
               point, cli_num(num, path.f[last]));
    }
    rc = CLI_OK;
done:
    bp_path_free(&path);
    expr_free(e);
    free(rates);
    free(x0);
    return rc;
}
