/*
 * test_conv_dnnl.c - the convolution kind's oneDNN primitives against its
 * built-in im2col path, on padded, strided, multi-channel layers with and
 * without a bias: the forward pass, the filters' and the bias's slopes
 * (fresh, then added) and the input's slope, each within 1e-5 of the
 * largest value of its tensor; the filters' slopes the same bits for any
 * split of the filters; the passes the primitives serve when asked for
 * some. Skipped where oneDNN cannot be loaded.
 */
#include "testutil.h"

#include "nn/conv.h"

typedef struct shape {
    int C, H, W, OUT, K, S, P, bias;
} shape;

static const shape shapes[] = {
    {3, 9, 7, 5, 3, 2, 1, 1},  /* strided, padded, odd filters */
    {1, 8, 8, 4, 3, 1, 1, 0},  /* one channel, same padding, no bias */
    {4, 6, 5, 17, 2, 1, 0, 1}, /* even kernel, filters not in even groups */
    {2, 10, 10, 6, 5, 3, 2, 1},
    {16, 7, 7, 32, 3, 1, 1, 1}, /* channels in a blocked layout's multiples */
};

/* Where oneDNN cannot be loaded there is nothing to compare. */
static void skip_without(const bp__conv_prims *P)
{
    if (!P) {
        print_message("oneDNN's primitives cannot be loaded here: skipped\n");
        skip();
    }
}

static void plan(bp__layer *L, const shape *s)
{
    char msg[256] = "";
    bp_layer_desc d;
    memset(&d, 0, sizeof d);
    d.kind = BP_LAYER_CONV;
    d.width = s->OUT;
    d.act = BP_ACT_IDENTITY;
    d.bias = s->bias;
    d.kernel = s->K;
    d.stride = s->S;
    d.pad = s->P;
    memset(L, 0, sizeof *L);
    L->kind = &bp__kind_conv;
    L->in = (bp_shape){s->C, s->H, s->W};
    L->bias = s->bias;
    if (L->kind->plan(L, &d, msg, sizeof msg) != 0)
        fail_msg("plan refused: %s", msg);
    L->w_off = 0;
    L->b_off = L->n_w;
}

/* |a - e| within 1e-5 of the largest |e|, element by element. */
static void assert_near(const char *what, const float *a, const float *e, size_t n)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fabs(e[i]) > scale ? fabs(e[i]) : scale;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)e[i]) <= 1e-5 * scale))
            fail_msg("%s[%zu] = %.9g, the built-in path gives %.9g (largest %.9g)", what, i,
                     (double)a[i], (double)e[i], scale);
}

/* One layer both ways on B samples. */
static void check_shape(const shape *s, int B)
{
    bp__layer A, D; /* A: built-in, D: the primitives */
    plan(&A, s);
    plan(&D, s);
    bp__conv_prims *P;
    const unsigned all = BP__CONV_FWD | BP__CONV_BWD_D | BP__CONV_BWD_W;
    assert_int_equal(bp__conv_prims_make(&D, all, 0, &P, NULL, 0), 0);
    skip_without(P);
    assert_int_equal(bp__conv_prims_passes(P), all);
    D.prims = P;
    const size_t np = bp__layer_params(&A), I = (size_t)A.I, O = (size_t)A.O;
    float *params = tu_xmalloc(np * sizeof *params);
    float *in = tu_xmalloc((size_t)B * I * sizeof *in), *dz = tu_xmalloc((size_t)B * O * sizeof *dz);
    float *za = tu_xmalloc((size_t)B * O * sizeof *za), *zd = tu_xmalloc((size_t)B * O * sizeof *zd);
    float *ga = tu_xmalloc(np * sizeof *ga), *gd = tu_xmalloc(np * sizeof *gd);
    float *gs = tu_xmalloc(np * sizeof *gs);
    float *da = tu_xmalloc((size_t)B * I * sizeof *da), *dd = tu_xmalloc((size_t)B * I * sizeof *dd);
    float *scratch = tu_xmalloc((size_t)B * A.scratch * sizeof *scratch);
    float *work = tu_xmalloc(A.work * sizeof *work);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    tu_fill_normal(&rng, params, np, 0.5);
    tu_fill_normal(&rng, in, (size_t)B * I, 1.0);
    tu_fill_normal(&rng, dz, (size_t)B * O, 1.0);

    A.kind->forward(&A, params, B, in, za, scratch);
    D.kind->forward(&D, params, B, in, zd, scratch);
    assert_near("z", zd, za, (size_t)B * O);

    /* fresh, then added once more: twice the slopes */
    for (int fresh = 1; fresh >= 0; fresh--) {
        A.kind->grad_params(&A, 0, s->OUT, B, in, scratch, dz, ga, fresh);
        D.kind->grad_params(&D, 0, s->OUT, B, in, scratch, dz, gd, fresh);
        assert_near(fresh ? "grad" : "grad added", gd, ga, np);
    }
    /* any split of the filters gives the same bits */
    for (int u = 1; u < s->OUT; u += s->OUT / 3 + 1) {
        D.kind->grad_params(&D, 0, u, B, in, scratch, dz, gs, 1);
        D.kind->grad_params(&D, u, s->OUT, B, in, scratch, dz, gs, 1);
        D.kind->grad_params(&D, 0, s->OUT, B, in, scratch, dz, gd, 1);
        assert_memory_equal(gs, gd, np * sizeof *gs);
    }

    A.kind->grad_input(&A, params, B, in, scratch, dz, da, work);
    D.kind->grad_input(&D, params, B, in, scratch, dz, dd, work);
    assert_near("din", dd, da, (size_t)B * I);

    D.kind->release(&D);
    assert_null(D.prims);
    free(params), free(in), free(dz), free(za), free(zd), free(ga), free(gd), free(gs);
    free(da), free(dd), free(scratch), free(work);
}

/* 3 samples, and 19: from 16 input channels on, the filters' slopes by
 * calls of 8 samples, then the last 3 one at a time. */
static void test_prims_match_im2col(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check_shape(&shapes[i], 3);
        check_shape(&shapes[i], 19);
    }
}

/* Asked for the forward pass alone, the primitives serve it alone, and the
 * filters' slopes still come from the columns the forward pass kept. */
static void test_some_passes(void **state)
{
    (void)state;
    const shape s = {3, 9, 7, 5, 3, 2, 1, 1};
    bp__layer A, D;
    plan(&A, &s);
    plan(&D, &s);
    bp__conv_prims *P;
    assert_int_equal(bp__conv_prims_make(&D, BP__CONV_FWD, 0, &P, NULL, 0), 0);
    skip_without(P);
    assert_int_equal(bp__conv_prims_passes(P), BP__CONV_FWD);
    D.prims = P;
    const int B = 2;
    const size_t np = bp__layer_params(&A);
    float *params = tu_xmalloc(np * sizeof *params), *ga = tu_xmalloc(np * sizeof *ga);
    float *gd = tu_xmalloc(np * sizeof *gd);
    float *in = tu_xmalloc((size_t)B * A.I * sizeof *in), *dz = tu_xmalloc((size_t)B * A.O * sizeof *dz);
    float *z = tu_xmalloc((size_t)B * A.O * sizeof *z);
    float *sa = tu_xcalloc((size_t)B * A.scratch, sizeof *sa);
    float *sd = tu_xcalloc((size_t)B * A.scratch, sizeof *sd);
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    tu_fill_normal(&rng, params, np, 0.5);
    tu_fill_normal(&rng, in, (size_t)B * A.I, 1.0);
    tu_fill_normal(&rng, dz, (size_t)B * A.O, 1.0);
    A.kind->forward(&A, params, B, in, z, sa);
    D.kind->forward(&D, params, B, in, z, sd);
    assert_memory_equal(sd, sa, (size_t)B * A.scratch * sizeof *sa);
    A.kind->grad_params(&A, 0, s.OUT, B, in, sa, dz, ga, 1);
    D.kind->grad_params(&D, 0, s.OUT, B, in, sd, dz, gd, 1);
    assert_memory_equal(gd, ga, np * sizeof *ga);
    D.kind->release(&D);
    free(params), free(ga), free(gd), free(in), free(dz), free(z), free(sa), free(sd);
}

/* Nothing asked for: nothing made. */
static void test_no_passes(void **state)
{
    (void)state;
    const shape s = {1, 8, 8, 4, 3, 1, 1, 0};
    bp__layer L;
    plan(&L, &s);
    bp__conv_prims *P = (bp__conv_prims *)&L;
    assert_int_equal(bp__conv_prims_make(&L, 0, 0, &P, NULL, 0), 0);
    assert_null(P);
    assert_int_equal(bp__conv_prims_passes(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prims_match_im2col),
        cmocka_unit_test(test_some_passes),
        cmocka_unit_test(test_no_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
