/*
 * test_small.c - the fused passes of small networks (src/nn/small.c) give
 * the general path's bits: outputs, loss, slopes, gradients (written and
 * added) and the input slope, step after step, over many small networks;
 * and the rule for which networks and batches they serve.
 */
#include "testutil.h"

#include "nn/net.h"

/* Two copies of one network: the first takes the fused passes where they
 * serve, the second never does. */
typedef struct twins {
    bp_net *fused, *general;
} twins;

static twins make_twins(bp_rng *rng, int inputs, int depth, const bp_layer_desc *d)
{
    twins w = {tu_net_create(inputs, depth, d), tu_net_create(inputs, depth, d)};
    TU_ASSERT_OK(bp_net_init(w.fused, rng, BP_INIT_XAVIER_NORMAL, 0.0));
    for (int l = 0; l < depth; l++) {
        float *b = bp_net_bias(w.fused, l);
        if (b)
            tu_fill_normal(rng, b, (size_t)d[l].width, 0.5);
    }
    memcpy(bp_net_params(w.general), bp_net_params(w.fused),
           bp_net_param_count(w.fused) * sizeof(float));
    w.general->small_rows = 0;
    return w;
}

static void free_twins(twins *w)
{
    bp_net_free(w->fused);
    bp_net_free(w->general);
}

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what,
                             const char *spec, int B)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            fail_msg("%s, batch %d: %s[%zu] is %.9g fused but %.9g general", spec, B, what, i,
                     (double)a[i], (double)b[i]);
}

/* Forward, loss, the gradient written fresh, then added to, and dL/dx,
 * compared between the twins; then a gradient step on both, `steps`
 * times, so that each round starts from weights the last one changed. */
static void compare_steps(twins *w, bp_rng *rng, bp_loss loss, int B, int steps)
{
    bp_net *f = w->fused, *g = w->general;
    const int I = bp_net_inputs(f), O = bp_net_outputs(f);
    const size_t P = bp_net_param_count(f);
    float *x = tu_xmalloc((size_t)B * (size_t)I * sizeof *x);
    float *t = tu_xmalloc((size_t)B * (size_t)O * sizeof *t);
    float *dx_f = tu_xmalloc((size_t)B * (size_t)I * sizeof *dx_f);
    float *dx_g = tu_xmalloc((size_t)B * (size_t)I * sizeof *dx_g);
    char spec[256];
    bp_net_spec(f, spec, sizeof spec);
    tu_fill_normal(rng, x, (size_t)B * (size_t)I, 1.0);
    for (size_t i = 0; i < (size_t)B * (size_t)I; i += 5)
        x[i] = 0.0f; /* zeros: relu's slope at the kink, -0 against +0 */
    const int T = tu_make_targets(rng, loss, B, O, (int)bp_rng_below(rng, 2), t);

    for (int s = 0; s < steps; s++) {
        const float *yf, *yg;
        double lf, lg;
        TU_ASSERT_OK(bp_net_forward(f, B, x, &yf));
        TU_ASSERT_OK(bp_net_forward(g, B, x, &yg));
        assert_true(bp__small_serves(f, B)); /* else this compares the general path with itself */
        assert_same_bits(yf, yg, (size_t)B * (size_t)O, "output", spec, B);
        TU_ASSERT_OK(bp_net_loss(f, loss, t, T, &lf));
        TU_ASSERT_OK(bp_net_loss(g, loss, t, T, &lg));
        if (memcmp(&lf, &lg, sizeof lf) != 0)
            fail_msg("%s, batch %d: loss %.17g fused but %.17g general", spec, B, lf, lg);
        TU_ASSERT_OK(bp__net_backward_fresh(f));
        TU_ASSERT_OK(bp__net_backward_fresh(g));
        assert_same_bits(bp_net_grads(f), bp_net_grads(g), P, "fresh gradient", spec, B);

        /* again, added to the gradient block, with the input's slope */
        TU_ASSERT_OK(bp_net_loss(f, loss, t, T, NULL));
        TU_ASSERT_OK(bp_net_loss(g, loss, t, T, NULL));
        TU_ASSERT_OK(bp_net_backward(f, dx_f));
        TU_ASSERT_OK(bp_net_backward(g, dx_g));
        assert_same_bits(bp_net_grads(f), bp_net_grads(g), P, "added gradient", spec, B);
        assert_same_bits(dx_f, dx_g, (size_t)B * (size_t)I, "input slope", spec, B);

        float *pf = bp_net_params(f), *pg = bp_net_params(g);
        const float *gf = bp_net_grads(f), *gg = bp_net_grads(g);
        for (size_t i = 0; i < P; i++) {
            pf[i] -= 0.05f * gf[i];
            pg[i] -= 0.05f * gg[i];
        }
    }
    free(x);
    free(t);
    free(dx_f);
    free(dx_g);
}

static bp_loss loss_for(bp_rng *rng, bp_act out)
{
    /* any loss on any output works; the fused losses on their own outputs */
    if (out == BP_ACT_SOFTMAX && bp_rng_below(rng, 2))
        return BP_LOSS_CCE;
    if (out == BP_ACT_SIGMOID && bp_rng_below(rng, 2))
        return BP_LOSS_BCE;
    const bp_loss unfused[] = {BP_LOSS_MSE, BP_LOSS_MAE, BP_LOSS_MSE};
    return unfused[bp_rng_below(rng, 3)];
}

/* Depths 1 to 3, every width of 1 to 4 the kernels cover, every
 * activation, bias or none, batches 1 to 16. */
static void test_random_networks(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 20261203);
    for (int trial = 0; trial < 300; trial++) {
        bp_layer_desc d[3] = {{0}};
        const int depth = 1 + (int)bp_rng_below(&rng, 3);
        const int inputs = 1 + (int)bp_rng_below(&rng, 4);
        for (int l = 0; l < depth; l++) {
            d[l].width = 1 + (int)bp_rng_below(&rng, 4);
            d[l].act = (bp_act)bp_rng_below(&rng, 6);
            d[l].bias = (int)bp_rng_below(&rng, 2);
            d[l].slope = d[l].act == BP_ACT_LEAKY_RELU ? (float)(0.05 + 0.4 * bp_rng_uniform(&rng))
                                                       : 0.0f;
        }
        twins w = make_twins(&rng, inputs, depth, d);
        const int B = 1 + (int)bp_rng_below(&rng, 16);
        compare_steps(&w, &rng, loss_for(&rng, d[depth - 1].act), B, 3);
        free_twins(&w);
    }
}

/* The lessons' network on its four points, the product's first user. */
static void test_lessons_network(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    const bp_layer_desc d[2] = {{.width = 2, .act = BP_ACT_RELU, .bias = 0, .slope = 0.0f}, {.width = 1, .act = BP_ACT_RELU, .bias = 0, .slope = 0.0f}};
    twins w = make_twins(&rng, 2, 2, d);
    compare_steps(&w, &rng, BP_LOSS_MSE, 4, 50);
    free_twins(&w);
}

/* Where the limit binds: at the largest batch the fused passes serve (a
 * weight gradient of 4 x 255 multiply-adds a row), the general path still
 * takes the plain loops, and the bits agree. */
static void test_largest_batch(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    const bp_layer_desc d[2] = {{.width = 4, .act = BP_ACT_TANH, .bias = 1, .slope = 0.0f}, {.width = 3, .act = BP_ACT_SOFTMAX, .bias = 1, .slope = 0.0f}};
    twins w = make_twins(&rng, 4, 2, d);
    assert_int_equal(bp__small_rows(w.fused), (BP__TINY_ROW_MACS - 1) / 4);
    compare_steps(&w, &rng, BP_LOSS_CCE, bp__small_rows(w.fused), 2);
    free_twins(&w);
}

/* The rule, shape by shape, as bp__gemm dispatches. */
static void test_rows_rule(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int rows;
    } cases[] = {
        /* dW: N = I = 2, K = B, so 2 B < BP__TINY_ROW_MACS */
        {"2,2:relu:nobias,1:relu:nobias", (BP__TINY_ROW_MACS - 1) / 2},
        {"3,4:tanh,4:relu,1:sigmoid", (BP__TINY_ROW_MACS - 1) / 4},
        {"1,1", BP__TINY_ROW_MACS - 1},
        /* a layer wider than the kernels, on either side */
        {"2,5:relu,1", 0},
        {"5,2:relu,1", 0},
        {"16,3:relu,1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_net *net = tu_net(cases[i].spec);
        if (bp__small_rows(net) != cases[i].rows)
            fail_msg("%s: serves %d rows, expected %d", cases[i].spec, bp__small_rows(net),
                     cases[i].rows);
        bp_net_free(net);
    }
}

/* Dropout takes the general path, which alone draws the masks. */
static void test_dropout_general(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    bp_net *net = tu_net("2,4:relu,1");
    const float x[2] = {0.5f, -1.0f};
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    TU_ASSERT_OK(bp_net_forward(net, 1, x, NULL));
    assert_true(bp__small_serves(net, 1));
    TU_ASSERT_OK(bp_net_set_dropout(net, 0.5, &rng));
    assert_false(bp__small_serves(net, 1));
    TU_ASSERT_OK(bp_net_set_dropout(net, 0.0, NULL));
    assert_true(bp__small_serves(net, 1));
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_networks),
        cmocka_unit_test(test_lessons_network),
        cmocka_unit_test(test_largest_batch),
        cmocka_unit_test(test_rows_rule),
        cmocka_unit_test(test_dropout_general),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
