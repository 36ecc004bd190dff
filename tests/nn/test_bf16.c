/*
 * test_bf16.c - bf16 products (bp_net_set_precision): a dense layer's
 * forward pass and every slope against the float path run on the same
 * bf16-rounded inputs and weights, within float accumulation error (and
 * not within bf16's, which the unrounded input shows); a small network
 * trained in bf16 lands in float's accuracy band; the same bits at 1 and
 * 2 threads; the clear refusals (oneDNN's ISA cap); the first layer's
 * bf16 input written by the caller with the batch. A conv layer's passes
 * likewise, and a CNN with batch norm trained in bf16. Tests that need
 * bf16 hardware skip where it is absent.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "nn/net.h"

/* x rounded to bf16 (to nearest, ties to even), as the products see it. */
static float round_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, sizeof u);
    return x;
}

/* Whether this process can run bf16; prints why not. */
static int have_bf16(void)
{
    bp_error err = {0};
    if (bp_bf16_check(&err) == 0)
        return 1;
    assert_int_equal(err.code, BP_EUNSUPPORTED);
    print_message("bf16 unavailable here (%s): skipped\n", err.message);
    return 0;
}

static void test_names(void **state)
{
    (void)state;
    bp_precision p;
    assert_string_equal(bp_precision_name(BP_PRECISION_FP32), "fp32");
    assert_string_equal(bp_precision_name(BP_PRECISION_BF16), "bf16");
    assert_int_equal(bp_precision_parse("bf16", &p), 0);
    assert_int_equal(p, BP_PRECISION_BF16);
    assert_int_equal(bp_precision_parse("fp32", &p), 0);
    assert_int_equal(p, BP_PRECISION_FP32);
    assert_int_equal(bp_precision_parse("fp16", &p), BP_EINVAL);
    bp_net *net = tu_net("4,3:relu,2:identity");
    assert_int_equal(bp_net_precision(net), BP_PRECISION_FP32);
    bp_net_free(net);
}

/* Largest |got - want| / scale over n values, scale the sum of the
 * products' magnitudes of each value (at least tiny). */
static double worst(const float *got, const float *want, const double *scale, size_t n)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]) / (scale[i] > 1e-30 ? scale[i] : 1e-30);
        w = e > w ? e : w;
    }
    return w;
}

/* The scale of each z (B, O) of a dense layer with weights (O, I), then
 * its bias, in p: |bias| plus the magnitudes of the products summed. */
static void z_scales(int B, int I, int O, const float *x, const float *p, double *sz)
{
    for (int b = 0; b < B; b++)
        for (int o = 0; o < O; o++) {
            double s = fabs(p[O * I + o]);
            for (int i = 0; i < I; i++)
                s += fabs(x[b * I + i] * p[o * I + i]);
            sz[b * O + o] = s;
        }
}

enum { I = 37, O = 16, BMAX = 8 };

/* One dense layer's z, dW, db and dx for B rows of x: with targets far
 * below z, the MAE slope is +1/(B O) everywhere, a power of two that bf16
 * holds exactly, so the float path on rounded values is the reference. */
static void layer_pass(bp_precision p, const float *params, int B, const float *x, float *z,
                       float *g, float *dx)
{
    bp_net *net = tu_net("37,16:identity");
    bp_error err = {0};
    memcpy(bp_net_params(net), params, bp_net_param_count(net) * sizeof(float));
    TU_ASSERT_OK(bp_net_set_precision(net, p, &err));
    float t[BMAX * O];
    for (int i = 0; i < B * O; i++)
        t[i] = -1000.0f;
    const float *out;
    bp_net_zero_grad(net);
    TU_ASSERT_OK(bp_net_forward(net, B, x, &out));
    memcpy(z, out, (size_t)B * O * sizeof *z);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MAE, t, O, NULL));
    TU_ASSERT_OK(bp_net_backward(net, dx));
    memcpy(g, bp_net_grads(net), bp_net_param_count(net) * sizeof *g);
    bp_net_free(net);
}

static void check_layer(int B)
{
    const size_t np = (size_t)O * I + O;
    float params[O * I + O], x[BMAX * I], xr[BMAX * I];
    float z[BMAX * O], zr[BMAX * O], g[O * I + O], gr[O * I + O], dx[BMAX * I], dxr[BMAX * I];
    double sz[BMAX * O], sg[O * I + O], sdx[BMAX * I];
    bp_rng r;
    bp_rng_seed(&r, 21);
    for (size_t i = 0; i < np; i++)
        params[i] = round_bf16((float)(bp_rng_uniform(&r) - 0.5));
    for (int i = 0; i < B * I; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&r) - 1.0);
        xr[i] = round_bf16(x[i]);
    }
    const double c = 1.0 / (B * O); /* the slope at every output */
    z_scales(B, I, O, xr, params, sz);
    for (int o = 0; o < O; o++) {
        for (int i = 0; i < I; i++) {
            double s = 0.0;
            for (int b = 0; b < B; b++)
                s += c * fabs(xr[b * I + i]);
            sg[o * I + i] = s;
        }
        sg[O * I + o] = c * B;
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < I; i++) {
            double s = 0.0;
            for (int o = 0; o < O; o++)
                s += c * fabs(params[o * I + i]);
            sdx[b * I + i] = s;
        }
    layer_pass(BP_PRECISION_FP32, params, B, xr, zr, gr, dxr);
    layer_pass(BP_PRECISION_BF16, params, B, xr, z, g, dx);
    /* float accumulation of up to I terms: far below bf16's 2^-9 */
    const double tol = 4.0 * I * FLT_EPSILON / 2.0;
    double ez = worst(z, zr, sz, (size_t)B * O), eg = worst(g, gr, sg, np),
           edx = worst(dx, dxr, sdx, (size_t)B * I);
    if (ez > tol || eg > tol || edx > tol)
        fail_msg("B=%d: z %g, grads %g, dx %g of their scales; float accumulation allows %g", B,
                 ez, eg, edx, tol);
    /* the unrounded input: bf16's rounding shows, far above that */
    layer_pass(BP_PRECISION_BF16, params, B, x, z, g, dx);
    layer_pass(BP_PRECISION_FP32, params, B, x, zr, gr, dxr);
    ez = worst(z, zr, sz, (size_t)B * O);
    if (ez < 20.0 * tol)
        fail_msg("B=%d: unrounded inputs agree within %g: the check cannot tell bf16", B, ez);
}

static void test_layer_against_float(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    check_layer(BMAX);
    check_layer(2);
    check_layer(1); /* a lone row */
}

/* A hidden layer wide enough for its forward pass to run by blocks of
 * units (UI inputs, UO units, UB rows): its z and its weights' slopes. The
 * output layer's weights are +-1/2, so with the MAE slope of +1/(UB 2) the
 * hidden layer's dz is exact in bf16 too, and the float path on rounded
 * values is again the reference. */
enum { UI = 300, UO = 256, UB = 8, UP = UO * UI + UO + 2 * UO + 2 };

static void units_pass(bp_precision p, const float *params, const float *x, float *z, float *g)
{
    bp_net *net = tu_net("300,256:identity,2:identity");
    bp_error err = {0};
    assert_int_equal(bp_net_param_count(net), UP);
    memcpy(bp_net_params(net), params, UP * sizeof(float));
    TU_ASSERT_OK(bp_net_set_precision(net, p, &err));
    const float t[UB * 2] = {-1000.0f, -1000.0f, -1000.0f, -1000.0f, -1000.0f, -1000.0f,
                             -1000.0f, -1000.0f, -1000.0f, -1000.0f, -1000.0f, -1000.0f,
                             -1000.0f, -1000.0f, -1000.0f, -1000.0f};
    bp_net_zero_grad(net);
    TU_ASSERT_OK(bp_net_forward(net, UB, x, NULL));
    memcpy(z, bp__acts_of(net, 0), (size_t)UB * UO * sizeof *z);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MAE, t, 2, NULL));
    TU_ASSERT_OK(bp_net_backward(net, NULL));
    memcpy(g, bp_net_grads(net), UO * UI * sizeof *g);
    bp_net_free(net);
}

static void test_units_against_float(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    float *params = malloc(UP * sizeof *params), *x = malloc(UB * UI * sizeof *x);
    float *xr = malloc(UB * UI * sizeof *xr), *z = malloc(UB * UO * sizeof *z);
    float *zr = malloc(UB * UO * sizeof *zr), *g = malloc(UO * UI * sizeof *g);
    float *gr = malloc(UO * UI * sizeof *gr);
    double *sz = malloc(UB * UO * sizeof *sz), *sg = malloc(UO * UI * sizeof *sg);
    assert_non_null(params && x && xr && z && zr && g && gr && sz && sg);
    bp_rng r;
    bp_rng_seed(&r, 23);
    for (int i = 0; i < UO * UI + UO; i++)
        params[i] = round_bf16((float)(bp_rng_uniform(&r) - 0.5));
    const float *w1 = params + UO * UI + UO;
    for (int i = UO * UI + UO; i < UP; i++)
        params[i] = bp_rng_uniform(&r) < 0.5 ? -0.5f : 0.5f;
    for (int i = 0; i < UB * UI; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&r) - 1.0);
        xr[i] = round_bf16(x[i]);
    }
    z_scales(UB, UI, UO, xr, params, sz);
    for (int o = 0; o < UO; o++) {
        const double dz = fabs(w1[o] + w1[UO + o]) / (UB * 2.0); /* every row's */
        for (int i = 0; i < UI; i++) {
            double s = 0.0;
            for (int b = 0; b < UB; b++)
                s += dz * fabs(xr[b * UI + i]);
            sg[o * UI + i] = s;
        }
    }
    units_pass(BP_PRECISION_FP32, params, xr, zr, gr);
    units_pass(BP_PRECISION_BF16, params, xr, z, g);
    const double tol = 4.0 * UI * FLT_EPSILON / 2.0;
    const double ez = worst(z, zr, sz, UB * UO), eg = worst(g, gr, sg, UO * UI);
    if (ez > tol || eg > tol)
        fail_msg("by units: z %g, weight slopes %g of their scales; float accumulation allows %g",
                 ez, eg, tol);
    units_pass(BP_PRECISION_BF16, params, x, z, g);
    units_pass(BP_PRECISION_FP32, params, x, zr, gr);
    if (worst(z, zr, sz, UB * UO) < 2.0 * tol)
        fail_msg("by units: unrounded inputs agree within %g: the check cannot tell bf16",
                 worst(z, zr, sz, UB * UO));
    free(params);
    free(x);
    free(xr);
    free(z);
    free(zr);
    free(g);
    free(gr);
    free(sz);
    free(sg);
}

/* Two hidden layers by units in bf16: the first writes the second's bf16
 * input as it goes. The second's z against a double sum over the first's
 * outputs rounded to bf16, so a column written late, twice or not at all
 * shows. */
static void test_units_feed(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    enum { H = 256, P1 = UO * UI + UO, P = P1 + H * UO + H + 2 * H + 2 };
    bp_net *net = tu_net("300,256:identity,256:identity,2:identity");
    bp_error err = {0};
    assert_int_equal(bp_net_param_count(net), P);
    float *params = bp_net_params(net), *x = malloc(UB * UI * sizeof *x);
    assert_non_null(x);
    bp_rng r;
    bp_rng_seed(&r, 29);
    for (int i = 0; i < P; i++)
        params[i] = round_bf16((float)(bp_rng_uniform(&r) - 0.5));
    for (int i = 0; i < UB * UI; i++)
        x[i] = (float)(2.0 * bp_rng_uniform(&r) - 1.0);
    TU_ASSERT_OK(bp_net_set_precision(net, BP_PRECISION_BF16, &err));
    for (int pass = 0; pass < 2; pass++) { /* the second over the first's scratch */
        TU_ASSERT_OK(bp_net_forward(net, UB, x, NULL));
        const float *z0 = bp__acts_of(net, 0), *z1 = bp__acts_of(net, 1);
        const float *w = params + P1, *bias = w + H * UO;
        double worst_e = 0.0;
        for (int b = 0; b < UB; b++)
            for (int o = 0; o < H; o++) {
                double s = bias[o], scale = fabs(bias[o]);
                for (int i = 0; i < UO; i++) {
                    const double t = (double)round_bf16(z0[b * UO + i]) * w[o * UO + i];
                    s += t;
                    scale += fabs(t);
                }
                const double e = fabs(z1[b * H + o] - s) / (scale > 1e-30 ? scale : 1e-30);
                worst_e = e > worst_e ? e : worst_e;
            }
        if (worst_e > 4.0 * UO * FLT_EPSILON / 2.0)
            fail_msg("pass %d: the second layer's z is %g of its scale from its bf16 input's",
                     pass, worst_e);
        for (int i = 0; i < UB * UI; i++) /* new rows for the second pass */
            x[i] = -x[i] * 0.5f;
    }
    free(x);
    bp_net_free(net);
}

/* z of the first layer of a forward pass of x (UB rows) into z. */
static void first_z(bp_net *net, const float *x, float *z)
{
    TU_ASSERT_OK(bp_net_forward(net, UB, x, NULL));
    memcpy(z, bp__acts_of(net, 0), (size_t)UB * UO * sizeof *z);
}

/* The first layer's bf16 input written by the caller as it writes the
 * batch (bp_train's gather does): the next forward pass of that batch
 * reads it instead of converting x again, and any other pass converts
 * its own rows. Shown by changing x after its rows were kept. */
static void test_input_kept(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    bp_net *net = tu_net("300,256:identity,2:identity");
    bp_error err = {0};
    float *x = malloc(UB * UI * sizeof *x), *y = malloc(UB * UI * sizeof *y);
    float *buf = malloc(UB * UI * sizeof *buf), *zx = malloc(UB * UO * sizeof *zx);
    float *zy = malloc(UB * UO * sizeof *zy), *z = malloc(UB * UO * sizeof *z);
    assert_non_null(x && y && buf && zx && zy && z);
    bp_rng r;
    bp_rng_seed(&r, 31);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        bp_net_params(net)[i] = (float)(bp_rng_uniform(&r) - 0.5);
    for (int i = 0; i < UB * UI; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&r) - 1.0);
        y[i] = x[i] * 0.5f + 0.25f;
    }
    TU_ASSERT_OK(bp_net_set_precision(net, BP_PRECISION_BF16, &err));
    TU_ASSERT_OK(bp_net_reserve(net, UB));
    first_z(net, x, zx);
    first_z(net, y, zy);
    assert_memory_not_equal(zx, zy, UB * UO * sizeof *z);
    assert_true(bp__net_takes_input(net, UB));

    memcpy(buf, x, UB * UI * sizeof *buf); /* kept in two blocks of rows */
    bp__net_keep_input(net, 0, 3, buf);
    bp__net_keep_input(net, 3, UB, buf + 3 * UI);
    bp__net_input_kept(net, buf, UB);
    memcpy(buf, y, UB * UI * sizeof *buf);
    first_z(net, buf, z);
    assert_memory_equal(z, zx, UB * UO * sizeof *z); /* the kept rows, x's */
    first_z(net, buf, z);
    assert_memory_equal(z, zy, UB * UO * sizeof *z); /* forgotten: y's own */

    memcpy(buf, x, UB * UI * sizeof *buf); /* kept for another batch */
    bp__net_keep_input(net, 0, UB, buf);
    bp__net_input_kept(net, buf, UB);
    first_z(net, y, z);
    assert_memory_equal(z, zy, UB * UO * sizeof *z);

    /* a float first layer reads no bf16 input */
    TU_ASSERT_OK(bp_net_set_precision(net, BP_PRECISION_FP32, &err));
    assert_false(bp__net_takes_input(net, UB));
    free(x);
    free(y);
    free(buf);
    free(zx);
    free(zy);
    free(z);
    bp_net_free(net);
}

/* FNV-1a over the parameter block's bytes. */
static uint64_t hash_params(const bp_net *net)
{
    const unsigned char *p = (const unsigned char *)bp_net_params((bp_net *)net);
    size_t n = bp_net_param_count(net) * sizeof(float);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Trains spec on spiral data; the final weights' hash and accuracy. */
static uint64_t train(const char *spec, bp_precision p, int threads, int epochs, double *acc)
{
    bp_error err = {0};
    bp_dataset *ds = bp_dataset_load("spiral:400:3", 7, &err);
    if (!ds)
        fail_msg("data: %s", err.message);
    bp_net *net = tu_net(spec);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    TU_ASSERT_OK(bp_net_set_precision(net, p, &err));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = 128;
    o.epochs = epochs;
    o.seed = 5;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.01;
    bp_train_result res;
    bp_set_threads(threads);
    if (bp_train(net, ds, NULL, &o, &res, &err) != 0)
        fail_msg("bp_train: %s", err.message);
    bp_set_threads(0);
    assert_false(res.nonfinite);
    assert_int_equal(bp_net_precision(net), p);
    *acc = res.last.train_accuracy;
    uint64_t h = hash_params(net);
    bp_net_free(net);
    bp_dataset_free(ds);
    return h;
}

/* Trains spec in bf16 at 1 and 2 threads and in float at 1: the same bits
 * at 1 and 2 threads, and not float's (bf16 did run); the accuracies of
 * bf16 (1 thread) and float. */
static void same_at_two_threads(const char *spec, int epochs, double *a16, double *a32)
{
    double a2;
    uint64_t one = train(spec, BP_PRECISION_BF16, 1, epochs, a16);
    uint64_t two = train(spec, BP_PRECISION_BF16, 2, epochs, &a2);
    uint64_t f32 = train(spec, BP_PRECISION_FP32, 1, epochs, a32);
    if (one != two)
        fail_msg("bf16 %s: 1 and 2 threads differ (%016llx vs %016llx)", spec,
                 (unsigned long long)one, (unsigned long long)two);
    assert_true(one != f32);
}

/* The same bits at 1 and 2 threads, where the blocks of rows and units
 * differ (odd blocks included: 1200 rows leave a last batch of 48). */
static void test_threads(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    double a16, a32;
    same_at_two_threads("2,512:relu,256:relu,3:softmax", 2, &a16, &a32);
}

/* A small network in bf16 reaches float's accuracy on the same seed. */
static void test_accuracy_band(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    const char *spec = "2,64:relu,64:relu,3:softmax";
    double af, ab;
    train(spec, BP_PRECISION_FP32, 1, 40, &af);
    train(spec, BP_PRECISION_BF16, 1, 40, &ab);
    print_message("train accuracy after 40 epochs: fp32 %.4f, bf16 %.4f\n", af, ab);
    assert_true(af > 0.8);
    if (fabs(ab - af) > 0.03)
        fail_msg("bf16 accuracy %.4f is outside fp32's %.4f +- 0.03", ab, af);
}

/* oneDNN's ISA cap below avx512_core_bf16 turns bf16 off, named. */
static void test_isa_cap(void **state)
{
    (void)state;
    bp_error err = {0};
    const char *old = getenv("ONEDNN_MAX_CPU_ISA");
    char saved[64] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
    bp_net *net = tu_net("4,8:relu,2:identity");
    int rc = bp_net_set_precision(net, BP_PRECISION_BF16, &err);
    if (old)
        setenv("ONEDNN_MAX_CPU_ISA", saved, 1);
    else
        unsetenv("ONEDNN_MAX_CPU_ISA");
    assert_int_equal(rc, BP_EUNSUPPORTED);
    assert_int_equal(err.code, BP_EUNSUPPORTED);
    assert_int_equal(bp_net_precision(net), BP_PRECISION_FP32);
    assert_non_null(strstr(bp_net_message(net), "bf16"));
    /* the oneDNN build with a bf16 CPU names the cap; else what is missing */
    if (strstr(err.message, "oneDNN build") == NULL && strstr(err.message, "neither") == NULL &&
        strstr(err.message, "could not be loaded") == NULL)
        assert_non_null(strstr(err.message, "ONEDNN_MAX_CPU_ISA=AVX512_CORE"));
    /* the network still trains in float */
    float x[4] = {1, 2, 3, 4};
    TU_ASSERT_OK(bp_net_forward(net, 1, x, NULL));
    bp_net_free(net);
}

/* The build without oneDNN refuses bf16, saying so. */
static void test_builtin_refuses(void **state)
{
    (void)state;
    bp_error err = {0};
    if (strcmp(bp_gemm_backend(), "builtin") != 0) {
        print_message("a oneDNN build: skipped\n");
        skip();
    }
    assert_int_equal(bp_bf16_check(&err), BP_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "bf16 needs the oneDNN build"));
    bp_net *net = tu_net("4,8:relu,2:identity");
    assert_int_equal(bp_net_set_precision(net, BP_PRECISION_BF16, &err), BP_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "bf16 needs the oneDNN build"));
    assert_int_equal(bp_net_precision(net), BP_PRECISION_FP32);
    bp_net_free(net);
}

/* A layer's passes (as layer_pass) for spec, whose output is O values a
 * row: z, the parameter slopes and dx; with the absolute values of params
 * and x, the float path gives each value's scale, the sum of its products'
 * magnitudes (the MAE slope is the same constant everywhere). */
static void spec_pass(const char *spec, bp_precision p, const float *params, int B, const float *x,
                      float *z, float *g, float *dx)
{
    bp_net *net = tu_net(spec);
    bp_error err = {0};
    const size_t no = (size_t)bp_net_outputs(net);
    memcpy(bp_net_params(net), params, bp_net_param_count(net) * sizeof(float));
    TU_ASSERT_OK(bp_net_set_precision(net, p, &err));
    float *t = tu_xmalloc((size_t)B * no * sizeof *t);
    for (size_t i = 0; i < (size_t)B * no; i++)
        t[i] = -1000.0f;
    const float *out;
    bp_net_zero_grad(net);
    TU_ASSERT_OK(bp_net_forward(net, B, x, &out));
    memcpy(z, out, (size_t)B * no * sizeof *z);
    TU_ASSERT_OK(bp_net_loss(net, BP_LOSS_MAE, t, (int)no, NULL));
    TU_ASSERT_OK(bp_net_backward(net, dx));
    memcpy(g, bp_net_grads(net), bp_net_param_count(net) * sizeof *g);
    free(t);
    bp_net_free(net);
}

/* One conv layer in bf16 against the float path on bf16-rounded filters
 * and inputs: within float accumulation error of `terms` products (the
 * most any value sums), and not on unrounded inputs. B * O must be a
 * power of two, so that the output slope is exact in bf16. */
static void check_conv(const char *spec, int B, int terms)
{
    bp_net *net = tu_net(spec);
    const size_t np = bp_net_param_count(net), nz = (size_t)B * (size_t)bp_net_outputs(net),
                 nx = (size_t)B * (size_t)bp_net_inputs(net);
    bp_net_free(net);
    float *params = tu_xmalloc(np * sizeof *params), *aparams = tu_xmalloc(np * sizeof *params);
    float *x = tu_xmalloc(nx * sizeof *x), *xr = tu_xmalloc(nx * sizeof *x),
          *ax = tu_xmalloc(nx * sizeof *x);
    float *z = tu_xmalloc(nz * sizeof *z), *zr = tu_xmalloc(nz * sizeof *z),
          *az = tu_xmalloc(nz * sizeof *z);
    float *g = tu_xmalloc(np * sizeof *g), *gr = tu_xmalloc(np * sizeof *g),
          *ag = tu_xmalloc(np * sizeof *g);
    float *dx = tu_xmalloc(nx * sizeof *dx), *dxr = tu_xmalloc(nx * sizeof *dx),
          *adx = tu_xmalloc(nx * sizeof *dx);
    double *sz = tu_xmalloc(nz * sizeof *sz), *sg = tu_xmalloc(np * sizeof *sg),
           *sdx = tu_xmalloc(nx * sizeof *sdx);
    bp_rng r;
    bp_rng_seed(&r, 33);
    for (size_t i = 0; i < np; i++) {
        params[i] = round_bf16((float)(bp_rng_uniform(&r) - 0.5));
        aparams[i] = fabsf(params[i]);
    }
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&r) - 1.0);
        xr[i] = round_bf16(x[i]);
        ax[i] = fabsf(xr[i]);
    }
    spec_pass(spec, BP_PRECISION_FP32, aparams, B, ax, az, ag, adx);
    for (size_t i = 0; i < nz; i++)
        sz[i] = az[i];
    for (size_t i = 0; i < np; i++)
        sg[i] = ag[i];
    for (size_t i = 0; i < nx; i++)
        sdx[i] = adx[i];
    spec_pass(spec, BP_PRECISION_FP32, params, B, xr, zr, gr, dxr);
    spec_pass(spec, BP_PRECISION_BF16, params, B, xr, z, g, dx);
    const double tol = 4.0 * terms * FLT_EPSILON / 2.0;
    double ez = worst(z, zr, sz, nz), eg = worst(g, gr, sg, np), edx = worst(dx, dxr, sdx, nx);
    if (ez > tol || eg > tol || edx > tol)
        fail_msg("%s, B=%d: z %g, grads %g, dx %g of their scales; float accumulation allows %g",
                 spec, B, ez, eg, edx, tol);
    spec_pass(spec, BP_PRECISION_BF16, params, B, x, z, g, dx);
    spec_pass(spec, BP_PRECISION_FP32, params, B, x, zr, gr, dxr);
    ez = worst(z, zr, sz, nz);
    if (ez < 10.0 * tol)
        fail_msg("%s, B=%d: unrounded inputs agree within %g: the check cannot tell bf16", spec,
                 B, ez);
    free(params), free(aparams), free(x), free(xr), free(ax), free(z), free(zr), free(az);
    free(g), free(gr), free(ag), free(dx), free(dxr), free(adx), free(sz), free(sg), free(sdx);
}

static void test_conv_against_float(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    /* 4 filters of 4x4 outputs: O = 64; the slopes sum B * 16 products */
    check_conv("2x4x4,conv:4:3:same", 8, 128);
    check_conv("2x4x4,conv:4:3:same", 2, 128);
    check_conv("3x8x8,conv:4:3:pad=1:stride=2", 4, 128);
    /* from 16 input channels the filters' slopes take runs of 8 samples */
    check_conv("16x4x4,conv:4:3:same:nobias", 16, 256);
}

/* A CNN with batch norm trains in bf16: the same bits at 1 and 2 threads,
 * not float's bits, and float's accuracy band. */
static void test_cnn(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    double a1, af;
    same_at_two_threads("1x2x1,conv:16:3:same,batchnorm,relu,conv:24:3:relu:same,64:relu,3:softmax",
                        30, &a1, &af);
    print_message("CNN train accuracy after 30 epochs: fp32 %.4f, bf16 %.4f\n", af, a1);
    assert_true(af > 0.7);
    if (fabs(a1 - af) > 0.03)
        fail_msg("bf16 CNN accuracy %.4f is outside fp32's %.4f +- 0.03", a1, af);
}

/* Switching with a workspace already reserved: bf16 gives the bits of a
 * network set to bf16 before its first pass, and back to fp32 the float
 * path's bits again. */
static void test_switching(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    bp_net *a = tu_net("5,7:relu,3:identity"), *b = tu_net("5,7:relu,3:identity");
    float x[2 * 5] = {1, -2, 3, 0.5f, 0.25f, -1, 0, 2, 1.5f, -0.75f}, f32[6], f16[6];
    const float *oa, *ob;
    bp_rng r;
    bp_rng_seed(&r, 4);
    for (size_t i = 0; i < bp_net_param_count(a); i++)
        bp_net_params(a)[i] = (float)(bp_rng_uniform(&r) - 0.25);
    memcpy(bp_net_params(b), bp_net_params(a), bp_net_param_count(a) * sizeof(float));
    TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
    memcpy(f32, oa, sizeof f32);
    TU_ASSERT_OK(bp_net_set_precision(a, BP_PRECISION_BF16, NULL));
    TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
    memcpy(f16, oa, sizeof f16);
    TU_ASSERT_OK(bp_net_set_precision(b, BP_PRECISION_BF16, NULL));
    TU_ASSERT_OK(bp_net_forward(b, 2, x, &ob));
    assert_memory_equal(f16, ob, sizeof f16);
    assert_true(memcmp(f16, f32, sizeof f16) != 0);
    TU_ASSERT_OK(bp_net_set_precision(a, BP_PRECISION_FP32, NULL));
    TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
    assert_memory_equal(oa, f32, sizeof f32);
    bp_net_free(a);
    bp_net_free(b);
}

/* a runs forward on x (2 rows of 5), then b with a's weights: the same 6
 * outputs. a's pass comes first, as its weights are asked for after it. */
static void same_forward(bp_net *a, bp_net *b, const float *x)
{
    const float *oa, *ob;
    float got[6];
    TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
    memcpy(got, oa, sizeof got);
    memcpy(bp_net_params(b), bp_net_params(a), bp_net_param_count(a) * sizeof(float));
    TU_ASSERT_OK(bp_net_forward(b, 2, x, &ob));
    assert_memory_equal(got, ob, sizeof got);
}

/* The weights' bf16 copies the optimizer's step writes as it steps are the
 * ones a forward pass would make from the weights; a write through
 * bp_net_params after the step is seen by the next forward pass. */
static void test_step_copies(void **state)
{
    (void)state;
    if (!have_bf16())
        skip();
    const char *spec = "5,7:relu,3:identity";
    bp_net *a = tu_net(spec), *b = tu_net(spec);
    float x[2 * 5] = {1, -2, 3, 0.5f, 0.25f, -1, 0, 2, 1.5f, -0.75f}, t[6] = {1, 0, -1, 2, 0, 1};
    const float *oa;
    bp_rng r;
    bp_rng_seed(&r, 8);
    const size_t P = bp_net_param_count(a);
    for (size_t i = 0; i < P; i++)
        bp_net_params(a)[i] = (float)(bp_rng_uniform(&r) - 0.5);
    TU_ASSERT_OK(bp_net_set_precision(a, BP_PRECISION_BF16, NULL));
    TU_ASSERT_OK(bp_net_set_precision(b, BP_PRECISION_BF16, NULL));
    bp_optim_opts o = bp_optim_defaults(BP_OPTIM_ADAM);
    bp_error err = {0};
    bp_optim *opt = bp_optim_create(a, &o, &err);
    assert_non_null(opt);
    for (int s = 0; s < 3; s++) {
        TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
        TU_ASSERT_OK(bp_net_loss(a, BP_LOSS_MSE, t, 3, NULL));
        bp_net_zero_grad(a);
        TU_ASSERT_OK(bp_net_backward(a, NULL));
        TU_ASSERT_OK(bp_optim_step(opt, 0.1));
    }
    /* the step's copies against copies made from the stepped weights */
    same_forward(a, b, x);
    /* one more step, then a write through the pointer */
    TU_ASSERT_OK(bp_net_forward(a, 2, x, &oa));
    TU_ASSERT_OK(bp_net_loss(a, BP_LOSS_MSE, t, 3, NULL));
    bp_net_zero_grad(a);
    TU_ASSERT_OK(bp_net_backward(a, NULL));
    TU_ASSERT_OK(bp_optim_step(opt, 0.1));
    float *pa = bp_net_params(a);
    for (size_t i = 0; i < P; i++)
        pa[i] *= 0.5f;
    same_forward(a, b, x);
    bp_optim_free(opt);
    bp_net_free(a);
    bp_net_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_layer_against_float),
        cmocka_unit_test(test_units_against_float),
        cmocka_unit_test(test_units_feed),
        cmocka_unit_test(test_input_kept),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_accuracy_band),
        cmocka_unit_test(test_isa_cap),
        cmocka_unit_test(test_builtin_refuses),
        cmocka_unit_test(test_conv_against_float),
        cmocka_unit_test(test_cnn),
        cmocka_unit_test(test_switching),
        cmocka_unit_test(test_step_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
