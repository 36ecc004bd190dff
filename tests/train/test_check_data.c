/*
 * test_check_data.c - bp_net_check_data, the check of a data set against a
 * network and loss that bp_train, bp_evaluate and the tool share, and
 * bp_net_check_inputs, its part on the inputs alone: each way data can
 * fail to fit, with the message naming what was expected and what was
 * found; images against a network's input shape (a flat side takes the
 * other flattened, two shapes must agree).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/data.h" /* to give a data set of arrays an image shape */
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

/* rows samples of c x h x w (h == 0: flat c), values i / 10, classes i % 3. */
static bp_dataset *images(int rows, int c, int h, int w)
{
    int I = c * (h ? h : 1) * (w ? w : 1);
    float *x = tu_xcalloc((size_t)rows * (size_t)I, sizeof *x);
    float *t = tu_xcalloc((size_t)rows, sizeof *t);
    for (int i = 0; i < rows * I; i++)
        x[i] = (float)i / 10.0f;
    for (int i = 0; i < rows; i++)
        t[i] = (float)(i % 3);
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays((size_t)rows, I, 1, x, t, 3, &err);
    free(x);
    free(t);
    if (!ds)
        fail_msg("%s", err.message);
    ds->shape[0] = c;
    ds->shape[1] = h;
    ds->shape[2] = w;
    return ds;
}

static void test_images(void **state)
{
    (void)state;
    bp_dataset *ds = images(6, 1, 4, 6); /* as an IDX file of 4x6 images gives */
    int c, h, w;
    bp_dataset_shape(ds, &c, &h, &w);
    assert_true(c == 1 && h == 4 && w == 6);
    expect("1x4x6,conv:2:3:relu,3:softmax", BP_LOSS_CCE, ds, "training", 0, "");
    expect("24,3:softmax", BP_LOSS_CCE, ds, "training", 0, ""); /* flat: any shape */
    expect("1x6x4,conv:2:3:relu,3:softmax", BP_LOSS_CCE, ds, "training", BP_ESHAPE,
           "the training data are 1x4x6 images; the network takes 1x6x4 (the same 24 inputs "
           "in another shape)");
    expect("2x2x6,conv:2:1,3:softmax", BP_LOSS_CCE, ds, NULL, BP_ESHAPE,
           "the data are 1x4x6 images; the network takes 2x2x6 (the same 24 inputs in another "
           "shape)");
    expect("1x5x5,maxpool:2,3:softmax", BP_LOSS_CCE, ds, "test", BP_ESHAPE,
           "the test data have 24 inputs (1x4x6); the network takes 25 (1x5x5)");
    expect("25,3:softmax", BP_LOSS_CCE, ds, "test", BP_ESHAPE,
           "the test data have 24 inputs (1x4x6); the network takes 25");
    /* the inputs alone: the same rule, whatever the targets */
    bp_net *net = tu_net("1x6x4,conv:2:3:relu,5:sigmoid");
    bp_error err = {0, ""};
    assert_int_equal(bp_net_check_inputs(net, ds, "validation", &err), BP_ESHAPE);
    assert_string_equal(err.message, "the validation data are 1x4x6 images; the network takes "
                                     "1x6x4 (the same 24 inputs in another shape)");
    bp_net_free(net);
    net = tu_net("1x4x6,conv:2:3:relu,5:sigmoid");
    assert_int_equal(bp_net_check_inputs(net, ds, "validation", &err), 0);
    bp_net_free(net);
    bp_dataset_free(ds);

    /* A table (a CSV) takes a spatial network of its width, else is refused
     * with the network's shape named. */
    ds = images(6, 24, 0, 0);
    expect("1x4x6,conv:2:3:relu,3:softmax", BP_LOSS_CCE, ds, "training", 0, "");
    expect("1x6x4,conv:2:3:relu,3:softmax", BP_LOSS_CCE, ds, "training", 0, "");
    expect("1x8x9,conv:2:3:relu,3:softmax", BP_LOSS_CCE, ds, "training", BP_ESHAPE,
           "the training data have 24 inputs; the network takes 72 (1x8x9)");
    bp_dataset_free(ds);
}

static void test_null(void **state)
{
    (void)state;
    bp_error err;
    assert_int_equal(bp_net_check_data(NULL, BP_LOSS_MSE, NULL, NULL, &err), BP_EINVAL);
    assert_int_equal(bp_net_check_inputs(NULL, NULL, NULL, &err), BP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_misfits),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
