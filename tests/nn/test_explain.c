/*
 * test_explain.c - backpropagation for one sample, factor by factor: the
 * lesson's numbers exactly, then the factors of random networks against
 * their definitions and against bp_net_gradient.
 */
#include "testutil.h"

static void assert_vec_exact(const char *what, const double *got,
                             const double *want, int n)
{
    for (int i = 0; i < n; i++)
        if (!(got[i] == want[i]))
            fail_msg("%s[%d] = %.17g, expected %.17g", what, i, got[i], want[i]);
}

/* The lesson network, input [0, 3], target 3, squared error:
 *   hidden z = value = [3, 6]; output z = value = 9; loss (9 - 3)^2 = 36.
 *   output: dnode = 2 (9 - 3) = 12, dact = 1 (relu at 9),
 *           grad_w = [3, 6] * 12 = [36, 72], dinput = [1, 1] * 12 = [12, 12]
 *   hidden: dnode = [12, 12], dact = [1, 1],
 *           grad_w = [[0, 3] * 12, [0, 3] * 12] = [[0, 36], [0, 36]]
 *           dinput = [2*12 + 1*12, 1*12 + 2*12] = [36, 36]. */
static void test_lesson_example(void **state)
{
    const float w0[4] = {2, 1, 1, 2}, w1[2] = {1, 1};
    const float x[2] = {0, 3}, t = 3;
    bp_explain *ex = NULL;
    (void)state;
    bp_net *net = tu_net("2,2:relu:nobias,1:relu:nobias");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w0, NULL));
    TU_ASSERT_OK(bp_net_set_layer(net, 1, w1, NULL));
    TU_ASSERT_OK(bp_explain_sample(net, BP_LOSS_MSE, x, &t, 1, &ex));
    assert_non_null(ex);
    assert_int_equal(ex->n_layers, 2);
    TU_ASSERT_EXACT(ex->loss, 36.0);

    const bp_explain_layer *h = &ex->layers[0], *o = &ex->layers[1];
    assert_int_equal(h->inputs, 2);
    assert_int_equal(h->outputs, 2);
    assert_int_equal(h->act, BP_ACT_RELU);
    assert_int_equal(h->combined, 0);
    assert_int_equal(o->inputs, 2);
    assert_int_equal(o->outputs, 1);
    assert_int_equal(o->act, BP_ACT_RELU);
    assert_int_equal(o->combined, 0);
    assert_null(h->grad_b);
    assert_null(o->grad_b);

    const double o_input[2] = {3, 6}, o_z[1] = {9}, o_dnode[1] = {12},
                 o_dact[1] = {1}, o_gw[2] = {36, 72}, o_din[2] = {12, 12};
    assert_vec_exact("output input", o->input, o_input, 2);
    assert_vec_exact("output z", o->z, o_z, 1);
    assert_vec_exact("output value", o->value, o_z, 1);
    assert_vec_exact("output dnode", o->dnode, o_dnode, 1);
    assert_vec_exact("output dact", o->dact, o_dact, 1);
    assert_vec_exact("output grad_w", o->grad_w, o_gw, 2);
    assert_vec_exact("output dinput", o->dinput, o_din, 2);

    const double h_input[2] = {0, 3}, h_z[2] = {3, 6}, h_dnode[2] = {12, 12},
                 h_dact[2] = {1, 1}, h_gw[4] = {0, 36, 0, 36}, h_din[2] = {36, 36};
    assert_vec_exact("hidden input", h->input, h_input, 2);
    assert_vec_exact("hidden z", h->z, h_z, 2);
    assert_vec_exact("hidden value", h->value, h_z, 2);
    assert_vec_exact("hidden dnode", h->dnode, h_dnode, 2);
    assert_vec_exact("hidden dact", h->dact, h_dact, 2);
    assert_vec_exact("hidden grad_w", h->grad_w, h_gw, 4);
    assert_vec_exact("hidden dinput", h->dinput, h_din, 2);
    /* Factor 2 of the hidden layer is the output layer's dinput. */
    assert_vec_exact("hidden dnode vs output dinput", h->dnode, o->dinput, 2);

    /* bp_net_gradient agrees, exactly: every number is an integer. */
    double loss;
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 1, x, &t, 1, &loss));
    TU_ASSERT_EXACT(loss, 36.0);
    const float want[6] = {0, 36, 0, 36, 36, 72};
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(bp_net_grads(net)[i], want[i]);
    bp_explain_free(ex);

    /* A dead hidden node: node 0 weights [-1, -1] give z = -3, so its dact
     * is 0 and its weights get no slope; dinput still sums both paths. */
    const float w0d[4] = {-1, -1, 1, 2};
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w0d, NULL));
    TU_ASSERT_OK(bp_explain_sample(net, BP_LOSS_MSE, x, &t, 1, &ex));
    /* hidden [0, 6], output 6, loss 9, output dnode 6 */
    TU_ASSERT_EXACT(ex->loss, 9.0);
    const double d_dact[2] = {0, 1}, d_gw[4] = {0, 0, 0, 18}, d_din[2] = {6, 12};
    assert_vec_exact("dead dact", ex->layers[0].dact, d_dact, 2);
    assert_vec_exact("dead grad_w", ex->layers[0].grad_w, d_gw, 4);
    assert_vec_exact("dead dinput", ex->layers[0].dinput, d_din, 2);
    bp_explain_free(ex);
    bp_explain_free(NULL);
    bp_net_free(net);
}

/* Slope of an activation at z with value a, from its definition. */
static double act_slope(bp_act act, double slope, double z, double a)
{
    switch (act) {
    case BP_ACT_RELU:
        return z > 0.0 ? 1.0 : 0.0;
    case BP_ACT_LEAKY_RELU:
        return z > 0.0 ? 1.0 : slope;
    case BP_ACT_SIGMOID:
        return a * (1.0 - a);
    case BP_ACT_TANH:
        return 1.0 - a * a;
    default:
        return 1.0;
    }
}

/* The product of three doubles, in any of the orders one may write it. */
static int is_product(double g, double a, double b, double c)
{
    return g == (a * b) * c || g == a * (b * c) || g == (a * c) * b;
}

static void check_random(bp_rng *rng, int trial)
{
    bp_layer_desc d[4] = {{0}};
    int depth = 1 + (int)bp_rng_below(rng, 4);
    int inputs = 1 + (int)bp_rng_below(rng, 6);
    bp_loss loss = (bp_loss)(trial % 4);
    for (int l = 0; l < depth; l++) {
        d[l].width = 1 + (int)bp_rng_below(rng, 6);
        d[l].act = (bp_act)bp_rng_below(rng, 6);
        d[l].bias = (int)bp_rng_below(rng, 2);
        d[l].slope = d[l].act == BP_ACT_LEAKY_RELU && bp_rng_below(rng, 2) ? 0.2f : 0.0f;
    }
    bp_layer_desc *out = &d[depth - 1];
    if (loss == BP_LOSS_CCE) {
        out->act = trial % 8 < 4 ? BP_ACT_SOFTMAX : BP_ACT_SIGMOID;
        if (out->act == BP_ACT_SOFTMAX && out->width < 2)
            out->width = 3;
    } else if (loss == BP_LOSS_BCE) {
        out->act = trial % 8 < 4 ? BP_ACT_SIGMOID : BP_ACT_SOFTMAX;
        if (out->act == BP_ACT_SOFTMAX && out->width < 2)
            out->width = 2;
    }
    bp_net *net = tu_net_create(inputs, depth, d);
    TU_ASSERT_OK(bp_net_init(net, rng, BP_INIT_XAVIER_NORMAL, 0.0));
    for (int l = 0; l < depth; l++)
        if (bp_net_bias(net, l))
            tu_fill_normal(rng, bp_net_bias(net, l), (size_t)d[l].width, 0.3);
    int O = out->width;
    float x[8], t[8];
    tu_fill_normal(rng, x, (size_t)inputs, 1.0);
    int T = tu_make_targets(rng, loss, 1, O, trial % 3 == 0, t);

    char spec[256];
    bp_net_spec(net, spec, sizeof spec);
    bp_explain *ex = NULL;
    TU_ASSERT_OK(bp_explain_sample(net, loss, x, t, T, &ex));
    assert_int_equal(ex->n_layers, depth);

    /* Oracle and library gradients of the same sample. */
    size_t P = bp_net_param_count(net);
    double *ref = tu_xcalloc(P, sizeof *ref);
    double *ref_dx = tu_xcalloc((size_t)inputs, sizeof *ref_dx);
    double ref_loss = tu_ref_gradient(net, loss, 1, x, t, T, ref, ref_dx);
    double lib_loss;
    TU_ASSERT_OK(bp_net_gradient(net, loss, 1, x, t, T, &lib_loss));
    const float *lib = bp_net_grads(net);
    double scale = 1e-6;
    for (size_t i = 0; i < P; i++)
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    /* Float tolerance: relative, plus an absolute part from the largest
     * gradient and from the loss's slope (see tu_output_slope_scale). */
    const double fatol = 1e-5 * scale + 1e-6 * tu_output_slope_scale(net, loss, 1, x, t, T);

    if (!tu_close(ex->loss, ref_loss, 1e-12, 1e-14))
        fail_msg("trial %d %s %s: loss %.17g, expected %.17g", trial, spec,
                 bp_loss_name(loss), ex->loss, ref_loss);
    TU_ASSERT_CLOSE(lib_loss, ex->loss, 1e-5, 1e-7);

    for (int l = 0; l < depth; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const int I = bp_net_layer_inputs(net, l), Ol = d[l].width;
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        size_t w_off, b_off;
        tu_layer_offsets(net, l, &w_off, &b_off);
        assert_int_equal(E->inputs, I);
        assert_int_equal(E->outputs, Ol);
        assert_int_equal(E->act, d[l].act);
        assert_int_equal(E->combined, d[l].act == BP_ACT_SOFTMAX);
        assert_true((E->grad_b != NULL) == (d[l].bias != 0));

        /* Forward factors. */
        for (int i = 0; i < I; i++) {
            double want = l == 0 ? (double)x[i] : ex->layers[l - 1].value[i];
            assert_true(E->input[i] == want);
        }
        double zmax = 0.0;
        for (int o = 0; o < Ol; o++) {
            double z = b ? (double)b[o] : 0.0;
            for (int i = 0; i < I; i++)
                z += (double)w[(size_t)o * (size_t)I + (size_t)i] * E->input[i];
            TU_ASSERT_CLOSE(E->z[o], z, 1e-12, 1e-14);
            zmax = fabs(z) > zmax ? fabs(z) : zmax;
        }
        if (d[l].act == BP_ACT_SOFTMAX) {
            double m = E->z[0], s = 0.0;
            for (int o = 1; o < Ol; o++)
                m = E->z[o] > m ? E->z[o] : m;
            for (int o = 0; o < Ol; o++)
                s += exp(E->z[o] - m);
            for (int o = 0; o < Ol; o++)
                TU_ASSERT_CLOSE(E->value[o], exp(E->z[o] - m) / s, 1e-12, 1e-15);
        } else {
            for (int o = 0; o < Ol; o++)
                TU_ASSERT_CLOSE(E->value[o],
                                tu_act_d(d[l].act, tu_layer_slope(d[l]), E->z[o]),
                                1e-12, 1e-15);
        }

        /* Factor 3, and factor 2 as the next layer's dinput. */
        for (int o = 0; o < Ol; o++) {
            double want = d[l].act == BP_ACT_SOFTMAX
                              ? 1.0
                              : act_slope(d[l].act, tu_layer_slope(d[l]), E->z[o],
                                          E->value[o]);
            TU_ASSERT_CLOSE(E->dact[o], want, 1e-12, 1e-15);
        }
        if (l + 1 < depth) {
            const double *next = ex->layers[l + 1].dinput;
            if (d[l].act != BP_ACT_SOFTMAX) {
                for (int o = 0; o < Ol; o++)
                    assert_true(E->dnode[o] == next[o]);
            } else {
                /* combined: dL/dz = a (dL/da - sum a dL/da) */
                double dot = 0.0, dmax = 1e-300;
                for (int o = 0; o < Ol; o++) {
                    dot += E->value[o] * next[o];
                    dmax = fabs(next[o]) > dmax ? fabs(next[o]) : dmax;
                }
                for (int o = 0; o < Ol; o++)
                    TU_ASSERT_CLOSE(E->dnode[o], E->value[o] * (next[o] - dot), 1e-12,
                                    1e-14 * dmax);
            }
        }

        /* The products, exactly as defined, and the sums. */
        for (int o = 0; o < Ol; o++) {
            for (int i = 0; i < I; i++) {
                double g = E->grad_w[(size_t)o * (size_t)I + (size_t)i];
                if (!is_product(g, E->input[i], E->dnode[o], E->dact[o]))
                    fail_msg("trial %d layer %d grad_w[%d][%d] = %.17g is not "
                             "%.17g * %.17g * %.17g", trial, l, o, i, g, E->input[i],
                             E->dnode[o], E->dact[o]);
            }
            if (E->grad_b && !(E->grad_b[o] == E->dnode[o] * E->dact[o]))
                fail_msg("trial %d layer %d grad_b[%d] = %.17g, expected %.17g", trial,
                         l, o, E->grad_b[o], E->dnode[o] * E->dact[o]);
        }
        for (int i = 0; i < I; i++) {
            double s = 0.0, mag = 0.0;
            for (int o = 0; o < Ol; o++) {
                double term = (double)w[(size_t)o * (size_t)I + (size_t)i] *
                              E->dnode[o] * E->dact[o];
                s += term;
                mag += fabs(term);
            }
            TU_ASSERT_CLOSE(E->dinput[i], s, 0.0, 1e-13 * mag + 1e-300);
        }

        /* Against the oracle (double) and bp_net_gradient (float). */
        for (int o = 0; o < Ol; o++) {
            for (int i = 0; i < I; i++) {
                size_t j = w_off + (size_t)o * (size_t)I + (size_t)i;
                double g = E->grad_w[(size_t)o * (size_t)I + (size_t)i];
                if (!tu_close(g, ref[j], 1e-9, 1e-12 * scale))
                    fail_msg("trial %d %s %s layer %d grad_w[%d][%d] = %.17g, oracle %.17g",
                             trial, spec, bp_loss_name(loss), l, o, i, g, ref[j]);
                if (!tu_close(lib[j], g, 1e-4, fatol))
                    fail_msg("trial %d %s %s layer %d: bp_net_gradient %.9g, explain %.17g",
                             trial, spec, bp_loss_name(loss), l, (double)lib[j], g);
            }
            if (E->grad_b) {
                TU_ASSERT_CLOSE(E->grad_b[o], ref[b_off + (size_t)o], 1e-9, 1e-12 * scale);
                TU_ASSERT_CLOSE(lib[b_off + (size_t)o], E->grad_b[o], 1e-4, fatol);
            }
        }
    }
    double xs = 1e-300;
    for (int i = 0; i < inputs; i++)
        xs = fabs(ref_dx[i]) > xs ? fabs(ref_dx[i]) : xs;
    for (int i = 0; i < inputs; i++)
        TU_ASSERT_CLOSE(ex->layers[0].dinput[i], ref_dx[i], 1e-9, 1e-12 * xs);

    bp_explain_free(ex);
    free(ref_dx);
    free(ref);
    bp_net_free(net);
}

static void test_random_networks(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 2718);
    for (int trial = 0; trial < 300; trial++)
        check_random(&rng, trial);
}

/* Softmax with cross-entropy: the output layer's dnode is the combined
 * slope p - onehot (one sample: B = 1), and dact is 1. */
static void test_softmax_combined(void **state)
{
    const float w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0, 0, -1};
    const float x[2] = {0.5f, -0.25f}, t = 2;
    bp_explain *ex = NULL;
    (void)state;
    bp_net *net = tu_net("2,3:softmax");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, b));
    TU_ASSERT_OK(bp_explain_sample(net, BP_LOSS_CCE, x, &t, 1, &ex));
    const bp_explain_layer *E = &ex->layers[0];
    assert_int_equal(E->combined, 1);
    /* z = [0.5, -0.25, -0.75], exactly */
    TU_ASSERT_EXACT(E->z[0], 0.5);
    TU_ASSERT_EXACT(E->z[1], -0.25);
    TU_ASSERT_EXACT(E->z[2], -0.75);
    double s = exp(0.5) + exp(-0.25) + exp(-0.75);
    double p[3] = {exp(0.5) / s, exp(-0.25) / s, exp(-0.75) / s};
    TU_ASSERT_CLOSE(ex->loss, log(s) + 0.75, 1e-14, 0.0);
    for (int k = 0; k < 3; k++) {
        TU_ASSERT_CLOSE(E->value[k], p[k], 1e-14, 0.0);
        TU_ASSERT_CLOSE(E->dnode[k], p[k] - (k == 2 ? 1.0 : 0.0), 1e-14, 0.0);
        TU_ASSERT_EXACT(E->dact[k], 1.0);
        TU_ASSERT_EXACT(E->grad_b[k], E->dnode[k]);
    }
    bp_explain_free(ex);

    /* Targets of the wrong width are refused. */
    const float bad[2] = {0, 1};
    ex = NULL;
    TU_ASSERT_RC(bp_explain_sample(net, BP_LOSS_CCE, x, bad, 2, &ex), BP_ESHAPE);
    bp_net_free(net);
}

/* One weight w = 1 and bias -2: input 2 puts the node exactly at z = 0.
 * With target -1 the squared error's slope there is dnode = 2 (0 + 1). */
static void check_at_zero(const char *spec, double want_dact)
{
    const float w = 1.0f, b = -2.0f, x = 2.0f, t = -1.0f;
    bp_explain *ex = NULL;
    bp_net *net = tu_net(spec);
    TU_ASSERT_OK(bp_net_set_layer(net, 0, &w, &b));
    TU_ASSERT_OK(bp_explain_sample(net, BP_LOSS_MSE, &x, &t, 1, &ex));
    const bp_explain_layer *E = &ex->layers[0];
    TU_ASSERT_EXACT(E->z[0], 0.0);
    TU_ASSERT_EXACT(E->value[0], 0.0);
    TU_ASSERT_EXACT(ex->loss, 1.0);
    TU_ASSERT_EXACT(E->dnode[0], 2.0);
    TU_ASSERT_CLOSE(E->dact[0], want_dact, 1e-6, 0.0);
    TU_ASSERT_EXACT(E->grad_w[0], 2.0 * E->dnode[0] * E->dact[0]);
    TU_ASSERT_EXACT(E->grad_b[0], E->dnode[0] * E->dact[0]);
    TU_ASSERT_EXACT(E->dinput[0], E->dnode[0] * E->dact[0]);
    bp_explain_free(ex);
    bp_net_free(net);
}

/* relu's slope at exactly 0 is 0; leaky_relu's is its slope. */
static void test_slope_at_zero(void **state)
{
    (void)state;
    check_at_zero("1,1:relu", 0.0);
    check_at_zero("1,1:leaky_relu=0.25", 0.25);
    check_at_zero("1,1:leaky_relu", 0.01);
}

/* In double, with the parameters given: the lesson's linear model after one
 * step of rate 0.01, weights [0, 2, 1] - 0.01 x [14, 28, 42], input
 * [1, 2, 3], target 0. The prediction is the double sum, as the lesson's
 * NumPy computes it (5.04 to a few ulps), and the network's floats are not
 * used. */
static void test_double_params(void **state)
{
    const float w[3] = {9, 9, 9}, t = 0;
    const double x[3] = {1, 2, 3};
    double p[3];
    bp_explain *ex = NULL;
    (void)state;
    bp_net *net = tu_net("3,1:identity:nobias");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, NULL));
    p[0] = 0 - 0.01 * 14;
    p[1] = 2 - 0.01 * 28;
    p[2] = 1 - 0.01 * 42;
    TU_ASSERT_OK(bp_explain_sample_d(net, p, BP_LOSS_MSE, x, &t, 1, &ex));
    const double y = p[0] * 1 + p[1] * 2 + p[2] * 3;
    TU_ASSERT_EXACT(ex->layers[0].value[0], y);
    TU_ASSERT_EXACT(ex->loss, y * y);
    TU_ASSERT_CLOSE(y, 5.04, 1e-15, 0.0);
    TU_ASSERT_EXACT(ex->layers[0].grad_w[2], 3 * 2 * y);
    bp_explain_free(ex);
    /* Without params, the network's floats; x stays double: 0.1 is not
     * the float 0.1f. */
    const double xd[3] = {0.1, 0, 0};
    TU_ASSERT_OK(bp_explain_sample_d(net, NULL, BP_LOSS_MSE, xd, &t, 1, &ex));
    TU_ASSERT_EXACT(ex->layers[0].input[0], 0.1);
    TU_ASSERT_EXACT(ex->layers[0].z[0], 9 * 0.1);
    bp_explain_free(ex);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lesson_example),
        cmocka_unit_test(test_softmax_combined),
        cmocka_unit_test(test_slope_at_zero),
        cmocka_unit_test(test_double_params),
        cmocka_unit_test(test_random_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
