/*
 * test_schema.c - the preprocessing saved as a schema and applied to new
 * data with bp_dataset_load_schema: a features-only file with its columns
 * in another order and an extra column gives the training inputs; missing
 * fills, class names and target scaling come back; unseen categories, a
 * missing label when one is needed and a missing input column are errors.
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

static bp_data_opts opts(void)
{
    bp_data_opts o;
    bp_data_opts_defaults(&o);
    o.notice = dt_keep_notice;
    dt_notices_clear();
    return o;
}

static bp_dataset *train_set(const char *name, const char *text, const bp_data_opts *o)
{
    bp_error err;
    bp_dataset *ds;
    dt_write(name, text);
    ds = bp_dataset_load_opts(dt_path(name), o, 0, &err);
    if (!ds)
        fail_msg("training load failed: %s", err.message);
    assert_non_null(bp_dataset_schema(ds));
    return ds;
}

static bp_dataset *with_schema(const char *name, const char *text, const char *schema,
                               int needs_label, const bp_data_opts *o)
{
    bp_error err;
    bp_dataset *ds;
    dt_write(name, text);
    ds = bp_dataset_load_schema(dt_path(name), schema, needs_label, o, 0, &err);
    if (!ds)
        fail_msg("schema load of %s failed: %s", name, err.message);
    return ds;
}

static const char *schema_fails(const char *name, const char *text, const char *schema,
                                 int needs_label, const bp_data_opts *o, int code)
{
    static bp_error err;
    bp_dataset *ds;
    dt_write(name, text);
    memset(&err, 0, sizeof err);
    ds = bp_dataset_load_schema(dt_path(name), schema, needs_label, o, 0, &err);
    if (ds) {
        bp_dataset_free(ds);
        fail_msg("schema load of %s succeeded", name);
    }
    if (err.code != code)
        fail_msg("%s: code %d, expected %d: %s", name, err.code, code, err.message);
    return err.message;
}

/* Raw (unscaled) inputs of every row. */
static float *raw_inputs(bp_dataset *ds)
{
    size_t n = bp_dataset_rows(ds) * (size_t)bp_dataset_inputs(ds);
    float *x = tu_xcalloc(n, sizeof *x);
    float *shift = tu_xcalloc((size_t)bp_dataset_inputs(ds), sizeof *shift);
    float *mul = tu_xcalloc((size_t)bp_dataset_inputs(ds), sizeof *mul);
    for (int j = 0; j < bp_dataset_inputs(ds); j++)
        mul[j] = 1.0f;
    TU_ASSERT_OK(bp_dataset_set_scaling(ds, shift, mul));
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, (int)bp_dataset_rows(ds), x, NULL));
    free(shift);
    free(mul);
    return x;
}

static const char *TRAIN =
    "\"\",\"age\",\"color\",\"height\",\"species\"\n"
    "\"1\",30,\"red\",1.5,\"b\"\n"
    "\"2\",NA,\"blue\",1.7,\"a\"\n"
    "\"3\",50,\"red\",1.9,\"c\"\n"
    "\"4\",40,NA,1.6,\"a\"\n";

static void test_round_trip(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train, *pred, *again;
    float *xt, *xp;
    (void)state;
    o.missing = BP_MISSING_MEAN;
    train = train_set("train.csv", TRAIN, &o);
    /* age, color=blue, color=red, height */
    assert_int_equal(bp_dataset_inputs(train), 4);
    assert_int_equal(bp_dataset_classes(train), 3);
    /* Features only, in another order, with an extra column; the
     * missing age takes the training mean 40, the missing color red. */
    o = opts();
    pred = with_schema("pred.csv", "height,extra,color,age\n"
                                   "1.5,9,red,30\n"
                                   "1.7,9,blue,NA\n"
                                   "1.9,9,red,50\n"
                                   "1.6,9,,40\n", bp_dataset_schema(train), 0, &o);
    dt_assert_contains(dt_notices(), "pred.csv: columns the model does not use, left out: 'extra'",
                       NULL);
    assert_int_equal(bp_dataset_rows(pred), 4);
    assert_int_equal(bp_dataset_inputs(pred), 4);
    assert_int_equal(bp_dataset_has_targets(pred), 0);
    assert_int_equal(bp_dataset_has_targets(train), 1);
    assert_string_equal(bp_dataset_class_name(pred, 2), "c");
    assert_string_equal(bp_dataset_task_reason(pred), "3 distinct text labels");
    xt = raw_inputs(train);
    xp = raw_inputs(pred);
    for (size_t i = 0; i < 16; i++)
        if (xt[i] != xp[i])
            fail_msg("input %zu: %g in training, %g from the schema", i, (double)xt[i],
                     (double)xp[i]);
    TU_ASSERT_EXACT(xp[4], 40.0f);
    TU_ASSERT_EXACT(xp[12 + 2], 1.0f);
    free(xt);
    free(xp);
    /* The training file itself, labels needed: the same targets. */
    again = with_schema("train.csv", TRAIN, bp_dataset_schema(train), 1, &o);
    {
        float t1[4], t2[4];
        TU_ASSERT_OK(bp_dataset_gather(train, NULL, 0, 4, NULL, t1));
        TU_ASSERT_OK(bp_dataset_gather(again, NULL, 0, 4, NULL, t2));
        assert_memory_equal(t1, t2, sizeof t1);
        TU_ASSERT_EXACT(t2[0], 1.0f);
    }
    assert_string_equal(bp_dataset_schema(again), bp_dataset_schema(train));
    bp_dataset_free(again);

    /* Unseen category: line, column and value. */
    dt_assert_contains(schema_fails("bad.csv", "age,color,height\n30,red,1\n31,green,2\n",
                                    bp_dataset_schema(train), 0, &o, BP_EFORMAT),
                       "bad.csv:3: 'green' in column 1 ('color') was not among its values in "
                       "the training data (blue, red)", NULL);
    /* A label present but not needed is ignored, even unseen. */
    again = with_schema("lab.csv", "age,color,height,species\n30,red,1,zzz\n",
                        bp_dataset_schema(train), 0, &o);
    assert_int_equal(bp_dataset_has_targets(again), 0);
    bp_dataset_free(again);
    /* Needed: unseen and absent labels are errors. */
    dt_assert_contains(schema_fails("lab.csv", "age,color,height,species\n30,red,1,zzz\n",
                                    bp_dataset_schema(train), 1, &o, BP_EFORMAT),
                       "lab.csv:2: 'zzz' in column 3 ('species') was not among its labels in "
                       "the training data (a, b, c)", NULL);
    dt_assert_contains(schema_fails("nolab.csv", "age,color,height\n30,red,1\n",
                                    bp_dataset_schema(train), 1, &o, BP_EFORMAT),
                       "no label column 'species'", NULL);
    /* A missing input column. */
    dt_assert_contains(schema_fails("few.csv", "age,height\n30,1\n", bp_dataset_schema(train),
                                    0, &o, BP_EFORMAT),
                       "few.csv: the model's column 'color' is not in the header (found "
                       "'age', 'height')", NULL);
    bp_dataset_free(pred);
    bp_dataset_free(train);
}

static void test_positions_and_targets(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train, *pred;
    double mean, scale;
    float x[2], t[1];
    (void)state;
    /* No header: columns by position; a regression target's scaling. */
    train = train_set("n.csv", "1,0.5,10.5\n2,1.5,20.5\n3,2.5,30.5\n", &o);
    assert_int_equal(bp_dataset_classes(train), 0);
    pred = with_schema("n2.csv", "4,3.5,40.5\n", bp_dataset_schema(train), 1, &o);
    assert_int_equal(bp_dataset_target_scaling(pred, &mean, &scale), 0);
    TU_ASSERT_EXACT(mean, 20.5);
    TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 0, 1, x, t));
    TU_ASSERT_EXACT(x[0], 4.0f);
    TU_ASSERT_EXACT(x[1], 3.5f);
    TU_ASSERT_EXACT(t[0], (float)((40.5 - 20.5) / scale));
    bp_dataset_free(pred);
    /* Features only, no header: the inputs in training order. */
    pred = with_schema("n3.csv", "4,3.5\n5,4.5\n", bp_dataset_schema(train), 0, &o);
    assert_int_equal(bp_dataset_rows(pred), 2);
    TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 1, 1, x, NULL));
    TU_ASSERT_EXACT(x[0], 5.0f);
    bp_dataset_free(pred);
    dt_assert_contains(schema_fails("n4.csv", "1,2,3,4\n", bp_dataset_schema(train), 0, &o,
                                    BP_EFORMAT), "4 columns and no header", NULL);
    dt_assert_contains(schema_fails("n5.csv", "4\n", bp_dataset_schema(train), 0, &o, BP_EFORMAT),
                       "n5.csv: 1 column and no header; the model was trained on 3 columns (2 "
                       "without the label)", NULL);
    bp_dataset_free(train);

    /* Numeric class labels map through the saved values. */
    train = train_set("c.csv", "a,y\n1,-1\n2,1\n3,-1\n", &o);
    pred = with_schema("c2.csv", "a,y\n5,1\n6,-1\n", bp_dataset_schema(train), 1, &o);
    TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 0, 1, NULL, t));
    TU_ASSERT_EXACT(t[0], 1.0f);
    assert_string_equal(bp_dataset_class_name(pred, 0), "-1");
    bp_dataset_free(pred);
    dt_assert_contains(schema_fails("c3.csv", "a,y\n5,2\n", bp_dataset_schema(train), 1, &o,
                                    BP_EFORMAT), "c3.csv:2: '2' in column 1 ('y') was not among its labels in the "
                                    "training data (-1, 1)", NULL);
    /* Missing cells with no saved fill: an error naming --missing drop. */
    dt_assert_contains(schema_fails("c4.csv", "a,y\nNA,1\n", bp_dataset_schema(train), 0, &o,
                                    BP_EFORMAT), "1 missing value", "--missing drop", NULL);
    bp_dataset_free(train);

    /* Schemas that are not valid. */
    dt_write("v.csv", "a,y\n1,2\n");
    {
        bp_error err;
        static const char *bad[] = {"{", "[]", "{\"header\": true}",
                                    "{\"format\": \"backprop-data\", \"header\": true, "
                                    "\"columns\": 2, \"missing\": \"error\", \"inputs\": [], "
                                    "\"task\": \"classify\", \"reason\": \"\"}"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            bp_dataset *ds = bp_dataset_load_schema(dt_path("v.csv"), bad[i], 0, &o, 0, &err);
            if (ds)
                fail_msg("schema %zu accepted", i);
            dt_assert_contains(err.message, "data schema", NULL);
        }
    }
    /* Specs other than delimited text ignore the schema. */
    {
        bp_error err;
        bp_dataset *ds = bp_dataset_load_schema("xor", "{}", 1, NULL, 0, &err);
        assert_non_null(ds);
        assert_null(bp_dataset_schema(ds));
        assert_null(bp_dataset_class_name(ds, 0));
        assert_int_equal(bp_dataset_has_targets(ds), 1);
        assert_int_equal(bp_dataset_target_scaling(ds, NULL, NULL), 1);
        bp_dataset_free(ds);
    }
}

/* Fail the k-th allocation of a training load and of a schema load, for
 * k = 1, 2, ... until each succeeds: BP_ENOMEM, nothing left allocated. */
/* A file of one column: features for a model of one input, with a header
 * or by position, the separator found or given; not when a label is
 * needed. */
static void test_one_column(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train, *pred;
    float x[2];
    (void)state;
    o.standardize = 0;
    train = train_set("one.csv", "size,price\n1,10.5\n2,20.25\n3,30.75\n", &o);
    pred = with_schema("one_f.csv", "size\n4\n5\n", bp_dataset_schema(train), 0, &o);
    assert_int_equal(bp_dataset_rows(pred), 2);
    assert_int_equal(bp_dataset_inputs(pred), 1);
    TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 1, 1, x, NULL));
    TU_ASSERT_EXACT(x[0], 5.0f);
    bp_dataset_free(pred);
    o.sep = ';';
    pred = with_schema("one_f.csv", "size\n4\n5\n", bp_dataset_schema(train), 0, &o);
    assert_int_equal(bp_dataset_rows(pred), 2);
    bp_dataset_free(pred);
    o.sep = 0;
    dt_assert_contains(schema_fails("one_f.csv", "size\n4\n5\n", bp_dataset_schema(train), 1,
                                    &o, BP_EFORMAT),
                       "found one column with each separator tried", NULL);
    bp_dataset_free(train);

    /* The positional schema of a model saved without one. */
    {
        const char *positional =
            "{\"format\": \"backprop-data\", \"version\": 1, \"header\": false, "
            "\"columns\": 2, \"missing\": \"error\", \"inputs\": [{\"name\": null, "
            "\"position\": 0, \"kind\": \"number\"}], \"label\": {\"name\": null, "
            "\"position\": 1, \"kind\": \"number\"}, \"task\": \"regress\", \"reason\": \"\"}";
        pred = with_schema("one_p.csv", "4\n5.5\n", positional, 0, &o);
        assert_int_equal(bp_dataset_rows(pred), 2);
        TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 0, 2, x, NULL));
        TU_ASSERT_EXACT(x[0], 4.0f);
        TU_ASSERT_EXACT(x[1], 5.5f);
        bp_dataset_free(pred);
    }
}

/* A header of other names is taken as one, and the model's columns it
 * lacks are named, not read as a row of data. */
static void test_other_header(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train, *pred;
    (void)state;
    train = train_set("h.csv", "size,rooms,price\n50,2,1.5\n80,3,2.5\n120,4,3.25\n", &o);
    dt_assert_contains(schema_fails("x.csv", "a,b,c\n1,2,3\n4,5,6\n", bp_dataset_schema(train),
                                    0, &o, BP_EFORMAT),
                       "x.csv: the model's columns 'size', 'rooms' are not in the header "
                       "(found 'a', 'b', 'c')", NULL);
    dt_assert_contains(schema_fails("x.csv", "a,b\nq,r\n", bp_dataset_schema(train), 0, &o,
                                    BP_EFORMAT),
                       "the model's columns 'size', 'rooms' are not in the header", NULL);
    dt_assert_contains(schema_fails("x.csv", "size,b\n1,2\n", bp_dataset_schema(train), 0, &o,
                                    BP_EFORMAT),
                       "x.csv: the model's column 'rooms' is not in the header (found 'size', "
                       "'b')", NULL);
    /* pandas' unnamed index column: left out, with a notice that says so. */
    dt_notices_clear();
    pred = with_schema("ix.csv", ",size,rooms\n0,60,2\n1,70,3\n", bp_dataset_schema(train), 0,
                       &o);
    assert_int_equal(bp_dataset_rows(pred), 2);
    assert_int_equal(bp_dataset_inputs(pred), 2);
    dt_assert_contains(dt_notices(), "ix.csv: columns the model does not use, left out: column 0 "
                       "(no name)", NULL);
    bp_dataset_free(pred);
    bp_dataset_free(train);
}

/* Numeric class labels keep their order by value in the schema (-2 before
 * -1, 9 before 10) and whole numbers their full digits. */
static void test_numeric_classes(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train, *pred;
    float t[2];
    (void)state;
    train = train_set("k.csv", "a,y\n1,-2\n2,-1\n3,10\n4,9\n5,100000\n", &o);
    assert_int_equal(bp_dataset_classes(train), 5);
    pred = with_schema("k2.csv", "a,y\n6,10\n7,-2\n", bp_dataset_schema(train), 1, &o);
    assert_string_equal(bp_dataset_class_name(pred, 0), "-2");
    assert_string_equal(bp_dataset_class_name(pred, 1), "-1");
    assert_string_equal(bp_dataset_class_name(pred, 2), "9");
    assert_string_equal(bp_dataset_class_name(pred, 3), "10");
    assert_string_equal(bp_dataset_class_name(pred, 4), "100000");
    TU_ASSERT_OK(bp_dataset_gather(pred, NULL, 0, 2, NULL, t));
    TU_ASSERT_EXACT(t[0], 3.0f);
    TU_ASSERT_EXACT(t[1], 0.0f);
    bp_dataset_free(pred);
    bp_dataset_free(train);
}

static void test_allocation_failures(void **state)
{
    bp_data_opts o = opts();
    bp_dataset *train;
    char *schema;
    (void)state;
    o.missing = BP_MISSING_MEAN;
    o.notice = NULL;
    train = train_set("train.csv", TRAIN, &o);
    schema = tu_xmalloc(strlen(bp_dataset_schema(train)) + 1);
    strcpy(schema, bp_dataset_schema(train));
    bp_dataset_free(train);
    for (int mode = 0; mode < 2; mode++) {
        long k;
        for (k = 1; k < 500; k++) {
            tu_counter c;
            bp_error err;
            bp_dataset *ds;
            memset(&err, 0, sizeof err);
            tu_counter_install(&c);
            tu_counter_fail_in(&c, k);
            ds = mode == 0 ? bp_dataset_load_opts(dt_path("train.csv"), &o, 0, &err)
                           : bp_dataset_load_schema(dt_path("train.csv"), schema, 1, &o, 0,
                                                    &err);
            if (ds) {
                assert_int_equal(c.failures, 0);
                bp_dataset_free(ds);
                bp_set_allocator(NULL);
                assert_int_equal(c.live, 0);
                break;
            }
            bp_set_allocator(NULL);
            if (err.code != BP_ENOMEM)
                fail_msg("mode %d, allocation %ld: got %d (%s)", mode, k, err.code,
                         err.message);
            assert_int_equal(c.live, 0);
        }
        if (k < 10 || k >= 500)
            fail_msg("mode %d: %ld allocations", mode, k);
    }
    free(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_positions_and_targets),
        cmocka_unit_test(test_one_column),
        cmocka_unit_test(test_other_header),
        cmocka_unit_test(test_numeric_classes),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
