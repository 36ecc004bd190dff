/*
 * test_minimize.c - gradient descent on functions the caller supplies: the
 * lesson's parabola step by step against the recurrence, the tolerance
 * stop, a two-dimensional bowl, and the options that are refused.
 */
#include "testutil.h"

static tu_counter counter;

static int restore_allocator(void **state)
{
    (void)state;
    bp_set_allocator(NULL);
    return 0;
}

/* y = (x - c)^2 with the centre and a call count in the context. */
typedef struct parabola {
    double c;
    int f_calls, df_calls;
} parabola;

static double para_f(double x, void *ctx)
{
    parabola *p = ctx;
    p->f_calls++;
    return (x - p->c) * (x - p->c);
}

static double para_df(double x, void *ctx)
{
    parabola *p = ctx;
    p->df_calls++;
    return 2.0 * (x - p->c);
}

/* The lesson: y = (x - 3)^2 from x = 1 at rate 0.05 for 25 iterations. */
static void test_parabola_path(void **state)
{
    parabola ctx = {3.0, 0, 0};
    bp_minimize_opts o = bp_minimize_defaults();
    bp_path path;
    (void)state;
    o.lr = 0.05;
    o.max_iter = 25;
    o.tol = 0.0;
    memset(&path, 0, sizeof path);
    TU_ASSERT_OK(bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path));
    assert_int_equal(path.n, 26); /* the start and 25 steps */
    assert_int_equal(path.dim, 1);
    assert_int_equal(path.converged, 0);
    assert_non_null(path.x);
    assert_non_null(path.f);
    assert_true(ctx.df_calls >= 25);

    /* The recurrence x <- x - 0.05 * 2 * (x - 3), in double. */
    double x = 1.0;
    for (int k = 0; k < 26; k++) {
        if (!(path.x[k] == x))
            fail_msg("point %d: %.17g, recurrence gives %.17g", k, path.x[k], x);
        /* f at each point is the function's value there. */
        TU_ASSERT_EXACT(path.f[k], (x - 3.0) * (x - 3.0));
        /* Closed form: 3 - 2 * 0.9^k. */
        TU_ASSERT_CLOSE(path.x[k], 3.0 - 2.0 * pow(0.9, k), 0.0, 1e-12);
        x = x - 0.05 * 2 * (x - 3);
    }
    /* The first steps of the lesson, and the last two points exactly. */
    TU_ASSERT_CLOSE(path.x[1], 1.2, 0.0, 1e-15);
    TU_ASSERT_CLOSE(path.x[2], 1.38, 0.0, 1e-15);
    TU_ASSERT_CLOSE(path.x[3], 1.542, 0.0, 1e-15);
    TU_ASSERT_CLOSE(path.x[4], 1.6878, 0.0, 1e-15);
    TU_ASSERT_EXACT(path.x[24], 2.840467113846255);
    TU_ASSERT_EXACT(path.x[25], 2.8564204024616293);
    /* Downhill all the way. */
    for (int k = 1; k < 26; k++)
        assert_true(path.f[k] < path.f[k - 1]);
    bp_path_free(&path);
    bp_path_free(NULL);
}

/* With a tolerance the descent stops at the first point whose slope is
 * within it: |2 (x - 3)| = 4 * 0.9^k <= 0.1 first at k = 36. */
static void test_parabola_tolerance(void **state)
{
    parabola ctx = {3.0, 0, 0};
    bp_minimize_opts o = bp_minimize_defaults();
    bp_path path;
    (void)state;
    o.lr = 0.05;
    o.max_iter = 1000;
    o.tol = 0.1;
    TU_ASSERT_OK(bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path));
    assert_int_equal(path.converged, 1);
    /* The first point of the recurrence within the tolerance. */
    double x = 1.0;
    int first = 0;
    while (fabs(2.0 * (x - 3.0)) > 0.1) {
        x = x - 0.05 * 2 * (x - 3);
        first++;
    }
    assert_int_equal(first, 36);
    assert_int_equal(path.n, first + 1);
    TU_ASSERT_EXACT(path.x[path.n - 1], x);
    for (int k = 0; k + 1 < path.n; k++)
        assert_true(fabs(2.0 * (path.x[k] - 3.0)) > 0.1);
    bp_path_free(&path);

    /* Without enough iterations it does not converge. */
    o.max_iter = 10;
    TU_ASSERT_OK(bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path));
    assert_int_equal(path.converged, 0);
    assert_int_equal(path.n, 11);
    bp_path_free(&path);

    /* Starting at the minimum: converged at once, one point. */
    o.max_iter = 10;
    TU_ASSERT_OK(bp_minimize_1d(para_f, para_df, &ctx, 3.0, &o, &path));
    assert_int_equal(path.converged, 1);
    assert_int_equal(path.n, 1);
    TU_ASSERT_EXACT(path.x[0], 3.0);
    TU_ASSERT_EXACT(path.f[0], 0.0);
    bp_path_free(&path);
}

static void test_defaults(void **state)
{
    bp_minimize_opts o = bp_minimize_defaults();
    (void)state;
    TU_ASSERT_EXACT(o.lr, 0.01);
    assert_int_equal(o.max_iter, 1000);
    TU_ASSERT_EXACT(o.tol, 0.0);
}

/* f = (x - 1)^2 + 10 (y + 2)^2: a bowl ten times steeper in y. */
static double bowl_f(const double *v, void *ctx)
{
    (void)ctx;
    return (v[0] - 1.0) * (v[0] - 1.0) + 10.0 * (v[1] + 2.0) * (v[1] + 2.0);
}

static void bowl_grad(const double *v, double *g, void *ctx)
{
    (void)ctx;
    g[0] = 2.0 * (v[0] - 1.0);
    g[1] = 20.0 * (v[1] + 2.0);
}

static void test_bowl(void **state)
{
    const double x0[2] = {-3.0, 2.0};
    bp_minimize_opts o = bp_minimize_defaults();
    bp_path path;
    (void)state;
    /* Stable for lr < 2 / 20; the x direction shrinks by 0.92 per step. */
    o.lr = 0.04;
    o.max_iter = 500;
    TU_ASSERT_OK(bp_minimize(2, bowl_f, bowl_grad, NULL, x0, &o, &path));
    assert_int_equal(path.n, 501);
    assert_int_equal(path.dim, 2);
    assert_int_equal(path.converged, 0);
    double v[2] = {x0[0], x0[1]};
    for (int k = 0; k < path.n; k++) {
        double g[2];
        TU_ASSERT_EXACT(path.x[2 * k], v[0]);
        TU_ASSERT_EXACT(path.x[2 * k + 1], v[1]);
        TU_ASSERT_EXACT(path.f[k], bowl_f(v, NULL));
        bowl_grad(v, g, NULL);
        v[0] -= 0.04 * g[0];
        v[1] -= 0.04 * g[1];
    }
    const double *last = path.x + 2 * (path.n - 1);
    TU_ASSERT_CLOSE(last[0], 1.0, 0.0, 1e-9);
    TU_ASSERT_CLOSE(last[1], -2.0, 0.0, 1e-9);
    TU_ASSERT_CLOSE(path.f[path.n - 1], 0.0, 0.0, 1e-18);
    bp_path_free(&path);

    /* Stopping on the gradient's norm. */
    o.tol = 1e-8;
    o.max_iter = 100000;
    TU_ASSERT_OK(bp_minimize(2, bowl_f, bowl_grad, NULL, x0, &o, &path));
    assert_int_equal(path.converged, 1);
    assert_true(path.n < 100001);
    for (int k = 0; k < path.n; k++) {
        double g[2];
        bowl_grad(path.x + 2 * k, g, NULL);
        double norm = sqrt(g[0] * g[0] + g[1] * g[1]);
        if (k + 1 < path.n)
            assert_true(norm > 1e-8);
        else
            assert_true(norm <= 1e-8);
    }
    bp_path_free(&path);
}

static void test_bad_options(void **state)
{
    parabola ctx = {3.0, 0, 0};
    const double x0[2] = {0, 0};
    bp_minimize_opts good = bp_minimize_defaults(), o;
    bp_path path;
    (void)state;
    const double bad_lr[] = {0.0, -0.1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_lr / sizeof bad_lr[0]; i++) {
        o = good;
        o.lr = bad_lr[i];
        memset(&path, 0, sizeof path);
        TU_ASSERT_RC(bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path), BP_EINVAL);
        bp_path_free(&path);
        memset(&path, 0, sizeof path);
        TU_ASSERT_RC(bp_minimize(2, bowl_f, bowl_grad, NULL, x0, &o, &path), BP_EINVAL);
        bp_path_free(&path);
    }
    const int bad_iter[] = {0, -1, -1000};
    for (size_t i = 0; i < sizeof bad_iter / sizeof bad_iter[0]; i++) {
        o = good;
        o.max_iter = bad_iter[i];
        memset(&path, 0, sizeof path);
        TU_ASSERT_RC(bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path), BP_EINVAL);
        bp_path_free(&path);
        memset(&path, 0, sizeof path);
        TU_ASSERT_RC(bp_minimize(2, bowl_f, bowl_grad, NULL, x0, &o, &path), BP_EINVAL);
        bp_path_free(&path);
    }
    memset(&path, 0, sizeof path);
    TU_ASSERT_RC(bp_minimize_1d(NULL, para_df, &ctx, 1.0, &good, &path), BP_EINVAL);
    bp_path_free(&path);
    memset(&path, 0, sizeof path);
    TU_ASSERT_RC(bp_minimize_1d(para_f, NULL, &ctx, 1.0, &good, &path), BP_EINVAL);
    bp_path_free(&path);
    memset(&path, 0, sizeof path);
    TU_ASSERT_RC(bp_minimize(2, NULL, bowl_grad, NULL, x0, &good, &path), BP_EINVAL);
    bp_path_free(&path);
    memset(&path, 0, sizeof path);
    TU_ASSERT_RC(bp_minimize(2, bowl_f, NULL, NULL, x0, &good, &path), BP_EINVAL);
    bp_path_free(&path);
    memset(&path, 0, sizeof path);
    TU_ASSERT_RC(bp_minimize(0, bowl_f, bowl_grad, NULL, x0, &good, &path), BP_EINVAL);
    bp_path_free(&path);
}

/* The path's allocations fail cleanly. */
static void test_allocation_failure(void **state)
{
    parabola ctx = {3.0, 0, 0};
    bp_minimize_opts o = bp_minimize_defaults();
    bp_path path;
    long k;
    (void)state;
    o.lr = 0.05;
    o.max_iter = 25;
    tu_counter_install(&counter);
    for (k = 1; k < 100; k++) {
        long failed = counter.failures;
        memset(&path, 0, sizeof path);
        tu_counter_fail_in(&counter, k);
        int rc = bp_minimize_1d(para_f, para_df, &ctx, 1.0, &o, &path);
        int injected = counter.failures > failed;
        tu_counter_fail_in(&counter, 0);
        if (!injected) {
            TU_ASSERT_OK(rc);
            assert_int_equal(path.n, 26);
            bp_path_free(&path);
            assert_int_equal(counter.live, 0);
            break;
        }
        TU_ASSERT_RC(rc, BP_ENOMEM);
        bp_path_free(&path);
        assert_int_equal(counter.live, 0);
    }
    assert_true(k > 1 && k < 100);
    bp_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parabola_path),
        cmocka_unit_test(test_parabola_tolerance),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bowl),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test_teardown(test_allocation_failure, restore_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
