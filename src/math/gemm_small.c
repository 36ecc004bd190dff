/*
 * gemm_small.c - the plain loops that compute products with rows of fewer
 * than BP__TINY_ROW_MACS multiply-adds, such as the lessons' networks'.
 *
 * This file is compiled without vectorization: each loop runs a handful of
 * times, so vectorizing them (prologues, epilogues, gathers across j)
 * costs more than it saves.
 */
#include "internal.h"

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
