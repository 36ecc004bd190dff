/*
 * test_conv.c - the convolution and pooling layer kinds, called directly
 * through their function table: the float passes against the double
 * twins, the twins against central differences, the weight terms against
 * the twins' slopes, hand-computed examples, max pooling's ties and NaN,
 * the plan's refusals, and the same bits for any split of a batch.
 */
#include "testutil.h"

#include "nn/layer.h"

/* Plan a layer of kind k on input `in` that must be accepted, parameters
 * laid out from 0: weights then bias. */
static void plan_ok(const bp__kind *k, bp__layer *L, bp_shape in, bp_layer_desc d)
{
    char msg[256] = "";
    memset(L, 0, sizeof *L);
    L->kind = k;
    L->in = in;
    L->act = d.act;
    L->bias = d.bias;
    if (k->plan(L, &d, msg, sizeof msg) != 0)
        fail_msg("plan of %s on %dx%dx%d refused: %s", k->word, in.c, in.h, in.w, msg);
    L->w_off = 0;
    L->b_off = L->n_w;
}

/* The plan must refuse, with a message containing `piece`. */
static void plan_refuses(const bp__kind *k, bp_shape in, bp_layer_desc d, const char *piece)
{
    char msg[256] = "";
    bp__layer L;
    memset(&L, 0, sizeof L);
    L.kind = k;
    L.in = in;
    if (k->plan(&L, &d, msg, sizeof msg) != -1)
        fail_msg("plan of %s on %dx%dx%d accepted, expected '%s'", k->word, in.c, in.h, in.w,
                 piece);
    if (!strstr(msg, piece))
        fail_msg("message '%s' lacks '%s'", msg, piece);
}

static bp_layer_desc conv_desc(int width, int k, int stride, int pad, int bias)
{
    bp_layer_desc d;
    memset(&d, 0, sizeof d);
    d.kind = BP_LAYER_CONV;
    d.width = width;
    d.act = BP_ACT_IDENTITY;
    d.bias = bias;
    d.kernel = k;
    d.stride = stride;
    d.pad = pad;
    return d;
}

static bp_layer_desc pool_desc(bp_layer_kind kind, int k, int stride)
{
    bp_layer_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.kernel = k;
    d.stride = stride;
    return d;
}

static double *to_double(const float *v, size_t n)
{
    double *d = tu_xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* dz . forward_d(p, x): the scalar whose slopes backward_d gives. */
static double dot_forward(const bp__layer *L, const double *p, const double *x,
                          const double *dz, double *z)
{
    double s = 0.0;
    L->kind->forward_d(L, p, x, z);
    for (int o = 0; o < L->O; o++)
        s += z[o] * dz[o];
    return s;
}

/* Central differences of dz . forward_d against backward_d's slopes of the
 * parameters (when n_p > 0) and of the input, for one sample. */
static void check_differences(const bp__layer *L, double *p, double *x, const double *dz,
                              const double *g, const double *dx, double h)
{
    const size_t np = bp__layer_params(L);
    double *z = tu_xmalloc((size_t)L->O * sizeof *z);
    double scale = fmax(max_abs(g, np), max_abs(dx, (size_t)L->I));
    for (size_t i = 0; i < np + (size_t)L->I; i++) {
        double *v = i < np ? &p[L->w_off + i] : &x[i - np];
        const double keep = *v, want = i < np ? g[i] : dx[i - np];
        *v = keep + h;
        const double up = dot_forward(L, p, x, dz, z);
        *v = keep - h;
        const double down = dot_forward(L, p, x, dz, z);
        *v = keep;
        TU_ASSERT_CLOSE((up - down) / (2.0 * h), want, 1e-6, 1e-9 * scale);
    }
    free(z);
}

/* The float passes of any kind on B samples against its double twins:
 * forward, the parameter slopes (fresh, then added) and the input slopes,
 * within tol of the largest value of each (max pooling adds the slopes of
 * overlapping windows in float). */
static void check_float_passes(const bp__layer *L, int B, bp_rng *rng, double tol)
{
    const size_t np = bp__layer_params(L), I = (size_t)L->I, O = (size_t)L->O;
    float *params = tu_xmalloc((np ? np : 1) * sizeof *params);
    float *grads = tu_xmalloc((np ? np : 1) * sizeof *grads);
    float *in = tu_xmalloc((size_t)B * I * sizeof *in);         /* (B, I) */
    float *z = tu_xmalloc((size_t)B * O * sizeof *z);           /* (B, O) */
    float *dz = tu_xmalloc((size_t)B * O * sizeof *dz);         /* (B, O) */
    float *din = tu_xmalloc((size_t)B * I * sizeof *din);       /* (B, I) */
    float *scratch = tu_xmalloc(((size_t)B * L->scratch + 1) * sizeof *scratch);
    double *gsum = tu_xcalloc(np ? np : 1, sizeof *gsum);
    double *g = tu_xmalloc((np ? np : 1) * sizeof *g);
    double *zd = tu_xmalloc(O * sizeof *zd), *dxd = tu_xmalloc(I * sizeof *dxd);
    tu_fill_normal(rng, params, np, 0.5);
    tu_fill_normal(rng, in, (size_t)B * I, 1.0);
    tu_fill_normal(rng, dz, (size_t)B * O, 1.0);
    double *pd = to_double(params, np);

    L->kind->forward(L, params, B, in, z, scratch);
    if (L->kind->grad_params)
        L->kind->grad_params(L, 0, L->out.c, B, in, scratch, dz, grads, 1);
    float *work = tu_xmalloc((L->work + 1) * sizeof *work);
    L->kind->grad_input(L, params, B, in, scratch, dz, din, work);
    free(work);
    for (int b = 0; b < B; b++) {
        double *x = to_double(in + (size_t)b * I, I);
        double *d = to_double(dz + (size_t)b * O, O);
        L->kind->forward_d(L, pd, x, zd);
        const double zs = max_abs(zd, O);
        for (size_t o = 0; o < O; o++)
            TU_ASSERT_CLOSE(z[(size_t)b * O + o], zd[o], tol, tol * zs);
        L->kind->backward_d(L, pd, x, d, np ? g : NULL, dxd);
        const double ds = max_abs(dxd, I);
        for (size_t i = 0; i < I; i++)
            TU_ASSERT_CLOSE(din[(size_t)b * I + i], dxd[i], tol, tol * ds);
        for (size_t i = 0; i < np; i++)
            gsum[i] += g[i];
        free(d);
        free(x);
    }
    const double gs = max_abs(gsum, np);
    for (size_t i = 0; i < np; i++)
        TU_ASSERT_CLOSE(grads[i], gsum[i], tol, tol * gs);
    if (L->kind->grad_params) { /* not fresh: added to what is there */
        L->kind->grad_params(L, 0, L->out.c, B, in, scratch, dz, grads, 0);
        for (size_t i = 0; i < np; i++)
            TU_ASSERT_CLOSE(grads[i], 2.0 * gsum[i], tol, 2.0 * tol * gs);
    }
    free(dxd);
    free(zd);
    free(g);
    free(gsum);
    free(pd);
    free(scratch);
    free(din);
    free(dz);
    free(z);
    free(in);
    free(grads);
    free(params);
}

/* One sample in double: backward_d against central differences, and each
 * weight's terms against its slope. */
static void check_double_passes(const bp__layer *L, bp_rng *rng, int distinct)
{
    const size_t np = bp__layer_params(L), I = (size_t)L->I, O = (size_t)L->O;
    double *p = tu_xmalloc((np ? np : 1) * sizeof *p);
    double *x = tu_xmalloc(I * sizeof *x), *dz = tu_xmalloc(O * sizeof *dz);
    double *g = tu_xmalloc((np ? np : 1) * sizeof *g), *dx = tu_xmalloc(I * sizeof *dx);
    for (size_t i = 0; i < np; i++)
        p[i] = 0.5 * bp_rng_normal(rng);
    for (size_t i = 0; i < O; i++)
        dz[i] = bp_rng_normal(rng);
    /* For max pooling, values a tenth apart, so no step crosses a tie. */
    for (size_t i = 0; i < I; i++)
        x[i] = distinct ? 0.1 * (double)((i * 7919u) % I) - 0.05 * (double)I
                        : bp_rng_normal(rng);
    L->kind->backward_d(L, p, x, dz, np ? g : NULL, dx);
    check_differences(L, p, x, dz, g, dx, distinct ? 1e-4 : 1e-3);

    if (L->kind->weight_terms) {
        const size_t max = (size_t)L->out.h * (size_t)L->out.w;
        size_t *io = tu_xmalloc((2 * max + 2) * sizeof *io);
        for (size_t w = 0; w < L->n_w; w++) {
            const size_t n = L->kind->weight_terms(L, w, max, io);
            double s = 0.0;
            assert_true(n <= max);
            for (size_t j = 0; j < n; j++) {
                assert_true(io[2 * j] < I);
                assert_true(io[2 * j + 1] < O);
                s += x[io[2 * j]] * dz[io[2 * j + 1]];
            }
            TU_ASSERT_CLOSE(s, g[w], 1e-12, 1e-12);
            /* Asked for one pair, it writes one and still counts them all. */
            io[2] = io[3] = (size_t)-1;
            assert_int_equal(L->kind->weight_terms(L, w, 1, io), n);
            if (n > 0)
                assert_true(io[2] == (size_t)-1 && io[3] == (size_t)-1);
        }
        free(io);
    }
    free(dx);
    free(g);
    free(dz);
    free(x);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Convolution                                                               */
/* ------------------------------------------------------------------------ */

typedef struct conv_case {
    int C, H, W, OUT, K, S, P, bias;
} conv_case;

static const conv_case CASES[] = {
    {1, 5, 4, 2, 3, 1, 0, 1},           {2, 6, 7, 3, 1, 1, 0, 0},
    {3, 7, 5, 2, 2, 2, 1, 1},           {2, 8, 9, 4, 3, 1, BP_PAD_SAME, 1},
    {1, 9, 6, 1, 5, 3, 1, 0},           {3, 5, 5, 2, 5, 1, BP_PAD_SAME, 0},
    {2, 4, 6, 3, 3, 2, 0, 1},           {3, 6, 5, 2, 3, 3, 1, 1},
    {1, 3, 3, 1, 3, 1, 0, 0},           /* one output position */
    {8, 16, 16, 16, 3, 1, BP_PAD_SAME, 1}, /* products past the plain loops */
    {1000, 3, 3, 2, 3, 1, 0, 1},        /* long columns (C = 1000) */
};

static void test_conv_geometries(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 7);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const conv_case *k = &CASES[c];
        const int P = k->P == BP_PAD_SAME ? (k->K - 1) / 2 : k->P;
        const int Ho = (k->H + 2 * P - k->K) / k->S + 1, Wo = (k->W + 2 * P - k->K) / k->S + 1;
        bp__layer L;
        plan_ok(&bp__kind_conv, &L, (bp_shape){k->C, k->H, k->W},
                conv_desc(k->OUT, k->K, k->S, k->P, k->bias));
        assert_int_equal(L.out.c, k->OUT);
        assert_int_equal(L.out.h, Ho);
        assert_int_equal(L.out.w, Wo);
        assert_int_equal(L.I, k->C * k->H * k->W);
        assert_int_equal(L.O, k->OUT * Ho * Wo);
        assert_int_equal(L.pad, P);
        assert_int_equal(L.stride, k->S);
        assert_int_equal(L.n_w, (size_t)k->OUT * k->C * k->K * k->K);
        assert_int_equal(L.n_b, k->bias ? (size_t)k->OUT : 0);
        assert_int_equal(L.w_rank, 4);
        assert_int_equal(L.w_dims[0], k->OUT);
        assert_int_equal(L.w_dims[1], k->C);
        assert_int_equal(L.w_dims[2], k->K);
        assert_int_equal(L.w_dims[3], k->K);
        TU_ASSERT_EXACT(L.fan_in, k->C * k->K * k->K);
        TU_ASSERT_EXACT(L.fan_out, k->OUT * k->K * k->K);
        assert_int_equal(L.scratch, (size_t)Ho * Wo * k->C * k->K * k->K);
        TU_ASSERT_EXACT(L.macs, (double)k->OUT * Ho * Wo * k->C * k->K * k->K);
        check_float_passes(&L, 1, &rng, 1e-5);
        check_float_passes(&L, 3, &rng, 1e-5);
        if (k->C < 100)
            check_double_passes(&L, &rng, 0);
    }
}

/* Stride 0 means 1; "same" keeps H x W. */
static void test_conv_defaults(void **state)
{
    bp__layer L;
    (void)state;
    plan_ok(&bp__kind_conv, &L, (bp_shape){2, 9, 4}, conv_desc(3, 5, 0, BP_PAD_SAME, 0));
    assert_int_equal(L.stride, 1);
    assert_int_equal(L.pad, 2);
    assert_int_equal(L.out.h, 9);
    assert_int_equal(L.out.w, 4);
    assert_int_equal(L.n_b, 0);
}

/* A 2x3x3 input, one 2x2 filter with a bias; every number worked by hand. */
static void test_conv_by_hand(void **state)
{
    bp__layer L;
    const float params[9] = {1, 0, 0, -1, /* channel 0 */ 2, 1, 0, 1, /* channel 1 */ 0.5f};
    const float in[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, /* */ 1, 0, -1, 0, 2, 0, -1, 0, 1};
    const float dz[4] = {1, -1, 2, 0.5f};
    const float want_z[4] = {0.5f, -4.5f, -1.5f, 1.5f};
    const float want_g[9] = {9.5f, 12, 17, 19.5f, 2, 5, -4, 2.5f, 2.5f};
    const float want_din[18] = {1, -1, 0, 2, -0.5f, 1, 0, -2, -0.5f,
                                2, -1, -1, 4, 4, -0.5f, 0, 2, 0.5f};
    float z[4], scratch[4 * 8], grads[9], din[18];
    size_t io[8];
    (void)state;
    plan_ok(&bp__kind_conv, &L, (bp_shape){2, 3, 3}, conv_desc(1, 2, 1, 0, 1));
    assert_int_equal(L.scratch, 4 * 8);
    bp__kind_conv.forward(&L, params, 1, in, z, scratch);
    for (int i = 0; i < 4; i++)
        TU_ASSERT_EXACT(z[i], want_z[i]);
    bp__kind_conv.grad_params(&L, 0, 1, 1, in, scratch, dz, grads, 1);
    for (int i = 0; i < 9; i++)
        TU_ASSERT_EXACT(grads[i], want_g[i]);
    float work[4 * 8];
    assert_int_equal(L.work, 4 * 8);
    bp__kind_conv.grad_input(&L, params, 1, in, scratch, dz, din, work);
    for (int i = 0; i < 18; i++)
        TU_ASSERT_EXACT(din[i], want_din[i]);
    /* Weight (0, 1, 1, 0) meets inputs (1, 1, 0), (1, 1, 1), (1, 2, 0),
     * (1, 2, 1) at outputs 0, 1, 2, 3. */
    assert_int_equal(bp__kind_conv.weight_terms(&L, 6, 4, io), 4);
    const size_t want_io[8] = {12, 0, 13, 1, 15, 2, 16, 3};
    for (int i = 0; i < 8; i++)
        assert_int_equal(io[i], want_io[i]);
}

/* With padding, a corner weight meets fewer inputs: a 1x2x2 input padded
 * by 1 under a 3x3 filter gives 2x2 outputs, and weight (0, 0) lies on a
 * real input only at output (1, 1), on input (0, 0). */
static void test_conv_padding_terms(void **state)
{
    bp__layer L;
    size_t io[8];
    (void)state;
    plan_ok(&bp__kind_conv, &L, (bp_shape){1, 2, 2}, conv_desc(1, 3, 1, 1, 0));
    assert_int_equal(L.out.h, 2);
    assert_int_equal(bp__kind_conv.weight_terms(&L, 0, 4, io), 1);
    assert_int_equal(io[0], 0);
    assert_int_equal(io[1], 3);
    /* The centre weight meets every input, each at its own output. */
    assert_int_equal(bp__kind_conv.weight_terms(&L, 4, 4, io), 4);
    for (size_t j = 0; j < 4; j++) {
        assert_int_equal(io[2 * j], j);
        assert_int_equal(io[2 * j + 1], j);
    }
}

static void test_conv_plan_errors(void **state)
{
    (void)state;
    plan_refuses(&bp__kind_conv, (bp_shape){128, 0, 0}, conv_desc(4, 3, 1, 0, 1),
                 "needs a CxHxW input, gets a flat vector of 128");
    plan_refuses(&bp__kind_conv, (bp_shape){64, 2, 2}, conv_desc(4, 3, 1, 0, 1),
                 "gets 64x2x2; a 3x3 kernel needs at least 3x3");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 1, 1}, conv_desc(4, 5, 1, 1, 1),
                 "gets 1x1x1, 3x3 with padding 1; a 5x5 kernel needs at least 5x5");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(4, 0, 1, 0, 1),
                 "needs a kernel of at least 1, gets 0");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(4, -3, 1, 0, 1),
                 "needs a kernel of at least 1, gets -3");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(4, 3, -1, 0, 1),
                 "needs a stride of at least 1, gets -1");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(4, 3, 1, -2, 1),
                 "needs a padding of at least 0 (or same), gets -2");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(4, 2, 1, BP_PAD_SAME, 1),
                 "cannot pad the same with an even kernel (2)");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(0, 3, 1, 0, 1),
                 "needs at least 1 filter, gets 0");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 50000, 50000}, conv_desc(1, 3, 1, 0, 1),
                 "is too large");
    plan_refuses(&bp__kind_conv, (bp_shape){1, 8, 8}, conv_desc(1, 3, 1, 2000000000, 1),
                 "is too large");
    plan_refuses(&bp__kind_conv, (bp_shape){1 << 30, 1, 1}, conv_desc(1 << 30, 1, 1, 0, 0),
                 "has too many parameters: 1073741824 filters of 1073741824 weights");
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

static void test_pool_geometries(void **state)
{
    static const int G[][5] = {/* C, H, W, K, S */
                               {1, 4, 6, 2, 0}, {3, 7, 5, 3, 2}, {2, 6, 9, 2, 1},
                               {2, 5, 5, 5, 0}, {1, 9, 7, 3, 3}, {3, 8, 8, 1, 2},
                               {2, 5, 7, 2, 0}, {3, 6, 4, 2, 2}};
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 11);
    for (size_t c = 0; c < sizeof G / sizeof G[0]; c++) {
        for (int max = 0; max < 2; max++) {
            const bp__kind *k = max ? &bp__kind_maxpool : &bp__kind_avgpool;
            const int S = G[c][4] ? G[c][4] : G[c][3];
            const int Ho = (G[c][1] - G[c][3]) / S + 1, Wo = (G[c][2] - G[c][3]) / S + 1;
            bp__layer L;
            plan_ok(k, &L, (bp_shape){G[c][0], G[c][1], G[c][2]},
                    pool_desc(k->id, G[c][3], G[c][4]));
            assert_int_equal(L.out.c, G[c][0]);
            assert_int_equal(L.out.h, Ho);
            assert_int_equal(L.out.w, Wo);
            assert_int_equal(L.stride, S);
            assert_int_equal(L.O, G[c][0] * Ho * Wo);
            assert_int_equal(L.n_w + L.n_b, 0);
            assert_int_equal(L.w_rank, 0);
            assert_int_equal(L.scratch, 0);
            assert_null(k->grad_params);
            assert_null(k->weight_terms);
            check_float_passes(&L, 1, &rng, 1e-6);
            check_float_passes(&L, 3, &rng, 1e-6);
            check_double_passes(&L, &rng, max);
        }
    }
}

/* Run a 1-sample max pool on `in`, returning the output and the input slope
 * for dz, through the float passes and checked against the double twins. */
static void maxpool_run(bp_shape shape, int k, int s, const float *in, const float *dz,
                        float *z, float *din)
{
    bp__layer L;
    float scratch[16];
    double x[16], d[16], zd[16], dxd[16];
    plan_ok(&bp__kind_maxpool, &L, shape, pool_desc(BP_LAYER_MAXPOOL, k, s));
    assert_true(L.scratch <= 16 && L.I <= 16);
    bp__kind_maxpool.forward(&L, NULL, 1, in, z, scratch);
    bp__kind_maxpool.grad_input(&L, NULL, 1, in, scratch, dz, din, NULL);
    for (int i = 0; i < L.I; i++)
        x[i] = in[i];
    for (int o = 0; o < L.O; o++)
        d[o] = dz[o];
    bp__kind_maxpool.forward_d(&L, NULL, x, zd);
    bp__kind_maxpool.backward_d(&L, NULL, x, d, NULL, dxd);
    for (int o = 0; o < L.O; o++) {
        if (isnan(zd[o]))
            assert_true(isnan(z[o]));
        else
            TU_ASSERT_EXACT(z[o], zd[o]);
    }
    for (int i = 0; i < L.I; i++)
        TU_ASSERT_EXACT(din[i], dxd[i]);
}

static void test_maxpool_ties_and_nan(void **state)
{
    float z[4], din[16];
    (void)state;
    { /* ties: the first maximum in row-major window order */
        const float in[8] = {1, 3, 3, 0, 3, 2, 1, 1}, dz[2] = {1, 2};
        const float want[8] = {0, 1, 2, 0, 0, 0, 0, 0};
        maxpool_run((bp_shape){1, 2, 4}, 2, 0, in, dz, z, din);
        TU_ASSERT_EXACT(z[0], 3);
        TU_ASSERT_EXACT(z[1], 3);
        for (int i = 0; i < 8; i++)
            TU_ASSERT_EXACT(din[i], want[i]);
    }
    { /* overlapping windows that pick the same input add their slopes */
        const float in[6] = {0, 5, 0, 1, 2, 1}, dz[2] = {1, 2};
        maxpool_run((bp_shape){1, 2, 3}, 2, 1, in, dz, z, din);
        TU_ASSERT_EXACT(z[0], 5);
        TU_ASSERT_EXACT(z[1], 5);
        for (int i = 0; i < 6; i++)
            TU_ASSERT_EXACT(din[i], i == 1 ? 3 : 0);
    }
    { /* NaN counts as the maximum */
        const float in[4] = {1, NAN, 5, 2}, dz[1] = {4};
        maxpool_run((bp_shape){1, 2, 2}, 2, 0, in, dz, z, din);
        assert_true(isnan(z[0]));
        for (int i = 0; i < 4; i++)
            TU_ASSERT_EXACT(din[i], i == 1 ? 4 : 0);
    }
    { /* of several NaN, the last takes the slope, as PyTorch's CPU rule */
        const float in[4] = {NAN, 7, NAN, 2}, dz[1] = {4};
        maxpool_run((bp_shape){1, 2, 2}, 2, 0, in, dz, z, din);
        assert_true(isnan(z[0]));
        for (int i = 0; i < 4; i++)
            TU_ASSERT_EXACT(din[i], i == 2 ? 4 : 0);
    }
    { /* a window of -inf: the first input */
        const float in[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, dz[1] = {4};
        maxpool_run((bp_shape){1, 2, 2}, 2, 0, in, dz, z, din);
        TU_ASSERT_EXACT(z[0], -INFINITY);
        for (int i = 0; i < 4; i++)
            TU_ASSERT_EXACT(din[i], i == 0 ? 4 : 0);
    }
}

/* The 2x2, stride-2 pooling runs four windows at a time with a tree of
 * selects: on rows of every length around the vector's width (the tail
 * taken again or padded), odd sizes that leave a row or column out, and
 * data full of ties and NaN, it picks exactly what the double twin's
 * window order picks. */
static void test_maxpool_pairs_match_reference(void **state)
{
    enum { B = 3, MAXI = 2 * 11 * 23 };
    static const float vals[6] = {0.0f, 1.0f, 2.0f, -1.0f, NAN, -INFINITY};
    float in[B * MAXI], dz[B * MAXI], z[B * MAXI], din[B * MAXI];
    double x[MAXI], d[MAXI], zd[MAXI], dxd[MAXI];
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 5);
    for (int h = 2; h <= 11; h += 3)
        for (int w = 2; w <= 23; w++) {
            bp__layer L;
            plan_ok(&bp__kind_maxpool, &L, (bp_shape){2, h, w}, pool_desc(BP_LAYER_MAXPOOL, 2, 0));
            for (int i = 0; i < B * L.I; i++) /* mostly ties, a NaN in about 1 of 12 */
                in[i] = vals[bp_rng_uniform(&rng) < 0.08 ? 4 : (int)(bp_rng_uniform(&rng) * 4) +
                                                                   (bp_rng_uniform(&rng) < 0.05)];
            for (int o = 0; o < B * L.O; o++)
                dz[o] = (float)(o + 1);
            for (int i = 0; i < B * L.I; i++)
                din[i] = -7.0f; /* every input must be written */
            bp__kind_maxpool.forward(&L, NULL, B, in, z, NULL);
            bp__kind_maxpool.grad_input(&L, NULL, B, in, NULL, dz, din, NULL);
            for (int b = 0; b < B; b++) {
                for (int i = 0; i < L.I; i++)
                    x[i] = in[b * L.I + i];
                for (int o = 0; o < L.O; o++)
                    d[o] = dz[b * L.O + o];
                bp__kind_maxpool.forward_d(&L, NULL, x, zd);
                bp__kind_maxpool.backward_d(&L, NULL, x, d, NULL, dxd);
                for (int o = 0; o < L.O; o++) {
                    if (isnan(zd[o]))
                        assert_true(isnan(z[b * L.O + o]));
                    else
                        TU_ASSERT_EXACT(z[b * L.O + o], zd[o]);
                }
                for (int i = 0; i < L.I; i++)
                    TU_ASSERT_EXACT(din[b * L.I + i], dxd[i]);
            }
        }
}

static void test_avgpool_by_hand(void **state)
{
    bp__layer L;
    const float in[16] = {1, 2, 3, 4, 5, 6, 7, 8, /* channel 1 */ 0, 0, 4, 4, 8, 8, 2, -2};
    const float dz[4] = {4, 8, -4, 1};
    const float want_din[16] = {1, 1, 2, 2, 1, 1, 2, 2, -1, -1, 0.25f, 0.25f, -1, -1,
                                0.25f, 0.25f};
    float z[4], din[16];
    (void)state;
    plan_ok(&bp__kind_avgpool, &L, (bp_shape){2, 2, 4}, pool_desc(BP_LAYER_AVGPOOL, 2, 0));
    assert_int_equal(L.O, 4);
    bp__kind_avgpool.forward(&L, NULL, 1, in, z, NULL);
    TU_ASSERT_EXACT(z[0], 3.5);
    TU_ASSERT_EXACT(z[1], 5.5);
    TU_ASSERT_EXACT(z[2], 4);
    TU_ASSERT_EXACT(z[3], 2);
    bp__kind_avgpool.grad_input(&L, NULL, 1, in, NULL, dz, din, NULL);
    for (int i = 0; i < 16; i++)
        TU_ASSERT_EXACT(din[i], want_din[i]);
}

static void test_pool_plan_errors(void **state)
{
    bp_layer_desc d = pool_desc(BP_LAYER_MAXPOOL, 2, 0);
    (void)state;
    for (int max = 0; max < 2; max++) {
        const bp__kind *k = max ? &bp__kind_maxpool : &bp__kind_avgpool;
        plan_refuses(k, (bp_shape){128, 0, 0}, pool_desc(k->id, 2, 0),
                     "needs a CxHxW input, gets a flat vector of 128");
        plan_refuses(k, (bp_shape){64, 2, 2}, pool_desc(k->id, 3, 0),
                     "gets 64x2x2; a 3x3 kernel needs at least 3x3");
        plan_refuses(k, (bp_shape){64, 8, 8}, pool_desc(k->id, 0, 0),
                     "needs a kernel of at least 1, gets 0");
        plan_refuses(k, (bp_shape){64, 8, 8}, pool_desc(k->id, 2, -2),
                     "needs a stride of at least 1, gets -2");
        plan_refuses(k, (bp_shape){1, 50000, 50000}, pool_desc(k->id, 2, 0), "is too large");
    }
    d.pad = 1;
    plan_refuses(&bp__kind_maxpool, (bp_shape){1, 8, 8}, d, "takes no padding, gets 1");
}

/* ------------------------------------------------------------------------ */
/* Splitting a batch                                                         */
/* ------------------------------------------------------------------------ */

/* forward and grad_input on rows [0, 1) + [1, 3) give the bits of [0, 3);
 * grad_params on filters [0, 2) + [2, 4) the bits of [0, 4). */
static void check_split(const bp__layer *L, bp_rng *rng)
{
    enum { B = 3 };
    const size_t np = bp__layer_params(L), I = (size_t)L->I, O = (size_t)L->O;
    const size_t S = L->scratch;
    float *params = tu_xmalloc((np ? np : 1) * sizeof *params);
    float *in = tu_xmalloc(B * I * sizeof *in), *dz = tu_xmalloc(B * O * sizeof *dz);
    float *z1 = tu_xmalloc(B * O * sizeof *z1), *z2 = tu_xmalloc(B * O * sizeof *z2);
    float *s1 = tu_xcalloc(B * S + 1, sizeof *s1), *s2 = tu_xcalloc(B * S + 1, sizeof *s2);
    float *d1 = tu_xmalloc(B * I * sizeof *d1), *d2 = tu_xmalloc(B * I * sizeof *d2);
    float *g1 = tu_xmalloc((np ? np : 1) * sizeof *g1);
    float *g2 = tu_xmalloc((np ? np : 1) * sizeof *g2);
    tu_fill_normal(rng, params, np, 0.5);
    tu_fill_normal(rng, in, B * I, 1.0);
    tu_fill_normal(rng, dz, B * O, 1.0);

    L->kind->forward(L, params, B, in, z1, s1);
    L->kind->forward(L, params, 1, in, z2, s2);
    L->kind->forward(L, params, B - 1, in + I, z2 + O, s2 + S);
    assert_memory_equal(z1, z2, B * O * sizeof *z1);
    assert_memory_equal(s1, s2, B * S * sizeof *s1);

    float *work = tu_xmalloc((L->work + 1) * sizeof *work);
    L->kind->grad_input(L, params, B, in, s1, dz, d1, work);
    L->kind->grad_input(L, params, 1, in, s1, dz, d2, work);
    L->kind->grad_input(L, params, B - 1, in + I, s1 + S, dz + O, d2 + I, work);
    free(work);
    assert_memory_equal(d1, d2, B * I * sizeof *d1);

    if (L->kind->grad_params) {
        assert_int_equal(L->out.c, 4);
        L->kind->grad_params(L, 0, 4, B, in, s1, dz, g1, 1);
        L->kind->grad_params(L, 0, 2, B, in, s1, dz, g2, 1);
        L->kind->grad_params(L, 2, 4, B, in, s1, dz, g2, 1);
        assert_memory_equal(g1, g2, np * sizeof *g1);
        L->kind->grad_params(L, 0, 4, B, in, s1, dz, g1, 0);
        L->kind->grad_params(L, 2, 4, B, in, s1, dz, g2, 0);
        L->kind->grad_params(L, 0, 2, B, in, s1, dz, g2, 0);
        assert_memory_equal(g1, g2, np * sizeof *g1);
    }
    free(g2);
    free(g1);
    free(d2);
    free(d1);
    free(s2);
    free(s1);
    free(z2);
    free(z1);
    free(dz);
    free(in);
    free(params);
}

static void test_split_batches(void **state)
{
    bp_rng rng;
    bp__layer L;
    (void)state;
    bp_rng_seed(&rng, 5);
    plan_ok(&bp__kind_conv, &L, (bp_shape){3, 7, 6}, conv_desc(4, 3, 2, 1, 1));
    check_split(&L, &rng);
    plan_ok(&bp__kind_conv, &L, (bp_shape){3, 12, 10}, conv_desc(4, 3, 1, BP_PAD_SAME, 1));
    check_split(&L, &rng);
    plan_ok(&bp__kind_conv, &L, (bp_shape){100, 16, 16}, conv_desc(4, 3, 1, BP_PAD_SAME, 0));
    check_split(&L, &rng);
    plan_ok(&bp__kind_maxpool, &L, (bp_shape){2, 6, 7}, pool_desc(BP_LAYER_MAXPOOL, 2, 1));
    check_split(&L, &rng);
    plan_ok(&bp__kind_avgpool, &L, (bp_shape){2, 6, 7}, pool_desc(BP_LAYER_AVGPOOL, 3, 2));
    check_split(&L, &rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_geometries),
        cmocka_unit_test(test_conv_defaults),
        cmocka_unit_test(test_conv_by_hand),
        cmocka_unit_test(test_conv_padding_terms),
        cmocka_unit_test(test_conv_plan_errors),
        cmocka_unit_test(test_pool_geometries),
        cmocka_unit_test(test_maxpool_ties_and_nan),
        cmocka_unit_test(test_maxpool_pairs_match_reference),
        cmocka_unit_test(test_avgpool_by_hand),
        cmocka_unit_test(test_pool_plan_errors),
        cmocka_unit_test(test_split_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
