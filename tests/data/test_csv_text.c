/*
 * test_csv_text.c - delimited text as people write it, through
 * bp_dataset_load_opts: RFC 4180 quoting, each separator and its
 * detection, encodings, header detection both ways, the index column of R
 * and pandas, choosing columns, missing values in each mode, one-hot
 * inputs, label maps and the task's guess, standardization.
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

#include <math.h>

static bp_data_opts plain_opts(void)
{
    bp_data_opts o;
    bp_data_opts_defaults(&o);
    o.standardize = 0;
    o.standardize_target = 0;
    o.notice = dt_keep_notice;
    dt_notices_clear();
    return o;
}

static bp_dataset *load_ok(const char *spec, const bp_data_opts *o)
{
    bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_load_opts(spec, o, 0, &err);
    if (!ds)
        fail_msg("bp_dataset_load_opts(\"%s\") failed: %s", spec, err.message);
    return ds;
}

static const char *load_fails(const char *spec, const bp_data_opts *o, int code)
{
    static bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_load_opts(spec, o, 0, &err);
    if (ds) {
        bp_dataset_free(ds);
        fail_msg("bp_dataset_load_opts(\"%s\") succeeded", spec);
    }
    if (err.code != code)
        fail_msg("\"%s\": code %d, expected %d: %s", spec, err.code, code, err.message);
    return err.message;
}

/* Row r of ds's scaled inputs, gathered. */
static void row_of(const bp_dataset *ds, size_t r, float *x, float *t)
{
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, r, 1, x, t));
}

static void test_quoting(void **state)
{
    bp_data_opts o = plain_opts();
    float x[8], t[1];
    bp_dataset *ds;
    (void)state;
    /* Doubled quotes, a separator and a line break inside quotes; the
     * error of line 5 must name its physical line. */
    dt_write("q.csv", "name,size,label\n"
                      "\"say \"\"hi\"\"\",1,a\n"
                      "\"x, y\",2,b\n"
                      "\"two\nlines\",3,a\n");
    ds = load_ok(dt_path("q.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 3);
    /* name one-hot: sorted "say \"hi\"", "two\nlines", "x, y" */
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_non_null(strstr(bp_dataset_schema(ds), "[\"say \\\"hi\\\"\", \"two\\u000alines\", \"x, y\"]"));
    row_of(ds, 1, x, t);
    TU_ASSERT_EXACT(x[0], 0.0f);
    TU_ASSERT_EXACT(x[2], 1.0f);
    TU_ASSERT_EXACT(x[3], 2.0f);
    TU_ASSERT_EXACT(t[0], 1.0f);
    bp_dataset_free(ds);

    dt_write("q2.csv", "a,b\n1,2\n\"3\n4\",5\n6,7,8\n");
    dt_assert_contains(load_fails(dt_path("q2.csv"), &o, BP_EFORMAT), "q2.csv:5: ",
                       "expected 2 columns", "found 3", NULL);
    /* A quote never closed: the line it opened on. */
    dt_write("q3.csv", "a,b\n1,2\n3,\"4\n5,6\n7,8\n");
    dt_assert_contains(load_fails(dt_path("q3.csv"), &o, BP_EFORMAT), "q3.csv:3: ",
                       "never closed", NULL);
    /* Text after a closing quote. */
    dt_write("q4.csv", "a,b\n1,\"2\"x\n");
    dt_assert_contains(load_fails(dt_path("q4.csv"), &o, BP_EFORMAT), "q4.csv:2: ",
                       "after a closing quote", "found 'x'", NULL);
}

static void test_separators(void **state)
{
    static const struct {
        const char *name, *text;
    } cases[] = {
        {"c.csv", "a,b,y\n1,2,0\n3,4,1\n"},
        {"s.csv", "a;b;y\n1;2;0\n3;4;1\n"},
        {"t.tsv", "a\tb\ty\n1\t2\t0\n3\t4\t1\n"},
        {"p.txt", "a|b|y\n1|2|0\n3|4|1\n"},
        {"noext", "a;b;y\n1;2;0\n3;4;1\n"},
        /* commas inside quoted cells do not count (and are decimal commas) */
        {"m.csv", "a;b;y\n\"1,5\";2;0\n\"3,5\";4;1\n"},
    };
    bp_data_opts o = plain_opts();
    float x[4], t[1];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_dataset *ds;
        dt_write(cases[i].name, cases[i].text);
        ds = load_ok(dt_path(cases[i].name), &o);
        if (bp_dataset_rows(ds) != 2 || bp_dataset_classes(ds) != 2)
            fail_msg("case %zu: %s", i, bp_dataset_describe(ds));
        row_of(ds, 1, x, t);
        if (i < 5 && (x[0] != 3.0f || x[1] != 4.0f || t[0] != 1.0f))
            fail_msg("case %zu: %g %g %g", i, (double)x[0], (double)x[1], (double)t[0]);
        bp_dataset_free(ds);
    }
    /* csv: forces delimited text for any name. */
    dt_write("data.dat", "a,b\n1,0\n2,1\n");
    {
        char spec[DT_PATH + 16];
        bp_dataset *ds;
        dt_fmt(spec, sizeof spec, "csv:%s", dt_path("data.dat"));
        ds = load_ok(spec, &o);
        assert_int_equal(bp_dataset_rows(ds), 2);
        bp_dataset_free(ds);
        dt_fmt(spec, sizeof spec, "csv:%s:label=0", dt_path("data.dat"));
        ds = load_ok(spec, &o);
        assert_int_equal(bp_dataset_classes(ds), 2);
        bp_dataset_free(ds);
    }
    /* Forced separator: the semicolon file read with ',' is one column. */
    o.sep = ',';
    dt_assert_contains(load_fails(dt_path("s.csv"), &o, BP_EFORMAT),
                       "s.csv:1: found 1 column with the separator ','; inputs and a label "
                       "need two columns", NULL);
    /* Any other separator is named once, as itself. */
    o.sep = ':';
    dt_assert_contains(load_fails(dt_path("s.csv"), &o, BP_EFORMAT),
                       "found 1 column with the separator ':'; inputs", NULL);
    o.sep = ';';
    {
        bp_dataset *ds = load_ok(dt_path("s.csv"), &o);
        assert_int_equal(bp_dataset_inputs(ds), 2);
        bp_dataset_free(ds);
    }
    o.sep = 0;
    dt_write("one.csv", "abc\ndef\n");
    dt_assert_contains(load_fails(dt_path("one.csv"), &o, BP_EFORMAT),
                       "each separator tried (',', ';', tab, '|')", "--sep", NULL);
}

static void test_encodings(void **state)
{
    bp_data_opts o = plain_opts();
    bp_dataset *ds;
    (void)state;
    dt_write("bom.csv", "\xEF\xBB\xBF" "caf\xC3\xA9,y\r\n\"cr\xC3\xA8me\",1\r\nth\xC3\xA9,2\r\n");
    ds = load_ok(dt_path("bom.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 2);
    assert_non_null(strstr(bp_dataset_schema(ds), "\"name\": \"caf\xC3\xA9\""));
    assert_non_null(strstr(bp_dataset_schema(ds), "[\"cr\xC3\xA8me\", \"th\xC3\xA9\"]"));
    bp_dataset_free(ds);
    dt_write_bytes("u16.csv", "\xFF\xFE" "a\0,\0b\0", 8);
    dt_assert_contains(load_fails(dt_path("u16.csv"), &o, BP_EFORMAT), "UTF-16",
                       "save it as UTF-8", NULL);
    dt_write_bytes("u16be.csv", "\xFE\xFF\0a\0,\0b", 8);
    dt_assert_contains(load_fails(dt_path("u16be.csv"), &o, BP_EFORMAT), "UTF-16", NULL);
    dt_write_bytes("nul.csv", "a,b\n1,2\n3\0,4\n", 13);
    dt_assert_contains(load_fails(dt_path("nul.csv"), &o, BP_EFORMAT), "nul.csv:3: ",
                       "NUL byte", "save it as UTF-8", NULL);
    /* Latin-1 text cannot go into the schema. */
    dt_write("latin.csv", "a,y\ncaf\xE9,1\nthe,2\n");
    dt_assert_contains(load_fails(dt_path("latin.csv"), &o, BP_EFORMAT), "not UTF-8",
                       "'caf\\xe9'", NULL);
}

static void test_header_detection(void **state)
{
    bp_data_opts o = plain_opts();
    bp_dataset *ds;
    (void)state;
    /* Names over numbers: a header. */
    dt_write("h1.csv", "x,y\n1,0\n2,1\n");
    ds = load_ok(dt_path("h1.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 2);
    bp_dataset_free(ds);
    /* All numbers: no header. */
    dt_write("h2.csv", "5,0\n1,0\n2,1\n");
    ds = load_ok(dt_path("h2.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 3);
    bp_dataset_free(ds);
    /* All text, first values never again below: a header. */
    dt_write("h3.csv", "color,label\nred,yes\nblue,no\nred,no\n");
    ds = load_ok(dt_path("h3.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_string_equal(bp_dataset_class_name(ds, 1), "yes");
    bp_dataset_free(ds);
    /* All text, "red" recurs below: data. */
    dt_write("h4.csv", "red,yes\nblue,no\nred,no\n");
    ds = load_ok(dt_path("h4.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    bp_dataset_free(ds);
    /* Forced both ways. */
    o.header = 1;
    ds = load_ok(dt_path("h2.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 2);
    assert_non_null(strstr(bp_dataset_describe(ds), "label column '0'"));
    assert_string_equal(bp_dataset_label(ds), "'0'");
    bp_dataset_free(ds);
    o.header = 0;
    ds = load_ok(dt_path("h3.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 4);
    assert_string_equal(bp_dataset_label(ds), "column 1");
    assert_int_equal(bp_dataset_classes(ds), 3); /* label, no, yes */
    bp_dataset_free(ds);
}

static void test_index_column(void **state)
{
    bp_data_opts o = plain_opts();
    float x[4], t[1];
    bp_dataset *ds;
    (void)state;
    /* R's write.csv: quoted strings, "" first header cell, row names. */
    dt_write("r.csv", "\"\",\"Sepal.Length\",\"Sepal.Width\",\"Species\"\n"
                      "\"1\",5.1,3.5,\"setosa\"\n"
                      "\"2\",4.9,3,\"setosa\"\n"
                      "\"3\",7,3.2,\"versicolor\"\n"
                      "\"4\",6.3,3.3,\"virginica\"\n");
    ds = load_ok(dt_path("r.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_string_equal(bp_dataset_class_name(ds, 2), "virginica");
    assert_string_equal(bp_dataset_task_reason(ds), "3 distinct text labels");
    dt_assert_contains(dt_notices(), "column 0 has no name (a row index", NULL);
    row_of(ds, 2, x, t);
    TU_ASSERT_EXACT(x[0], 7.0f);
    TU_ASSERT_EXACT(x[1], 3.2f);
    TU_ASSERT_EXACT(t[0], 1.0f);
    bp_dataset_free(ds);
    /* pandas' to_csv: an unnamed index, or "Unnamed: 0" read back and
     * written again. */
    dt_write("pd.csv", ",a,b\n0,1.5,x\n1,2.5,y\n2,3.5,x\n");
    ds = load_ok(dt_path("pd.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 1);
    bp_dataset_free(ds);
    dt_write("pd2.csv", "Unnamed: 0,a,b\n0,1.5,x\n1,2.5,y\n");
    dt_notices_clear();
    ds = load_ok(dt_path("pd2.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 1);
    dt_assert_contains(dt_notices(), "pd2.csv: column 0", NULL);
    bp_dataset_free(ds);
}

static void test_features_and_drop(void **state)
{
    bp_data_opts o = plain_opts();
    float x[4], t[1];
    bp_dataset *ds;
    (void)state;
    dt_write("f.csv", "id,a,b,c,y\n7,1,2,3,0\n8,4,5,6,1\n");
    o.features = "c, a";
    ds = load_ok(dt_path("f.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    row_of(ds, 1, x, t);
    TU_ASSERT_EXACT(x[0], 6.0f); /* in the order given */
    TU_ASSERT_EXACT(x[1], 4.0f);
    bp_dataset_free(ds);
    o.features = NULL;
    o.drop = "id,2";
    ds = load_ok(dt_path("f.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    row_of(ds, 0, x, t);
    TU_ASSERT_EXACT(x[0], 1.0f);
    TU_ASSERT_EXACT(x[1], 3.0f);
    bp_dataset_free(ds);
    o.drop = "nope";
    dt_assert_contains(load_fails(dt_path("f.csv"), &o, BP_EINVAL), "no column named 'nope'",
                       "'id', 'a', 'b', 'c', 'y'", NULL);
    o.drop = NULL;
    o.features = "a,y";
    dt_assert_contains(load_fails(dt_path("f.csv"), &o, BP_EINVAL), "column 4 ('y') is the "
                       "label", NULL);
    o.features = "9";
    dt_assert_contains(load_fails(dt_path("f.csv"), &o, BP_EINVAL), "column 9 is out of range",
                       NULL);
    o.features = NULL;
    o.label = "a";
    o.drop = "id,b,c,y";
    dt_assert_contains(load_fails(dt_path("f.csv"), &o, BP_EINVAL), "no input columns", NULL);
}

static void test_missing(void **state)
{
    bp_data_opts o = plain_opts();
    float x[4], t[1];
    bp_dataset *ds;
    (void)state;
    dt_write("m.csv", "a,color,y\n1,red,0\nNA,blue,1\n3,,0\n5,red,1\n?,N/A,0\n");
    dt_assert_contains(load_fails(dt_path("m.csv"), &o, BP_EFORMAT), "4 missing values",
                       "column 0 ('a'): 2 (first on line 3)", "column 1 ('color'): 2 (first "
                       "on line 4)", "--missing drop", "--missing mean", NULL);
    o.missing = BP_MISSING_DROP;
    ds = load_ok(dt_path("m.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 2);
    dt_assert_contains(dt_notices(), "3 rows with missing values left out", NULL);
    row_of(ds, 1, x, t);
    TU_ASSERT_EXACT(x[0], 5.0f);
    bp_dataset_free(ds);
    o.missing = BP_MISSING_MEAN;
    ds = load_ok(dt_path("m.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 5);
    row_of(ds, 1, x, t);
    TU_ASSERT_EXACT(x[0], 3.0f); /* mean of 1, 3, 5 */
    row_of(ds, 2, x, t);
    TU_ASSERT_EXACT(x[1], 0.0f); /* most frequent: red */
    TU_ASSERT_EXACT(x[2], 1.0f);
    assert_non_null(strstr(bp_dataset_schema(ds), "\"fill\": 3}"));
    assert_non_null(strstr(bp_dataset_schema(ds), "\"fill\": \"red\""));
    bp_dataset_free(ds);
    /* A tie of counts: the first in sorted order. */
    dt_write("tie.csv", "c,y\nb,1\na,2\n,3\n");
    ds = load_ok(dt_path("tie.csv"), &o);
    assert_non_null(strstr(bp_dataset_schema(ds), "\"fill\": \"a\""));
    bp_dataset_free(ds);
    /* A missing label: refused unless rows are dropped. */
    dt_write("ml.csv", "a,y\n1,0\n2,\n3,1\n");
    dt_assert_contains(load_fails(dt_path("ml.csv"), &o, BP_EFORMAT), "ml.csv:3: ",
                       "labels are not filled", NULL);
    o.missing = BP_MISSING_ERROR;
    dt_assert_contains(load_fails(dt_path("ml.csv"), &o, BP_EFORMAT), "column 1 ('y'): 1",
                       NULL);
    o.missing = BP_MISSING_DROP;
    ds = load_ok(dt_path("ml.csv"), &o);
    assert_int_equal(bp_dataset_rows(ds), 2);
    bp_dataset_free(ds);
    /* Every row dropped. */
    dt_write("all.csv", "a,y\nNA,0\nnull,1\n");
    dt_assert_contains(load_fails(dt_path("all.csv"), &o, BP_EFORMAT), "no data rows left",
                       NULL);
}

static void test_one_hot(void **state)
{
    bp_data_opts o;
    float x[8], t[1];
    bp_dataset *ds;
    (void)state;
    bp_data_opts_defaults(&o); /* standardized: one-hot inputs untouched */
    dt_write("oh.csv", "size,color,y\n1,red,0\n2,green,1\n3,blue,0\n4,red,1\n");
    ds = load_ok(dt_path("oh.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_non_null(strstr(bp_dataset_schema(ds), "[\"blue\", \"green\", \"red\"]"));
    row_of(ds, 1, x, t);
    /* size: mean 2.5, population sd sqrt(1.25) */
    TU_ASSERT_CLOSE(x[0], (2.0 - 2.5) / sqrt(1.25), 0, 1e-6);
    TU_ASSERT_EXACT(x[1], 0.0f);
    TU_ASSERT_EXACT(x[2], 1.0f);
    TU_ASSERT_EXACT(x[3], 0.0f);
    {
        float shift[4], mul[4];
        TU_ASSERT_OK(bp_dataset_get_scaling(ds, shift, mul));
        TU_ASSERT_EXACT(shift[1], 0.0f);
        TU_ASSERT_EXACT(mul[3], 1.0f);
        TU_ASSERT_EXACT(shift[0], 2.5f);
    }
    bp_dataset_free(ds);
}

static void test_labels(void **state)
{
    static const struct {
        const char *text;
        bp_task task;
        int classes;
        const char *first, *reason;
    } cases[] = {
        {"a,y\n1,setosa\n2,virginica\n3,versicolor\n", BP_TASK_AUTO, 3, "setosa",
         "3 distinct text labels"},
        {"a,y\n1,1\n2,2\n3,3\n4,1\n", BP_TASK_AUTO, 3, "1",
         "3 distinct integer values (at most 20)"},
        {"a,y\n1,-1\n2,+1\n3,-1\n", BP_TASK_AUTO, 2, "-1", NULL},
        {"a,y\n1,1.5\n2,2\n", BP_TASK_AUTO, 0, NULL, "non-integer values"},
        {"a,y\n1,1\n2,2\n3,3\n", BP_TASK_REGRESS, 0, NULL, "regression asked for"},
        {"a,y\n1,0.5\n2,2\n", BP_TASK_CLASSIFY, 2, "0.5", "classification asked for"},
    };
    bp_data_opts o = plain_opts();
    bp_dataset *ds;
    float x[1], t[1];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dt_write("l.csv", cases[i].text);
        o.task = cases[i].task;
        ds = load_ok(dt_path("l.csv"), &o);
        if (bp_dataset_classes(ds) != cases[i].classes)
            fail_msg("case %zu: %d classes (%s)", i, bp_dataset_classes(ds),
                     bp_dataset_task_reason(ds));
        if (cases[i].first)
            assert_string_equal(bp_dataset_class_name(ds, 0), cases[i].first);
        else
            assert_null(bp_dataset_class_name(ds, 0));
        if (cases[i].reason)
            dt_assert_contains(bp_dataset_task_reason(ds), cases[i].reason, NULL);
        bp_dataset_free(ds);
    }
    /* setosa, virginica, versicolor: classes 0, 2, 1 (sorted names). */
    o.task = BP_TASK_AUTO;
    dt_write("l.csv", cases[0].text);
    ds = load_ok(dt_path("l.csv"), &o);
    row_of(ds, 1, x, t);
    TU_ASSERT_EXACT(t[0], 2.0f);
    bp_dataset_free(ds);
    /* A count 0..89: 90 integer values, a regression. */
    {
        char text[2048];
        size_t n = dt_fmt(text, sizeof text, "a,count\n");
        for (int v = 0; v < 90; v++)
            n += dt_fmt(text + n, sizeof text - n, "%d,%d\n", v % 7, v);
        dt_write("count.csv", text);
    }
    ds = load_ok(dt_path("count.csv"), &o);
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_string_equal(bp_dataset_task_reason(ds), "90 distinct integer values (more than 20)");
    bp_dataset_free(ds);
    /* Regression on a text label: refused. */
    o.task = BP_TASK_REGRESS;
    dt_write("l.csv", cases[0].text);
    dt_assert_contains(load_fails(dt_path("l.csv"), &o, BP_EINVAL), "holds text",
                       "a regression needs numbers", NULL);
}

static void test_target_scaling(void **state)
{
    bp_data_opts o;
    double mean, scale;
    float x[1], t[1];
    bp_dataset *ds;
    (void)state;
    bp_data_opts_defaults(&o);
    dt_write("price.csv", "rooms,price\n1,100000.5\n2,200000.5\n3,300000.5\n");
    ds = load_ok(dt_path("price.csv"), &o);
    assert_int_equal(bp_dataset_target_scaling(ds, &mean, &scale), 0);
    TU_ASSERT_CLOSE(mean, 200000.5, 0, 1e-9);
    TU_ASSERT_CLOSE(scale, sqrt(2.0 / 3.0) * 100000.0, 0, 1e-6);
    row_of(ds, 2, x, t);
    TU_ASSERT_CLOSE(t[0], 100000.0 / scale, 0, 1e-6);
    assert_non_null(strstr(bp_dataset_schema(ds), "\"target\": {\"mean\": 200000.5,"));
    bp_dataset_free(ds);
    /* bp_dataset_load keeps the values. */
    ds = dt_load(dt_path("price.csv"), 0);
    assert_int_equal(bp_dataset_target_scaling(ds, &mean, &scale), 1);
    TU_ASSERT_EXACT(scale, 1.0);
    row_of(ds, 2, x, t);
    TU_ASSERT_EXACT(t[0], 300000.5f);
    TU_ASSERT_EXACT(x[0], 3.0f);
    bp_dataset_free(ds);
}

/* A spreadsheet's export in a locale with decimal commas: ';' between
 * cells, CRLF, a BOM, an empty column at the end of every line. */
static void test_spreadsheet(void **state)
{
    bp_data_opts o = plain_opts();
    float x[2], t[1];
    bp_dataset *ds;
    (void)state;
    dt_write("sheet.csv", "\xEF\xBB\xBF" "width;height;kind;\r\n"
                          "1,5;-2,25;big;\r\n"
                          "3;4,0;small;\r\n"
                          "0,125;1e2;big;\r\n");
    ds = load_ok(dt_path("sheet.csv"), &o);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 2);
    assert_string_equal(bp_dataset_class_name(ds, 0), "big");
    dt_assert_contains(dt_notices(), "column 3 has no name and no values; left out", NULL);
    row_of(ds, 0, x, t);
    TU_ASSERT_EXACT(x[0], 1.5f);
    TU_ASSERT_EXACT(x[1], -2.25f);
    row_of(ds, 2, x, t);
    TU_ASSERT_EXACT(x[0], 0.125f);
    TU_ASSERT_EXACT(x[1], 100.0f);
    TU_ASSERT_EXACT(t[0], 0.0f);
    bp_dataset_free(ds);
    /* In a comma-separated file a quoted "1,5" is text. */
    dt_write("q.csv", "a,y\n\"1,5\",0\n\"2,5\",1\n");
    ds = load_ok(dt_path("q.csv"), &o);
    assert_non_null(strstr(bp_dataset_schema(ds), "[\"1,5\", \"2,5\"]"));
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_header_detection),
        cmocka_unit_test(test_index_column),
        cmocka_unit_test(test_features_and_drop),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_one_hot),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_target_scaling),
        cmocka_unit_test(test_spreadsheet),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
