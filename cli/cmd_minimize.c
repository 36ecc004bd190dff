/*
 * cmd_minimize.c - `backprop minimize`: gradient descent on a function
 * typed as an expression. The expression is parsed once; its value and
 * exact gradient come from expr.c, the steps from bp_minimize (N-D) or
 * bp_minimize_1d.
 */
#include "cli.h"
#include "expr.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITERS 10000000L

static const char *const CMD = "minimize";

static void help(void)
{
    printf("Usage: backprop minimize --expr EXPR [OPTIONS]\n"
           "\n"
           "Gradient descent on a function: x <- x - lr * grad f(x), with the gradient\n"
           "computed exactly from the expression (no finite differences).\n"
           "\n"
           "Options:\n"
           "  --expr EXPR    the function (required), e.g. '(x-3)^2' or 'x^2 + 10*y^2';\n"
           "                 --f is the same option\n"
           "  --x0 LIST      start point; its length is the dimension (default: 0)\n"
           "  --lr X         step size (default: 0.01)\n"
           "  --iters N      iterations at most (default: 1000)\n"
           "  --tol X        stop once the gradient's norm is <= X (default: 0, never)\n"
           "  --every N      print every Nth point and the last (default: every point\n"
           "                 when there are at most 50, else about 20 of them)\n"
           "  --json         print the whole path as JSON\n"
           "  -h, --help     show this help\n"
           "\n"
           "Expressions: numbers (2, 0.5, 1e-3), + - * / ^, parentheses, the functions\n"
           "sin cos tan exp log sqrt abs tanh sigmoid and the constants pi and e.\n"
           "^ is right-associative and binds tighter than a leading minus: -x^2 = -(x^2).\n"
           "Variables: x in 1-D; x, y (, z) or x1, x2 (, x3) in 2-D and 3-D; x1 to xn\n"
           "beyond. x1 is the first coordinate.\n");
}

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

/* ---- the command ------------------------------------------------------- */

int cmd_minimize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"expr", required_argument, NULL, 'f'},  {"f", required_argument, NULL, 'f'},
        {"x0", required_argument, NULL, 'x'},
        {"lr", required_argument, NULL, 'l'},    {"iters", required_argument, NULL, 'i'},
        {"tol", required_argument, NULL, 't'},   {"every", required_argument, NULL, 'e'},
        {"json", no_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *text = NULL, *x0_text = "0";
    bp_minimize_opts o = bp_minimize_defaults();
    long iters = o.max_iter, every = 0;
    int json = 0, c, rc = CLI_USAGE, dim = 0;
    double *x0 = NULL;
    expr *e = NULL;
    bp_path path;
    char msg[256];

    memset(&path, 0, sizeof path);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            text = optarg;
            break;
        case 'x':
            x0_text = optarg;
            break;
        case 'l':
            if (cli_parse_positive("--lr", optarg, &o.lr))
                goto done;
            break;
        case 'i':
            if (cli_parse_int("--iters", optarg, 1, MAX_ITERS, &iters))
                goto done;
            break;
        case 't':
            if (cli_parse_nonneg("--tol", optarg, &o.tol))
                goto done;
            break;
        case 'e':
            if (cli_parse_int("--every", optarg, 1, MAX_ITERS, &every))
                goto done;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            help();
            rc = CLI_OK;
            goto done;
        default:
            rc = cli_bad_option(CMD, c, argv);
            goto done;
        }
    }
    if (cli_no_operands(CMD, argc, argv))
        goto done;
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
    free(x0);
    return rc;
}
