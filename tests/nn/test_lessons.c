/*
 * test_lessons.c - the classic worked examples of forward propagation, the
 * loss, the gradient and one step of gradient descent, number by number.
 *
 * Every value here is either an integer or a dyadic fraction that float
 * holds exactly, and is compared exactly, or a decimal such as 0.7 that
 * float cannot hold: those are compared against the float nearest the
 * decimal, within a few ulp (the rounding of a handful of float operations).
 */
#include "testutil.h"

/* The two-layer relu net of the first lessons, weights set by hand. */
static bp_net *lesson_net(const float node0[2], const float node1[2],
                          const float out[2])
{
    bp_net *net = tu_net("2,2:relu:nobias,1:relu:nobias");
    float w0[4];
    memcpy(w0, node0, 2 * sizeof *w0);
    memcpy(w0 + 2, node1, 2 * sizeof *w0);
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w0, NULL));
    TU_ASSERT_OK(bp_net_set_layer(net, 1, out, NULL));
    assert_null(bp_net_bias(net, 0));
    assert_null(bp_net_bias(net, 1));
    return net;
}

static float predict1(bp_net *net, const float *x)
{
    const float *y = NULL;
    TU_ASSERT_OK(bp_net_forward(net, 1, x, &y));
    assert_non_null(y);
    return y[0];
}

/* Lesson 1: input [0, 3], target 3. Hidden nodes 2*0 + 1*3 = 3 and
 * 1*0 + 2*3 = 6; output 3 + 6 = 9: error 9 - 3 = 6, squared 36. */
static void test_lesson1_prediction(void **state)
{
    const float x[2] = {0, 3}, t = 3;
    const float n0[2] = {2, 1}, n1[2] = {1, 2}, out[2] = {1, 1};
    double loss = -1.0;
    (void)state;

    bp_net *net = lesson_net(n0, n1, out);
    float y = predict1(net, x);
    TU_ASSERT_EXACT(y, 9.0);
    TU_ASSERT_EXACT(y - t, 6.0);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 1, x, &t, 1, &loss, NULL));
    TU_ASSERT_EXACT(loss, 36.0);
    bp_net_free(net);

    /* Output weights [-1, 1]: -3 + 6 = 3, error 0. */
    const float out2[2] = {-1, 1};
    net = lesson_net(n0, n1, out2);
    y = predict1(net, x);
    TU_ASSERT_EXACT(y, 3.0);
    TU_ASSERT_EXACT(y - t, 0.0);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 1, x, &t, 1, &loss, NULL));
    TU_ASSERT_EXACT(loss, 0.0);
    bp_net_free(net);

    /* Node 1's weights [1, 0]: hidden [3, 0], output 3, error 0. */
    const float n1b[2] = {1, 0};
    net = lesson_net(n0, n1b, out);
    y = predict1(net, x);
    TU_ASSERT_EXACT(y, 3.0);
    TU_ASSERT_EXACT(y - t, 0.0);
    bp_net_free(net);
}

/* Lesson 2: the mean squared error over four samples.
 *   [0, 3]  -> 9,  target 1: 64      [1, 2] -> 9,  target 3: 36
 *   [-1,-2] -> 0,  target 5: 25      [4, 0] -> 12, target 7: 25
 * (64 + 36 + 25 + 25) / 4 = 37.5. */
static void test_lesson2_mse(void **state)
{
    const float x[8] = {0, 3, 1, 2, -1, -2, 4, 0};
    const float t[4] = {1, 3, 5, 7};
    const float n0[2] = {2, 1}, n1[2] = {1, 2}, out[2] = {1, 1};
    double loss = -1.0;
    (void)state;

    bp_net *net = lesson_net(n0, n1, out);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 4, x, t, 1, &loss, NULL));
    TU_ASSERT_EXACT(loss, 37.5);
    const float *y = NULL;
    loss = -1.0;
    TU_ASSERT_OK(bp_net_forward(net, 4, x, &y));
    TU_ASSERT_EXACT(y[0], 9.0);
    TU_ASSERT_EXACT(y[1], 9.0);
    TU_ASSERT_EXACT(y[2], 0.0);
    TU_ASSERT_EXACT(y[3], 12.0);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, t, 1, &loss));
    TU_ASSERT_EXACT(loss, 37.5);
    bp_net_free(net);

    /* Node 1 [1, 1.5] and output [1, 1.5]:
     *   [0, 3]  -> 3 + 1.5 * 4.5 = 9.75, target 1: 76.5625
     *   [1, 2]  -> 4 + 1.5 * 4   = 10,   target 3: 49
     *   [-1,-2] -> 0,                    target 5: 25
     *   [4, 0]  -> 8 + 1.5 * 4   = 14,   target 7: 49
     * 199.5625 / 4 = 49.890625. */
    const float n1b[2] = {1, 1.5f}, outb[2] = {1, 1.5f};
    net = lesson_net(n0, n1b, outb);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 4, x, t, 1, &loss, NULL));
    TU_ASSERT_EXACT(loss, 49.890625);
    TU_ASSERT_OK(bp_net_forward(net, 4, x, &y));
    TU_ASSERT_EXACT(y[0], 9.75);
    TU_ASSERT_EXACT(y[1], 10.0);
    TU_ASSERT_EXACT(y[2], 0.0);
    TU_ASSERT_EXACT(y[3], 14.0);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, t, 1, &loss));
    TU_ASSERT_EXACT(loss, 49.890625);
    bp_net_free(net);
}

/* Lesson 3: a linear model, weights [0, 2, 1], input [1, 2, 3], target 0.
 * Prediction 0 + 4 + 3 = 7; the squared error's slope is 2 * 7 * x =
 * [14, 28, 42]; after one step at rate 0.01 the weights are
 * [-0.14, 1.72, 0.58] and the prediction -0.14 + 3.44 + 1.74 = 5.04. */
static void test_lesson3_linear_step(void **state)
{
    const float w[3] = {0, 2, 1}, x[3] = {1, 2, 3}, t = 0;
    double loss = -1.0;
    (void)state;
    bp_net *net = tu_net("3,1:identity:nobias");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, NULL));
    TU_ASSERT_EXACT(predict1(net, x), 7.0);
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 1, x, &t, 1, &loss));
    TU_ASSERT_EXACT(loss, 49.0);
    const float *g = bp_net_weight_grad(net, 0);
    TU_ASSERT_EXACT(g[0], 14.0);
    TU_ASSERT_EXACT(g[1], 28.0);
    TU_ASSERT_EXACT(g[2], 42.0);

    TU_ASSERT_OK(bp_gd_step(net, 0.01));
    const float *p = bp_net_weight(net, 0);
    /* -0.14, 1.72 and 0.58 are not floats: nearest float, within 2 ulp. */
    TU_ASSERT_ULP(p[0], -0.14f, 2);
    TU_ASSERT_ULP(p[1], 1.72f, 2);
    TU_ASSERT_ULP(p[2], 0.58f, 2);
    /* 5.04 is not a float either: within 4 ulp of 5.04f. */
    float y = predict1(net, x);
    TU_ASSERT_ULP(y, 5.04f, 4);
    TU_ASSERT_ULP(y - t, 5.04f, 4);
    bp_net_free(net);
}

/* Lesson 4: weights [1, 2], input [3, 4], target 6: prediction 11, error 5,
 * slope 2 * 5 * [3, 4] = [30, 40]; one step at 0.01 gives [0.7, 1.6],
 * prediction 2.1 + 6.4 = 8.5 and error 2.5 (positive: still above the
 * target). */
static void test_lesson4_two_weights(void **state)
{
    const float w[2] = {1, 2}, x[2] = {3, 4}, t = 6;
    double loss = -1.0;
    (void)state;
    bp_net *net = tu_net("2,1:identity:nobias");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, NULL));
    float y = predict1(net, x);
    TU_ASSERT_EXACT(y, 11.0);
    TU_ASSERT_EXACT(y - t, 5.0);
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 1, x, &t, 1, &loss));
    TU_ASSERT_EXACT(loss, 25.0);
    TU_ASSERT_EXACT(bp_net_weight_grad(net, 0)[0], 30.0);
    TU_ASSERT_EXACT(bp_net_weight_grad(net, 0)[1], 40.0);
    TU_ASSERT_OK(bp_gd_step(net, 0.01));
    /* 0.7 and 1.6 are not floats: the nearest floats, within 2 ulp. */
    TU_ASSERT_ULP(bp_net_weight(net, 0)[0], 0.7f, 2);
    TU_ASSERT_ULP(bp_net_weight(net, 0)[1], 1.6f, 2);
    y = predict1(net, x);
    /* 8.5 and 2.5 are floats, but the weights carry rounding: 4 ulp. */
    TU_ASSERT_ULP(y, 8.5f, 4);
    /* y - 6 is exact, so y's 4 ulp at 8.5 are 16 ulp at 2.5. */
    TU_ASSERT_ULP(y - t, 2.5f, 16);
    assert_true(y - t > 0.0f);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lesson1_prediction),
        cmocka_unit_test(test_lesson2_mse),
        cmocka_unit_test(test_lesson3_linear_step),
        cmocka_unit_test(test_lesson4_two_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
