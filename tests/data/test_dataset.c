/*
 * test_dataset.c - the data-set type and the spec dispatch: from_arrays and
 * its checks, accessors, gather (row lists, ranges, bad indices, no
 * allocation, a batch large enough to be streamed), scaling and standardize, the synthetic specs (shapes, values
 * against bp_data_spiral/vertical, determinism by seed), xor, and the
 * errors for bad and unknown specs.
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

#include "data/data.h" /* a data set of bytes, as the IDX reader makes */

/* 6 rows of 3 inputs and 1 class label each. */
static const float X6[18] = {
    1.0f,  2.0f,  10.0f,
    3.0f,  -4.0f, 10.0f,
    5.0f,  6.0f,  10.0f,
    -7.0f, 8.5f,  10.0f,
    9.0f,  0.0f,  10.0f,
    11.0f, 2.25f, 10.0f,
};
static const float T6[6] = {0.0f, 1.0f, 2.0f, 1.0f, 0.0f, 2.0f};

static bp_dataset *make6(void)
{
    bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_from_arrays(6, 3, 1, X6, T6, 3, &err);
    if (!ds)
        fail_msg("bp_dataset_from_arrays failed: %s", err.message);
    return ds;
}

static void test_from_arrays(void **state)
{
    float x[18], t[6], copy[18];
    bp_dataset *ds;
    (void)state;
    memcpy(copy, X6, sizeof copy);
    ds = bp_dataset_from_arrays(6, 3, 1, copy, T6, 3, NULL);
    assert_non_null(ds);
    copy[0] = 99.0f; /* the data set holds its own copy */
    assert_int_equal(bp_dataset_rows(ds), 6);
    assert_int_equal(bp_dataset_inputs(ds), 3);
    assert_int_equal(bp_dataset_target_cols(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_string_equal(bp_dataset_describe(ds), "arrays (6 rows, 3 inputs, 3 classes)");
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 6, x, t));
    assert_memory_equal(x, X6, sizeof x);
    assert_memory_equal(t, T6, sizeof t);
    bp_dataset_free(ds);

    /* Numeric targets, two columns. */
    ds = bp_dataset_from_arrays(3, 2, 2, X6, X6 + 6, 0, NULL);
    assert_non_null(ds);
    assert_string_equal(bp_dataset_describe(ds), "arrays (3 rows, 2 inputs, numeric targets)");
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 1, 2, x, t));
    assert_memory_equal(x, X6 + 2, 4 * sizeof(float));
    assert_memory_equal(t, X6 + 8, 4 * sizeof(float));
    bp_dataset_free(ds);

    /* No rows at all. */
    ds = bp_dataset_from_arrays(0, 4, 1, NULL, NULL, 0, NULL);
    assert_non_null(ds);
    assert_int_equal(bp_dataset_rows(ds), 0);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 0, x, t));
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, 0, 1, x, t), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_standardize(ds), BP_EINVAL);
    bp_dataset_free(ds);
    bp_dataset_free(NULL);
}

static void expect_arrays_error(size_t rows, int inputs, int T, const float *x,
                                const float *t, int classes, int code, const char *fragment)
{
    bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_from_arrays(rows, inputs, T, x, t, classes, &err);
    if (ds) {
        bp_dataset_free(ds);
        fail_msg("from_arrays succeeded; expected \"%s\"", fragment);
    }
    assert_int_equal(err.code, code);
    dt_assert_contains(err.message, fragment, NULL);
}

static void test_from_arrays_errors(void **state)
{
    float bad[4] = {0.0f, 1.0f, NAN, 0.0f};
    float labels[3] = {0.0f, 1.5f, 1.0f};
    (void)state;
    expect_arrays_error(2, 0, 1, X6, T6, 0, BP_EINVAL, "inputs and target columns");
    expect_arrays_error(2, 2, 0, X6, T6, 0, BP_EINVAL, "inputs and target columns");
    expect_arrays_error(2, 2, 1, X6, T6, -1, BP_EINVAL, "classes");
    expect_arrays_error(2, 2, 2, X6, T6, 3, BP_EINVAL, "class labels need one target column");
    expect_arrays_error(2, 2, 1, NULL, T6, 0, BP_EINVAL, "must not be NULL");
    expect_arrays_error(2, 2, 1, bad, T6, 0, BP_ENONFINITE, "x row 1, column 0 is not finite");
    expect_arrays_error(2, 1, 2, X6, bad, 0, BP_ENONFINITE, "t row 1, column 0 is not finite");
    expect_arrays_error(3, 1, 1, X6, labels, 2, BP_EINVAL, "t row 1 is 1.5, not a class index in [0, 2)");
    expect_arrays_error(6, 3, 1, X6, T6, 2, BP_EINVAL, "t row 2 is 2, not a class index in [0, 2)");
    expect_arrays_error(SIZE_MAX / 2, 3, 1, X6, T6, 0, BP_EOVERFLOW, "too large");
}

static void test_accessors_null(void **state)
{
    (void)state;
    assert_int_equal(bp_dataset_rows(NULL), 0);
    assert_int_equal(bp_dataset_inputs(NULL), 0);
    assert_int_equal(bp_dataset_target_cols(NULL), 0);
    assert_int_equal(bp_dataset_classes(NULL), 0);
    assert_string_equal(bp_dataset_describe(NULL), "");
    TU_ASSERT_RC(bp_dataset_gather(NULL, NULL, 0, 0, NULL, NULL), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_standardize(NULL), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_get_scaling(NULL, NULL, NULL), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_set_scaling(NULL, NULL, NULL), BP_EINVAL);
}

static void test_gather_rows(void **state)
{
    static const size_t rows[4] = {5, 0, 3, 3};
    float x[12], t[4], xr[12];
    bp_dataset *ds = make6();
    (void)state;
    TU_ASSERT_OK(bp_dataset_gather(ds, rows, 0, 4, x, t));
    for (int b = 0; b < 4; b++) {
        assert_memory_equal(x + 3 * b, X6 + 3 * rows[b], 3 * sizeof(float));
        TU_ASSERT_EXACT(t[b], T6[rows[b]]);
    }
    /* `first` is ignored with a row list; targets or inputs may be skipped. */
    TU_ASSERT_OK(bp_dataset_gather(ds, rows, 4, 4, xr, NULL));
    assert_memory_equal(xr, x, sizeof x);
    TU_ASSERT_OK(bp_dataset_gather(ds, rows + 1, 0, 1, NULL, t));
    TU_ASSERT_EXACT(t[0], T6[0]);
    /* A range. */
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 2, 4, x, t));
    assert_memory_equal(x, X6 + 6, 12 * sizeof(float));
    assert_memory_equal(t, T6 + 2, 4 * sizeof(float));
    bp_dataset_free(ds);
}

static void test_gather_bad_rows(void **state)
{
    size_t rows[3] = {1, 6, 2};
    float x[9], t[3], before[9];
    bp_dataset *ds = make6();
    (void)state;
    for (int i = 0; i < 9; i++)
        x[i] = before[i] = -1.0f;
    /* Row 6 of 6 is out of range: nothing is written. */
    TU_ASSERT_RC(bp_dataset_gather(ds, rows, 0, 3, x, t), BP_EINVAL);
    assert_memory_equal(x, before, sizeof x);
    rows[1] = SIZE_MAX;
    TU_ASSERT_RC(bp_dataset_gather(ds, rows, 0, 3, x, t), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, 4, 3, x, t), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, 7, 0, x, t), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, SIZE_MAX, 1, x, t), BP_EINVAL);
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, 0, -1, x, t), BP_EINVAL);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 6, 0, x, t));
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 3, 3, x, t));
    bp_dataset_free(ds);
}

static void test_gather_allocates_nothing(void **state)
{
    static const size_t rows[3] = {2, 0, 1};
    tu_counter c;
    float x[12], t[6];
    bp_dataset *ds;
    (void)state;
    /* Float storage here; test_idx.c checks byte storage. */
    ds = dt_load("spiral:2:3", 1);
    tu_counter_install(&c);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 6, x, t));
    TU_ASSERT_OK(bp_dataset_gather(ds, rows, 0, 3, x, t));
    TU_ASSERT_RC(bp_dataset_gather(ds, NULL, 5, 2, x, t), BP_EINVAL);
    bp_set_allocator(NULL);
    assert_int_equal(c.requests, 0);
    assert_int_equal(c.frees, 0);
    bp_dataset_free(ds);
}

/* A batch past the streaming size (256 KB of floats), of rows that start
 * anywhere in a cache line, from byte and from float storage: every value
 * is (stored - shift) * mul in float, as a small gather writes it. */
static void test_gather_streamed(void **state)
{
    enum { N = 3000, I = 37, B = 2000 };
    (void)state;
    size_t *rows = malloc(B * sizeof *rows);
    float *big = malloc(((size_t)B * I + 16) * sizeof *big), *t = malloc(B * sizeof *t);
    float *small = malloc(I * sizeof *small), shift[I], mul[I];
    assert_true(rows && big && t && small);
    for (int j = 0; j < I; j++) {
        shift[j] = 0.25f * (float)(j % 7) - 0.5f;
        mul[j] = 1.0f / (float)(3 + j);
    }
    for (int bytes = 0; bytes <= 1; bytes++) {
        bp_error err;
        bp_dataset *ds = bp__dataset_new(N, I, 1, bytes, "test", &err);
        assert_non_null(ds);
        for (size_t k = 0; k < (size_t)N * I; k++) {
            if (bytes)
                ((uint8_t *)ds->x)[k] = (uint8_t)(k * 131u >> 3);
            else
                ((float *)ds->x)[k] = (float)(k % 1009) * 0.37f - 100.0f;
        }
        for (size_t r = 0; r < N; r++)
            ds->t[r] = (float)(r % 10);
        TU_ASSERT_OK(bp_dataset_set_scaling(ds, shift, mul));
        for (int b = 0; b < B; b++)
            rows[b] = (size_t)(b * 7919) % N;
        for (int skew = 0; skew < 16; skew += 5) { /* where row 0 starts in its line */
            float *x = big + skew;
            TU_ASSERT_OK(bp_dataset_gather(ds, rows, 0, B, x, t));
            for (int b = 0; b < B; b++) {
                const size_t r = rows[b];
                for (int j = 0; j < I; j++) {
                    const float v = bytes ? (float)((const uint8_t *)ds->x)[r * I + (size_t)j]
                                          : ((const float *)ds->x)[r * I + (size_t)j];
                    TU_ASSERT_EXACT(x[(size_t)b * I + (size_t)j], (v - shift[j]) * mul[j]);
                }
                TU_ASSERT_EXACT(t[b], (float)(r % 10));
            }
            /* one row alone, below the streaming size: the same values */
            TU_ASSERT_OK(bp_dataset_gather(ds, rows + 1, 0, 1, small, NULL));
            assert_memory_equal(small, x + I, I * sizeof *small);
        }
        bp_dataset_free(ds);
    }
    free(rows);
    free(big);
    free(t);
    free(small);
}

static void test_scaling(void **state)
{
    float shift[3] = {1.0f, -2.0f, 10.0f}, mul[3] = {0.5f, 2.0f, 1.0f};
    float s2[3], m2[3], x[18], t[6];
    bp_dataset *ds = make6();
    (void)state;
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, s2, m2));
    for (int j = 0; j < 3; j++) {
        TU_ASSERT_EXACT(s2[j], 0.0f);
        TU_ASSERT_EXACT(m2[j], 1.0f);
    }
    TU_ASSERT_OK(bp_dataset_set_scaling(ds, shift, mul));
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, s2, m2));
    assert_memory_equal(s2, shift, sizeof s2);
    assert_memory_equal(m2, mul, sizeof m2);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 6, x, t));
    for (int i = 0; i < 18; i++)
        TU_ASSERT_EXACT(x[i], (X6[i] - shift[i % 3]) * mul[i % 3]);
    assert_memory_equal(t, T6, sizeof t); /* targets are not scaled */
    /* Non-finite scaling is refused and changes nothing. */
    mul[1] = INFINITY;
    TU_ASSERT_RC(bp_dataset_set_scaling(ds, shift, mul), BP_ENONFINITE);
    shift[0] = NAN;
    mul[1] = 1.0f;
    TU_ASSERT_RC(bp_dataset_set_scaling(ds, shift, mul), BP_ENONFINITE);
    TU_ASSERT_RC(bp_dataset_set_scaling(ds, NULL, mul), BP_EINVAL);
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, s2, m2));
    TU_ASSERT_EXACT(s2[0], 1.0f);
    TU_ASSERT_EXACT(m2[1], 2.0f);
    bp_dataset_free(ds);
}

static void test_standardize(void **state)
{
    float x[18], t[6], shift[3], mul[3];
    bp_dataset *ds = make6();
    (void)state;
    TU_ASSERT_OK(bp_dataset_standardize(ds));
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, shift, mul));
    /* Column 0: 1, 3, 5, -7, 9, 11: mean 22/6, population variance. */
    {
        double m = 22.0 / 6.0, v = 0.0;
        for (int r = 0; r < 6; r++)
            v += (X6[3 * r] - m) * (X6[3 * r] - m);
        TU_ASSERT_EXACT(shift[0], (float)m);
        TU_ASSERT_EXACT(mul[0], (float)(1.0 / sqrt(v / 6.0)));
    }
    /* The constant column keeps mul 1 and is shifted to 0. */
    TU_ASSERT_EXACT(shift[2], 10.0f);
    TU_ASSERT_EXACT(mul[2], 1.0f);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 6, x, t));
    for (int j = 0; j < 3; j++) {
        double m = 0.0, v = 0.0;
        for (int r = 0; r < 6; r++)
            m += x[3 * r + j];
        m /= 6.0;
        for (int r = 0; r < 6; r++)
            v += (x[3 * r + j] - m) * (x[3 * r + j] - m);
        TU_ASSERT_CLOSE(m, 0.0, 0.0, 1e-6);
        TU_ASSERT_CLOSE(sqrt(v / 6.0), j == 2 ? 0.0 : 1.0, 1e-6, 1e-7);
    }
    bp_dataset_free(ds);

    /* A larger set: 2000 spiral points. */
    ds = dt_load("spiral:1000:2", 3);
    TU_ASSERT_OK(bp_dataset_standardize(ds));
    {
        float *xs, *ts;
        dt_gather_all(ds, &xs, &ts);
        for (int j = 0; j < 2; j++) {
            double m = 0.0, v = 0.0;
            for (int r = 0; r < 2000; r++)
                m += xs[2 * r + j];
            m /= 2000.0;
            for (int r = 0; r < 2000; r++)
                v += (xs[2 * r + j] - m) * (xs[2 * r + j] - m);
            TU_ASSERT_CLOSE(m, 0.0, 0.0, 1e-6);
            TU_ASSERT_CLOSE(sqrt(v / 2000.0), 1.0, 1e-5, 0.0);
        }
        free(xs);
        free(ts);
    }
    bp_dataset_free(ds);
}

/* A synthetic spec against the generator called directly. */
static void check_synthetic(const char *spec, int spiral, int points, int classes,
                            uint64_t seed)
{
    size_t n = (size_t)points * (size_t)classes;
    float *x = tu_xmalloc(n * 2 * sizeof *x), *t = tu_xmalloc(n * sizeof *t);
    float *ex = tu_xmalloc(n * 2 * sizeof *ex), *et = tu_xmalloc(n * sizeof *et);
    char want[128];
    bp_rng rng;
    bp_dataset *ds = dt_load(spec, seed);
    assert_int_equal(bp_dataset_rows(ds), n);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_target_cols(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), classes);
    dt_fmt(want, sizeof want, "%s (%zu rows, 2 inputs, %d classes)", spec, n, classes);
    assert_string_equal(bp_dataset_describe(ds), want);
    bp_rng_seed(&rng, seed);
    if (spiral)
        bp_data_spiral(&rng, points, classes, ex, et);
    else
        bp_data_vertical(&rng, points, classes, ex, et);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, (int)n, x, t));
    assert_memory_equal(x, ex, n * 2 * sizeof *x);
    assert_memory_equal(t, et, n * sizeof *t);
    for (size_t r = 0; r < n; r++)
        TU_ASSERT_EXACT(t[r], (float)(r / (size_t)points));
    bp_dataset_free(ds);
    free(x);
    free(t);
    free(ex);
    free(et);
}

static void test_synthetic(void **state)
{
    (void)state;
    check_synthetic("spiral:100:3", 1, 100, 3, 42);
    check_synthetic("spiral:1:2", 1, 1, 2, 0);
    check_synthetic("vertical:50:4", 0, 50, 4, 7);
    check_synthetic("vertical:3:2", 0, 3, 2, UINT64_MAX);
}

static void test_determinism(void **state)
{
    float a[600], b[600], ta[300], tb[300];
    bp_dataset *d1, *d2, *d3;
    (void)state;
    d1 = dt_load("spiral:100:3", 5);
    d2 = dt_load("spiral:100:3", 5);
    d3 = dt_load("spiral:100:3", 6);
    TU_ASSERT_OK(bp_dataset_gather(d1, NULL, 0, 300, a, ta));
    TU_ASSERT_OK(bp_dataset_gather(d2, NULL, 0, 300, b, tb));
    assert_memory_equal(a, b, sizeof a);
    TU_ASSERT_OK(bp_dataset_gather(d3, NULL, 0, 300, b, tb));
    assert_true(memcmp(a, b, sizeof a) != 0);
    assert_memory_equal(ta, tb, sizeof ta);
    bp_dataset_free(d1);
    bp_dataset_free(d2);
    bp_dataset_free(d3);
}

static void test_xor(void **state)
{
    static const float ex[8] = {0, 0, 0, 1, 1, 0, 1, 1}, et[4] = {0, 1, 1, 0};
    float x[8], t[4];
    bp_dataset *ds;
    (void)state;
    ds = dt_load("xor", 123);
    assert_int_equal(bp_dataset_rows(ds), 4);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 2);
    assert_string_equal(bp_dataset_describe(ds), "xor (4 rows, 2 inputs, 2 classes)");
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 4, x, t));
    assert_memory_equal(x, ex, sizeof x);
    assert_memory_equal(t, et, sizeof t);
    bp_dataset_free(ds);
}

static void test_bad_specs(void **state)
{
    const char *msg;
    (void)state;
    msg = dt_load_fails("mnist", BP_EINVAL);
    dt_assert_contains(msg, "unknown data set 'mnist'", "fashion-mnist[:train|:test]",
                       "PATH.csv|.tsv|.txt[:label=COL]", "csv:PATH", "idx:IMAGES,LABELS",
                       "spiral:N:K", "vertical:N:K", "xor", NULL);
    msg = dt_load_fails("", BP_EINVAL);
    dt_assert_contains(msg, "no data set given", "spiral:N:K", NULL);
    msg = dt_load_fails("fashion-mnist:valid", BP_EINVAL);
    dt_assert_contains(msg, "unknown data set 'fashion-mnist:valid'", NULL);
    msg = dt_load_fails("data.json", BP_EINVAL);
    dt_assert_contains(msg, "unknown data set 'data.json'", NULL);
    /* .txt is delimited text: the file is looked for. */
    msg = dt_load_fails("data.txt", BP_EIO);
    dt_assert_contains(msg, "cannot open data.txt", NULL);
    msg = dt_load_fails("spiral", BP_EINVAL);
    dt_assert_contains(msg, "unknown data set 'spiral'", NULL);
    msg = dt_load_fails("spiral:100", BP_EINVAL);
    dt_assert_contains(msg, "'spiral:100': expected spiral:N:K", NULL);
    msg = dt_load_fails("spiral:0:3", BP_EINVAL);
    dt_assert_contains(msg, "N (points per class) must be a whole number of at least 1, got '0'", NULL);
    msg = dt_load_fails("vertical:-5:3", BP_EINVAL);
    dt_assert_contains(msg, "got '-5'", NULL);
    msg = dt_load_fails("spiral:10:1", BP_EINVAL);
    dt_assert_contains(msg, "K (classes) must be a whole number from 2 to 65536, got '1'", NULL);
    msg = dt_load_fails("vertical:10:x", BP_EINVAL);
    dt_assert_contains(msg, "got 'x'", NULL);
    msg = dt_load_fails("spiral:10:3:1", BP_EINVAL);
    dt_assert_contains(msg, "got '3:1'", NULL);
    msg = dt_load_fails("spiral:100000:1000", BP_EINVAL);
    dt_assert_contains(msg, "N * K must be at most 16777216 rows", NULL);
    msg = dt_load_fails("spiral:99999999999999999999:3", BP_EINVAL);
    dt_assert_contains(msg, "N * K must be at most", NULL);
    assert_null(bp_dataset_load(NULL, 0, NULL));
}

/* Fail each allocation of a synthetic load in turn. */
static void test_allocation_failures(void **state)
{
    tu_counter c;
    long k;
    (void)state;
    for (k = 1; k < 10; k++) {
        bp_error err;
        bp_dataset *ds;
        memset(&err, 0, sizeof err);
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        ds = bp_dataset_load("spiral:10:3", 1, &err);
        if (ds) {
            bp_dataset_free(ds);
            bp_set_allocator(NULL);
            assert_int_equal(c.live, 0);
            break;
        }
        bp_set_allocator(NULL);
        assert_int_equal(err.code, BP_ENOMEM);
        dt_assert_contains(err.message, "spiral:10:3", "out of memory", NULL);
        assert_int_equal(c.live, 0);
    }
    assert_int_equal(k, 2); /* one allocation: the whole data set */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_arrays),
        cmocka_unit_test(test_from_arrays_errors),
        cmocka_unit_test(test_accessors_null),
        cmocka_unit_test(test_gather_rows),
        cmocka_unit_test(test_gather_bad_rows),
        cmocka_unit_test(test_gather_allocates_nothing),
        cmocka_unit_test(test_gather_streamed),
        cmocka_unit_test(test_scaling),
        cmocka_unit_test(test_standardize),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
