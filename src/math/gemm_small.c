/*
 * gemm_small.c - the plain loops that compute products with rows of fewer
 * than BP__TINY_ROW_MACS multiply-adds, such as the lessons' networks'.
 *
 * This file is compiled without vectorization: each loop runs a handful of
 * times, so vectorizing them (prologues, epilogues, gathers across j)
 * costs more than it saves. Rows of 8 or more outputs (bp__gemm_rows) are
 * the exception, written with explicit four-float vectors.
 */
#include "internal.h"

#include <string.h>

/* C = alpha op(A) op(B) + beta C, each element's products summed in k
 * order in a float that starts at 0. For products this small (the lessons'
 * networks, a 2-input layer) the arithmetic is a few dozen operations, so
 * the loops stay scalar: no set-up, no packing, no vector prologue. The
 * body is inlined once per depth up to 4 and per beta == 0, with the depth
 * a constant: a depth-2 sum is then two multiply-adds with no loop around
 * them, in the same order as the general loop's. */
static inline __attribute__((always_inline)) void
small_loops(int M, int N, int K, float alpha, const float *A, size_t as_i, size_t as_k,
            const float *B, size_t bs_k, size_t bs_j, int zero_beta, float beta, float *C,
            int ldc)
{
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * as_i;
        float *c = C + (size_t)i * (size_t)ldc;
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * bs_j;
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc += a[(size_t)k * as_k] * b[(size_t)k * bs_k];
            c[j] = zero_beta ? alpha * acc : alpha * acc + beta * c[j];
        }
    }
}

/* Four outputs of a row at once, for long products (many rows of short
 * ones: a weight gradient at batch 1, a 2-input layer over a whole data
 * set). Each lane does what small_loops does for its element: a float
 * from 0, the products added in k order, then the same alpha and beta,
 * each operation rounded on its own (no fused multiply-add: this file is
 * ISO C, which does not contract), so the bits are the same. op(B) comes
 * as K rows of N floats, Bk[k * ldk + j]. */
typedef float v4f __attribute__((vector_size(4 * sizeof(float))));

static void vector_loops(int M, int N, int K, float alpha, const float *A, size_t as_i,
                         size_t as_k, const float *Bk, size_t ldk, int zero_beta, float beta,
                         float *C, int ldc)
{
    const int N4 = N & ~3;
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * as_i;
        float *c = C + (size_t)i * (size_t)ldc;
        for (int j = 0; j < N4; j += 4) {
            v4f acc = {0.0f, 0.0f, 0.0f, 0.0f}, b, v;
            for (int k = 0; k < K; k++) {
                memcpy(&b, Bk + (size_t)k * ldk + (size_t)j, sizeof b);
                acc += a[(size_t)k * as_k] * b;
            }
            v = alpha * acc;
            if (!zero_beta) {
                memcpy(&b, c + j, sizeof b);
                v += beta * b;
            }
            memcpy(c + j, &v, sizeof v);
        }
        for (int j = N4; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc += a[(size_t)k * as_k] * Bk[(size_t)k * ldk + (size_t)j];
            c[j] = zero_beta ? alpha * acc : alpha * acc + beta * c[j];
        }
    }
}

void bp__gemm_small(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    const size_t as_i = ta ? 1 : (size_t)lda, as_k = ta ? (size_t)lda : 1;
    const size_t bs_k = tb ? 1 : (size_t)ldb, bs_j = tb ? (size_t)ldb : 1;
#define SMALL_CASE(depth)                                                                    \
    do {                                                                                     \
        if (beta == 0.0f)                                                                    \
            small_loops(M, N, depth, alpha, A, as_i, as_k, B, bs_k, bs_j, 1, beta, C, ldc);  \
        else                                                                                 \
            small_loops(M, N, depth, alpha, A, as_i, as_k, B, bs_k, bs_j, 0, beta, C, ldc);  \
    } while (0)
    switch (K) {
    case 1: SMALL_CASE(1); break;
    case 2: SMALL_CASE(2); break;
    case 3: SMALL_CASE(3); break;
    case 4: SMALL_CASE(4); break;
    default: SMALL_CASE(K); break;
    }
#undef SMALL_CASE
}

/* Not through bp__gemm_small: a second caller of it, with arguments LTO
 * cannot see, costs the tiny products' calls their specialized copies. */
void bp__gemm_rows(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    const size_t as_i = ta ? 1 : (size_t)lda, as_k = ta ? (size_t)lda : 1;
    if (tb && (long long)N * K > BP__TINY_ROW_MACS) { /* too long to copy */
        small_loops(M, N, K, alpha, A, as_i, as_k, B, 1, (size_t)ldb, beta == 0.0f, beta, C, ldc);
        return;
    }
    /* op(B) as rows of N: as given, or copied out of its transpose */
    float packed[BP__TINY_ROW_MACS];
    const float *Bk = B;
    size_t ldk = (size_t)ldb;
    if (tb) {
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                packed[(size_t)k * (size_t)N + (size_t)j] = B[(size_t)j * (size_t)ldb + (size_t)k];
        Bk = packed;
        ldk = (size_t)N;
    }
    vector_loops(M, N, K, alpha, A, as_i, as_k, Bk, ldk, beta == 0.0f, beta, C, ldc);
}
