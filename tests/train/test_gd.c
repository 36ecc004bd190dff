/*
 * test_gd.c - plain gradient descent: the update rule exactly, and a few
 * hundred full-batch steps that learn XOR.
 */
#include "testutil.h"

/* p -= lr * g on a hand-set network, with dyadic numbers so that every
 * result is exact in float. */
static void test_step_exact(void **state)
{
    const float w[4] = {1, 2, -3, 0.5f}, b[2] = {0.25f, -1};
    const float g[6] = {0.5f, -1, 2, 4, -0.5f, 8};
    const float want[6] = {0.875f, 2.25f, -3.5f, -0.5f, 0.375f, -3};
    (void)state;
    bp_net *net = tu_net("2,2:identity");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, b));
    assert_int_equal(bp_net_param_count(net), 6);
    memcpy(bp_net_grads(net), g, sizeof g);
    TU_ASSERT_OK(bp_gd_step(net, 0.25));
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(bp_net_params(net)[i], want[i]);
    /* The gradient is left as it was. */
    assert_memory_equal(bp_net_grads(net), g, sizeof g);
    /* A zero rate changes nothing. */
    TU_ASSERT_OK(bp_gd_step(net, 0.0));
    assert_memory_equal(bp_net_params(net), want, sizeof want);
    bp_net_free(net);
}

/* A rate float cannot hold: each parameter within 2 ulp of the float
 * nearest p - 0.1 g. */
static void test_step_rounded(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 21);
    bp_net *net = tu_net("5,7:tanh,3:sigmoid");
    const size_t P = bp_net_param_count(net);
    tu_fill_normal(&rng, bp_net_params(net), P, 1.0);
    tu_fill_normal(&rng, bp_net_grads(net), P, 1.0);
    float *p0 = tu_xmalloc(P * sizeof *p0);
    memcpy(p0, bp_net_params(net), P * sizeof *p0);
    TU_ASSERT_OK(bp_gd_step(net, 0.1));
    for (size_t i = 0; i < P; i++) {
        float want = (float)((double)p0[i] - 0.1 * (double)bp_net_grads(net)[i]);
        TU_ASSERT_ULP(bp_net_params(net)[i], want, 2);
    }
    free(p0);
    bp_net_free(net);
}

/* XOR on the corners of [-1, 1]^2, each corner four times with a little
 * noise: 2,8:tanh,1:sigmoid with binary cross-entropy, full batch. */
static void test_xor(void **state)
{
    enum { ROWS = 16 };
    float x[ROWS * 2], t[ROWS];
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 2024);
    for (int r = 0; r < ROWS; r++) {
        int a = r & 1, c = (r >> 1) & 1;
        x[2 * r] = (float)((a ? 1.0 : -1.0) + 0.05 * bp_rng_normal(&rng));
        x[2 * r + 1] = (float)((c ? 1.0 : -1.0) + 0.05 * bp_rng_normal(&rng));
        t[r] = (float)(a ^ c);
    }
    bp_net *net = tu_net("2,8:tanh,1:sigmoid");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
    double first, loss = NAN, acc = -1.0;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, ROWS, x, t, 1, &first, NULL));
    for (int step = 0; step < 300; step++) {
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_BCE, ROWS, x, t, 1, &loss));
        TU_ASSERT_OK(bp_gd_step(net, 0.5));
    }
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, ROWS, x, t, 1, &loss, &acc));
    if (!(loss < 0.1))
        fail_msg("XOR loss %g after 300 steps (started at %g)", loss, first);
    /* It started near chance (ln 2 = 0.69) and classifies every row now. */
    assert_true(first > 0.5);
    TU_ASSERT_EXACT(acc, 1.0);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_exact),
        cmocka_unit_test(test_step_rounded),
        cmocka_unit_test(test_xor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
