/*
 * test_gemm.c - the matrix product's paths against its naive twin: the
 * plain loops for tiny products, the built-in blocked kernel, and the
 * build's backend (oneDNN where found), for every transpose, for alpha and
 * beta, across block edges; and the properties the network's threading
 * rests on: the split of a product into row blocks depends on its shape
 * alone, and a product computed in those blocks gives the same bits on 1 or
 * 2 threads. The built-in kernel and the plain loops also give the bits of
 * one call however the rows are split (oneDNN's AVX2 kernels do not).
 */
#include "testutil.h"
#include "internal.h"

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

static void fill(bp_rng *rng, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)bp_rng_normal(rng);
}

/* C from fn against bp__gemm_ref on the same inputs, element by element,
 * relative to the sum of |products| (the scale rounding errors grow with). */
static void check_shape(gemm_fn fn, const char *name, int ta, int tb, int M, int N, int K,
                        float alpha, float beta)
{
    bp_rng rng;
    bp_rng_seed(&rng, (uint64_t)(M * 7919 + N * 31 + K + ta * 2 + tb));
    int lda = ta ? M : K, ldb = tb ? K : N, ldc = N + 3; /* a padded C */
    float *A = tu_xmalloc((size_t)M * K * sizeof *A), *B = tu_xmalloc((size_t)K * N * sizeof *B);
    float *C = tu_xmalloc((size_t)M * ldc * sizeof *C), *R = tu_xmalloc((size_t)M * ldc * sizeof *R);
    fill(&rng, A, (size_t)M * K);
    fill(&rng, B, (size_t)K * N);
    fill(&rng, C, (size_t)M * ldc);
    memcpy(R, C, (size_t)M * ldc * sizeof *R);
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    bp__gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            float c = C[(size_t)i * ldc + j], r = R[(size_t)i * ldc + j];
            if (j >= N) { /* padding is never written */
                if (memcmp(&c, &r, sizeof c) != 0)
                    fail_msg("%s: padding C[%d][%d] changed", name, i, j);
                continue;
            }
            double scale = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                scale += fabs((double)a * b);
            }
            scale = fabs(alpha) * scale + 1.0;
            if (!(fabs((double)c - r) <= 1e-5 * scale))
                fail_msg("%s ta=%d tb=%d %dx%dx%d: C[%d][%d] = %.9g, expected %.9g", name, ta,
                         tb, M, N, K, i, j, c, r);
        }
    }
    free(A);
    free(B);
    free(C);
    free(R);
}

static const int shapes[][3] = {
    {1, 1, 1},    {3, 2, 2},     {4, 1, 3},     {7, 5, 300},  {6, 16, 256}, {13, 17, 257},
    {73, 33, 70}, {128, 10, 128}, {10, 128, 128}, {128, 256, 64}, {61, 300, 513},
};

static void check_all(gemm_fn fn, const char *name)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_shape(fn, name, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f,
                            0.0f);
                check_shape(fn, name, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], -0.5f,
                            1.0f);
                check_shape(fn, name, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 2.0f,
                            0.25f);
            }
}

static void test_builtin(void **state)
{
    (void)state;
    check_all(bp__gemm_builtin, "builtin");
}

/* The build's backend, loaded on first use where it is oneDNN, computes
 * the products: after them it still names itself (a oneDNN that did not
 * load would say "builtin"). */
static void test_backend(void **state)
{
    (void)state;
    assert_string_equal(bp_gemm_backend(), BP_TEST_BACKEND);
    check_all(bp__gemm, BP_TEST_BACKEND);
    assert_string_equal(bp_gemm_backend(), BP_TEST_BACKEND);
}

/* The plain loops, scalar (bp__gemm_small) or four outputs at a time
 * (bp__gemm_rows), give each element exactly this: a float from 0, the
 * products added in k order, then alpha and beta, every operation rounded
 * on its own. */
static void check_plain_bits(gemm_fn fn, const char *name, bp_rng *rng, int ta, int tb, int M,
                             int N, int K, float alpha, float beta)
{
    const int lda = ta ? M : K, ldb = tb ? K : N, ldc = N + 1;
    float *A = tu_xmalloc((size_t)M * K * sizeof *A), *B = tu_xmalloc((size_t)K * N * sizeof *B);
    float *C = tu_xmalloc((size_t)M * ldc * sizeof *C), *R = tu_xmalloc((size_t)M * ldc * sizeof *R);
    fill(rng, A, (size_t)M * K);
    fill(rng, B, (size_t)K * N);
    fill(rng, C, (size_t)M * ldc);
    memcpy(R, C, (size_t)M * ldc * sizeof *R);
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float p = (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                          (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                acc = acc + p;
            }
            float *r = &R[(size_t)i * ldc + j], v = alpha * acc;
            *r = beta == 0.0f ? v : v + beta * *r;
        }
    if (memcmp(C, R, (size_t)M * ldc * sizeof *C) != 0)
        fail_msg("%s ta=%d tb=%d %dx%dx%d alpha %g beta %g: not the bits of the scalar sums", name,
                 ta, tb, M, N, K, alpha, beta);
    free(A);
    free(B);
    free(C);
    free(R);
}

static void test_plain_loops_bits(void **state)
{
    (void)state;
    static const int plain[][3] = {
        {16, 16, 2}, {3, 13, 20}, {40, 9, 1}, {5, 30, 7}, {64, 8, 4}, {2, 2, 2}, {9, 33, 3},
    };
    static const float scales[][2] = {{1.0f, 0.0f}, {-0.5f, 1.0f}, {2.0f, 0.25f}};
    bp_rng rng;
    bp_rng_seed(&rng, 17);
    for (size_t s = 0; s < sizeof plain / sizeof plain[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t a = 0; a < sizeof scales / sizeof scales[0]; a++) {
                const int ta = t & 1, tb = t >> 1, M = plain[s][0], N = plain[s][1];
                const int K = plain[s][2];
                const float alpha = scales[a][0], beta = scales[a][1];
                check_plain_bits(bp__gemm_small, "bp__gemm_small", &rng, ta, tb, M, N, K, alpha,
                                 beta);
                check_plain_bits(bp__gemm_rows, "bp__gemm_rows", &rng, ta, tb, M, N, K, alpha,
                                 beta);
            }
}

/* Zero-sized products touch nothing; K = 0 scales C by beta. */
static void test_empty(void **state)
{
    float C[4] = {1, 2, 3, 4}, A[1] = {5}, B[1] = {6};
    (void)state;
    bp__gemm(0, 0, 0, 2, 2, 1.0f, A, 1, B, 1, 0.0f, C, 2);
    bp__gemm(0, 0, 2, 0, 2, 1.0f, A, 1, B, 1, 0.0f, C, 2);
    TU_ASSERT_EXACT(C[0], 1.0);
    bp__gemm(0, 0, 2, 2, 0, 1.0f, A, 1, B, 1, 0.5f, C, 2);
    TU_ASSERT_EXACT(C[0], 0.5);
    TU_ASSERT_EXACT(C[3], 2.0);
}

/* Rows [m0, m1) of C computed alone equal those rows of the whole product,
 * bit for bit, for any split: true of the built-in kernel and of the plain
 * loops, whose sums do not depend on where a call's rows start. */
static void check_any_split(gemm_fn fn, const char *name, int ta, int tb, int M, int N, int K)
{
    bp_rng rng;
    bp_rng_seed(&rng, 99);
    int lda = ta ? M : K, ldb = tb ? K : N;
    float *A = tu_xmalloc((size_t)M * K * sizeof *A), *B = tu_xmalloc((size_t)K * N * sizeof *B);
    float *C = tu_xmalloc((size_t)M * N * sizeof *C), *P = tu_xmalloc((size_t)M * N * sizeof *P);
    fill(&rng, A, (size_t)M * K);
    fill(&rng, B, (size_t)K * N);
    fn(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    for (int n = 2; n <= M && n <= 8; n++) {
        for (int b = 0; b < n; b++) {
            int m0 = BP__BLOCK_START(M, b, n), m1 = BP__BLOCK_START(M, b + 1, n);
            const float *Ab = ta ? A + m0 : A + (size_t)m0 * lda;
            fn(ta, tb, m1 - m0, N, K, 1.0f, Ab, lda, B, ldb, 0.0f, P + (size_t)m0 * N, N);
        }
        if (memcmp(C, P, (size_t)M * N * sizeof *C) != 0)
            fail_msg("%s ta=%d tb=%d %dx%dx%d: %d row blocks differ from one product", name, ta,
                     tb, M, N, K, n);
    }
    free(A);
    free(B);
    free(C);
    free(P);
}

/* One product split as the network splits it, for bp__for_blocks. */
typedef struct split_job {
    int ta, tb, M, N, K;
    const float *A, *B;
    float *C;
} split_job;

static void split_block(void *ctx, int b, int n)
{
    const split_job *j = ctx;
    int m0 = BP__BLOCK_START(j->M, b, n), m1 = BP__BLOCK_START(j->M, b + 1, n);
    int lda = j->ta ? j->M : j->K, ldb = j->tb ? j->K : j->N;
    const float *Ab = j->ta ? j->A + m0 : j->A + (size_t)m0 * lda;
    bp__gemm(j->ta, j->tb, m1 - m0, j->N, j->K, 1.0f, Ab, lda, j->B, ldb, 0.0f,
             j->C + (size_t)m0 * j->N, j->N);
}

/* The product in bp__blocks's blocks on `threads` threads, into C. */
static int split_product(split_job *j, int threads, float *C)
{
    bp_set_threads(threads);
    const int n = bp__blocks(j->M, (double)j->M * j->N * j->K);
    j->C = C;
    bp__for_blocks(n, n, split_block, j);
    bp_set_threads(0);
    return n;
}

/* The build's backend, split as the network splits it, gives the same bits
 * on 1 and 2 threads and on a repeat run; the shapes are large enough to be
 * split. */
static void check_threads(int ta, int tb, int M, int N, int K)
{
    bp_rng rng;
    bp_rng_seed(&rng, 98);
    float *A = tu_xmalloc((size_t)M * K * sizeof *A), *B = tu_xmalloc((size_t)K * N * sizeof *B);
    float *C1 = tu_xmalloc((size_t)M * N * sizeof *C1), *C2 = tu_xmalloc((size_t)M * N * sizeof *C2);
    float *C3 = tu_xmalloc((size_t)M * N * sizeof *C3);
    fill(&rng, A, (size_t)M * K);
    fill(&rng, B, (size_t)K * N);
    split_job j = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .A = A, .B = B};
    int n = split_product(&j, 1, C1);
    assert_true(n >= 2);
    assert_int_equal(split_product(&j, 2, C2), n);
    split_product(&j, 1, C3);
    if (memcmp(C1, C2, (size_t)M * N * sizeof *C1) != 0)
        fail_msg("%s ta=%d tb=%d %dx%dx%d in %d blocks: 1 and 2 threads differ", bp_gemm_backend(),
                 ta, tb, M, N, K, n);
    if (memcmp(C1, C3, (size_t)M * N * sizeof *C1) != 0)
        fail_msg("%s ta=%d tb=%d %dx%dx%d: a repeat run differs", bp_gemm_backend(), ta, tb, M, N,
                 K);
    free(A);
    free(B);
    free(C1);
    free(C2);
    free(C3);
}

/* The number of blocks depends on the shape alone. */
static void test_split_rule(void **state)
{
    static const struct {
        int rows;
        double work;
        int blocks;
    } cases[] = {
        {128, 128.0 * 256 * 784, 2}, {100, 100.0 * 256 * 784, 2}, {256, 256.0 * 784 * 128, 4},
        {10, 10.0 * 128 * 128, 1},   {128, 1000.0, 1},            {95, 1e7, 1},
        {96, 1e7, 2},                {512, 1e9, 8},               {1 << 20, 1e12, BP__MAX_ROW_BLOCKS},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int threads = 1; threads <= 8; threads *= 2) {
            bp_set_threads(threads);
            int got = bp__blocks(cases[c].rows, cases[c].work);
            bp_set_threads(0);
            if (got != cases[c].blocks)
                fail_msg("%d rows, %g multiply-adds, %d threads: %d blocks, expected %d",
                         cases[c].rows, cases[c].work, threads, got, cases[c].blocks);
        }
    }
}

static void test_row_blocks(void **state)
{
    (void)state;
    /* The products of a 784-256-128-10 network at batch 128 and 100, and
     * a few more. */
    static const int net[][5] = {
        {0, 1, 128, 256, 784}, {0, 1, 128, 128, 256}, {0, 1, 128, 10, 128}, {1, 0, 256, 784, 128},
        {1, 0, 128, 256, 128}, {1, 0, 10, 128, 128},  {0, 0, 128, 256, 128}, {0, 0, 128, 128, 10},
        {0, 1, 100, 256, 784}, {1, 0, 256, 784, 100}, {0, 1, 37, 64, 64},    {0, 0, 200, 100, 30},
    };
    for (size_t s = 0; s < sizeof net / sizeof net[0]; s++) {
        const int ta = net[s][0], tb = net[s][1], M = net[s][2], N = net[s][3], K = net[s][4];
        check_any_split(bp__gemm_builtin, "builtin", ta, tb, M, N, K);
        if (bp__blocks(M, (double)M * N * K) > 1)
            check_threads(ta, tb, M, N, K);
    }
    /* tiny rows take the plain loops on every backend, scalar or in vector
     * rows; so does a weight gradient's form below BP__OUTER_MACS */
    check_any_split(bp__gemm, "tiny", 0, 1, 64, 2, 3);
    check_any_split(bp__gemm, "tiny", 0, 1, 40, 30, 20);
    check_any_split(bp__gemm, "tiny", 0, 0, 40, 30, 20);
    check_any_split(bp__gemm, "tiny", 1, 0, 40, 30, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_split_rule),
        cmocka_unit_test(test_plain_loops_bits),
        cmocka_unit_test(test_row_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
