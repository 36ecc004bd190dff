/*
 * test_batchnorm.c - the batchnorm, dropout and standalone activation
 * layer kinds: batch normalization against PyTorch's BatchNorm2d and
 * BatchNorm1d (tests/ref/batchnorm_ref.h: outputs, input and parameter
 * slopes, running statistics after steps, training and evaluation mode),
 * its gradient check in training mode, the same bits at 1 and 2 threads,
 * dropout's masks and modes, and a standalone activation giving a fused
 * one's bits.
 */
#include "testutil.h"

#include "ref/batchnorm_ref.h"

/* Each of n values within 1e-5 (relative beyond 1) of the reference. */
static void assert_near(const char *what, const float *a, const float *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(a[i], e[i], 1e-5, 1e-5))
            fail_msg("%s[%zu] = %.9g, PyTorch %.9g", what, i, (double)a[i], (double)e[i]);
}

/* One pass of MSE on x: output, loss, and the slopes (gradient block
 * written) with dx (B, I). */
static const float *pass(bp_net *net, const float *x, float *dx, double *loss)
{
    const float *y;
    bp_net_zero_grad(net);
    TU_ASSERT_OK(bp_net_forward(net, BN_REF_B, x, &y));
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, bn_ref_t, BN_REF_O, loss));
    TU_ASSERT_OK(bp_net_backward(net, dx));
    return y;
}

static void test_torch_reference(void **state)
{
    (void)state;
    bp_net *net = tu_net(BN_REF_SPEC);
    float dx[BN_REF_B * BN_REF_I];
    double loss;
    assert_int_equal(bp_net_param_count(net), BN_REF_P);
    assert_int_equal(bp_net_state_count(net), BN_REF_S);
    memcpy(bp_net_params(net), bn_ref_params, sizeof bn_ref_params);
    TU_ASSERT_OK(bp_net_set_training(net, 1, NULL));

    const float *y = pass(net, bn_ref_x, dx, &loss);
    assert_near("train y", y, bn_ref_train_y, BN_REF_B * BN_REF_O);
    TU_ASSERT_CLOSE(loss, bn_ref_train_loss, 1e-5, 1e-6);
    assert_near("train dx", dx, bn_ref_train_dx, BN_REF_B * BN_REF_I);
    assert_near("train grads", bp_net_grads(net), bn_ref_train_g, BN_REF_P);
    for (int k = 0; k < BN_REF_STEPS; k++) {
        if (k > 0)
            pass(net, bn_ref_x, NULL, &loss);
        float *p = bp_net_params(net);
        const float *g = bp_net_grads(net);
        for (size_t i = 0; i < BN_REF_P; i++)
            p[i] -= BN_REF_LR * g[i];
    }
    assert_near("params after steps", bp_net_params(net), bn_ref_after_params, BN_REF_P);
    assert_near("state after steps", bp_net_state(net), bn_ref_after_state, BN_REF_S);

    TU_ASSERT_OK(bp_net_set_training(net, 0, NULL));
    y = pass(net, bn_ref_x2, dx, &loss);
    assert_near("eval y", y, bn_ref_eval_y, BN_REF_B * BN_REF_O);
    TU_ASSERT_CLOSE(loss, bn_ref_eval_loss, 1e-5, 1e-6);
    assert_near("eval dx", dx, bn_ref_eval_dx, BN_REF_B * BN_REF_I);
    assert_near("eval grads", bp_net_grads(net), bn_ref_eval_g, BN_REF_P);
    /* evaluation mode leaves the running statistics alone */
    assert_near("state after eval", bp_net_state(net), bn_ref_after_state, BN_REF_S);
    bp_net_free(net);
}

/* A fresh layer: weight 1, bias 0, running mean 0 and variance 1, no
 * batches; bp_net_init puts them back. */
static void test_start_values(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    bp_net *net = tu_net("3,batchnorm,2");
    size_t n;
    float *s = bp_net_layer_state(net, 0, &n);
    assert_int_equal(n, 7);
    assert_ptr_equal(s, bp_net_state(net));
    assert_null(bp_net_layer_state(net, 1, &n));
    assert_int_equal(n, 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < 3; c++) {
            TU_ASSERT_EXACT(bp_net_weight(net, 0)[c], 1.0f);
            TU_ASSERT_EXACT(bp_net_bias(net, 0)[c], 0.0f);
            TU_ASSERT_EXACT(s[c], 0.0f);
            TU_ASSERT_EXACT(s[3 + c], 1.0f);
        }
        TU_ASSERT_EXACT(s[6], 0.0f);
        s[0] = 5.0f;
        s[6] = 2.0f;
        bp_net_weight(net, 0)[1] = 3.0f;
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    }
    bp_net_free(net);
}

/* Backpropagation against central differences of the double reference, in
 * training mode (the batch's statistics), for both forms with a standalone
 * activation and a dropout layer (without a generator, as the reference
 * draws nothing) between them; the running statistics come back as they
 * were. */
static void test_gradcheck_training(void **state)
{
    (void)state;
    const char *specs[] = {
        "2x3x4,conv:3:2,batchnorm,tanh,dropout:0.5,4,batchnorm:momentum=0.3,sigmoid,3,softmax",
        "5,4:nobias,batchnorm:eps=0.01,leaky_relu=0.2,2",
    };
    for (int k = 0; k < 2; k++) {
        bp_rng rng;
        bp_rng_seed(&rng, 7 + (uint64_t)k);
        bp_net *net = tu_net(specs[k]);
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
        float *p = bp_net_params(net);
        for (size_t i = 0; i < bp_net_param_count(net); i++)
            p[i] += (float)(0.2 * bp_rng_normal(&rng)); /* weights away from 1, biases from 0 */
        const int B = 5, I = bp_net_inputs(net), O = bp_net_outputs(net);
        float x[5 * 24], t[5 * 3];
        tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
        tu_fill_uniform(&rng, t, (size_t)B * (size_t)O, 0.0, 1.0);
        const bp_loss loss = k == 0 ? BP_LOSS_CCE : BP_LOSS_MSE;
        if (k == 0)
            for (int b = 0; b < B; b++)
                for (int o = 0; o < O; o++)
                    t[b * O + o] = o == b % O ? 1.0f : 0.0f;
        TU_ASSERT_OK(bp_net_set_training(net, 1, NULL));
        const size_t S = bp_net_state_count(net);
        float before[32];
        assert_true(S <= 32);
        memcpy(before, bp_net_state(net), S * sizeof *before);
        bp_gradcheck_layer report[16];
        double worst;
        TU_ASSERT_OK(bp_gradcheck(net, loss, B, x, t, O, NULL, 0.0, report, &worst));
        if (!(worst < 1e-3))
            fail_msg("%s: largest relative error %g", specs[k], worst);
        assert_memory_equal(before, bp_net_state(net), S * sizeof *before);
        /* a slope from evaluation mode's pass is not training mode's */
        TU_ASSERT_OK(bp_net_set_training(net, 0, NULL));
        float *g = tu_xmalloc(bp_net_param_count(net) * sizeof *g);
        TU_ASSERT_OK(bp_net_gradient(net, loss, B, x, t, O, NULL));
        memcpy(g, bp_net_grads(net), bp_net_param_count(net) * sizeof *g);
        TU_ASSERT_OK(bp_net_set_training(net, 1, NULL));
        TU_ASSERT_OK(bp_gradcheck(net, loss, B, x, t, O, g, 0.0, report, &worst));
        if (!(worst > 1e-2))
            fail_msg("%s: evaluation mode's slopes pass training mode's check (%g)", specs[k],
                     worst);
        free(g);
        bp_net_free(net);
    }
}

/* Forward and backward of a network with batch norms and a dropout layer
 * in training mode: the same bits at 1 and 2 threads, masks included. */
static void run_threads(int threads, float *out, float *grads, float *dx, float *st)
{
    bp_set_threads(threads);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    bp_net *net = tu_net("3x12x12,conv:16:3:same,batchnorm,relu,dropout:0.3,maxpool:2,"
                         "32,batchnorm,relu,dropout:0.2,5");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    enum { B = 70 };
    static float x[B * 432], t[B * 5];
    tu_fill_normal(&rng, x, sizeof x / sizeof *x, 1.0);
    tu_fill_normal(&rng, t, sizeof t / sizeof *t, 1.0);
    TU_ASSERT_OK(bp_net_set_training(net, 1, &rng));
    const float *y;
    for (int k = 0; k < 2; k++) {
        bp_net_zero_grad(net);
        TU_ASSERT_OK(bp_net_forward(net, B, x, &y));
        TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, t, 5, NULL));
        TU_ASSERT_OK(bp_net_backward(net, dx));
    }
    memcpy(out, y, B * 5 * sizeof *out);
    memcpy(grads, bp_net_grads(net), bp_net_param_count(net) * sizeof *grads);
    memcpy(st, bp_net_state(net), bp_net_state_count(net) * sizeof *st);
    bp_net_free(net);
    bp_set_threads(0);
}

static void test_threads_same_bits(void **state)
{
    (void)state;
    enum { B = 70, P = 16 * 27 + 16 + 32 + 16 * 36 * 32 + 32 + 64 + 32 * 5 + 5, S = 33 + 65 };
    static float o1[B * 5], o2[B * 5], g1[P], g2[P], d1[B * 432], d2[B * 432], s1[S], s2[S];
    run_threads(1, o1, g1, d1, s1);
    run_threads(2, o2, g2, d2, s2);
    assert_memory_equal(o1, o2, sizeof o1);
    assert_memory_equal(g1, g2, sizeof g1);
    assert_memory_equal(d1, d2, sizeof d1);
    assert_memory_equal(s1, s2, sizeof s1);
}

/* Dropout: in evaluation mode the identity; in training mode each value 0
 * or scaled by 1 / (1 - p), about p of them dropped, and backward through
 * the same mask; in training mode without a generator, the identity too. */
static void test_dropout_layer(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    bp_net *net = tu_net("400,dropout:0.25");
    enum { B = 10, N = 4000 };
    static float x[N], dx[N], t[N];
    const float *y;
    tu_fill_uniform(&rng, x, N, 1.0, 2.0);
    TU_ASSERT_OK(bp_net_forward(net, B, x, &y));
    assert_memory_equal(y, x, sizeof x);
    TU_ASSERT_OK(bp_net_set_training(net, 1, NULL)); /* no generator: no draws */
    TU_ASSERT_OK(bp_net_forward(net, B, x, &y));
    assert_memory_equal(y, x, sizeof x);
    TU_ASSERT_OK(bp_net_set_training(net, 1, &rng));
    assert_int_equal(bp_net_training(net), 1);
    TU_ASSERT_OK(bp_net_forward(net, B, x, &y));
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        if (y[i] == 0.0f)
            dropped++;
        else
            TU_ASSERT_EXACT(y[i], x[i] * (float)(1.0 / 0.75));
        t[i] = y[i] + 1.0f; /* MSE slope -2/N everywhere */
    }
    assert_true(dropped > 900 && dropped < 1100);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, t, 400, NULL));
    TU_ASSERT_OK(bp_net_backward(net, dx));
    for (int i = 0; i < N; i++)
        TU_ASSERT_CLOSE(dx[i], y[i] == 0.0f ? 0.0 : -2.0 / N / 0.75, 1e-6, 0.0);
    TU_ASSERT_OK(bp_net_set_training(net, 0, NULL));
    TU_ASSERT_OK(bp_net_forward(net, B, x, &y));
    assert_memory_equal(y, x, sizeof x);
    bp_net_free(net);
}

/* The global dropout acts in training mode only. */
static void test_global_dropout_mode(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 9);
    bp_net *net = tu_net("4,200:relu,1");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    const float x[4] = {1.0f, -0.5f, 0.25f, 2.0f};
    const float *y;
    TU_ASSERT_OK(bp_net_forward(net, 1, x, &y));
    const float plain = y[0];
    TU_ASSERT_OK(bp_net_set_dropout(net, 0.5, &rng));
    TU_ASSERT_OK(bp_net_forward(net, 1, x, &y));
    TU_ASSERT_EXACT(y[0], plain);
    TU_ASSERT_OK(bp_net_set_training(net, 1, &rng));
    TU_ASSERT_OK(bp_net_forward(net, 1, x, &y));
    assert_true(y[0] != plain);
    bp_net_free(net);
}

/* A standalone activation gives the bits of the same activation fused into
 * the layer before it, softmax at the output with cross-entropy included. */
static void test_standalone_activation(void **state)
{
    (void)state;
    const char *pairs[][2] = {
        {"6,5:tanh,4:leaky_relu=0.2,3:softmax", "6,5,tanh,4,leaky_relu=0.2,3,softmax"},
        {"1x4x4,conv:2:3:relu,3:sigmoid", "1x4x4,conv:2:3,relu,3,sigmoid"},
    };
    for (int k = 0; k < 2; k++) {
        bp_net *a = tu_net(pairs[k][0]), *b = tu_net(pairs[k][1]);
        bp_rng rng;
        bp_rng_seed(&rng, 4);
        TU_ASSERT_OK(bp_net_init(a, &rng, BP_INIT_HE_NORMAL, 0.0));
        assert_int_equal(bp_net_param_count(a), bp_net_param_count(b));
        memcpy(bp_net_params(b), bp_net_params(a), bp_net_param_count(a) * sizeof(float));
        float x[3 * 16], t[3 * 3] = {1, 0, 0, 0, 0, 1, 0, 1, 0}, dxa[3 * 16], dxb[3 * 16];
        tu_fill_normal(&rng, x, 3 * (size_t)bp_net_inputs(a), 1.0);
        const bp_loss loss = k == 0 ? BP_LOSS_CCE : BP_LOSS_BCE;
        double la, lb;
        bp_net_zero_grad(a);
        bp_net_zero_grad(b);
        TU_ASSERT_OK(bp_net_forward(a, 3, x, NULL));
        TU_ASSERT_OK(bp_net_loss(a, loss, t, 3, &la));
        TU_ASSERT_OK(bp_net_backward(a, dxa));
        TU_ASSERT_OK(bp_net_forward(b, 3, x, NULL));
        TU_ASSERT_OK(bp_net_loss(b, loss, t, 3, &lb));
        TU_ASSERT_OK(bp_net_backward(b, dxb));
        TU_ASSERT_EXACT(la, lb);
        assert_memory_equal(dxa, dxb, 3 * (size_t)bp_net_inputs(a) * sizeof(float));
        assert_memory_equal(bp_net_grads(a), bp_net_grads(b),
                            bp_net_param_count(a) * sizeof(float));
        bp_net_free(a);
        bp_net_free(b);
    }
}

/* Specs: the canonical form reads back to itself; bad entries are named. */
static void test_specs(void **state)
{
    (void)state;
    const char *canon = "2x8x8,conv:4:3:same,batchnorm,relu,dropout:0.3,"
                        "batchnorm:momentum=0.25:eps=0.001,leaky_relu=0.2,7:identity,"
                        "batchnorm,dropout:0,softmax";
    char buf[256];
    bp_net *net = tu_net(canon);
    assert_true(bp_net_spec(net, buf, sizeof buf) < (int)sizeof buf);
    assert_string_equal(buf, canon);
    bp_layer_desc d = bp_net_layer(net, 4);
    assert_int_equal(d.kind, BP_LAYER_BATCHNORM);
    TU_ASSERT_EXACT(d.momentum, 0.25);
    TU_ASSERT_EXACT(d.eps, 0.001);
    assert_int_equal(bp_net_layer(net, 3).kind, BP_LAYER_DROPOUT);
    TU_ASSERT_EXACT(bp_net_layer(net, 3).rate, 0.3);
    assert_int_equal(bp_net_layer(net, 2).kind, BP_LAYER_ACT);
    assert_int_equal(bp_net_layer(net, 2).act, BP_ACT_RELU);
    assert_int_equal(bp_net_layer_params(net, 1), 8);
    assert_string_equal(bp_layer_kind_name(BP_LAYER_BATCHNORM), "batchnorm");
    bp_net_free(net);
    net = tu_net("3,leaky_relu:0.3");
    bp_net_layer_spec(net, 0, buf, sizeof buf);
    assert_string_equal(buf, "leaky_relu=0.3");
    bp_net_free(net);

    const char *bad[][2] = {
        {"3,dropout:1", "layer 1 ('dropout:1'): the probability must be a number in [0, 1)"},
        {"3,dropout", "expected dropout:P"},
        {"3,batchnorm:momentum=0", "momentum must be a number in (0, 1]"},
        {"3,batchnorm:eps=-1", "eps must be a number in (0, inf)"},
        {"3,batchnorm:relu", "unknown option 'relu' (expected momentum=M, eps=E)"},
        {"3,relu:tanh", "an activation layer takes no options"},
        {"3,tanh=0.2", "only leaky_relu takes a parameter"},
        {"3,activation", "or a layer kind"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        bp_error err;
        memset(&err, 0, sizeof err);
        assert_null(bp_net_parse(bad[k][0], &err));
        if (!strstr(err.message, bad[k][1]))
            fail_msg("%s: '%s' lacks '%s'", bad[k][0], err.message, bad[k][1]);
    }
}

/* explain refuses a batch norm, naming it. */
static void test_explain_refuses(void **state)
{
    (void)state;
    bp_net *net = tu_net("3,batchnorm,2");
    const float x[3] = {1, 2, 3}, t[2] = {0.5f, 0.5f};
    bp_explain *ex = NULL;
    TU_ASSERT_RC(bp_explain_sample(net, BP_LOSS_MSE, x, t, 2, &ex), BP_EINVAL);
    assert_null(ex);
    assert_non_null(strstr(bp_net_message(net), "layer 1 (batchnorm)"));
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_reference),
        cmocka_unit_test(test_start_values),
        cmocka_unit_test(test_gradcheck_training),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_dropout_layer),
        cmocka_unit_test(test_global_dropout_mode),
        cmocka_unit_test(test_standalone_activation),
        cmocka_unit_test(test_specs),
        cmocka_unit_test(test_explain_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
