/*
 * test_loss_logits.c - cross-entropy on logits: an identity output layer
 * under cce or bce gives the loss and slopes of a softmax or sigmoid layer
 * with the same weights (PyTorch's CrossEntropyLoss, BCEWithLogitsLoss);
 * class weights against the formula and central differences; class
 * probabilities; scikit-learn's balanced weights; class weights in bp_train.
 */
#include "testutil.h"
#include "internal.h"

/* Loss and gradient of the 3-layer net "4,5:tanh,3:ACT" with fixed weights. */
static double loss_and_grad(bp_act out, bp_loss loss, const float *t, int T, const float *cw,
                            float *grad)
{
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_layer_desc d[2] = {{.width = 5, .act = BP_ACT_TANH, .bias = 1, .slope = 0.0f}, {.width = 3, .act = out, .bias = 1, .slope = 0.0f}};
    bp_net *net = tu_net_create(4, 2, d);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
    tu_fill_normal(&rng, bp_net_bias(net, 1), 3, 1.0);
    float x[6 * 4];
    tu_fill_normal(&rng, x, 24, 1.0);
    bp__net_set_class_weight(net, cw);
    double v;
    TU_ASSERT_OK(bp_net_gradient(net, loss, 6, x, t, T, &v));
    memcpy(grad, bp_net_grads(net), bp_net_param_count(net) * sizeof *grad);
    bp_net_free(net);
    return v;
}

/* Identity + cce is softmax + cce; identity + bce is sigmoid + bce, in
 * loss and in every gradient entry (the same fused code, so to rounding). */
static void test_identity_is_logits(void **state)
{
    (void)state;
    const float idx[6] = {0, 2, 1, 1, 0, 2};
    float bin[18], ga[64], gb[64];
    for (int i = 0; i < 18; i++)
        bin[i] = (float)((i * 7) % 3 == 0);
    for (int form = 0; form < 3; form++) {
        bp_loss loss = form == 2 ? BP_LOSS_BCE : BP_LOSS_CCE;
        bp_act act = form == 2 ? BP_ACT_SIGMOID : BP_ACT_SOFTMAX;
        float onehot[18] = {0};
        for (int b = 0; b < 6; b++)
            onehot[b * 3 + (int)idx[b]] = 1.0f;
        const float *t = form == 0 ? idx : form == 1 ? onehot : bin;
        int T = form == 0 ? 1 : 3;
        double va = loss_and_grad(BP_ACT_IDENTITY, loss, t, T, NULL, ga);
        double vb = loss_and_grad(act, loss, t, T, NULL, gb);
        TU_ASSERT_CLOSE(va, vb, 1e-12, 1e-9);
        assert_true(va > 0.1);
        for (int i = 0; i < 5 * 4 + 5 + 3 * 5 + 3; i++)
            TU_ASSERT_CLOSE(ga[i], gb[i], 1e-6, 1e-9);
    }
}

/* The weighted mean: sum_i w[y_i] l_i / sum_i w[y_i], from the logits of a
 * one-layer identity net, against the formula computed here in double. */
static void test_weighted_cce_formula(void **state)
{
    (void)state;
    bp_net *net = tu_net("2,3:identity");
    const float W[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, bias[3] = {0.1f, -0.2f, 0.3f};
    memcpy(bp_net_weight(net, 0), W, sizeof W);
    memcpy(bp_net_bias(net, 0), bias, sizeof bias);
    const float x[4 * 2] = {1, 2, -1, 0.5f, 0.3f, -2, 2, 2};
    const float t[4] = {0, 2, 1, 2}, cw[3] = {0.5f, 2.0f, 1.25f};
    double num = 0.0, den = 0.0, dz_ref[4][3];
    for (int b = 0; b < 4; b++) {
        double z[3], m = -1e300, se = 0.0;
        for (int k = 0; k < 3; k++) {
            z[k] = (double)bias[k] + (double)W[k * 2] * x[b * 2] + (double)W[k * 2 + 1] * x[b * 2 + 1];
            m = z[k] > m ? z[k] : m;
        }
        for (int k = 0; k < 3; k++)
            se += exp(z[k] - m);
        double w = cw[(int)t[b]];
        num += w * (m + log(se) - z[(int)t[b]]);
        den += w;
        for (int k = 0; k < 3; k++)
            dz_ref[b][k] = w * (exp(z[k] - m) / se - (k == (int)t[b]));
    }
    bp__net_set_class_weight(net, cw);
    double v;
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_CCE, 4, x, t, 1, &v));
    /* the logits are computed in float; the formula here in double */
    TU_ASSERT_CLOSE(v, num / den, 1e-6, 0);
    /* the bias gradient is the column sum of dL/dz */
    for (int k = 0; k < 3; k++) {
        double s = 0.0;
        for (int b = 0; b < 4; b++)
            s += dz_ref[b][k] / den;
        TU_ASSERT_CLOSE(bp_net_grads(net)[6 + k], s, 1e-6, 1e-9);
    }
    /* a bce target of 0.5 is refused with class weights */
    bp_net *one = tu_net("2,1:identity");
    const float cw2[2] = {1.0f, 3.0f}, half[4] = {0, 1, 0.5f, 1};
    bp__net_set_class_weight(one, cw2);
    assert_int_equal(bp_net_gradient(one, BP_LOSS_BCE, 4, x, half, 1, &v), BP_EINVAL);
    assert_non_null(strstr(bp_net_message(one), "0 or 1"));
    bp_net_free(one);
    bp_net_free(net);
}

/* Central differences (bp_gradcheck's double reference pass) agree with
 * backpropagation for the logit forms, weighted and not. */
static void test_gradcheck_weighted(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    const float cw3[3] = {0.4f, 2.5f, 1.0f}, cw2[2] = {3.0f, 0.7f};
    for (int c = 0; c < 8; c++) {
        bp_loss loss = c < 4 ? BP_LOSS_CCE : BP_LOSS_BCE;
        bp_act out = c % 2 ? (loss == BP_LOSS_CCE ? BP_ACT_SOFTMAX : BP_ACT_SIGMOID)
                           : BP_ACT_IDENTITY;
        int weighted = (c / 2) % 2;
        bp_layer_desc d[2] = {{.width = 5, .act = BP_ACT_TANH, .bias = 1, .slope = 0.0f}, {.width = 3, .act = out, .bias = 1, .slope = 0.0f}};
        bp_net *net = tu_net_create(4, 2, d);
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
        float x[6 * 4], t[6 * 3];
        tu_fill_normal(&rng, x, 24, 1.0);
        int T = tu_make_targets(&rng, loss, 6, 3, 1, t);
        if (weighted)
            bp__net_set_class_weight(net, loss == BP_LOSS_CCE ? cw3 : cw2);
        bp_gradcheck_layer rep[2];
        double max;
        TU_ASSERT_OK(bp_gradcheck(net, loss, 6, x, t, T, NULL, 0.0, rep, &max));
        if (!(max < 1e-3))
            fail_msg("case %d: gradcheck error %g", c, max);
        bp_net_free(net);
    }
}

/* Weights of 1 change nothing; doubling every weight changes nothing. */
static void test_uniform_weights(void **state)
{
    (void)state;
    const float t[6] = {0, 2, 1, 1, 0, 2}, ones[3] = {1, 1, 1}, twos[3] = {2, 2, 2};
    float g0[64], g1[64], g2[64];
    double v0 = loss_and_grad(BP_ACT_IDENTITY, BP_LOSS_CCE, t, 1, NULL, g0);
    double v1 = loss_and_grad(BP_ACT_IDENTITY, BP_LOSS_CCE, t, 1, ones, g1);
    double v2 = loss_and_grad(BP_ACT_IDENTITY, BP_LOSS_CCE, t, 1, twos, g2);
    TU_ASSERT_CLOSE(v1, v0, 1e-12, 1e-9);
    TU_ASSERT_CLOSE(v2, v0, 1e-12, 1e-9);
    for (int i = 0; i < 43; i++) {
        TU_ASSERT_CLOSE(g1[i], g0[i], 1e-6, 1e-9);
        TU_ASSERT_CLOSE(g2[i], g0[i], 1e-6, 1e-9);
    }
    /* unequal weights do change the loss */
    const float skew[3] = {1, 5, 1};
    double vs = loss_and_grad(BP_ACT_IDENTITY, BP_LOSS_CCE, t, 1, skew, g1);
    assert_true(fabs(vs - v0) > 1e-3);
}

static void test_probabilities(void **state)
{
    (void)state;
    const float y[2 * 3] = {1.0f, 2.0f, 3.0f, -1000.0f, 0.0f, 1000.0f};
    float p[6];
    bp_net *id = tu_net("2,3:identity"), *sm = tu_net("2,3:softmax");
    TU_ASSERT_OK(bp_net_probabilities(id, BP_LOSS_CCE, 2, y, p));
    double se = exp(1.0) + exp(2.0) + exp(3.0);
    TU_ASSERT_CLOSE(p[0], exp(1.0) / se, 1e-6, 1e-9);
    TU_ASSERT_CLOSE(p[2], exp(3.0) / se, 1e-6, 1e-9);
    TU_ASSERT_EXACT(p[3], 0.0f);
    TU_ASSERT_EXACT(p[5], 1.0f);
    TU_ASSERT_OK(bp_net_probabilities(id, BP_LOSS_BCE, 2, y, p));
    TU_ASSERT_CLOSE(p[1], 1.0 / (1.0 + exp(-2.0)), 1e-6, 1e-9);
    TU_ASSERT_EXACT(p[3], 0.0f);
    TU_ASSERT_EXACT(p[4], 0.5f);
    TU_ASSERT_OK(bp_net_probabilities(sm, BP_LOSS_CCE, 2, y, p)); /* as they are */
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(p[i], y[i]);
    TU_ASSERT_OK(bp_net_probabilities(id, BP_LOSS_MSE, 2, y, p));
    TU_ASSERT_EXACT(p[5], 1000.0f);
    assert_int_equal(bp_net_probabilities(id, BP_LOSS_CCE, 0, y, p), BP_EINVAL);
    /* accuracy on logits under bce thresholds at 0 */
    bp_net *one = tu_net("1,1:identity");
    const float z[4] = {-0.2f, 0.1f, 0.3f, -3.0f}, t[4] = {0, 1, 0, 1};
    TU_ASSERT_CLOSE(bp__net_accuracy(one, BP_LOSS_BCE, 4, z, t, 1), 0.5, 0, 1e-9);
    bp_net_free(one);
    bp_net_free(id);
    bp_net_free(sm);
}

static void test_balanced_weights(void **state)
{
    (void)state;
    const float x[6] = {0, 1, 2, 3, 4, 5}, t[6] = {0, 0, 0, 2, 1, 0};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(6, 1, 1, x, t, 3, &err);
    assert_non_null(ds);
    float w[3];
    assert_int_equal(bp_dataset_class_weights_balanced(ds, w, &err), 3);
    TU_ASSERT_CLOSE(w[0], 6.0 / (3.0 * 4.0), 1e-7, 1e-9);
    TU_ASSERT_CLOSE(w[1], 2.0, 1e-7, 1e-9);
    TU_ASSERT_CLOSE(w[2], 2.0, 1e-7, 1e-9);
    bp_dataset_free(ds);
    /* a class without rows has no balanced weight */
    const float t2[6] = {0, 0, 2, 2, 0, 2};
    ds = bp_dataset_from_arrays(6, 1, 1, x, t2, 3, &err);
    assert_int_equal(bp_dataset_class_weights_balanced(ds, w, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "class 1 has no rows"));
    bp_dataset_free(ds);
    /* numeric targets are refused */
    ds = bp_dataset_from_arrays(6, 1, 1, x, t, 0, &err);
    assert_int_equal(bp_dataset_class_weights_balanced(ds, w, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "need class labels"));
    bp_dataset_free(ds);
}

static void test_weights_parse(void **state)
{
    (void)state;
    const char *names[3] = {"setosa", "versicolor", "virginica"};
    float w[3];
    bp_error err;
    TU_ASSERT_OK(bp_class_weights_parse("virginica=2.5,setosa=0.5", 3, names, w, &err));
    TU_ASSERT_EXACT(w[0], 0.5f);
    TU_ASSERT_EXACT(w[1], 1.0f);
    TU_ASSERT_EXACT(w[2], 2.5f);
    TU_ASSERT_OK(bp_class_weights_parse("1=3", 3, names, w, &err)); /* numbers work too */
    TU_ASSERT_EXACT(w[0], 1.0f);
    TU_ASSERT_EXACT(w[1], 3.0f);
    TU_ASSERT_OK(bp_class_weights_parse("0=2,2=4", 3, NULL, w, &err));
    TU_ASSERT_EXACT(w[2], 4.0f);
    assert_int_equal(bp_class_weights_parse("rose=2", 3, names, w, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "no class 'rose'"));
    assert_int_equal(bp_class_weights_parse("setosa=-1", 3, names, w, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "'-1' for class 'setosa' is not a number above 0"));
    assert_int_equal(bp_class_weights_parse("setosa=2,versicolor", 3, names, w, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "'versicolor' is not NAME=WEIGHT"));
    assert_int_equal(bp_class_weights_parse("3=1", 3, NULL, w, &err), BP_EINVAL);
    assert_int_equal(bp_class_weights_parse("0=1x", 3, NULL, w, &err), BP_EINVAL);
}

/* bp_train with class weights: bad weights are refused; good ones train,
 * and the net holds no weights afterwards. */
static void test_train_class_weight(void **state)
{
    (void)state;
    float x[40], t[20];
    for (int i = 0; i < 20; i++) {
        x[2 * i] = (float)(i % 5) - 2.0f;
        x[2 * i + 1] = (float)(i % 3);
        t[i] = (float)(i % 4 == 0);
    }
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(20, 2, 1, x, t, 2, &err);
    assert_non_null(ds);
    bp_net *net = tu_net("2,4:tanh,1:identity");
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_BCE;
    o.epochs = 3;
    const float bad[2] = {1.0f, -2.0f}, good[2] = {0.625f, 2.5f};
    o.class_weight = bad;
    assert_int_equal(bp_train(net, ds, NULL, &o, NULL, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "class weight 1 is -2"));
    o.class_weight = good;
    o.loss = BP_LOSS_MSE;
    assert_int_equal(bp_train(net, ds, NULL, &o, NULL, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "need the loss cce or bce"));
    o.loss = BP_LOSS_BCE;
    bp_train_result res;
    TU_ASSERT_OK(bp_train(net, ds, NULL, &o, &res, &err));
    assert_int_equal(res.epochs_run, 3);
    assert_true(res.last.train_accuracy >= 0.0);
    /* afterwards the network's losses are plain again */
    double v, v_plain;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, 20, x, t, 1, &v, NULL));
    bp__net_set_class_weight(net, NULL);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, 20, x, t, 1, &v_plain, NULL));
    TU_ASSERT_EXACT(v, v_plain);
    bp__net_set_class_weight(net, good);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, 20, x, t, 1, &v, NULL));
    assert_true(v != v_plain);
    bp_net_free(net);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_logits),
        cmocka_unit_test(test_weighted_cce_formula),
        cmocka_unit_test(test_gradcheck_weighted),
        cmocka_unit_test(test_uniform_weights),
        cmocka_unit_test(test_probabilities),
        cmocka_unit_test(test_balanced_weights),
        cmocka_unit_test(test_weights_parse),
        cmocka_unit_test(test_train_class_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
