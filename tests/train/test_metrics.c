/*
 * test_metrics.c - evaluation metrics against figures worked out by hand in
 * the comments: a 3-class confusion matrix (precision, recall, F1, support,
 * accuracy, macro averages), zero divisions, a regression's MAE, RMSE and
 * R^2 with and without the affine unscaling, a constant target, several
 * target columns, and the errors (room for the classes, non-finite
 * outputs). The networks pass their inputs through (identity weights), so
 * the data's inputs are the predictions.
 */
#include "testutil.h"

/* A network of `spec` whose single layer has identity weights, no bias. */
static bp_net *pass_through(const char *spec, int n)
{
    bp_net *net = tu_net(spec);
    float w[16] = {0};
    for (int k = 0; k < n; k++)
        w[k * n + k] = 1.0f;
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, NULL));
    return net;
}

static bp_dataset *arrays(size_t rows, int inputs, int T, const float *x, const float *t,
                          int classes)
{
    bp_error err;
    memset(&err, 0, sizeof err);
    bp_dataset *ds = bp_dataset_from_arrays(rows, inputs, T, x, t, classes, &err);
    if (!ds)
        fail_msg("bp_dataset_from_arrays: %s", err.message);
    return ds;
}

/* 11 rows of 3 classes; predicted (the argmax of the inputs) against true:
 *   true 0: 0 0 0 1      true 1: 1 1 0 2      true 2: 2 1 1
 * Confusion (rows true, columns predicted): [3 1 0; 1 2 1; 0 2 1].
 * Class 0: TP 3 of 4 predicted, 4 true: P 3/4, R 3/4, F1 6/8.
 * Class 1: TP 2 of 5 predicted, 4 true: P 2/5, R 1/2, F1 4/9.
 * Class 2: TP 1 of 2 predicted, 3 true: P 1/2, R 1/3, F1 2/5.
 * Accuracy 6/11; macro P (3/4 + 2/5 + 1/2) / 3 = 0.55, macro R
 * (3/4 + 1/2 + 1/3) / 3 = 19/36, macro F1 (3/4 + 4/9 + 2/5) / 3. */
static void test_three_classes(void **state)
{
    static const int pred[11] = {0, 0, 0, 1, 1, 1, 0, 2, 2, 1, 1};
    static const float truth[11] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
    float x[33] = {0};
    size_t cm[9];
    bp_class_metrics pc[3];
    bp_metrics m;
    bp_error err;
    (void)state;
    for (int r = 0; r < 11; r++)
        x[r * 3 + pred[r]] = 2.0f;
    bp_net *net = pass_through("3,3:softmax:nobias", 3);
    bp_dataset *ds = arrays(11, 3, 1, x, truth, 3);
    assert_int_equal(bp_metrics_classes(net, BP_LOSS_CCE), 3);
    assert_int_equal(bp_metrics_classes(net, BP_LOSS_MSE), 0);
    bp_metrics_init(&m, cm, pc, 3);
    TU_ASSERT_OK(bp_metrics_evaluate(net, ds, BP_LOSS_CCE, &m, &err));

    static const size_t want[9] = {3, 1, 0, 1, 2, 1, 0, 2, 1};
    for (int k = 0; k < 9; k++)
        assert_int_equal(cm[k], want[k]);
    assert_int_equal(m.classes, 3);
    assert_int_equal(m.n, 11);
    const double P[3] = {0.75, 0.4, 0.5}, R[3] = {0.75, 0.5, 1.0 / 3}, F[3] = {0.75, 4.0 / 9, 0.4};
    const size_t S[3] = {4, 4, 3};
    for (int k = 0; k < 3; k++) {
        TU_ASSERT_CLOSE(pc[k].precision, P[k], 1e-15, 0.0);
        TU_ASSERT_CLOSE(pc[k].recall, R[k], 1e-15, 0.0);
        TU_ASSERT_CLOSE(pc[k].f1, F[k], 1e-15, 0.0);
        assert_int_equal(pc[k].support, S[k]);
    }
    TU_ASSERT_CLOSE(m.accuracy, 6.0 / 11, 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.macro_precision, 0.55, 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.macro_recall, 19.0 / 36, 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.macro_f1, (0.75 + 4.0 / 9 + 0.4) / 3, 1e-15, 0.0);
    /* The loss is bp_evaluate's figure. */
    double loss, acc;
    TU_ASSERT_OK(bp_evaluate(net, ds, BP_LOSS_CCE, &loss, &acc, &err));
    TU_ASSERT_CLOSE(m.loss, loss, 1e-12, 0.0);
    TU_ASSERT_CLOSE(m.accuracy, acc, 1e-15, 0.0);

    /* Too little room for three classes. */
    bp_metrics_init(&m, cm, pc, 2);
    TU_ASSERT_RC(bp_metrics_evaluate(net, ds, BP_LOSS_CCE, &m, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "room for 3 classes"));
    bp_dataset_free(ds);
    bp_net_free(net);
}

/* One output with bce: two classes. After a sigmoid, class 1 from 0.5 on:
 * logits 2.2 0 -1.4 -2.2 -0.04 are predicted 1 1 0 0 0 against true
 * 1 0 0 1 1: confusion [1 1; 2 1], accuracy 2/5, class 1's precision 1/2
 * and recall 1/3. After an identity layer the outputs are the logits
 * themselves and class 1 starts at 0: the same matrix. */
static void test_binary(void **state)
{
    static const float x[5] = {2.2f, 0.0f, -1.4f, -2.2f, -0.04f}, t[5] = {1, 0, 0, 1, 1};
    static const size_t want[4] = {1, 1, 2, 1};
    static const char *const specs[2] = {"1,1:sigmoid:nobias", "1,1:identity:nobias"};
    size_t cm[4];
    bp_class_metrics pc[2];
    bp_metrics m;
    bp_error err;
    (void)state;
    bp_dataset *ds = arrays(5, 1, 1, x, t, 0);
    for (int s = 0; s < 2; s++) {
        bp_net *net = pass_through(specs[s], 1);
        assert_int_equal(bp_metrics_classes(net, BP_LOSS_BCE), 2);
        bp_metrics_init(&m, cm, pc, 2);
        TU_ASSERT_OK(bp_metrics_evaluate(net, ds, BP_LOSS_BCE, &m, &err));
        for (int k = 0; k < 4; k++)
            assert_int_equal(cm[k], want[k]);
        TU_ASSERT_CLOSE(m.accuracy, 0.4, 1e-15, 0.0);
        TU_ASSERT_CLOSE(pc[1].precision, 0.5, 1e-15, 0.0);
        TU_ASSERT_CLOSE(pc[1].recall, 1.0 / 3, 1e-15, 0.0);
        bp_net_free(net);
    }
    bp_dataset_free(ds);
}

/* Zero divisions give 0. Confusion of 4 classes [2 0 1 0; 0 0 0 0; 0 0 0 0;
 * 1 0 0 0]: class 1 neither true nor predicted (all 0, left out of the
 * macro averages), class 2 predicted once but never true (P 0/1, R 0/0),
 * class 3 true once but never predicted (P 0/0, R 0/1). Class 0: P 2/3,
 * R 2/3, F1 2/3; macro over classes 0, 2, 3: (2/3) / 3 = 2/9 each. */
static void test_zero_division(void **state)
{
    size_t cm[16] = {2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    bp_class_metrics pc[4];
    bp_metrics m;
    (void)state;
    bp_metrics_init(&m, cm, pc, 4);
    m.classes = 4;
    TU_ASSERT_OK(bp_metrics_from_confusion(&m));
    assert_int_equal(m.n, 4);
    TU_ASSERT_CLOSE(pc[0].precision, 2.0 / 3, 1e-15, 0.0);
    TU_ASSERT_CLOSE(pc[0].f1, 2.0 / 3, 1e-15, 0.0);
    for (int k = 1; k < 4; k++) {
        TU_ASSERT_EXACT(pc[k].precision, 0.0);
        TU_ASSERT_EXACT(pc[k].recall, 0.0);
        TU_ASSERT_EXACT(pc[k].f1, 0.0);
    }
    assert_int_equal(pc[1].support, 0);
    assert_int_equal(pc[2].support, 0);
    assert_int_equal(pc[3].support, 1);
    TU_ASSERT_EXACT(m.accuracy, 0.5);
    TU_ASSERT_CLOSE(m.macro_precision, 2.0 / 9, 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.macro_recall, 2.0 / 9, 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.macro_f1, 2.0 / 9, 1e-15, 0.0);
    /* An empty matrix: every figure 0. */
    memset(cm, 0, sizeof cm);
    TU_ASSERT_OK(bp_metrics_from_confusion(&m));
    TU_ASSERT_EXACT(m.accuracy, 0.0);
    TU_ASSERT_EXACT(m.macro_f1, 0.0);
    m.classes = 0;
    TU_ASSERT_RC(bp_metrics_from_confusion(&m), BP_EINVAL);
}

/* Predictions 2 4 6 9 against targets 1 4 8 7: errors 1 0 -2 2, so MAE
 * 5/4, squared errors 9 in all, RMSE sqrt(9/4) = 1.5, MSE loss 2.25; the
 * targets' mean is 5, SS_tot 16 + 1 + 9 + 4 = 30, R^2 = 1 - 9/30 = 0.7.
 * Unscaled by value * 10 + 100: MAE 12.5, RMSE 15, R^2 still 0.7. */
static void test_regression(void **state)
{
    static const float y[4] = {2, 4, 6, 9}, t[4] = {1, 4, 8, 7};
    bp_metrics m;
    bp_error err;
    (void)state;
    bp_net *net = pass_through("1,1:identity:nobias", 1);
    bp_dataset *ds = arrays(4, 1, 1, y, t, 0);
    assert_int_equal(bp_metrics_classes(net, BP_LOSS_MAE), 0);
    bp_metrics_init(&m, NULL, NULL, 0);
    TU_ASSERT_OK(bp_metrics_evaluate(net, ds, BP_LOSS_MSE, &m, &err));
    assert_int_equal(m.classes, 0);
    assert_int_equal(m.n, 4);
    TU_ASSERT_EXACT(m.mae, 1.25);
    TU_ASSERT_EXACT(m.rmse, 1.5);
    TU_ASSERT_CLOSE(m.r2, 0.7, 1e-15, 0.0);
    TU_ASSERT_EXACT(m.loss, 2.25);

    bp_metrics_init(&m, NULL, NULL, 0);
    m.target_mean = 100.0;
    m.target_scale = 10.0;
    TU_ASSERT_OK(bp_metrics_evaluate(net, ds, BP_LOSS_MSE, &m, &err));
    TU_ASSERT_EXACT(m.mae, 12.5);
    TU_ASSERT_EXACT(m.rmse, 15.0);
    TU_ASSERT_CLOSE(m.r2, 0.7, 1e-15, 0.0);
    TU_ASSERT_EXACT(m.loss, 2.25); /* the loss stays in the network's units */
    /* A negative scale flips signs, not the figures. */
    m.target_scale = -10.0;
    TU_ASSERT_OK(bp_metrics_regression(&m, 4, 1, y, t));
    TU_ASSERT_EXACT(m.mae, 12.5);
    TU_ASSERT_EXACT(m.rmse, 15.0);
    TU_ASSERT_CLOSE(m.r2, 0.7, 1e-15, 0.0);
    bp_dataset_free(ds);
    bp_net_free(net);
}

/* A constant target (SS_tot = 0): R^2 1 for exact predictions, else 0.
 * Two columns: predictions (1, 0), (3, 0) against (1, 1), (2, 1); squared
 * errors 0 + 1 + 1 + 1 = 3 over 4 cells (MAE 3/4, RMSE sqrt(3/4)); SS_tot
 * 0.5 from the first column alone, 0 from the constant second: R^2 =
 * 1 - 3 / 0.5 = -5. */
static void test_regression_edges(void **state)
{
    static const float same[3] = {3, 3, 3}, off[3] = {3, 4, 3};
    static const float y2[4] = {1, 0, 3, 0}, t2[4] = {1, 1, 2, 1};
    bp_metrics m;
    (void)state;
    bp_metrics_init(&m, NULL, NULL, 0);
    TU_ASSERT_OK(bp_metrics_regression(&m, 3, 1, same, same));
    TU_ASSERT_EXACT(m.r2, 1.0);
    TU_ASSERT_EXACT(m.mae, 0.0);
    TU_ASSERT_OK(bp_metrics_regression(&m, 3, 1, off, same));
    TU_ASSERT_EXACT(m.r2, 0.0);
    TU_ASSERT_CLOSE(m.mae, 1.0 / 3, 1e-15, 0.0);
    TU_ASSERT_OK(bp_metrics_regression(&m, 2, 2, y2, t2));
    TU_ASSERT_EXACT(m.mae, 0.75);
    TU_ASSERT_CLOSE(m.rmse, sqrt(0.75), 1e-15, 0.0);
    TU_ASSERT_CLOSE(m.r2, -5.0, 1e-15, 0.0);
    static const float bad[2] = {1, NAN};
    TU_ASSERT_RC(bp_metrics_regression(&m, 2, 1, bad, same), BP_ENONFINITE);
}

/* An output that overflows to inf is an error naming the row and output. */
static void test_nonfinite(void **state)
{
    static const float x[3] = {1, 1e30f, 2}, t[3] = {0, 0, 0};
    float w = 1e30f;
    bp_metrics m;
    bp_error err;
    (void)state;
    bp_net *net = tu_net("1,1:identity:nobias");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, &w, NULL));
    bp_dataset *ds = arrays(3, 1, 1, x, t, 0);
    bp_metrics_init(&m, NULL, NULL, 0);
    memset(&err, 0, sizeof err);
    TU_ASSERT_RC(bp_metrics_evaluate(net, ds, BP_LOSS_MSE, &m, &err), BP_ENONFINITE);
    assert_string_equal(err.message, "output 0 of data row 2 is inf");
    bp_dataset_free(ds);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_classes),   cmocka_unit_test(test_binary),
        cmocka_unit_test(test_zero_division),   cmocka_unit_test(test_regression),
        cmocka_unit_test(test_regression_edges), cmocka_unit_test(test_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
