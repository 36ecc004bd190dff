/*
 * test_csv.c - the CSV reader through bp_dataset_load: header detection,
 * the label column by name and by index, CRLF, blanks, bp_dataset_load's
 * class detection against numeric targets (bp_dataset_load_opts' rule is
 * in test_csv_text.c), every kind of bad input with the file, line, column
 * and found value in its message, and forced allocation failures.
 * The files are written by the tests into a scratch directory.
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

static const char *IRIS =
    "sepal_length,sepal_width,petal_length,petal_width,species\n"
    "5.1,3.5,1.4,0.2,0\n"
    "4.9,3.0,1.4,0.2,0\n"
    "7.0,3.2,4.7,1.4,1\n"
    "6.4,3.2,4.5,1.5,1\n"
    "6.3,3.3,6.0,2.5,2\n"
    "5.8,2.7,5.1,1.9,2\n";

/* Expected float of a decimal text, as the reader must produce it. */
static float dec(const char *s)
{
    return (float)strtod(s, NULL);
}

/* The path of `name` followed by a suffix, for specs. */
static const char *spec_of(const char *name, const char *suffix)
{
    static char buf[DT_PATH + 64];
    dt_fmt(buf, sizeof buf, "%s%s", dt_path(name), suffix);
    return buf;
}

static void test_header_and_default_label(void **state)
{
    char want[DT_PATH + 128];
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    dt_write("iris.csv", IRIS);
    ds = dt_load(dt_path("iris.csv"), 0);
    assert_int_equal(bp_dataset_rows(ds), 6);
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_int_equal(bp_dataset_target_cols(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), 3);
    dt_fmt(want, sizeof want, "%s (6 rows, 4 inputs, label column 'species', 3 classes)",
             dt_path("iris.csv"));
    assert_string_equal(bp_dataset_describe(ds), want);
    dt_gather_all(ds, &x, &t);
    TU_ASSERT_EXACT(x[0], dec("5.1"));
    TU_ASSERT_EXACT(x[3], dec("0.2"));
    TU_ASSERT_EXACT(x[4 * 5 + 2], dec("5.1"));
    TU_ASSERT_EXACT(x[4 * 5 + 3], dec("1.9"));
    TU_ASSERT_EXACT(t[0], 0.0f);
    TU_ASSERT_EXACT(t[2], 1.0f);
    TU_ASSERT_EXACT(t[5], 2.0f);
    free(x);
    free(t);
    bp_dataset_free(ds);
}

static void test_no_header(void **state)
{
    char want[DT_PATH + 128];
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    dt_write("plain.csv", "1,2,0\n-3.5,4e2,1\n0.125,-0,1\n");
    ds = dt_load(dt_path("plain.csv"), 0);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 2);
    dt_fmt(want, sizeof want, "%s (3 rows, 2 inputs, label column 2, 2 classes)",
             dt_path("plain.csv"));
    assert_string_equal(bp_dataset_describe(ds), want);
    dt_gather_all(ds, &x, &t);
    static const float ex[6] = {1.0f, 2.0f, -3.5f, 400.0f, 0.125f, 0.0f};
    static const float et[3] = {0.0f, 1.0f, 1.0f};
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(x[i], ex[i]);
    for (int i = 0; i < 3; i++)
        TU_ASSERT_EXACT(t[i], et[i]);
    free(x);
    free(t);
    bp_dataset_free(ds);
}

static void test_label_by_name_and_index(void **state)
{
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    dt_write("iris.csv", IRIS);
    /* By name: petal_length (column 2) is the target, the others inputs. */
    ds = dt_load(spec_of("iris.csv", ":label=petal_length"), 0);
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_non_null(strstr(bp_dataset_describe(ds), "label column 'petal_length', numeric target)"));
    dt_gather_all(ds, &x, &t);
    TU_ASSERT_EXACT(x[0], dec("5.1"));
    TU_ASSERT_EXACT(x[1], dec("3.5"));
    TU_ASSERT_EXACT(x[2], dec("0.2"));
    TU_ASSERT_EXACT(x[3], 0.0f);
    TU_ASSERT_EXACT(t[0], dec("1.4"));
    TU_ASSERT_EXACT(t[4], dec("6.0"));
    free(x);
    free(t);
    bp_dataset_free(ds);

    /* By index, with a header: column 0. */
    ds = dt_load(spec_of("iris.csv", ":label=0"), 0);
    assert_non_null(strstr(bp_dataset_describe(ds), "label column 'sepal_length'"));
    dt_gather_all(ds, &x, &t);
    TU_ASSERT_EXACT(t[3], dec("6.4"));
    TU_ASSERT_EXACT(x[0], dec("3.5"));
    TU_ASSERT_EXACT(x[3], 0.0f);
    free(x);
    free(t);
    bp_dataset_free(ds);

    /* By index without a header; upper-case extension. */
    dt_write("plain.CSV", "7,1,8\n9,0,10\n");
    ds = dt_load(spec_of("plain.CSV", ":label=1"), 0);
    assert_int_equal(bp_dataset_classes(ds), 2);
    dt_gather_all(ds, &x, &t);
    TU_ASSERT_EXACT(x[0], 7.0f);
    TU_ASSERT_EXACT(x[1], 8.0f);
    TU_ASSERT_EXACT(x[2], 9.0f);
    TU_ASSERT_EXACT(x[3], 10.0f);
    TU_ASSERT_EXACT(t[0], 1.0f);
    TU_ASSERT_EXACT(t[1], 0.0f);
    free(x);
    free(t);
    bp_dataset_free(ds);
}

static void test_crlf_blanks_bom(void **state)
{
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    dt_write("crlf.csv", "\xEF\xBB\xBF a , b ,label\r\n"
                         " 1.5 ,\t-2 , 1\r\n"
                         "\r\n"
                         "3,  4,0   \r\n"
                         "5 ,6 , 2\r\n"
                         "\r\n"
                         "   \n"
                         "\n");
    ds = dt_load(dt_path("crlf.csv"), 0);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_non_null(strstr(bp_dataset_describe(ds), "label column 'label'"));
    dt_gather_all(ds, &x, &t);
    static const float ex[6] = {1.5f, -2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    static const float et[3] = {1.0f, 0.0f, 2.0f};
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(x[i], ex[i]);
    for (int i = 0; i < 3; i++)
        TU_ASSERT_EXACT(t[i], et[i]);
    free(x);
    free(t);
    bp_dataset_free(ds);

    /* Header names with blanks: the trimmed name selects the column. */
    ds = dt_load(spec_of("crlf.csv", ":label=b"), 0);
    dt_gather_all(ds, &x, &t);
    TU_ASSERT_EXACT(t[0], -2.0f);
    TU_ASSERT_EXACT(x[1], 1.0f);
    free(x);
    free(t);
    bp_dataset_free(ds);

    /* No final newline. */
    dt_write("nonl.csv", "1,2\n3,4");
    ds = dt_load(dt_path("nonl.csv"), 0);
    assert_int_equal(bp_dataset_rows(ds), 2);
    bp_dataset_free(ds);
}

static void test_class_detection(void **state)
{
    bp_dataset *ds;
    (void)state;
    static const struct {
        const char *text;
        int classes;
    } cases[] = {
        {"1,0\n2,3\n3,1\n", 4},          /* integers: largest + 1 */
        {"1,2.0\n2,0\n", 3},             /* 2.0 is an integer */
        {"1,5\n2,5\n", 6},               /* class 5 alone: 6 classes */
        {"1,0.5\n2,1\n", 0},             /* a fraction: numeric */
        {"1,-1\n2,1\n", 0},              /* negative: numeric */
        {"1,65535\n2,0\n", 65536},       /* the largest class label */
        {"1,65536\n2,0\n", 0},           /* beyond it: numeric */
        {"1,1e3\n2,7\n", 1001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dt_write("c.csv", cases[i].text);
        ds = dt_load(dt_path("c.csv"), 0);
        if (bp_dataset_classes(ds) != cases[i].classes)
            fail_msg("case %zu: classes %d, expected %d", i, bp_dataset_classes(ds),
                     cases[i].classes);
        if (cases[i].classes == 0)
            assert_non_null(strstr(bp_dataset_describe(ds), "numeric target"));
        bp_dataset_free(ds);
    }
}

/* A file that must be refused: the message names the file, the line and
 * the other fragments given. */
static void expect_error(const char *text, const char *suffix, int code, const char *line,
                         const char *a, const char *b)
{
    const char *msg;
    dt_write("bad.csv", text);
    msg = dt_load_fails(spec_of("bad.csv", suffix), code);
    dt_assert_contains(msg, dt_path("bad.csv"), NULL);
    if (line)
        dt_assert_contains(msg, line, NULL);
    if (a)
        dt_assert_contains(msg, a, NULL);
    if (b)
        dt_assert_contains(msg, b, NULL);
}

static void test_errors(void **state)
{
    char iris_bad[1024];
    (void)state;
    /* A word among numbers, with the header name of its column. */
    dt_fmt(iris_bad, sizeof iris_bad, "%s%s", IRIS, "6.1,2.8,4.7,abc,1\n");
    expect_error(iris_bad, "", BP_EFORMAT, ".csv:8: ",
                 "column 3 ('petal_width'): expected a number", "found 'abc'");
    /* Without a header the column is named by its index. */
    expect_error("1,2,3\n4,x5,6\n", "", BP_EFORMAT, ".csv:2: ", "column 1: expected a number",
                 "found 'x5'");
    /* Too few and too many columns. */
    expect_error("a,b,c,d,e\n1,2,3,4,5\n\n1,2,3,4\n", "", BP_EFORMAT, ".csv:4: ",
                 "expected 5 columns (as in line 1)", "found 4");
    expect_error("1,2\n3,4,5\n", "", BP_EFORMAT, ".csv:2: ", "expected 2 columns (as in line 1)",
                 "found 3");
    /* Non-finite and out-of-range values. */
    expect_error("1,2\nnan,0\n", "", BP_EFORMAT, NULL, "1 missing value; use --missing drop",
                 "to fill them: column 0: 1 (first on line 2)");
    expect_error("1,2\n3,-inf\n", "", BP_EFORMAT, ".csv:2: ", "column 1: expected a finite number",
                 "found '-inf'");
    expect_error("1,2\n1e999,0\n", "", BP_EFORMAT, ".csv:2: ", "expected a finite number",
                 "found '1e999'");
    expect_error("1,2\n1e39,0\n", "", BP_EFORMAT, ".csv:2: ", "within float range",
                 "found '1e39'");
    /* An empty cell, and a cell with two numbers in it (a column of
     * numbers with one text cell is a typo, not a text column). */
    expect_error("x,y,z\n1,,2\n", "", BP_EFORMAT, NULL, "column 1 ('y'): 1 (first on line 2)",
                 "--missing mean");
    expect_error("1,2\n3 4,5\n", "", BP_EFORMAT, ".csv:2: ", "column 0: expected a number",
                 "found '3 4'");
    /* An empty cell on the first line is a missing value, not a header. */
    expect_error("1,,3\n4,5,6\n", "", BP_EFORMAT, NULL, "column 1: 1 (first on line 1)", NULL);
    /* No data. */
    expect_error("", "", BP_EFORMAT, NULL, ": no data rows", NULL);
    expect_error("\n  \r\n\n", "", BP_EFORMAT, NULL, ": no data rows", NULL);
    expect_error("a,b,c\n\n", "", BP_EFORMAT, NULL, ": no data rows", NULL);
    /* One column only. */
    expect_error("1\n2\n", "", BP_EFORMAT, NULL, "found one column with each separator tried",
                 "inputs and a label need two columns (name its separator with --sep)");
    /* Label columns that do not exist. */
    expect_error(IRIS, ":label=petal", BP_EINVAL, NULL, "no column named 'petal'",
                 "'sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'");
    expect_error(IRIS, ":label=5", BP_EINVAL, NULL, "label column 5 is out of range",
                 "0 to 4");
    expect_error("1,2\n", ":label=y", BP_EINVAL, NULL, "no header row", "not 'y'");
    expect_error("1,2\n", ":label=", BP_EINVAL, NULL, "empty label column", NULL);
    /* A long bad cell is shortened in the message. */
    expect_error("1,2\n1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "",
                 BP_EFORMAT, ".csv:2: ", "found 'aaaaaaaaaa", "...'");
}

static void test_io_errors(void **state)
{
    const char *msg;
    char spec[DT_PATH + 16];
    (void)state;
    dt_fmt(spec, sizeof spec, "%s", dt_path("missing.csv"));
    msg = dt_load_fails(spec, BP_EIO);
    dt_assert_contains(msg, "cannot open ", "missing.csv: No such file or directory", NULL);
    /* A directory named like a CSV file. */
    dt_fmt(spec, sizeof spec, "%s", dt_path("dir.csv"));
    if (dt_mkdir(spec) == 0) {
        msg = dt_load_fails(spec, BP_EIO);
        dt_assert_contains(msg, "dir.csv", NULL);
    }
}

/* A file larger than the first read buffer, read whole. */
static void test_large_file(void **state)
{
    size_t rows = 20000, cap = rows * 32 + 64, len = 0;
    char *text = tu_xmalloc(cap);
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    len += dt_fmt(text + len, cap - len, "f0,f1,y\n");
    for (size_t r = 0; r < rows; r++)
        len += dt_fmt(text + len, cap - len, "%zu,%zu.5,%zu\n", r, r * 2, r % 7);
    dt_write_bytes("big.csv", text, len);
    free(text);
    ds = dt_load(dt_path("big.csv"), 0);
    assert_int_equal(bp_dataset_rows(ds), rows);
    assert_int_equal(bp_dataset_classes(ds), 7);
    dt_gather_all(ds, &x, &t);
    for (size_t r = 0; r < rows; r++) {
        if (x[2 * r] != (float)r || x[2 * r + 1] != (float)(r * 2 + 0.5) ||
            t[r] != (float)(r % 7))
            fail_msg("row %zu: %g %g %g", r, (double)x[2 * r], (double)x[2 * r + 1],
                     (double)t[r]);
    }
    free(x);
    free(t);
    bp_dataset_free(ds);
}

/* Fail the k-th allocation for k = 1, 2, ... until the load succeeds:
 * every failure is BP_ENOMEM with nothing left allocated. */
static void test_allocation_failures(void **state)
{
    tu_counter c;
    long k;
    char text[1 << 17];
    size_t len = 0;
    (void)state;
    /* Bigger than the first read buffer, so the buffer grows. */
    len += dt_fmt(text + len, sizeof text - len, "a,b,label\n");
    while (len + 32 < sizeof text)
        len += dt_fmt(text + len, sizeof text - len, "1.5,2.5,%zu\n", len % 3);
    dt_write_bytes("alloc.csv", text, len);
    for (k = 1; k < 100; k++) {
        bp_error err;
        bp_dataset *ds;
        memset(&err, 0, sizeof err);
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        ds = bp_dataset_load(dt_path("alloc.csv"), 0, &err);
        if (ds) {
            assert_int_equal(c.failures, 0);
            bp_dataset_free(ds);
            bp_set_allocator(NULL);
            assert_int_equal(c.live, 0);
            break;
        }
        bp_set_allocator(NULL);
        if (err.code != BP_ENOMEM)
            fail_msg("allocation %ld failed: got %d (%s)", k, err.code, err.message);
        assert_int_equal(c.failures, 1);
        assert_int_equal(c.live, 0);
        dt_assert_contains(err.message, "alloc.csv", NULL);
    }
    if (k < 3)
        fail_msg("the load made only %ld allocations", k - 1);
    assert_true(k < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_default_label),
        cmocka_unit_test(test_no_header),
        cmocka_unit_test(test_label_by_name_and_index),
        cmocka_unit_test(test_crlf_blanks_bom),
        cmocka_unit_test(test_class_detection),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_large_file),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
