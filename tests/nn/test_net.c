/*
 * test_net.c - networks: spec strings, the parameter layout, initialisation,
 * forward and backward against a naive double-precision oracle, allocation
 * behaviour, the losses, accuracy and the activation slopes at zero.
 */
#include "testutil.h"

/* The counting allocator's state lives at file scope so that a failed test
 * never leaves the library pointing at a dead stack frame. */
static tu_counter counter;

static int restore_allocator(void **state)
{
    (void)state;
    bp_set_allocator(NULL);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Random networks                                                           */
/* ------------------------------------------------------------------------ */

/* A random stack of 1..max_depth layers of widths 1..8 with random
 * activations and biases. out_act >= 0 forces the output activation. */
static bp_net *random_net(bp_rng *rng, int max_depth, int out_act, int out_width)
{
    bp_layer_desc d[5] = {{0}};
    int depth = 1 + (int)bp_rng_below(rng, (uint64_t)max_depth);
    int inputs = 1 + (int)bp_rng_below(rng, 8);
    for (int l = 0; l < depth; l++) {
        d[l].width = 1 + (int)bp_rng_below(rng, 8);
        d[l].act = (bp_act)bp_rng_below(rng, 6);
        d[l].bias = (int)bp_rng_below(rng, 2);
        d[l].slope = d[l].act == BP_ACT_LEAKY_RELU && bp_rng_below(rng, 2)
                         ? (float)(0.05 + 0.4 * bp_rng_uniform(rng))
                         : 0.0f;
    }
    if (out_act >= 0)
        d[depth - 1].act = (bp_act)out_act;
    if (out_width > 0)
        d[depth - 1].width = out_width;
    bp_net *net = tu_net_create(inputs, depth, d);
    TU_ASSERT_OK(bp_net_init(net, rng, BP_INIT_XAVIER_NORMAL, 0.0));
    for (int l = 0; l < depth; l++) {
        float *b = bp_net_bias(net, l);
        if (b)
            tu_fill_normal(rng, b, (size_t)d[l].width, 0.5);
    }
    return net;
}

static void describe_net(const bp_net *net, char *buf, size_t size)
{
    int n = bp_net_spec(net, buf, size);
    if (n < 0 && size > 0)
        buf[0] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Specs                                                                     */
/* ------------------------------------------------------------------------ */

static void test_spec_valid(void **state)
{
    static const struct {
        const char *spec;
        int inputs, layers, outputs;
        size_t params;
    } cases[] = {
        {"784,256:relu,128:relu,10:softmax", 784, 3, 10,
         784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10},
        {"2,2:relu:nobias,1:relu:nobias", 2, 2, 1, 6},
        {"3,1:identity:nobias", 3, 1, 1, 3},
        {"1,1:sigmoid", 1, 1, 1, 2},
        {"4,5:leaky_relu=0.25,3:tanh,2:sigmoid:nobias", 4, 3, 2,
         4 * 5 + 5 + 5 * 3 + 3 + 3 * 2},
    };
    (void)state;
    assert_int_equal(cases[0].params, 235146);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bp_net *net = tu_net(cases[c].spec);
        char buf[256];
        assert_int_equal(bp_net_inputs(net), cases[c].inputs);
        assert_int_equal(bp_net_layers(net), cases[c].layers);
        assert_int_equal(bp_net_outputs(net), cases[c].outputs);
        assert_int_equal(bp_net_param_count(net), cases[c].params);
        /* These are in canonical form: the spec comes back unchanged. */
        int n = bp_net_spec(net, buf, sizeof buf);
        assert_int_equal(n, (int)strlen(cases[c].spec));
        assert_string_equal(buf, cases[c].spec);
        /* Parameters start at zero. */
        const float *p = bp_net_params(net);
        for (size_t i = 0; i < cases[c].params; i++)
            assert_true(p[i] == 0.0f);
        bp_net_free(net);
    }

    /* Layer descriptions. */
    bp_net *net = tu_net("4,5:leaky_relu=0.25,3:tanh,2:sigmoid:nobias");
    bp_layer_desc d0 = bp_net_layer(net, 0), d1 = bp_net_layer(net, 1),
                  d2 = bp_net_layer(net, 2);
    assert_int_equal(d0.width, 5);
    assert_int_equal(d0.act, BP_ACT_LEAKY_RELU);
    assert_true(d0.bias);
    assert_true(d0.slope == 0.25f);
    assert_int_equal(d1.width, 3);
    assert_int_equal(d1.act, BP_ACT_TANH);
    assert_true(d1.bias);
    assert_int_equal(d2.width, 2);
    assert_int_equal(d2.act, BP_ACT_SIGMOID);
    assert_false(d2.bias);
    assert_int_equal(bp_net_layer_inputs(net, 0), 4);
    assert_int_equal(bp_net_layer_inputs(net, 1), 5);
    assert_int_equal(bp_net_layer_inputs(net, 2), 3);
    bp_net_free(net);

    /* A slope that float cannot hold: stored as the float nearest 0.2. */
    net = tu_net("2,3:leaky_relu=0.2,1:sigmoid");
    assert_true(bp_net_layer(net, 0).slope == 0.2f);
    bp_net_free(net);

    bp_net_free(NULL); /* does nothing */
}

/* Aliases and leaky defaults: the canonical string is a fixed point. */
static void test_spec_round_trip(void **state)
{
    static const char *specs[] = {
        "2,3:linear,1:leaky",
        "2,3:leaky_relu=0.2,4:leaky_relu:nobias,1:sigmoid",
        "5,4:tanh:nobias,4:softmax",
        "784,256:relu,128:relu,10:softmax",
    };
    (void)state;
    for (size_t c = 0; c < sizeof specs / sizeof specs[0]; c++) {
        char a[256], b[256];
        bp_net *n1 = tu_net(specs[c]);
        int len = bp_net_spec(n1, a, sizeof a);
        assert_true(len > 0 && (size_t)len < sizeof a);
        assert_int_equal((size_t)len, strlen(a));
        assert_null(strchr(a, ' '));
        bp_net *n2 = tu_net(a);
        assert_int_equal(bp_net_spec(n2, b, sizeof b), len);
        assert_string_equal(a, b);
        assert_int_equal(bp_net_inputs(n1), bp_net_inputs(n2));
        assert_int_equal(bp_net_layers(n1), bp_net_layers(n2));
        for (int l = 0; l < bp_net_layers(n1); l++) {
            bp_layer_desc x = bp_net_layer(n1, l), y = bp_net_layer(n2, l);
            assert_int_equal(x.width, y.width);
            assert_int_equal(x.act, y.act);
            assert_int_equal(!!x.bias, !!y.bias);
            assert_true(tu_layer_slope(x) == tu_layer_slope(y));
        }
        bp_net_free(n1);
        bp_net_free(n2);
    }
    /* Aliases name the same activations. */
    bp_net *net = tu_net("2,3:linear,1:leaky");
    assert_int_equal(bp_net_layer(net, 0).act, BP_ACT_IDENTITY);
    assert_int_equal(bp_net_layer(net, 1).act, BP_ACT_LEAKY_RELU);
    assert_true(tu_layer_slope(bp_net_layer(net, 1)) == (double)BP_LEAKY_SLOPE_DEFAULT);
    bp_net_free(net);
}

/* bp_net_spec reports the length it needs, as snprintf does. */
static void test_spec_truncation(void **state)
{
    const char *spec = "784,256:relu,128:relu,10:softmax";
    const int len = (int)strlen(spec);
    bp_net *net = tu_net(spec);
    char buf[64];
    (void)state;
    assert_int_equal(bp_net_spec(net, NULL, 0), len);
    memset(buf, 'x', sizeof buf);
    assert_int_equal(bp_net_spec(net, buf, 0), len);
    assert_true(buf[0] == 'x');
    assert_int_equal(bp_net_spec(net, buf, 8), len);
    assert_string_equal(buf, "784,256");
    assert_int_equal(bp_net_spec(net, buf, (size_t)len), len);
    assert_int_equal(strlen(buf), (size_t)len - 1);
    assert_int_equal(bp_net_spec(net, buf, (size_t)len + 1), len);
    assert_string_equal(buf, spec);
    bp_net_free(net);
}

static void test_spec_invalid(void **state)
{
    static const struct {
        const char *spec;
        const char *names; /* a part the message must name ("" : any) */
    } cases[] = {
        {"", ""},
        {"2", ""},
        {"2,0:relu", "0"},
        {"2,3:rleu", "rleu"},
        {"2,3:relu:bias?", "bias?"},
        {"x,3:relu", "x"},
        {"2,3:relu,,", ""},
        {"2,3:relu,", ""},
        {"2,3:leaky_relu=-1", "-1"},
        {"2,3:leaky_relu=1", "1"},
        {"2,3:leaky_relu=abc", "abc"},
        {"2,-3:relu", "-3"},
        {"0,3:relu", "0"},
        {"2,3:relu:nobias:extra", "extra"},
        {"2,3:sigmoid,2:softmaxx", "softmaxx"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bp_error err;
        memset(&err, 0, sizeof err);
        bp_net *net = bp_net_parse(cases[c].spec, &err);
        if (net) {
            bp_net_free(net);
            fail_msg("spec \"%s\" was accepted", cases[c].spec);
        }
        if (err.code != BP_ESPEC)
            fail_msg("spec \"%s\": code %d, expected BP_ESPEC", cases[c].spec,
                     err.code);
        if (strlen(err.message) == 0 || strlen(err.message) >= sizeof err.message)
            fail_msg("spec \"%s\": empty message", cases[c].spec);
        if (!strstr(err.message, cases[c].names))
            fail_msg("spec \"%s\": message \"%s\" does not name \"%s\"",
                     cases[c].spec, err.message, cases[c].names);
        /* The error detail is optional. */
        assert_null(bp_net_parse(cases[c].spec, NULL));
    }
    bp_error err;
    memset(&err, 0, sizeof err);
    assert_null(bp_net_parse(NULL, &err));
    assert_true(err.code < 0);
}

static void test_create(void **state)
{
    bp_layer_desc d[3] = {
        {.width = 5, .act = BP_ACT_LEAKY_RELU, .bias = 1, .slope = 0.25f},
        {.width = 3, .act = BP_ACT_TANH, .bias = 1, .slope = 0.0f},
        {.width = 2, .act = BP_ACT_SIGMOID, .bias = 0, .slope = 0.0f},
    };
    char buf[128];
    (void)state;
    bp_net *net = tu_net_create(4, 3, d);
    bp_net_spec(net, buf, sizeof buf);
    assert_string_equal(buf, "4,5:leaky_relu=0.25,3:tanh,2:sigmoid:nobias");
    assert_int_equal(bp_net_param_count(net), 49);
    bp_net_free(net);

    /* Invalid descriptions are refused with a code. */
    bp_layer_desc bad[4][1] = {
        {{.width = 0, .act = BP_ACT_RELU, .bias = 1, .slope = 0.0f}},
        {{.width = 3, .act = (bp_act)42, .bias = 1, .slope = 0.0f}},
        {{.width = 3, .act = BP_ACT_LEAKY_RELU, .bias = 1, .slope = 1.5f}},
        {{.width = 3, .act = BP_ACT_LEAKY_RELU, .bias = 1, .slope = -0.5f}},
    };
    for (int i = 0; i < 4; i++) {
        bp_error err;
        memset(&err, 0, sizeof err);
        net = bp_net_create(4, 1, bad[i], &err);
        if (net) {
            bp_net_free(net);
            fail_msg("bad description %d accepted", i);
        }
        assert_true(err.code < 0);
        assert_true(strlen(err.message) > 0);
    }
    bp_error err;
    memset(&err, 0, sizeof err);
    assert_null(bp_net_create(0, 3, d, &err));
    assert_true(err.code < 0);
    assert_null(bp_net_create(4, 0, d, NULL));
    assert_null(bp_net_create(4, 3, NULL, NULL));
}

/* Views into the flat blocks sit at the documented offsets. */
static void test_layer_views(void **state)
{
    static const char *specs[] = {
        "784,256:relu,128:relu,10:softmax",
        "2,2:relu:nobias,1:relu:nobias",
        "3,4:tanh:nobias,5:sigmoid,2:identity:nobias,3:softmax",
    };
    (void)state;
    for (size_t c = 0; c < sizeof specs / sizeof specs[0]; c++) {
        bp_net *net = tu_net(specs[c]);
        float *p = bp_net_params(net), *g = bp_net_grads(net);
        size_t off = 0;
        assert_non_null(p);
        assert_non_null(g);
        for (int l = 0; l < bp_net_layers(net); l++) {
            bp_layer_desc d = bp_net_layer(net, l);
            size_t I = (size_t)bp_net_layer_inputs(net, l), O = (size_t)d.width;
            assert_ptr_equal(bp_net_weight(net, l), p + off);
            assert_ptr_equal(bp_net_weight_grad(net, l), g + off);
            off += O * I;
            if (d.bias) {
                assert_ptr_equal(bp_net_bias(net, l), p + off);
                assert_ptr_equal(bp_net_bias_grad(net, l), g + off);
                off += O;
            } else {
                assert_null(bp_net_bias(net, l));
                assert_null(bp_net_bias_grad(net, l));
            }
        }
        assert_int_equal(off, bp_net_param_count(net));
        bp_net_free(net);
    }
}

static void test_set_layer(void **state)
{
    bp_net *net = tu_net("3,2:tanh,1:identity:nobias");
    const float w0[6] = {1, 2, 3, 4, 5, 6}, b0[2] = {-1, -2}, w1[2] = {7, 8};
    const float expect[] = {1, 2, 3, 4, 5, 6, -1, -2, 7, 8};
    (void)state;
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w0, b0));
    TU_ASSERT_OK(bp_net_set_layer(net, 1, w1, NULL));
    assert_int_equal(bp_net_param_count(net), 10);
    assert_memory_equal(bp_net_params(net), expect, sizeof expect);
    /* A NULL bias leaves the bias alone. */
    const float w0b[6] = {0, 0, 0, 0, 0, 0};
    TU_ASSERT_OK(bp_net_set_layer(net, 0, w0b, NULL));
    assert_true(bp_net_bias(net, 0)[0] == -1.0f && bp_net_bias(net, 0)[1] == -2.0f);
    assert_true(bp_net_set_layer(net, 2, w1, NULL) < 0);
    assert_true(bp_net_set_layer(net, -1, w1, NULL) < 0);
    bp_net_free(net);
}

/* Initialisation schemes: variance, range, zero biases, determinism. */
static void test_init(void **state)
{
    static const struct {
        bp_init scheme;
        double var; /* for 400 inputs and 300 outputs; scale 0.05 */
        int uniform;
    } cases[] = {
        {BP_INIT_HE_NORMAL, 2.0 / 400, 0},
        {BP_INIT_HE_UNIFORM, 2.0 / 400, 1},
        {BP_INIT_XAVIER_NORMAL, 2.0 / 700, 0},
        {BP_INIT_XAVIER_UNIFORM, 2.0 / 700, 1},
        {BP_INIT_LECUN_NORMAL, 1.0 / 400, 0},
        {BP_INIT_LECUN_UNIFORM, 1.0 / 400, 1},
        {BP_INIT_NORMAL, 0.05 * 0.05, 0},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bp_net *net = tu_net("400,300:relu,2:sigmoid");
        bp_rng rng;
        bp_rng_seed(&rng, 77 + c);
        /* Biases are zeroed even when they held something. */
        bp_net_bias(net, 0)[5] = 3.0f;
        TU_ASSERT_OK(bp_net_init(net, &rng, cases[c].scheme, 0.05));
        const float *w = bp_net_weight(net, 0);
        const size_t n = 400 * 300;
        double sum = 0.0, sq = 0.0, maxabs = 0.0;
        for (size_t i = 0; i < n; i++) {
            sum += w[i];
            sq += (double)w[i] * w[i];
            maxabs = fabs(w[i]) > maxabs ? fabs(w[i]) : maxabs;
        }
        double mean = sum / (double)n, var = sq / (double)n - mean * mean;
        /* sd of the sample variance: var * sqrt(2/n) (normal) or less
         * (uniform): 0.4%; allow 3%. */
        if (!tu_close(var, cases[c].var, 0.03, 0.0))
            fail_msg("scheme %d: variance %g, expected %g", (int)cases[c].scheme,
                     var, cases[c].var);
        TU_ASSERT_CLOSE(mean, 0.0, 0.0, 5.0 * sqrt(cases[c].var / (double)n));
        double a = sqrt(3.0 * cases[c].var);
        if (cases[c].uniform)
            assert_true(maxabs <= a * (1.0 + 1e-6) && maxabs > 0.99 * a);
        else
            assert_true(maxabs > 3.5 * sqrt(cases[c].var)); /* normal tails */
        for (int l = 0; l < 2; l++)
            for (int o = 0; o < bp_net_layer(net, l).width; o++)
                assert_true(bp_net_bias(net, l)[o] == 0.0f);

        /* Same seed, same weights. */
        bp_net *twin = tu_net("400,300:relu,2:sigmoid");
        bp_rng_seed(&rng, 77 + c);
        TU_ASSERT_OK(bp_net_init(twin, &rng, cases[c].scheme, 0.05));
        assert_memory_equal(bp_net_params(net), bp_net_params(twin),
                            bp_net_param_count(net) * sizeof(float));
        bp_net_free(twin);
        bp_net_free(net);
    }
}

/* ------------------------------------------------------------------------ */
/* Forward and backward against the double-precision oracle                  */
/* ------------------------------------------------------------------------ */

static void test_forward_reference(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 1001);
    for (int trial = 0; trial < 200; trial++) {
        bp_net *net = random_net(&rng, 5, -1, 0);
        int I = bp_net_inputs(net), O = bp_net_outputs(net);
        int B = 1 + (int)bp_rng_below(&rng, 17);
        float *x = tu_xmalloc((size_t)B * (size_t)I * sizeof *x);
        double *want = tu_xmalloc((size_t)B * (size_t)O * sizeof *want);
        double *p = tu_params_double(net);
        const float *out = NULL;
        tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
        TU_ASSERT_OK(bp_net_forward(net, B, x, &out));
        assert_non_null(out);
        tu_ref_run(net, p, -1, B, x, NULL, 0, want, NULL, NULL);
        for (size_t i = 0; i < (size_t)B * (size_t)O; i++) {
            if (!tu_close(out[i], want[i], 1e-5, 1e-6)) {
                char spec[256];
                describe_net(net, spec, sizeof spec);
                fail_msg("trial %d net %s B=%d: output %zu = %.9g, expected %.9g",
                         trial, spec, B, i, (double)out[i], want[i]);
            }
        }
        free(p);
        free(want);
        free(x);
        bp_net_free(net);
    }
}

/* The oracle itself against central differences of its own loss, so that a
 * wrong oracle cannot hide a wrong library. */
static void test_oracle_consistent(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 31337);
    for (int trial = 0; trial < 40; trial++) {
        bp_loss loss = (bp_loss)(trial % 4);
        int out_act = loss == BP_LOSS_CCE ? (trial % 8 < 4 ? BP_ACT_SOFTMAX : BP_ACT_SIGMOID)
                      : loss == BP_LOSS_BCE ? (trial % 8 < 4 ? BP_ACT_SIGMOID : BP_ACT_SOFTMAX)
                                            : -1;
        bp_net *net = random_net(&rng, 4, out_act, 0);
        int I = bp_net_inputs(net), O = bp_net_outputs(net), B = 3;
        size_t n = bp_net_param_count(net);
        float x[3 * 8], t[3 * 8];
        tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
        int T = tu_make_targets(&rng, loss, B, O, trial % 3 == 0, t);
        double *p = tu_params_double(net);
        double *g = tu_xcalloc(n, sizeof *g);
        double *dx = tu_xcalloc((size_t)B * (size_t)I, sizeof *dx);
        tu_ref_run(net, p, (int)loss, B, x, t, T, NULL, g, dx);
        double scale = 1e-3;
        for (size_t i = 0; i < n; i++)
            scale = fabs(g[i]) > scale ? fabs(g[i]) : scale;
        for (size_t i = 0; i < n; i++) {
            const double h = 1e-6, keep = p[i];
            p[i] = keep + h;
            double up = tu_ref_run(net, p, (int)loss, B, x, t, T, NULL, NULL, NULL);
            p[i] = keep - h;
            double down = tu_ref_run(net, p, (int)loss, B, x, t, T, NULL, NULL, NULL);
            p[i] = keep;
            double num = (up - down) / (2.0 * h);
            if (!tu_close(g[i], num, 1e-5, 1e-6 * scale))
                fail_msg("oracle trial %d param %zu: %.12g vs numeric %.12g", trial,
                         i, g[i], num);
        }
        free(dx);
        free(g);
        free(p);
        bp_net_free(net);
    }
}

static void test_backward_reference(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 4242);
    for (int trial = 0; trial < 240; trial++) {
        bp_loss loss = (bp_loss)(trial % 4);
        int out_act;
        switch (loss) {
        case BP_LOSS_BCE:
            out_act = (trial / 4) % 2 ? BP_ACT_SIGMOID : BP_ACT_SOFTMAX;
            break;
        case BP_LOSS_CCE:
            out_act = (trial / 4) % 3 ? BP_ACT_SOFTMAX : BP_ACT_SIGMOID;
            break;
        default:
            out_act = -1;
            break;
        }
        bp_net *net = random_net(&rng, 5, out_act, 0);
        int I = bp_net_inputs(net), O = bp_net_outputs(net);
        int B = 1 + (int)bp_rng_below(&rng, 12);
        size_t n = bp_net_param_count(net);
        float *x = tu_xmalloc((size_t)B * (size_t)I * sizeof *x);
        float *t = tu_xmalloc((size_t)B * (size_t)O * sizeof *t);
        float *dx = tu_xmalloc((size_t)B * (size_t)I * sizeof *dx);
        double *g = tu_xcalloc(n, sizeof *g);
        double *gdx = tu_xcalloc((size_t)B * (size_t)I, sizeof *gdx);
        tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
        int T = tu_make_targets(&rng, loss, B, O, (trial / 2) % 2, t);

        double want = tu_ref_gradient(net, loss, B, x, t, T, g, gdx);
        double value = -1.0;
        bp_net_zero_grad(net);
        TU_ASSERT_OK(bp_net_forward(net, B, x, NULL));
        TU_ASSERT_OK(bp_net_loss(net, loss, t, T, &value));
        TU_ASSERT_OK(bp_net_backward(net, dx));

        char spec[256];
        describe_net(net, spec, sizeof spec);
        if (!tu_close(value, want, 1e-5, 1e-7))
            fail_msg("trial %d %s %s: loss %.12g, expected %.12g", trial, spec,
                     bp_loss_name(loss), value, want);
        double gs = 0.0, xs = 0.0;
        for (size_t i = 0; i < n; i++)
            gs = fabs(g[i]) > gs ? fabs(g[i]) : gs;
        for (size_t i = 0; i < (size_t)B * (size_t)I; i++)
            xs = fabs(gdx[i]) > xs ? fabs(gdx[i]) : xs;
        /* Relative tolerance, plus an absolute part from the largest entry
         * and from the loss's slope (see tu_output_slope_scale). */
        const double ss = tu_output_slope_scale(net, loss, B, x, t, T);
        const float *got = bp_net_grads(net);
        for (size_t i = 0; i < n; i++)
            if (!tu_close(got[i], g[i], 1e-4, 1e-5 * gs + 1e-6 * ss))
                fail_msg("trial %d %s %s B=%d T=%d: grad %zu = %.9g, expected %.9g",
                         trial, spec, bp_loss_name(loss), B, T, i, (double)got[i], g[i]);
        for (size_t i = 0; i < (size_t)B * (size_t)I; i++)
            if (!tu_close(dx[i], gdx[i], 1e-4, 1e-5 * xs + 1e-6 * ss))
                fail_msg("trial %d %s %s: dx %zu = %.9g, expected %.9g", trial, spec,
                         bp_loss_name(loss), i, (double)dx[i], gdx[i]);

        /* bp_net_gradient gives the same, from a fresh gradient. */
        double value2 = -1.0;
        float *copy = tu_xmalloc(n * sizeof *copy);
        memcpy(copy, got, n * sizeof *copy);
        bp_net_grads(net)[0] += 123.0f;
        TU_ASSERT_OK(bp_net_gradient(net, loss, B, x, t, T, &value2));
        assert_true(value2 == value);
        assert_memory_equal(bp_net_grads(net), copy, n * sizeof *copy);

        free(copy);
        free(gdx);
        free(g);
        free(dx);
        free(t);
        free(x);
        bp_net_free(net);
    }
}

/* Backward adds to the gradient: two passes without zeroing give twice. */
static void test_gradient_accumulates(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 8);
    bp_net *net = tu_net("3,5:tanh,4:relu,3:softmax");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    float x[6 * 3], t[6];
    tu_fill_normal(&rng, x, 18, 1.0);
    for (int b = 0; b < 6; b++)
        t[b] = (float)(b % 3);
    size_t n = bp_net_param_count(net);
    float *once = tu_xmalloc(n * sizeof *once);
    double v;
    TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_CCE, 6, x, t, 1, &v));
    memcpy(once, bp_net_grads(net), n * sizeof *once);
    int nonzero = 0;
    for (size_t i = 0; i < n; i++)
        nonzero += once[i] != 0.0f;
    assert_true(nonzero > (int)n / 2);
    TU_ASSERT_OK(bp_net_forward(net, 6, x, NULL));
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_CCE, t, 1, &v));
    TU_ASSERT_OK(bp_net_backward(net, NULL));
    const float *twice = bp_net_grads(net);
    for (size_t i = 0; i < n; i++)
        TU_ASSERT_CLOSE(twice[i], 2.0 * once[i], 1e-6, 0.0);
    bp_net_zero_grad(net);
    for (size_t i = 0; i < n; i++)
        assert_true(bp_net_grads(net)[i] == 0.0f);
    free(once);
    bp_net_free(net);
}

/* Batches beyond the reserved size still compute the right thing. */
static void test_forward_grows(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 9);
    bp_net *net = tu_net("4,6:sigmoid,2:identity");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_LECUN_NORMAL, 0.0));
    TU_ASSERT_OK(bp_net_reserve(net, 4));
    for (int B = 1; B <= 200; B += 66) {
        float *x = tu_xmalloc((size_t)B * 4 * sizeof *x);
        double *want = tu_xmalloc((size_t)B * 2 * sizeof *want);
        const float *out;
        tu_fill_normal(&rng, x, (size_t)B * 4, 1.0);
        TU_ASSERT_OK(bp_net_forward(net, B, x, &out));
        double *p = tu_params_double(net);
        tu_ref_run(net, p, -1, B, x, NULL, 0, want, NULL, NULL);
        for (size_t i = 0; i < (size_t)B * 2; i++)
            TU_ASSERT_CLOSE(out[i], want[i], 1e-5, 1e-6);
        free(p);
        free(want);
        free(x);
    }
    bp_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* Allocation                                                                */
/* ------------------------------------------------------------------------ */

static void test_no_allocation_after_reserve(void **state)
{
    bp_rng rng;
    (void)state;
    tu_counter_install(&counter);
    bp_rng_seed(&rng, 10);
    bp_net *net = tu_net("4,16:relu,8:tanh,3:softmax");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    TU_ASSERT_OK(bp_net_reserve(net, 64));
    float x[64 * 4], onehot[64 * 3], idx[64], dx[64 * 4];
    tu_fill_normal(&rng, x, 64 * 4, 1.0);
    for (int b = 0; b < 64; b++) {
        idx[b] = (float)(b % 3);
        for (int k = 0; k < 3; k++)
            onehot[b * 3 + k] = k == b % 3 ? 1.0f : 0.0f;
    }
    const long before = counter.requests;
    static const int sizes[] = {64, 1, 7, 33, 64, 2};
    for (int it = 0; it < 60; it++) {
        int B = sizes[it % 6];
        double v, acc;
        const float *out;
        TU_ASSERT_OK(bp_net_forward(net, B, x, &out));
        TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_CCE, idx, 1, &v));
        TU_ASSERT_OK(bp_net_backward(net, dx));
        TU_ASSERT_OK(bp_gd_step(net, 0.01));
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_CCE, B, x, onehot, 3, &v));
        TU_ASSERT_OK(bp_gd_step(net, 0.01));
        TU_ASSERT_OK(bp_net_gradient(net, BP_LOSS_MSE, B, x, onehot, 3, &v));
        TU_ASSERT_OK(bp_net_forward(net, B, x, NULL));
        TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MAE, onehot, 3, &v));
        TU_ASSERT_OK(bp_net_backward(net, NULL));
        bp_net_zero_grad(net);
        TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, B, x, idx, 1, &v, &acc));
        if (counter.requests != before)
            fail_msg("iteration %d (B=%d): %ld allocations after reserve", it, B,
                     counter.requests - before);
    }
    bp_net_free(net);
    assert_int_equal(counter.live, 0);
    bp_set_allocator(NULL);
}

/* Make allocation k fail for k = 1, 2, ... until a call needs no more:
 * every failure is reported as BP_ENOMEM, nothing leaks, and the object
 * stays usable. */
static void test_allocation_failure(void **state)
{
    static const char *spec = "5,7:tanh,4:relu:nobias,3:softmax";
    bp_rng rng;
    float x[4 * 5], t[4], xs[5];
    (void)state;
    bp_rng_seed(&rng, 11);
    tu_fill_normal(&rng, x, 20, 1.0);
    memcpy(xs, x, sizeof xs);
    for (int b = 0; b < 4; b++)
        t[b] = (float)(b % 3);
    tu_counter_install(&counter);

    /* Parsing. */
    long k;
    for (k = 1; k < 1000; k++) {
        bp_error err;
        memset(&err, 0, sizeof err);
        long failed = counter.failures;
        tu_counter_fail_in(&counter, k);
        bp_net *net = bp_net_parse(spec, &err);
        int injected = counter.failures > failed;
        tu_counter_fail_in(&counter, 0);
        if (injected) {
            if (net)
                bp_net_free(net);
            assert_null(net);
            assert_int_equal(err.code, BP_ENOMEM);
            assert_true(strlen(err.message) > 0);
            assert_int_equal(counter.live, 0);
        } else {
            assert_non_null(net);
            bp_net_free(net);
            assert_int_equal(counter.live, 0);
            break;
        }
    }
    assert_true(k > 1 && k < 1000);

    /* bp_net_create. */
    const bp_layer_desc d[2] = {{.width = 4, .act = BP_ACT_SIGMOID, .bias = 1, .slope = 0.0f}, {.width = 2, .act = BP_ACT_SOFTMAX, .bias = 0, .slope = 0.0f}};
    for (k = 1; k < 1000; k++) {
        bp_error err;
        memset(&err, 0, sizeof err);
        long failed = counter.failures;
        tu_counter_fail_in(&counter, k);
        bp_net *net = bp_net_create(3, 2, d, &err);
        int injected = counter.failures > failed;
        tu_counter_fail_in(&counter, 0);
        if (!injected) {
            assert_non_null(net);
            bp_net_free(net);
            break;
        }
        assert_null(net);
        assert_int_equal(err.code, BP_ENOMEM);
        assert_int_equal(counter.live, 0);
    }
    assert_true(k > 1 && k < 1000);

    /* Reserving, the first forward pass, explaining and gradchecking, each
     * on a fresh network. */
    for (int what = 0; what < 4; what++) {
        for (k = 1; k < 1000; k++) {
            bp_net *net = tu_net(spec);
            TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0));
            if (what >= 2)
                TU_ASSERT_OK(bp_net_reserve(net, 4));
            long failed = counter.failures;
            bp_explain *ex = NULL;
            bp_gradcheck_layer report[3];
            double err = 0.0;
            int rc;
            tu_counter_fail_in(&counter, k);
            switch (what) {
            case 0:
                rc = bp_net_reserve(net, 64);
                break;
            case 1:
                rc = bp_net_forward(net, 4, x, NULL);
                break;
            case 2:
                rc = bp_explain_sample(net, BP_LOSS_CCE, xs, t, 1, &ex);
                break;
            default:
                rc = bp_gradcheck(net, BP_LOSS_CCE, 4, x, t, 1, NULL, 0.0, report, &err);
                break;
            }
            int injected = counter.failures > failed;
            tu_counter_fail_in(&counter, 0);
            if (injected) {
                if (rc != BP_ENOMEM)
                    fail_msg("call %d with allocation %ld failing returned %d", what,
                             k, rc);
            } else {
                TU_ASSERT_OK(rc);
            }
            /* Usable afterwards: a forward pass gives the oracle's answer. */
            const float *out;
            double want[4 * 3];
            TU_ASSERT_OK(bp_net_forward(net, 4, x, &out));
            double *p = tu_params_double(net);
            tu_ref_run(net, p, -1, 4, x, NULL, 0, want, NULL, NULL);
            free(p);
            for (int i = 0; i < 12; i++)
                TU_ASSERT_CLOSE(out[i], want[i], 1e-5, 1e-6);
            if (ex)
                bp_explain_free(ex);
            bp_net_free(net);
            assert_int_equal(counter.live, 0);
            if (!injected)
                break;
        }
        if (!(k > 1 && k < 1000))
            fail_msg("call %d: no allocation failure was exercised (k=%ld)", what, k);
    }
    bp_set_allocator(NULL);
}

/* ------------------------------------------------------------------------ */
/* Losses and accuracy                                                       */
/* ------------------------------------------------------------------------ */

static void test_loss_mse_mae(void **state)
{
    const float y[4] = {1, 2, 3, 4};
    const float t1[4] = {1, 0, 5, 4};
    const float t2[4] = {1, 0, 5, 3.5f};
    float dy[4];
    double v = -1.0;
    (void)state;
    /* MSE: (0 + 4 + 4 + 0) / 4; slope 2 (y - t) / 4. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_MSE, 2, 2, y, t1, 2, &v, dy));
    TU_ASSERT_EXACT(v, 2.0);
    TU_ASSERT_EXACT(dy[0], 0.0);
    TU_ASSERT_EXACT(dy[1], 1.0);
    TU_ASSERT_EXACT(dy[2], -1.0);
    TU_ASSERT_EXACT(dy[3], 0.0);
    /* MAE: (0 + 2 + 2 + 0.5) / 4; slope sign / 4, 0 at equality. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_MAE, 2, 2, y, t2, 2, &v, dy));
    TU_ASSERT_EXACT(v, 1.125);
    TU_ASSERT_EXACT(dy[0], 0.0);
    TU_ASSERT_EXACT(dy[1], 0.25);
    TU_ASSERT_EXACT(dy[2], -0.25);
    TU_ASSERT_EXACT(dy[3], 0.25);
    /* The slope is optional. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_MAE, 2, 2, y, t2, 2, &v, NULL));
    TU_ASSERT_EXACT(v, 1.125);
    /* Same numbers seen as one row of four. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_MSE, 1, 4, y, t1, 4, &v, dy));
    TU_ASSERT_EXACT(v, 2.0);
    TU_ASSERT_EXACT(dy[1], 1.0);
}

static void test_loss_bce(void **state)
{
    const float y[4] = {0.5f, 0.25f, 0.0f, 1.0f};
    const float t[4] = {1, 0, 1, 0};
    float dy[4];
    double v = -1.0;
    (void)state;
    /* -log 0.5, -log 0.75, and two logs of 0 clamped at -100. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_BCE, 1, 4, y, t, 4, &v, dy));
    TU_ASSERT_CLOSE(v, (log(2.0) - log(0.75) + 100.0 + 100.0) / 4.0, 1e-14, 0.0);
    /* (y - t) / (y (1 - y)) / 4 */
    TU_ASSERT_EXACT(dy[0], -0.5);
    TU_ASSERT_ULP(dy[1], (float)(1.0 / 3.0), 1);
    for (int i = 0; i < 4; i++)
        assert_true(isfinite(dy[i]));
    assert_true(dy[2] < 0.0f); /* raising y towards the target 1 helps */
    assert_true(dy[3] > 0.0f);

    /* Perfect predictions at the ends: zero loss, finite slopes. */
    const float ye[2] = {0.0f, 1.0f}, te[2] = {0.0f, 1.0f};
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_BCE, 2, 1, ye, te, 1, &v, dy));
    TU_ASSERT_EXACT(v, 0.0);
    assert_true(isfinite(dy[0]) && isfinite(dy[1]));

    /* Soft targets: t = 0.25 at y = 0.5 costs log 2. */
    const float ys[1] = {0.5f}, ts[1] = {0.25f};
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_BCE, 1, 1, ys, ts, 1, &v, dy));
    TU_ASSERT_CLOSE(v, log(2.0), 1e-15, 0.0);
    TU_ASSERT_EXACT(dy[0], 1.0); /* 0.25 / 0.25 */
}

static void test_loss_cce(void **state)
{
    const float y[6] = {0.7f, 0.2f, 0.1f, 0.25f, 0.5f, 0.25f};
    const float onehot[6] = {1, 0, 0, 0, 1, 0};
    const float idx[2] = {0, 1};
    float dy[6], dy2[6];
    double v = -1.0, v2 = -2.0;
    (void)state;
    /* mean over rows of -log y[class]; 0.7 is held as the float 0.7f. */
    const double want = (-log((double)0.7f) - log(0.5)) / 2.0;
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_CCE, 2, 3, y, onehot, 3, &v, dy));
    TU_ASSERT_CLOSE(v, want, 1e-14, 0.0);
    /* slope -t / y / B */
    TU_ASSERT_ULP(dy[0], (float)(-1.0 / (double)0.7f / 2.0), 1);
    TU_ASSERT_EXACT(dy[1], 0.0);
    TU_ASSERT_EXACT(dy[2], 0.0);
    TU_ASSERT_EXACT(dy[3], 0.0);
    TU_ASSERT_EXACT(dy[4], -1.0);
    TU_ASSERT_EXACT(dy[5], 0.0);
    /* Class indices mean the same. */
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_CCE, 2, 3, y, idx, 1, &v2, dy2));
    TU_ASSERT_EXACT(v2, v);
    assert_memory_equal(dy, dy2, sizeof dy);
    /* A zero probability on the true class: log clamped at -100. */
    const float yz[3] = {0.0f, 0.5f, 0.5f}, tz[1] = {0};
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_CCE, 1, 3, yz, tz, 1, &v, dy));
    TU_ASSERT_EXACT(v, 100.0);
    assert_true(isfinite(dy[0]) && dy[0] < 0.0f);
    /* A single output takes a one-column one-hot target. */
    const float y1[2] = {0.5f, 0.25f}, t1[2] = {1, 1};
    TU_ASSERT_OK(bp_loss_compute(BP_LOSS_CCE, 2, 1, y1, t1, 1, &v, dy));
    TU_ASSERT_CLOSE(v, (log(2.0) + log(4.0)) / 2.0, 1e-15, 0.0);
}

static void test_loss_errors(void **state)
{
    const float y[6] = {0.2f, 0.3f, 0.5f, 0.1f, 0.1f, 0.8f};
    const float t6[6] = {0, 1, 0, 0, 0, 1};
    double v;
    float dy[6];
    (void)state;
    /* Target widths that fit neither form. */
    TU_ASSERT_RC(bp_loss_compute(BP_LOSS_MSE, 3, 2, y, t6, 1, &v, dy), BP_ESHAPE);
    TU_ASSERT_RC(bp_loss_compute(BP_LOSS_MAE, 2, 3, y, t6, 2, &v, dy), BP_ESHAPE);
    TU_ASSERT_RC(bp_loss_compute(BP_LOSS_BCE, 2, 3, y, t6, 1, &v, dy), BP_ESHAPE);
    TU_ASSERT_RC(bp_loss_compute(BP_LOSS_CCE, 2, 3, y, t6, 2, &v, dy), BP_ESHAPE);
    TU_ASSERT_RC(bp_loss_compute(BP_LOSS_CCE, 1, 6, y, t6, 3, &v, dy), BP_ESHAPE);
    /* Class indices out of range. */
    const float bad1[2] = {0, 3}, bad2[2] = {-1, 0};
    assert_true(bp_loss_compute(BP_LOSS_CCE, 2, 3, y, bad1, 1, &v, dy) < 0);
    assert_true(bp_loss_compute(BP_LOSS_CCE, 2, 3, y, bad2, 1, &v, dy) < 0);

    /* The network reports the same and says why. */
    bp_net *net = tu_net("2,3:softmax");
    const float x[4] = {1, 2, 3, 4};
    assert_string_equal(bp_net_message(net), "");
    TU_ASSERT_RC(bp_net_gradient(net, BP_LOSS_CCE, 2, x, t6, 2, &v), BP_ESHAPE);
    assert_true(strlen(bp_net_message(net)) > 0);
    TU_ASSERT_OK(bp_net_forward(net, 2, x, NULL));
    TU_ASSERT_RC(bp_net_loss(net, BP_LOSS_MSE, t6, 1, &v), BP_ESHAPE);
    assert_true(strlen(bp_net_message(net)) > 0);
    TU_ASSERT_RC(bp_net_evaluate(net, BP_LOSS_MSE, 2, x, t6, 2, &v, NULL), BP_ESHAPE);
    assert_true(bp_net_gradient(net, BP_LOSS_CCE, 2, x, bad1, 1, &v) < 0);
    assert_true(strlen(bp_net_message(net)) > 0);
    bp_net_free(net);
}

static void test_accuracy(void **state)
{
    (void)state;
    /* One output: y >= 0.5 against t >= 0.5. */
    const float y1[4] = {0.7f, 0.2f, 0.5f, 0.49f}, t1[4] = {1, 0, 0, 1};
    TU_ASSERT_EXACT(bp_accuracy(4, 1, y1, t1, 1), 0.5);
    const float t1b[4] = {1, 0, 1, 0};
    TU_ASSERT_EXACT(bp_accuracy(4, 1, y1, t1b, 1), 1.0);
    /* Several outputs: argmax against the index or the one-hot argmax. */
    const float y3[12] = {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f,
                          0.1f, 0.1f, 0.8f, 0.3f, 0.3f, 0.4f};
    const float idx[4] = {1, 0, 2, 0};
    const float onehot[12] = {0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0};
    TU_ASSERT_EXACT(bp_accuracy(4, 3, y3, idx, 1), 0.75);
    TU_ASSERT_EXACT(bp_accuracy(4, 3, y3, onehot, 3), 0.75);
    TU_ASSERT_EXACT(bp_accuracy(2, 3, y3, idx, 1), 1.0);
    const float wrong[4] = {2, 2, 0, 1};
    TU_ASSERT_EXACT(bp_accuracy(4, 3, y3, wrong, 1), 0.0);
    /* Shape mismatches. */
    assert_true(bp_accuracy(4, 3, y3, onehot, 2) < 0.0);
    assert_true(bp_accuracy(2, 2, y3, onehot, 3) < 0.0);

    /* bp_net_evaluate's accuracy is that of its outputs. */
    bp_rng rng;
    bp_rng_seed(&rng, 12);
    bp_net *net = tu_net("3,4:tanh,3:softmax");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0));
    float x[20 * 3], t[20];
    tu_fill_normal(&rng, x, 60, 1.0);
    for (int b = 0; b < 20; b++)
        t[b] = (float)bp_rng_below(&rng, 3);
    const float *out;
    double v, acc = -1.0, lv;
    TU_ASSERT_OK(bp_net_forward(net, 20, x, &out));
    double want = bp_accuracy(20, 3, out, t, 1);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_CCE, t, 1, &lv));
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, 20, x, t, 1, &v, &acc));
    TU_ASSERT_EXACT(acc, want);
    TU_ASSERT_EXACT(v, lv);
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, 20, x, t, 1, &v, NULL));
    TU_ASSERT_EXACT(v, lv);
    bp_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* Activation slopes at exactly zero                                         */
/* ------------------------------------------------------------------------ */

/* A one-weight layer w = 1, b = -2: input 2 gives z = 0 exactly, input 3
 * gives z = 1. Target -1 and MSE: dL/dy = 2 (y + 1). */
static void one_unit(const char *spec, float x, float *gw, float *gb, float *dx,
                     double *loss)
{
    bp_net *net = tu_net(spec);
    const float w = 1.0f, b = -2.0f, t = -1.0f;
    TU_ASSERT_OK(bp_net_set_layer(net, 0, &w, &b));
    bp_net_zero_grad(net);
    TU_ASSERT_OK(bp_net_forward(net, 1, &x, NULL));
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MSE, &t, 1, loss));
    TU_ASSERT_OK(bp_net_backward(net, dx));
    *gw = bp_net_weight_grad(net, 0)[0];
    *gb = bp_net_bias_grad(net, 0)[0];
    bp_net_free(net);
}

static void test_activation_slope_at_zero(void **state)
{
    float gw, gb, dx;
    double v;
    (void)state;
    /* relu: slope 0 at z = 0, so nothing flows although the loss is 1. */
    one_unit("1,1:relu", 2.0f, &gw, &gb, &dx, &v);
    TU_ASSERT_EXACT(v, 1.0);
    TU_ASSERT_EXACT(gw, 0.0);
    TU_ASSERT_EXACT(gb, 0.0);
    TU_ASSERT_EXACT(dx, 0.0);
    /* relu at z = 1: y = 1, dL/dy = 4: gw = 4 * 3, gb = 4, dx = 4 * w. */
    one_unit("1,1:relu", 3.0f, &gw, &gb, &dx, &v);
    TU_ASSERT_EXACT(v, 4.0);
    TU_ASSERT_EXACT(gw, 12.0);
    TU_ASSERT_EXACT(gb, 4.0);
    TU_ASSERT_EXACT(dx, 4.0);
    /* leaky_relu: the slope itself at z = 0: dL/dz = 2 * 0.25. */
    one_unit("1,1:leaky_relu=0.25", 2.0f, &gw, &gb, &dx, &v);
    TU_ASSERT_EXACT(v, 1.0);
    TU_ASSERT_EXACT(gw, 1.0);
    TU_ASSERT_EXACT(gb, 0.5);
    TU_ASSERT_EXACT(dx, 0.5);
    /* The default slope 0.01 (a float): within an ulp of 2 * 0.01f. */
    one_unit("1,1:leaky_relu", 2.0f, &gw, &gb, &dx, &v);
    TU_ASSERT_EXACT(v, 1.0);
    TU_ASSERT_ULP(gb, (float)(2.0 * (double)BP_LEAKY_SLOPE_DEFAULT), 1);
    TU_ASSERT_ULP(gw, (float)(4.0 * (double)BP_LEAKY_SLOPE_DEFAULT), 1);
    /* leaky_relu just below zero: the value is slope * z. */
    one_unit("1,1:leaky_relu=0.25", 1.0f, &gw, &gb, &dx, &v);
    /* z = -1, y = -0.25, dL/dy = 1.5, dL/dz = 0.375 */
    TU_ASSERT_EXACT(v, 0.5625);
    TU_ASSERT_EXACT(gw, 0.375);
    TU_ASSERT_EXACT(gb, 0.375);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_valid),
        cmocka_unit_test(test_spec_round_trip),
        cmocka_unit_test(test_spec_truncation),
        cmocka_unit_test(test_spec_invalid),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_layer_views),
        cmocka_unit_test(test_set_layer),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_oracle_consistent),
        cmocka_unit_test(test_forward_reference),
        cmocka_unit_test(test_backward_reference),
        cmocka_unit_test(test_gradient_accumulates),
        cmocka_unit_test(test_forward_grows),
        cmocka_unit_test_teardown(test_no_allocation_after_reserve, restore_allocator),
        cmocka_unit_test_teardown(test_allocation_failure, restore_allocator),
        cmocka_unit_test(test_loss_mse_mae),
        cmocka_unit_test(test_loss_bce),
        cmocka_unit_test(test_loss_cce),
        cmocka_unit_test(test_loss_errors),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_activation_slope_at_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
