/*
 * test_check_data.c - bp_net_check_data, the check of a data set against a
 * network and loss that bp_train, bp_evaluate and the tool share: each way
 * data can fail to fit, with the message naming what was expected and what
 * was found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static bp_dataset *load(const char *spec)
{
    bp_error err;
    bp_dataset *ds = bp_dataset_load(spec, 1, &err);
    if (!ds)
        fail_msg("%s: %s", spec, err.message);
    return ds;
}

/* check(net, loss, ds, what) gives code and exactly message. */
static void expect(const char *spec, bp_loss loss, const bp_dataset *ds, const char *what,
                   int code, const char *message)
{
    bp_net *net = tu_net(spec);
    bp_error err = {0, ""};
    assert_int_equal(bp_net_check_data(net, loss, ds, what, &err), code);
    if (code != 0)
        assert_string_equal(err.message, message);
    bp_net_free(net);
}

static void test_fits(void **state)
{
    (void)state;
    bp_dataset *ds = load("vertical:10:3");
    expect("2,4:relu,3:softmax", BP_LOSS_CCE, ds, "training", 0, "");
    expect("2,4:relu,5:softmax", BP_LOSS_CCE, ds, "training", 0, ""); /* unused outputs */
    expect("2,1:identity", BP_LOSS_MSE, ds, NULL, 0, "");            /* labels as numbers */
    bp_dataset_free(ds);
}

static void test_misfits(void **state)
{
    (void)state;
    bp_dataset *ds = load("vertical:10:3");
    expect("3,4:relu,3:softmax", BP_LOSS_CCE, ds, "training", BP_ESHAPE,
           "the training data have 2 inputs; the network takes 3");
    expect("2,4:relu,2:softmax", BP_LOSS_CCE, ds, "test", BP_ESHAPE,
           "the test data have 3 classes; the network has 2 outputs");
    expect("2,4:relu,3:softmax", BP_LOSS_MSE, ds, NULL, BP_ESHAPE,
           "the data have 1 target column; the network has 3 outputs (loss mse)");
    bp_dataset_free(ds);

    static const float x[4] = {0, 1, 2, 3}, t[2] = {0.5f, 1.5f};
    bp_error err;
    ds = bp_dataset_from_arrays(2, 2, 1, x, t, 0, &err);
    assert_non_null(ds);
    expect("2,3:softmax", BP_LOSS_CCE, ds, "training", BP_ESHAPE,
           "the training data have numeric targets; cce on 3 outputs needs class labels");
    bp_dataset_free(ds);

    ds = bp_dataset_from_arrays(0, 2, 1, NULL, NULL, 0, &err);
    assert_non_null(ds);
    expect("2,1:identity", BP_LOSS_MSE, ds, "validation", BP_EINVAL,
           "the validation data have no rows");
    bp_dataset_free(ds);
}

static void test_null(void **state)
{
    (void)state;
    bp_error err;
    assert_int_equal(bp_net_check_data(NULL, BP_LOSS_MSE, NULL, NULL, &err), BP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_misfits),
        cmocka_unit_test(test_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
