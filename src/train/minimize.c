/*
 * minimize.c - gradient descent on any function the caller supplies with
 * its derivative: x <- x - lr * grad f(x), recording the path of points and
 * values. (The minimum of (x - 3)^2 is at x = 3, and each step subtracts the
 * rate times the slope dy/dx.)
 */
#include "internal.h"

#include <math.h>
#include <string.h>

bp_minimize_opts bp_minimize_defaults(void)
{
    bp_minimize_opts o = {0.01, 1000, 0.0};
    return o;
}

void bp_path_free(bp_path *path)
{
    if (!path)
        return;
    bp__free(path->x);
    bp__free(path->f);
    path->x = path->f = NULL;
    path->n = 0;
}

int bp_minimize(int dim, bp_fn f, bp_grad_fn grad, void *ctx, const double *x0,
                const bp_minimize_opts *opts, bp_path *path)
{
    size_t points, cells;
    double *g = NULL;
    if (!path)
        return BP_EINVAL;
    memset(path, 0, sizeof *path);
    if (dim <= 0 || !f || !grad || !x0 || !opts || !(isfinite(opts->lr) && opts->lr > 0.0) ||
        opts->max_iter <= 0 || !(opts->tol >= 0.0))
        return BP_EINVAL;
    points = (size_t)opts->max_iter + 1;
    if (bp__mul_size(points, (size_t)dim, &cells))
        return BP_EOVERFLOW;
    path->x = bp__calloc(cells, sizeof *path->x);
    path->f = bp__calloc(points, sizeof *path->f);
    g = bp__calloc((size_t)dim, sizeof *g);
    if (!path->x || !path->f || !g) {
        bp__free(g);
        bp_path_free(path);
        return BP_ENOMEM;
    }
    path->dim = dim;
    memcpy(path->x, x0, (size_t)dim * sizeof *x0);
    path->f[0] = f(path->x, ctx);
    path->n = 1;
    int rc = isfinite(path->f[0]) ? 0 : BP_ENONFINITE;
    for (int it = 1; rc == 0 && it <= opts->max_iter; it++) {
        const double *x = path->x + (size_t)(it - 1) * (size_t)dim;
        double *next = path->x + (size_t)it * (size_t)dim, norm2 = 0.0;
        grad(x, g, ctx);
        for (int d = 0; d < dim; d++) {
            if (!isfinite(g[d]))
                rc = BP_ENONFINITE;
            norm2 += g[d] * g[d]; /* may overflow for huge but finite slopes: */
        }                         /* then the norm is inf, never <= tol */
        if (rc != 0)
            break;
        if (opts->tol > 0.0 && sqrt(norm2) <= opts->tol) {
            path->converged = 1;
            break;
        }
        for (int d = 0; d < dim; d++)
            next[d] = x[d] - opts->lr * g[d];
        path->f[it] = f(next, ctx);
        path->n = it + 1;
        if (!isfinite(path->f[it]))
            rc = BP_ENONFINITE;
    }
    bp__free(g);
    return rc;
}

/* Adapts a pair of 1-D callbacks to the N-D form. */
typedef struct one_d {
    bp_fn1 f, df;
    void *ctx;
} one_d;

static double f_1d(const double *x, void *ctx)
{
    const one_d *o = ctx;
    return o->f(x[0], o->ctx);
}

static void grad_1d(const double *x, double *g, void *ctx)
{
    const one_d *o = ctx;
    g[0] = o->df(x[0], o->ctx);
}

int bp_minimize_1d(bp_fn1 f, bp_fn1 df, void *ctx, double x0,
                   const bp_minimize_opts *opts, bp_path *path)
{
    one_d o = {f, df, ctx};
    if (!f || !df) {
        if (path)
            memset(path, 0, sizeof *path);
        return BP_EINVAL;
    }
    return bp_minimize(1, f_1d, grad_1d, &o, &x0, opts, path);
}
