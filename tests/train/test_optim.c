/*
 * test_optim.c - the optimizers: ten full-batch steps of every rule against
 * PyTorch's weights (tests/ref/optim_ref.h, from tests/ref/gen_optim.py),
 * the rules step by step against the documented formulas computed in
 * double, option checking, state blocks, the step count, checkpoint
 * round trips, the training loop's guarded step, and no allocation inside
 * a step.
 */
#include "testutil.h"

#include "internal.h"

#include "ref/optim_ref.h"

/* Agreement with PyTorch: every value within REF_RTOL relative, measured
 * against the larger of |ref| and |initial value| (and at least REF_FLOOR).
 * Both sides round in float, differently (their matrix products sum in
 * other orders), so a parameter carries an absolute error of a few ulp of
 * the magnitudes it went through; one that crossed zero and ended near it
 * keeps the error of where it started, not a relative error of its end. */
#define REF_RTOL 1e-5
#define REF_FLOOR 1e-3

/* The options of a reference case. */
static bp_optim_opts case_opts(const optim_ref_case *c)
{
    bp_optim_kind kind;
    if (bp_optim_parse(c->optim, &kind) != 0)
        fail_msg("%s: unknown optimizer '%s' in the fixture", c->name, c->optim);
    bp_optim_opts o = bp_optim_defaults(kind);
    o.lr = c->lr;
    o.momentum = c->momentum;
    o.nesterov = c->nesterov;
    o.alpha = c->alpha;
    o.beta1 = c->beta1;
    o.beta2 = c->beta2;
    o.eps = c->eps;
    o.weight_decay = c->weight_decay;
    return o;
}

static bp_optim *make_optim(bp_net *net, const bp_optim_opts *o)
{
    bp_error err;
    memset(&err, 0, sizeof err);
    bp_optim *opt = bp_optim_create(net, o, &err);
    if (!opt)
        fail_msg("bp_optim_create(%s) failed: %d %s", bp_optim_name(o->kind), err.code,
                 err.message);
    return opt;
}

/* Largest |a - r| / max(|r|, |init|, REF_FLOOR) over n entries (init may
 * be NULL); *at gets its index. */
static double max_rel_diff(const float *a, const float *r, const float *init, size_t n,
                           size_t *at)
{
    double worst = 0.0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fmax(fabs((double)r[i]), REF_FLOOR);
        if (init)
            scale = fmax(scale, fabs((double)init[i]));
        double d = fabs((double)a[i] - (double)r[i]) / scale;
        if (!(d <= worst)) { /* NaN counts as the worst */
            worst = isnan(d) ? INFINITY : d;
            *at = i;
        }
    }
    return worst;
}

/* Compare one tensor with its reference; returns its largest difference and
 * fails with the worst entry when that is over the tolerance. */
static double check_tensor(const char *config, const char *tensor, const float *a,
                           const float *r, const float *init, size_t n)
{
    size_t at;
    double d = max_rel_diff(a, r, init, n, &at);
    if (!(d <= REF_RTOL)) {
        char from[48] = "";
        if (init)
            snprintf(from, sizeof from, " (started at %.9g)", (double)init[at]);
        fail_msg("%s: %s[%zu] = %.9g, torch %.9g%s: relative difference %.3g > %g "
                 "(largest of the tensor)",
                 config, tensor, at, (double)a[at], (double)r[at], from, d, REF_RTOL);
    }
    return d;
}

/* Ten steps of each configuration from the same weights as the fixture. */
static void test_reference(void **state)
{
    (void)state;
    const size_t n_cases = sizeof optim_ref_cases / sizeof optim_ref_cases[0];
    for (size_t k = 0; k < n_cases; k++) {
        const optim_ref_case *c = &optim_ref_cases[k];
        bp_net *net = tu_net(OPTIM_REF_SPEC);
        TU_ASSERT_OK(bp_net_set_layer(net, 0, optim_ref_w1, optim_ref_b1));
        TU_ASSERT_OK(bp_net_set_layer(net, 1, optim_ref_w2, optim_ref_b2));
        bp_optim_opts o = case_opts(c);
        bp_optim *opt = make_optim(net, &o);
        float loss[OPTIM_REF_STEPS];

        for (int s = 0; s < OPTIM_REF_STEPS; s++) {
            double value;
            TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, OPTIM_REF_B, optim_ref_x, optim_ref_t,
                                         OPTIM_REF_O, &value));
            loss[s] = (float)value;
            TU_ASSERT_OK(bp_optim_step(opt, c->lr));
        }
        assert_int_equal(bp_optim_steps(opt), OPTIM_REF_STEPS);

        double worst = check_tensor(c->name, "loss", loss, c->loss, NULL, OPTIM_REF_STEPS), d;
        d = check_tensor(c->name, "layers.0.weight", bp_net_weight(net, 0), c->w1, optim_ref_w1,
                         OPTIM_REF_H * OPTIM_REF_I);
        worst = fmax(worst, d);
        d = check_tensor(c->name, "layers.0.bias", bp_net_bias(net, 0), c->b1, optim_ref_b1,
                         OPTIM_REF_H);
        worst = fmax(worst, d);
        d = check_tensor(c->name, "layers.1.weight", bp_net_weight(net, 1), c->w2, optim_ref_w2,
                         OPTIM_REF_O * OPTIM_REF_H);
        worst = fmax(worst, d);
        d = check_tensor(c->name, "layers.1.bias", bp_net_bias(net, 1), c->b2, optim_ref_b2,
                         OPTIM_REF_O);
        worst = fmax(worst, d);
        print_message("%-13s largest relative difference from torch: %.3g\n", c->name, worst);

        bp_optim_free(opt);
        bp_net_free(net);
    }
}

/* ------------------------------------------------------------------------ */
/* The rules against the documented formulas, in double                     */
/* ------------------------------------------------------------------------ */

/* The documented update of one parameter, in double: p, the state b / s / m
 * and v, and the gradient g of step t (1-based). */
static void rule_d(const bp_optim_opts *o, double lr, long t, double *p, double *s0,
                   double *s1, double g)
{
    const double wd = o->weight_decay;
    switch (o->kind) {
    case BP_OPTIM_GD:
        g += wd * *p;
        *p -= lr * g;
        break;
    case BP_OPTIM_SGD:
        g += wd * *p;
        if (o->momentum > 0.0) {
            *s0 = t == 1 ? g : o->momentum * *s0 + g;
            g = o->nesterov ? g + o->momentum * *s0 : *s0;
        }
        *p -= lr * g;
        break;
    case BP_OPTIM_RMSPROP:
        g += wd * *p;
        *s0 = o->alpha * *s0 + (1.0 - o->alpha) * g * g;
        *p -= lr * g / (sqrt(*s0) + o->eps);
        break;
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW:
        if (o->kind == BP_OPTIM_ADAMW)
            *p *= 1.0 - lr * wd;
        else
            g += wd * *p;
        *s0 = o->beta1 * *s0 + (1.0 - o->beta1) * g;
        *s1 = o->beta2 * *s1 + (1.0 - o->beta2) * g * g;
        *p -= lr / (1.0 - pow(o->beta1, (double)t)) * *s0 /
              (sqrt(*s1) / sqrt(1.0 - pow(o->beta2, (double)t)) + o->eps);
        break;
    default:
        fail_msg("no rule for kind %d", (int)o->kind);
    }
}

/* Three steps with gradients written straight into the gradient block (and
 * the rate changing between steps, as a schedule changes it): parameters
 * and state against rule_d. */
static void test_rules(void **state)
{
    (void)state;
    static const struct {
        bp_optim_kind kind;
        double momentum;
        int nesterov;
        double weight_decay;
    } cases[] = {
        {BP_OPTIM_GD, 0, 0, 0},        {BP_OPTIM_GD, 0, 0, 0.1},
        {BP_OPTIM_SGD, 0, 0, 0},       {BP_OPTIM_SGD, 0.9, 0, 0},
        {BP_OPTIM_SGD, 0.9, 1, 0},     {BP_OPTIM_SGD, 0.5, 1, 0.1},
        {BP_OPTIM_RMSPROP, 0, 0, 0},   {BP_OPTIM_RMSPROP, 0, 0, 0.1},
        {BP_OPTIM_ADAM, 0, 0, 0},      {BP_OPTIM_ADAM, 0, 0, 0.1},
        {BP_OPTIM_ADAMW, 0, 0, 0.1},   {BP_OPTIM_ADAMW, 0, 0, 0},
    };
    static const double rates[3] = {0.1, 0.05, 0.02};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bp_rng rng;
        bp_rng_seed(&rng, 100 + k);
        bp_net *net = tu_net("3,2:identity");
        const size_t P = bp_net_param_count(net);
        bp_optim_opts o = bp_optim_defaults(cases[k].kind);
        o.momentum = cases[k].momentum;
        o.nesterov = cases[k].nesterov;
        o.weight_decay = cases[k].weight_decay;
        bp_optim *opt = make_optim(net, &o);
        double p[8], s0[8] = {0}, s1[8] = {0};
        assert_int_equal(P, 8);
        tu_fill_normal(&rng, bp_net_params(net), P, 1.0);
        for (size_t i = 0; i < P; i++)
            p[i] = bp_net_params(net)[i];
        for (long t = 1; t <= 3; t++) {
            float *g = bp_net_grads(net);
            tu_fill_normal(&rng, g, P, 0.5);
            for (size_t i = 0; i < P; i++)
                rule_d(&o, rates[t - 1], t, &p[i], &s0[i], &s1[i], g[i]);
            TU_ASSERT_OK(bp_optim_step(opt, rates[t - 1]));
            for (size_t i = 0; i < P; i++) {
                float got = bp_net_params(net)[i];
                if (!tu_close(got, p[i], 2e-6, 1e-7))
                    fail_msg("%s (momentum %g, nesterov %d, weight_decay %g) step %ld: "
                             "p[%zu] = %.9g, expected %.9g",
                             bp_optim_name(o.kind), o.momentum, o.nesterov, o.weight_decay, t, i,
                             (double)got, p[i]);
                if (bp_optim_state_blocks(opt) > 0)
                    TU_ASSERT_CLOSE(bp_optim_state(opt, 0)[i], s0[i], 2e-6, 1e-9);
                if (bp_optim_state_blocks(opt) > 1)
                    TU_ASSERT_CLOSE(bp_optim_state(opt, 1)[i], s1[i], 2e-6, 1e-12);
            }
        }
        bp_optim_free(opt);
        bp_net_free(net);
    }
}

/* SGD with momentum on a one-weight network y = w x, loss (w x - t)^2:
 * each step's weight and buffer from exact arithmetic in double. */
static void test_sgd_momentum_by_hand(void **state)
{
    (void)state;
    const float x = 1.5f, t = -0.4f;
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        bp_net *net = tu_net("1,1:identity:nobias");
        const float w0 = 0.3f;
        TU_ASSERT_OK(bp_net_set_layer(net, 0, &w0, NULL));
        bp_optim_opts o = bp_optim_defaults(BP_OPTIM_SGD);
        o.momentum = 0.9;
        o.nesterov = nesterov;
        bp_optim *opt = make_optim(net, &o);
        double w = w0, b = 0.0;
        const double mu = 0.9, lr = 0.1;
        for (int step = 1; step <= 3; step++) {
            double loss;
            double g = 2.0 * (w * x - t) * x;
            b = step == 1 ? g : mu * b + g;
            w -= lr * (nesterov ? g + mu * b : b);
            TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 1, &x, &t, 1, &loss));
            TU_ASSERT_OK(bp_optim_step(opt, lr));
            if (!tu_close(bp_net_weight(net, 0)[0], w, 1e-6, 0.0) ||
                !tu_close(bp_optim_state(opt, 0)[0], b, 1e-6, 0.0))
                fail_msg("nesterov %d, step %d: w = %.9g (expected %.9g), b = %.9g (expected "
                         "%.9g)",
                         nesterov, step, (double)bp_net_weight(net, 0)[0], w,
                         (double)bp_optim_state(opt, 0)[0], b);
        }
        bp_optim_free(opt);
        bp_net_free(net);
    }
    /* One step written out: y = 0.45, g = 2 (0.45 + 0.4) 1.5 = 2.55 and b = g,
     * so w = 0.3 - 0.1 * 2.55 = 0.045 (plain momentum) or
     * 0.3 - 0.1 * (2.55 + 0.9 * 2.55) = -0.1845 (Nesterov). */
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        bp_net *net = tu_net("1,1:identity:nobias");
        const float w0 = 0.3f;
        double loss;
        TU_ASSERT_OK(bp_net_set_layer(net, 0, &w0, NULL));
        bp_optim_opts o = bp_optim_defaults(BP_OPTIM_SGD);
        o.momentum = 0.9;
        o.nesterov = nesterov;
        bp_optim *opt = make_optim(net, &o);
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, 1, &x, &t, 1, &loss));
        TU_ASSERT_OK(bp_optim_step(opt, 0.1));
        TU_ASSERT_CLOSE(bp_net_weight(net, 0)[0], nesterov ? -0.1845 : 0.045, 1e-6, 0.0);
        TU_ASSERT_CLOSE(bp_optim_state(opt, 0)[0], 2.55, 1e-6, 0.0);
        bp_optim_free(opt);
        bp_net_free(net);
    }
}

/* A rate of 0 moves nothing, whatever the rule. */
static void test_zero_rate(void **state)
{
    (void)state;
    for (int k = BP_OPTIM_GD; k <= BP_OPTIM_ADAMW; k++) {
        bp_rng rng;
        bp_rng_seed(&rng, 7);
        bp_net *net = tu_net("4,3:relu,2:sigmoid");
        const size_t P = bp_net_param_count(net);
        bp_optim_opts o = bp_optim_defaults((bp_optim_kind)k);
        o.momentum = k == BP_OPTIM_SGD ? 0.9 : 0.0;
        o.weight_decay = 0.1;
        bp_optim *opt = make_optim(net, &o);
        float *p0 = tu_xmalloc(P * sizeof *p0);
        tu_fill_normal(&rng, bp_net_params(net), P, 1.0);
        tu_fill_normal(&rng, bp_net_grads(net), P, 1.0);
        memcpy(p0, bp_net_params(net), P * sizeof *p0);
        TU_ASSERT_OK(bp_optim_step(opt, 0.0));
        TU_ASSERT_OK(bp_optim_step(opt, 0.0));
        assert_memory_equal(bp_net_params(net), p0, P * sizeof *p0);
        free(p0);
        bp_optim_free(opt);
        bp_net_free(net);
    }
}

/* ------------------------------------------------------------------------ */
/* Names, defaults and option checking                                       */
/* ------------------------------------------------------------------------ */

static void test_names(void **state)
{
    static const char *const names[] = {"gd", "sgd", "rmsprop", "adam", "adamw", "random"};
    bp_optim_kind kind;
    (void)state;
    for (int k = 0; k < 6; k++) {
        assert_string_equal(bp_optim_name((bp_optim_kind)k), names[k]);
        TU_ASSERT_OK(bp_optim_parse(names[k], &kind));
        assert_int_equal(kind, k);
    }
    assert_null(bp_optim_name((bp_optim_kind)6));
    assert_null(bp_optim_name((bp_optim_kind)-1));
    TU_ASSERT_RC(bp_optim_parse("Adam", &kind), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_parse("", &kind), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_parse("adam ", &kind), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_parse(NULL, &kind), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_parse("sgd", NULL), BP_EINVAL);
}

/* torch.optim's defaults. */
static void test_defaults(void **state)
{
    (void)state;
    for (int k = 0; k <= BP_OPTIM_RANDOM; k++) {
        bp_optim_opts o = bp_optim_defaults((bp_optim_kind)k);
        int adam = k == BP_OPTIM_ADAM || k == BP_OPTIM_ADAMW;
        assert_int_equal(o.kind, k);
        TU_ASSERT_EXACT(o.lr, adam ? 0.001 : 0.01);
        TU_ASSERT_EXACT(o.momentum, 0.0);
        assert_int_equal(o.nesterov, 0);
        TU_ASSERT_EXACT(o.alpha, 0.99);
        TU_ASSERT_EXACT(o.beta1, 0.9);
        TU_ASSERT_EXACT(o.beta2, 0.999);
        TU_ASSERT_EXACT(o.eps, 1e-8);
        TU_ASSERT_EXACT(o.weight_decay, k == BP_OPTIM_ADAMW ? 0.01 : 0.0);
        TU_ASSERT_EXACT(o.scale, 0.05);
        /* Every default is accepted. */
        bp_net *net = tu_net("2,1:identity");
        bp_optim_free(make_optim(net, &o));
        bp_net_free(net);
    }
}

/* One bad field each: NULL, BP_EINVAL, and a message naming the field. */
static void test_validation(void **state)
{
    static const struct {
        bp_optim_kind kind;
        const char *field;
        double value;
    } bad[] = {
        {BP_OPTIM_GD, "lr", 0.0},
        {BP_OPTIM_SGD, "lr", -0.1},
        {BP_OPTIM_ADAM, "lr", NAN},
        {BP_OPTIM_RMSPROP, "lr", INFINITY},
        {BP_OPTIM_RANDOM, "lr", 0.0},
        {BP_OPTIM_SGD, "momentum", 1.0},
        {BP_OPTIM_SGD, "momentum", 1.5},
        {BP_OPTIM_SGD, "momentum", -0.1},
        {BP_OPTIM_SGD, "momentum", NAN},
        {BP_OPTIM_SGD, "nesterov", 1.0},
        {BP_OPTIM_RMSPROP, "alpha", 1.0},
        {BP_OPTIM_RMSPROP, "alpha", -0.5},
        {BP_OPTIM_RMSPROP, "alpha", NAN},
        {BP_OPTIM_ADAM, "beta1", 1.0},
        {BP_OPTIM_ADAM, "beta1", -0.1},
        {BP_OPTIM_ADAMW, "beta1", 2.0},
        {BP_OPTIM_ADAM, "beta2", 1.0},
        {BP_OPTIM_ADAMW, "beta2", NAN},
        {BP_OPTIM_RMSPROP, "eps", 0.0},
        {BP_OPTIM_ADAM, "eps", -1e-8},
        {BP_OPTIM_ADAMW, "eps", INFINITY},
        {BP_OPTIM_GD, "weight_decay", -0.01},
        {BP_OPTIM_SGD, "weight_decay", INFINITY},
        {BP_OPTIM_RMSPROP, "weight_decay", NAN},
        {BP_OPTIM_ADAM, "weight_decay", -1.0},
        {BP_OPTIM_ADAMW, "weight_decay", -0.01},
        {BP_OPTIM_RANDOM, "scale", 0.0},
        {BP_OPTIM_RANDOM, "scale", NAN},
        {(bp_optim_kind)42, "kind", 0.0},
    };
    (void)state;
    bp_net *net = tu_net("2,3:tanh,1:sigmoid");
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        bp_optim_opts o = bp_optim_defaults(bad[k].kind);
        const char *f = bad[k].field;
        double v = bad[k].value;
        bp_error err;
        if (strcmp(f, "lr") == 0)
            o.lr = v;
        else if (strcmp(f, "momentum") == 0)
            o.momentum = v;
        else if (strcmp(f, "nesterov") == 0)
            o.nesterov = 1; /* with the default momentum, 0 */
        else if (strcmp(f, "alpha") == 0)
            o.alpha = v;
        else if (strcmp(f, "beta1") == 0)
            o.beta1 = v;
        else if (strcmp(f, "beta2") == 0)
            o.beta2 = v;
        else if (strcmp(f, "eps") == 0)
            o.eps = v;
        else if (strcmp(f, "weight_decay") == 0)
            o.weight_decay = v;
        else if (strcmp(f, "scale") == 0)
            o.scale = v;
        memset(&err, 0, sizeof err);
        bp_optim *opt = bp_optim_create(net, &o, &err);
        if (opt)
            fail_msg("%s with %s = %g was accepted", bp_optim_name(o.kind), f, v);
        assert_int_equal(err.code, BP_EINVAL);
        if (!strstr(err.message, f))
            fail_msg("%s = %g: the message \"%s\" does not name the field", f, v, err.message);
        /* Without an error struct it fails the same way. */
        assert_null(bp_optim_create(net, &o, NULL));
    }

    /* The message names the value too. */
    bp_optim_opts o = bp_optim_defaults(BP_OPTIM_SGD);
    bp_error err;
    o.momentum = 1.5;
    assert_null(bp_optim_create(net, &o, &err));
    assert_string_equal(err.message, "optimizer: momentum must be in [0, 1), got 1.5");

    /* The edges that are allowed. */
    o = bp_optim_defaults(BP_OPTIM_SGD);
    o.momentum = 0.0;
    o.weight_decay = 0.0;
    bp_optim_free(make_optim(net, &o));
    o = bp_optim_defaults(BP_OPTIM_RMSPROP);
    o.alpha = 0.0;
    bp_optim_free(make_optim(net, &o));
    o = bp_optim_defaults(BP_OPTIM_ADAM);
    o.beta1 = 0.0;
    o.beta2 = 0.0;
    bp_optim_free(make_optim(net, &o));
    o = bp_optim_defaults(BP_OPTIM_SGD);
    o.momentum = 0.5;
    o.nesterov = 1;
    bp_optim_free(make_optim(net, &o));
    o = bp_optim_defaults(BP_OPTIM_SGD);
    o.momentum = nextafter(1.0, 0.0);
    bp_optim_free(make_optim(net, &o));

    /* Fields a kind does not use are not checked. */
    o = bp_optim_defaults(BP_OPTIM_GD);
    o.momentum = 5.0;
    o.beta1 = -1.0;
    o.eps = 0.0;
    o.alpha = NAN;
    bp_optim_free(make_optim(net, &o));

    /* Missing arguments. */
    memset(&err, 0, sizeof err);
    assert_null(bp_optim_create(NULL, &o, &err));
    assert_int_equal(err.code, BP_EINVAL);
    memset(&err, 0, sizeof err);
    assert_null(bp_optim_create(net, NULL, &err));
    assert_int_equal(err.code, BP_EINVAL);
    bp_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* State, steps, checkpoints, allocation                                     */
/* ------------------------------------------------------------------------ */

static void test_state_blocks(void **state)
{
    static const struct {
        bp_optim_kind kind;
        double momentum;
        int blocks;
    } cases[] = {
        {BP_OPTIM_GD, 0, 0},      {BP_OPTIM_SGD, 0, 0},  {BP_OPTIM_SGD, 0.9, 1},
        {BP_OPTIM_RMSPROP, 0, 1}, {BP_OPTIM_ADAM, 0, 2}, {BP_OPTIM_ADAMW, 0, 2},
        {BP_OPTIM_RANDOM, 0, 0},
    };
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bp_net *net = tu_net("5,7:relu,3:softmax");
        const size_t P = bp_net_param_count(net);
        bp_optim_opts o = bp_optim_defaults(cases[k].kind);
        o.momentum = cases[k].momentum;
        bp_optim *opt = make_optim(net, &o);
        int nb = bp_optim_state_blocks(opt);
        assert_int_equal(nb, cases[k].blocks);
        assert_null(bp_optim_state(opt, -1));
        assert_null(bp_optim_state(opt, nb));
        for (int b = 0; b < nb; b++) {
            float *s = bp_optim_state(opt, b);
            assert_non_null(s);
            /* Zero at creation, P floats, distinct blocks. */
            for (size_t i = 0; i < P; i++)
                TU_ASSERT_EXACT(s[i], 0.0f);
            s[P - 1] = (float)(b + 1);
        }
        if (nb == 2)
            TU_ASSERT_EXACT(bp_optim_state(opt, 0)[P - 1], 1.0f);
        bp_optim_free(opt);
        bp_net_free(net);
    }
    assert_int_equal(bp_optim_state_blocks(NULL), 0);
    assert_null(bp_optim_state(NULL, 0));
    assert_int_equal(bp_optim_steps(NULL), 0);
    bp_optim_set_steps(NULL, 3);
    bp_optim_free(NULL);
}

static void test_steps(void **state)
{
    (void)state;
    bp_net *net = tu_net("3,2:tanh");
    bp_optim_opts o = bp_optim_defaults(BP_OPTIM_ADAM);
    bp_optim *opt = make_optim(net, &o);
    assert_int_equal(bp_optim_steps(opt), 0);
    for (long k = 1; k <= 4; k++) {
        TU_ASSERT_OK(bp_optim_step(opt, 0.001));
        assert_int_equal(bp_optim_steps(opt), k);
    }
    /* A refused step does not count. */
    TU_ASSERT_RC(bp_optim_step(opt, NAN), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_step(opt, -0.001), BP_EINVAL);
    TU_ASSERT_RC(bp_optim_step(opt, INFINITY), BP_EINVAL);
    assert_non_null(strstr(bp_net_message(net), "learning rate"));
    assert_int_equal(bp_optim_steps(opt), 4);
    bp_optim_set_steps(opt, 1000);
    assert_int_equal(bp_optim_steps(opt), 1000);
    TU_ASSERT_OK(bp_optim_step(opt, 0.001));
    assert_int_equal(bp_optim_steps(opt), 1001);
    bp_optim_set_steps(opt, -5);
    assert_int_equal(bp_optim_steps(opt), 0);
    TU_ASSERT_RC(bp_optim_step(NULL, 0.1), BP_EINVAL);
    bp_optim_free(opt);
    bp_net_free(net);
}

/* The random-search baseline has no gradient step. */
static void test_random_refuses(void **state)
{
    (void)state;
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    bp_net *net = tu_net("2,2:relu,1:sigmoid");
    const size_t P = bp_net_param_count(net);
    tu_fill_normal(&rng, bp_net_params(net), P, 1.0);
    tu_fill_normal(&rng, bp_net_grads(net), P, 1.0);
    float *p0 = tu_xmalloc(P * sizeof *p0);
    memcpy(p0, bp_net_params(net), P * sizeof *p0);
    bp_optim_opts o = bp_optim_defaults(BP_OPTIM_RANDOM);
    bp_optim *opt = make_optim(net, &o);
    TU_ASSERT_RC(bp_optim_step(opt, 0.01), BP_EINVAL);
    assert_non_null(strstr(bp_net_message(net), "random"));
    assert_int_equal(bp_optim_steps(opt), 0);
    assert_memory_equal(bp_net_params(net), p0, P * sizeof *p0);
    free(p0);
    bp_optim_free(opt);
    bp_net_free(net);
}

/* Stopping after 5 steps and going on from the saved steps and state gives
 * the same bits as 10 steps in one run. */
static void test_checkpoint(void **state)
{
    (void)state;
    static const bp_optim_kind kinds[] = {BP_OPTIM_SGD, BP_OPTIM_RMSPROP, BP_OPTIM_ADAM,
                                          BP_OPTIM_ADAMW};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bp_net *a = tu_net(OPTIM_REF_SPEC), *b = tu_net(OPTIM_REF_SPEC);
        const size_t P = bp_net_param_count(a);
        bp_optim_opts o = bp_optim_defaults(kinds[k]);
        o.momentum = kinds[k] == BP_OPTIM_SGD ? 0.9 : 0.0;
        o.nesterov = kinds[k] == BP_OPTIM_SGD;
        o.weight_decay = 0.01;
        bp_optim *oa = make_optim(a, &o), *ob;
        double loss;
        TU_ASSERT_OK(bp_net_set_layer(a, 0, optim_ref_w1, optim_ref_b1));
        TU_ASSERT_OK(bp_net_set_layer(a, 1, optim_ref_w2, optim_ref_b2));
        for (int s = 0; s < 5; s++) {
            TU_ASSERT_OK(bp_net_gradient(a, BP_LOSS_MSE, OPTIM_REF_B, optim_ref_x, optim_ref_t,
                                         OPTIM_REF_O, &loss));
            TU_ASSERT_OK(bp_optim_step(oa, 0.01));
        }
        /* The checkpoint: weights, steps, state blocks. */
        memcpy(bp_net_params(b), bp_net_params(a), P * sizeof(float));
        ob = make_optim(b, &o);
        assert_int_equal(bp_optim_state_blocks(ob), bp_optim_state_blocks(oa));
        for (int s = 0; s < bp_optim_state_blocks(oa); s++)
            memcpy(bp_optim_state(ob, s), bp_optim_state(oa, s), P * sizeof(float));
        bp_optim_set_steps(ob, bp_optim_steps(oa));
        for (int s = 0; s < 5; s++) {
            TU_ASSERT_OK(bp_net_gradient(a, BP_LOSS_MSE, OPTIM_REF_B, optim_ref_x, optim_ref_t,
                                         OPTIM_REF_O, &loss));
            TU_ASSERT_OK(bp_optim_step(oa, 0.01));
            TU_ASSERT_OK(bp_net_gradient(b, BP_LOSS_MSE, OPTIM_REF_B, optim_ref_x, optim_ref_t,
                                         OPTIM_REF_O, &loss));
            TU_ASSERT_OK(bp_optim_step(ob, 0.01));
        }
        assert_memory_equal(bp_net_params(a), bp_net_params(b), P * sizeof(float));
        bp_optim_free(oa);
        bp_optim_free(ob);
        bp_net_free(a);
        bp_net_free(b);
    }
}

/* The training loop's step: the parameters from before it kept in prev,
 * the same parameters as bp_optim_step's and as rule_d's, and whether they
 * are all finite, for every rule, with weight decay and without. The
 * second network is long enough for the step's chunked pass. */
static void test_guarded_step(void **state)
{
    static const char *const specs[] = {"3,4:tanh,2", "300,250:tanh,2"};
    (void)state;
    for (size_t n = 0; n < sizeof specs / sizeof specs[0]; n++)
        for (int k = BP_OPTIM_GD; k <= BP_OPTIM_ADAMW; k++)
            for (int decay = 0; decay < 2; decay++) {
                bp_rng rng;
                bp_rng_seed(&rng, 40 + (uint64_t)k);
                bp_net *a = tu_net(specs[n]), *b = tu_net(specs[n]);
                const size_t P = bp_net_param_count(a);
                TU_ASSERT_OK(bp_net_init(a, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
                memcpy(bp_net_params(b), bp_net_params(a), P * sizeof(float));
                bp_optim_opts o = bp_optim_defaults((bp_optim_kind)k);
                o.momentum = k == BP_OPTIM_SGD ? 0.9 : 0.0;
                o.weight_decay = decay ? 0.01 : 0.0;
                bp_optim *oa = make_optim(a, &o), *ob = make_optim(b, &o);
                float *prev = tu_xmalloc(P * sizeof *prev);
                float *before = tu_xmalloc(P * sizeof *before);
                double *ref = tu_xmalloc(3 * P * sizeof *ref), *s0 = ref + P, *s1 = s0 + P;
                for (size_t i = 0; i < P; i++) {
                    ref[i] = bp_net_params(a)[i];
                    s0[i] = s1[i] = 0.0;
                }
                for (long t = 1; t <= 3; t++) {
                    int finite = -1;
                    tu_fill_normal(&rng, bp_net_grads(a), P, 1.0);
                    memcpy(bp_net_grads(b), bp_net_grads(a), P * sizeof(float));
                    memcpy(before, bp_net_params(a), P * sizeof(float));
                    for (size_t i = 0; i < P; i++)
                        rule_d(&o, 0.1, t, &ref[i], &s0[i], &s1[i], bp_net_grads(a)[i]);
                    TU_ASSERT_OK(bp__optim_step_guarded(oa, 0.1, prev, &finite));
                    TU_ASSERT_OK(bp_optim_step(ob, 0.1));
                    assert_int_equal(finite, 1);
                    assert_memory_equal(prev, before, P * sizeof(float));
                    assert_memory_equal(bp_net_params(a), bp_net_params(b), P * sizeof(float));
                    for (size_t i = 0; i < P; i++)
                        if (!tu_close(bp_net_params(a)[i], ref[i], 2e-6, 1e-6))
                            fail_msg("%s %s (weight_decay %g) step %ld: p[%zu] = %.9g, "
                                     "expected %.9g", specs[n], bp_optim_name(o.kind),
                                     o.weight_decay, t, i, (double)bp_net_params(a)[i], ref[i]);
                }
                /* a gradient that steps a weight to infinity, mid-block */
                int finite = -1;
                bp_net_grads(a)[P / 2 + 1] = -INFINITY;
                TU_ASSERT_OK(bp__optim_step_guarded(oa, 0.1, prev, &finite));
                assert_int_equal(finite, 0);
                free(ref);
                free(prev);
                free(before);
                bp_optim_free(oa);
                bp_optim_free(ob);
                bp_net_free(a);
                bp_net_free(b);
            }
}

/* Creation makes one allocation; a step makes none; out of memory is
 * reported. */
static void test_allocation(void **state)
{
    tu_counter c;
    (void)state;
    tu_counter_install(&c);
    for (int k = BP_OPTIM_GD; k <= BP_OPTIM_ADAMW; k++) {
        bp_rng rng;
        bp_error err;
        bp_rng_seed(&rng, 11);
        bp_net *net = tu_net("6,5:tanh,4:relu,3:softmax");
        const size_t P = bp_net_param_count(net);
        bp_optim_opts o = bp_optim_defaults((bp_optim_kind)k);
        o.momentum = k == BP_OPTIM_SGD ? 0.9 : 0.0;
        o.weight_decay = 0.01;

        tu_counter_fail_in(&c, 1);
        memset(&err, 0, sizeof err);
        assert_null(bp_optim_create(net, &o, &err));
        assert_int_equal(err.code, BP_ENOMEM);
        tu_counter_fail_in(&c, 0);

        long before = c.requests, live = c.live;
        bp_optim *opt = make_optim(net, &o);
        assert_int_equal(c.requests - before, 1);
        before = c.requests;
        for (int s = 0; s < 20; s++) {
            tu_fill_normal(&rng, bp_net_grads(net), P, 1.0);
            TU_ASSERT_OK(bp_optim_step(opt, 0.01));
        }
        assert_int_equal(c.requests, before);
        bp_optim_free(opt);
        assert_int_equal(c.live, live);
        bp_net_free(net);
    }
    assert_int_equal(c.live, 0);
    bp_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_sgd_momentum_by_hand),
        cmocka_unit_test(test_zero_rate),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_state_blocks),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_random_refuses),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_guarded_step),
        cmocka_unit_test(test_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
