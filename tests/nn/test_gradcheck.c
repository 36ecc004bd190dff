/*
 * test_gradcheck.c - backpropagation against central differences: every
 * activation with every loss it can meet, as output and as hidden layer;
 * random deep networks; the check's power to find a single wrong entry;
 * and the fused losses' stability at huge logits.
 */
#include "testutil.h"

/*
 * Thresholds. The analytic gradient comes from the float forward and
 * backward passes; the numeric one from double central differences. Float
 * rounding leaves an absolute error of a few 1e-8 of the layer's largest
 * slope, which the report's floor (1e-4 of that slope) turns into relative
 * errors up to a few 1e-4 for small entries: the largest seen on the small
 * networks below is 2.2e-4. A single entry off by 1% reads 0.0099.
 */
#define PASS 1e-3

/* Run bp_gradcheck and check the report's own consistency: the overall
 * maximum is the largest layer entry, each worst index lies inside its
 * layer, and the analytic value at the worst entry is the one given (or,
 * when none is given, backpropagation's). */
static double gradcheck(bp_net *net, bp_loss loss, int B, const float *x,
                        const float *t, int T, const float *analytic,
                        bp_gradcheck_layer *report)
{
    double max = -1.0, v;
    int L = bp_net_layers(net);
    TU_ASSERT_OK(bp_gradcheck(net, loss, B, x, t, T, analytic, 0.0, report, &max));
    if (!analytic)
        TU_ASSERT_OK(bp_net_gradient(net, loss, B, x, t, T, &v));
    const float *g = analytic ? analytic : bp_net_grads(net);
    double m = 0.0;
    for (int l = 0; l < L; l++) {
        bp_layer_desc d = bp_net_layer(net, l);
        size_t w_off, b_off;
        size_t count = (size_t)d.width * (size_t)bp_net_layer_inputs(net, l) +
                       (d.bias ? (size_t)d.width : 0);
        tu_layer_offsets(net, l, &w_off, &b_off);
        assert_true(report[l].max_rel_error >= 0.0);
        assert_true(report[l].worst < count);
        TU_ASSERT_EXACT(report[l].analytic, g[w_off + report[l].worst]);
        m = report[l].max_rel_error > m ? report[l].max_rel_error : m;
    }
    TU_ASSERT_EXACT(max, m);
    return max;
}

static const char *act_name(int act)
{
    const char *n = bp_act_name((bp_act)act);
    return n ? n : "?";
}

/* Every activation as the output layer with every loss it can meet, and
 * as the hidden layer before each of those outputs. */
static void test_every_activation_and_loss(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 100);
    for (int loss = 0; loss < 4; loss++) {
        for (int out = 0; out < 6; out++) {
            /* BCE and CCE need outputs in (0, 1). */
            if ((loss == BP_LOSS_BCE || loss == BP_LOSS_CCE) &&
                out != BP_ACT_SIGMOID && out != BP_ACT_SOFTMAX)
                continue;
            for (int hidden = 0; hidden < 6; hidden++) {
                for (int form = 0; form < 2; form++) {
                    bp_layer_desc d[2] = {
                        {.width = 5, .act = (bp_act)hidden, .bias = 1, .slope = hidden == BP_ACT_LEAKY_RELU ? 0.1f : 0.0f},
                        {.width = 3, .act = (bp_act)out, .bias = form == 0, .slope = 0.0f},
                    };
                    bp_net *net = tu_net_create(4, 2, d);
                    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
                    tu_fill_normal(&rng, bp_net_bias(net, 0), 5, 0.5);
                    float x[6 * 4], t[6 * 3];
                    bp_gradcheck_layer report[2];
                    tu_fill_normal(&rng, x, 24, 1.0);
                    int T = tu_make_targets(&rng, (bp_loss)loss, 6, 3, form, t);
                    double err = gradcheck(net, (bp_loss)loss, 6, x, t, T, NULL, report);
                    if (!(err < PASS))
                        fail_msg("%s -> %s with %s (T=%d): max relative error %g "
                                 "(layer 0 %g at %zu: %.9g vs %.9g; layer 1 %g at "
                                 "%zu: %.9g vs %.9g)",
                                 act_name(hidden), act_name(out),
                                 bp_loss_name((bp_loss)loss), T, err,
                                 report[0].max_rel_error, report[0].worst,
                                 report[0].analytic, report[0].numeric,
                                 report[1].max_rel_error, report[1].worst,
                                 report[1].analytic, report[1].numeric);
                    bp_net_free(net);
                }
            }
        }
    }
}

/*
 * Random networks of depth 1 to 5, widths 1 to 8, random activations and
 * biases, every loss with fitting outputs and targets.
 *
 * On deep random networks float rounding can be amplified well past the
 * float epsilon: a saturated tanh or sigmoid node takes its slope 1 - a^2
 * from a float a near 1; a kink of relu or of MAE inside the finite
 * difference step averages two slopes; a layer whose true gradient is zero
 * (say behind dead relus) has nothing to be relative to. Such draws are
 * replaced by fresh ones (a bounded share of them). On the rest, every check
 * must stay below 1e-2 (a missing or wrong factor gives errors of order 1;
 * the sensitivity test below covers single 1% errors) and at least 95% of
 * them below 1e-4: about 2.5% of such draws land between 1e-4 and 7e-3 on
 * entries much smaller than their layer's largest.
 */
#define RANDOM_CAP 1e-2
#define RANDOM_TIGHT 1e-4

static bp_net *random_gradcheck_net(bp_rng *rng, int depth, bp_loss loss)
{
    bp_layer_desc d[5] = {{0}};
    int inputs = 1 + (int)bp_rng_below(rng, 8);
    for (int l = 0; l < depth; l++) {
        d[l].width = 1 + (int)bp_rng_below(rng, 8);
        /* Softmax as the output layer only: hidden softmax layers are
         * checked in test_every_activation_and_loss. */
        d[l].act = (bp_act)bp_rng_below(rng, 5);
        d[l].bias = (int)bp_rng_below(rng, 2);
        d[l].slope = d[l].act == BP_ACT_LEAKY_RELU ? 0.2f : 0.0f;
    }
    bp_layer_desc *out = &d[depth - 1];
    if (bp_rng_below(rng, 4) == 0)
        out->act = BP_ACT_SOFTMAX;
    if (loss == BP_LOSS_BCE)
        out->act = BP_ACT_SIGMOID;
    if (loss == BP_LOSS_CCE && out->act != BP_ACT_SOFTMAX)
        out->act = BP_ACT_SIGMOID;
    if (out->act == BP_ACT_SOFTMAX && out->width < 2)
        out->width = 2 + (int)bp_rng_below(rng, 7);
    bp_net *net = tu_net_create(inputs, depth, d);
    TU_ASSERT_OK(bp_net_init(net, rng, (bp_init)bp_rng_below(rng, 6), 0.0));
    for (int l = 0; l < depth; l++)
        if (bp_net_bias(net, l))
            tu_fill_normal(rng, bp_net_bias(net, l), (size_t)d[l].width, 0.3);
    return net;
}

static void test_random_networks(void **state)
{
    bp_rng rng;
    int checked = 0, redrawn = 0, tight = 0;
    double worst = 0.0;
    (void)state;
    bp_rng_seed(&rng, 555);
    while (checked < 400) {
        const int depth = 1 + checked % 5;
        const bp_loss loss = (bp_loss)bp_rng_below(&rng, 4);
        bp_net *net = random_gradcheck_net(&rng, depth, loss);
        bp_gradcheck_layer report[5];
        const int I = bp_net_inputs(net), O = bp_net_outputs(net);
        const int B = 1 + (int)bp_rng_below(&rng, 8);
        const int softmax_out = bp_net_layer(net, depth - 1).act == BP_ACT_SOFTMAX;
        float x[8 * 8], t[8 * 9];
        tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
        /* Softmax outputs meet one-hot targets whatever the loss. */
        int T = softmax_out && loss != BP_LOSS_CCE
                    ? tu_make_targets(&rng, BP_LOSS_CCE, B, O, 0, t)
                    : tu_make_targets(&rng, loss, B, O, (int)bp_rng_below(&rng, 2), t);

        /* The oracle's gradient, and whether this draw is well conditioned. */
        size_t P = bp_net_param_count(net);
        double *ref = tu_xcalloc(P, sizeof *ref), kink, slope;
        double L = tu_ref_gradient(net, loss, B, x, t, T, ref, NULL);
        tu_ref_conditioning(net, loss, B, x, t, T, &kink, &slope);
        int degenerate = 0;
        for (int l = 0; l < depth; l++) {
            size_t w_off, b_off, count;
            bp_layer_desc d = bp_net_layer(net, l);
            double m = 0.0;
            tu_layer_offsets(net, l, &w_off, &b_off);
            count = (size_t)d.width * (size_t)bp_net_layer_inputs(net, l) +
                    (d.bias ? (size_t)d.width : 0);
            for (size_t j = w_off; j < w_off + count; j++)
                m = fabs(ref[j]) > m ? fabs(ref[j]) : m;
            degenerate |= m < 1e-7 * (1.0 + fabs(L));
        }
        if (degenerate || kink < 1e-3 || slope < 0.01) {
            redrawn++;
            free(ref);
            bp_net_free(net);
            continue;
        }

        double err = gradcheck(net, loss, B, x, t, T, NULL, report);
        if (!(err < RANDOM_CAP)) {
            char spec[256];
            int l = 0;
            bp_net_spec(net, spec, sizeof spec);
            for (int k = 1; k < depth; k++)
                if (report[k].max_rel_error > report[l].max_rel_error)
                    l = k;
            fail_msg("check %d: %s with %s, B=%d T=%d: max relative error %g "
                     "(layer %d entry %zu: %.9g vs numeric %.9g)", checked, spec,
                     bp_loss_name(loss), B, T, err, l, report[l].worst,
                     report[l].analytic, report[l].numeric);
        }
        tight += err < RANDOM_TIGHT;
        worst = err > worst ? err : worst;

        /* The numeric slope at each layer's worst entry is the oracle's:
         * central differences with h = 1e-6 carry about 1e-16 L / h of
         * rounding, so 1e-8 (1 + L) leaves a margin. */
        double scale = 0.0;
        for (size_t i = 0; i < P; i++)
            scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
        for (int l = 0; l < depth; l++) {
            size_t w_off, b_off;
            tu_layer_offsets(net, l, &w_off, &b_off);
            TU_ASSERT_CLOSE(report[l].numeric, ref[w_off + report[l].worst], 1e-5,
                            1e-6 * scale + 1e-8 * (1.0 + fabs(L)));
        }
        free(ref);
        bp_net_free(net);
        checked++;
    }
    if (!(tight >= 380))
        fail_msg("only %d of %d checks below %g", tight, checked, RANDOM_TIGHT);
    if (!(redrawn < checked / 2))
        fail_msg("%d draws replaced for %d checked", redrawn, checked);
    /* Not vacuous: float rounding does show. */
    assert_true(worst > 0.0);
}

/* One entry of the gradient off by 1%: the check finds it, whichever it is. */
static void test_sensitivity(void **state)
{
    bp_rng rng;
    bp_gradcheck_layer report[2];
    bp_net *net = NULL;
    float x[5 * 3], t[5 * 2];
    const size_t P = 3 * 4 + 4 + 4 * 2 + 2;
    const size_t starts[3] = {0, 3 * 4 + 4, P};
    float *g = tu_xmalloc(P * sizeof *g), *copy = tu_xmalloc(P * sizeof *copy);
    (void)state;

    /* A draw in which every entry matters: none below 1% of its layer's
     * largest, so a 1% change to any of them is far above the report's
     * floor (most draws qualify; the first one that does is used). */
    for (uint64_t seed = 1;; seed++) {
        int ok = 1;
        double v;
        assert_true(seed < 100);
        bp_rng_seed(&rng, seed);
        net = tu_net("3,4:tanh,2:sigmoid");
        assert_int_equal(bp_net_param_count(net), P);
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
        tu_fill_normal(&rng, bp_net_bias(net, 0), 4, 0.5);
        tu_fill_normal(&rng, bp_net_bias(net, 1), 2, 0.5);
        tu_fill_normal(&rng, x, 15, 1.0);
        tu_fill_normal(&rng, t, 10, 1.0);
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 5, x, t, 2, &v));
        memcpy(g, bp_net_grads(net), P * sizeof *g);
        for (int l = 0; l < 2; l++) {
            double m = 0.0;
            for (size_t j = starts[l]; j < starts[l + 1]; j++)
                m = fabs(g[j]) > m ? fabs(g[j]) : m;
            for (size_t j = starts[l]; j < starts[l + 1]; j++)
                ok &= fabs(g[j]) > 0.01 * m;
        }
        if (ok)
            break;
        bp_net_free(net);
    }

    /* The true gradient passes. */
    memcpy(copy, g, P * sizeof *copy);
    assert_true(gradcheck(net, BP_LOSS_MSE, 5, x, t, 2, copy, report) < PASS);

    for (size_t j = 0; j < P; j++) {
        memcpy(copy, g, P * sizeof *copy);
        copy[j] *= 1.01f;
        double err = gradcheck(net, BP_LOSS_MSE, 5, x, t, 2, copy, report);
        int l = j < starts[1] ? 0 : 1;
        /* |0.01 g| / |1.01 g| = 0.0099 */
        if (!(err > 5e-3))
            fail_msg("entry %zu off by 1%%: max relative error only %g", j, err);
        TU_ASSERT_CLOSE(report[l].max_rel_error, 0.01 / 1.01, 1e-3, 0.0);
        assert_int_equal(report[l].worst, j - starts[l]);
        TU_ASSERT_EXACT(report[l].analytic, copy[j]);
        TU_ASSERT_CLOSE(report[l].numeric, g[j], 1e-4, 0.0);
        assert_true(report[1 - l].max_rel_error < PASS);
    }

    /* A given eps works as well as the default. */
    double max = -1.0;
    TU_ASSERT_OK(bp_gradcheck(net, BP_LOSS_MSE, 5, x, t, 2, g, 1e-5, report, &max));
    assert_true(max >= 0.0 && max < PASS);
    /* max_rel_error may be NULL. */
    TU_ASSERT_OK(bp_gradcheck(net, BP_LOSS_MSE, 5, x, t, 2, g, 0.0, report, NULL));
    assert_true(report[0].max_rel_error < PASS && report[1].max_rel_error < PASS);
    /* Targets of the wrong width. */
    TU_ASSERT_RC(bp_gradcheck(net, BP_LOSS_MSE, 5, x, t, 1, NULL, 0.0, report, &max),
                 BP_ESHAPE);

    free(copy);
    free(g);
    bp_net_free(net);
}

/* log(sum exp z) in double, the shifted way, written here independently. */
static double log_sum_exp(int n, const double *z)
{
    double m = z[0], s = 0.0;
    for (int k = 1; k < n; k++)
        m = z[k] > m ? z[k] : m;
    for (int k = 0; k < n; k++)
        s += exp(z[k] - m);
    return m + log(s);
}

static void check_finite(const float *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            fail_msg("%s[%zu] = %g is not finite", what, i, (double)v[i]);
}

/* Softmax with cross-entropy at logits of +-1e4: finite loss and slopes. */
static void test_softmax_cce_huge_logits(void **state)
{
    const float w[6] = {1e4f, 0, -1e4f, 0, 0, 1e4f};
    const float b[3] = {0, 0, 0};
    const float x[8] = {1, 0, 0, 1, -1, 0.5f, 0.5f, -1};
    const float idx[4] = {1, 0, 2, 2};
    float onehot[12] = {0};
    (void)state;
    for (int r = 0; r < 4; r++)
        onehot[r * 3 + (int)idx[r]] = 1.0f;
    bp_net *net = tu_net("2,3:softmax");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, b));

    /* Expected: mean over rows of lse(z) - z[class], z = W x exactly. */
    double want = 0.0;
    for (int r = 0; r < 4; r++) {
        double z[3];
        for (int k = 0; k < 3; k++)
            z[k] = (double)w[k * 2] * x[r * 2] + (double)w[k * 2 + 1] * x[r * 2 + 1];
        want += log_sum_exp(3, z) - z[(int)idx[r]];
    }
    want /= 4.0;
    assert_true(want > 5000.0); /* the logits really are huge */

    for (int form = 0; form < 2; form++) {
        const float *t = form ? onehot : idx;
        int T = form ? 3 : 1;
        double v = NAN, ev = NAN;
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_CCE, 4, x, t, T, &v));
        assert_true(isfinite(v));
        TU_ASSERT_CLOSE(v, want, 1e-12, 0.0);
        check_finite(bp_net_grads(net), bp_net_param_count(net), "gradient");
        TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, 4, x, t, T, &ev, NULL));
        TU_ASSERT_CLOSE(ev, want, 1e-12, 0.0);

        /* The slopes are (p - onehot) / B with p 0 or 1 up to e^-5000. */
        double ref[9];
        tu_ref_gradient(net, BP_LOSS_CCE, 4, x, t, T, ref, NULL);
        for (int i = 0; i < 9; i++)
            TU_ASSERT_CLOSE(bp_net_grads(net)[i], ref[i], 1e-6, 1e-7);
        /* And the gradient check holds even here. */
        bp_gradcheck_layer report[1];
        assert_true(gradcheck(net, BP_LOSS_CCE, 4, x, t, T, NULL, report) < PASS);

        const float *out;
        TU_ASSERT_OK(bp_net_forward(net, 4, x, &out));
        check_finite(out, 12, "softmax output");
        /* Row 0: z = [1e4, -1e4, 0]: all the mass on class 0. */
        TU_ASSERT_EXACT(out[0], 1.0);
        TU_ASSERT_EXACT(out[1], 0.0);
    }
    bp_net_free(net);
}

/* Sigmoid with binary cross-entropy at logits of +-1e4: the loss is the
 * softplus of the logits, not a clamped log. */
static void test_sigmoid_bce_huge_logits(void **state)
{
    const float w[2] = {1e4f, -1e4f}, b[1] = {0};
    const float x[10] = {1, 0, 0, 1, 1, 0, 0, 1, 0.25f, 0.5f};
    const float t[5] = {0, 0, 1, 1, 0.5f};
    (void)state;
    bp_net *net = tu_net("2,1:sigmoid");
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w, b));
    /* -(t log s(z) + (1 - t) log(1 - s(z))) = softplus(z) - t z, with
     * softplus(z) = max(z, 0) + log(1 + e^-|z|). */
    double want = 0.0;
    for (int r = 0; r < 5; r++) {
        double z = (double)w[0] * x[r * 2] + (double)w[1] * x[r * 2 + 1];
        want += (z > 0 ? z : 0.0) + log1p(exp(-fabs(z))) - t[r] * z;
    }
    want /= 5.0;
    /* Rows 0 and 3 cost 1e4 each, row 4 (z = -2500, t = 0.5) 1250. */
    TU_ASSERT_CLOSE(want, (1e4 + 1e4 + 1250.0) / 5.0, 1e-12, 0.0);

    double v = NAN, ev = NAN;
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_BCE, 5, x, t, 1, &v));
    TU_ASSERT_CLOSE(v, want, 1e-12, 0.0);
    check_finite(bp_net_grads(net), 3, "gradient");
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, 5, x, t, 1, &ev, NULL));
    TU_ASSERT_CLOSE(ev, want, 1e-12, 0.0);
    /* dL/dz = (s(z) - t) / 5 = [1, 0, 0, -1, -0.5] / 5 (up to e^-2500). */
    const double dz[5] = {1, 0, 0, -1, -0.5};
    double gw0 = 0, gw1 = 0, gb = 0;
    for (int r = 0; r < 5; r++) {
        gw0 += dz[r] * x[r * 2] / 5.0;
        gw1 += dz[r] * x[r * 2 + 1] / 5.0;
        gb += dz[r] / 5.0;
    }
    TU_ASSERT_CLOSE(bp_net_grads(net)[0], gw0, 1e-6, 1e-7);
    TU_ASSERT_CLOSE(bp_net_grads(net)[1], gw1, 1e-6, 1e-7);
    TU_ASSERT_CLOSE(bp_net_grads(net)[2], gb, 1e-6, 1e-7);
    bp_gradcheck_layer report[1];
    assert_true(gradcheck(net, BP_LOSS_BCE, 5, x, t, 1, NULL, report) < PASS);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_activation_and_loss),
        cmocka_unit_test(test_random_networks),
        cmocka_unit_test(test_sensitivity),
        cmocka_unit_test(test_softmax_cce_huge_logits),
        cmocka_unit_test(test_sigmoid_bce_huge_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
