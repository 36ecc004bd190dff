/*
 * gemm.c - the one internal matrix product, C = alpha op(A) op(B) + beta C,
 * row-major. The built-in kernel orders its loops so the innermost one runs
 * over contiguous memory, and keeps a fixed summation order so results are
 * reproducible. bp__gemm_ref is the naive twin used as the test oracle.
 */
#include "internal.h"

#include <string.h>

#define AT(X, ld, r, c) ((X)[(size_t)(r) * (size_t)(ld) + (size_t)(c)])

void bp__gemm_ref(int ta, int tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) {
                float a = ta ? AT(A, lda, k, i) : AT(A, lda, i, k);
                float b = tb ? AT(B, ldb, j, k) : AT(B, ldb, k, j);
                acc += (double)a * (double)b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * AT(C, ldc, i, j);
            AT(C, ldc, i, j) = (float)(alpha * acc) + prev;
        }
    }
}

static void scale_rows(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = &AT(C, ldc, i, 0);
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* Dot product with eight independent partial sums (vectorizes without
 * reassociation flags; the order is fixed, so results are reproducible). */
static float dot(const float *a, const float *b, int K)
{
    float s[8] = {0};
    int k = 0;
    for (; k + 8 <= K; k += 8)
        for (int u = 0; u < 8; u++)
            s[u] += a[k + u] * b[k + u];
    float acc = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; k < K; k++)
        acc += a[k] * b[k];
    return acc;
}

/* c[0..N) += s * b[0..N) */
static void axpy(int N, float s, const float *b, float *c)
{
    for (int j = 0; j < N; j++)
        c[j] += s * b[j];
}

void bp__gemm(int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (ta && tb) {
        bp__gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    scale_rows(M, N, beta, C, ldc);
    if (K <= 0)
        return;
    if (!ta && tb) {
        /* C[i][j] += alpha * <A row i, B row j>: both rows contiguous. */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                AT(C, ldc, i, j) += alpha * dot(&AT(A, lda, i, 0), &AT(B, ldb, j, 0), K);
    } else if (!ta && !tb) {
        /* C row i += A[i][k] * B row k. */
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++) {
                float a = alpha * AT(A, lda, i, k);
                if (a != 0.0f)
                    axpy(N, a, &AT(B, ldb, k, 0), &AT(C, ldc, i, 0));
            }
    } else {
        /* ta: A is stored (K, M). C row i += A[k][i] * B row k, k outer so
         * both A and B are read row by row. */
        for (int k = 0; k < K; k++)
            for (int i = 0; i < M; i++) {
                float a = alpha * AT(A, lda, k, i);
                if (a != 0.0f)
                    axpy(N, a, &AT(B, ldb, k, 0), &AT(C, ldc, i, 0));
            }
    }
}
