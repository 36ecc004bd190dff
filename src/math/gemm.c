/*
 * gemm.c - the one internal matrix product, C = alpha op(A) op(B) + beta C,
 * row-major, behind one signature with three paths:
 *   - tiny products (rows of fewer than BP__TINY_ROW_MACS multiply-adds, as
 *     in the lessons' networks) run plain loops (gemm_small.c: scalar, or
 *     four outputs at a time in rows of 8 or more), where any library call
 *     or packing would cost more than the arithmetic;
 *   - oneDNN's sgemm when the build found it (BP_HAVE_DNNL), loaded on
 *     the first product that needs it (math/dnnl.c) so that a run whose
 *     products all take the plain loops never pays for loading it; a
 *     oneDNN that cannot be loaded leaves the products to the built-in
 *     kernel;
 *   - otherwise the built-in blocked kernel: op(A) and op(B) are packed into
 *     panels (which also absorbs the transposes) and a register-tiled
 *     6 x 16 micro-kernel, written for AVX-512, AVX2 and a baseline in
 *     each one's own vector width and picked on first use, accumulates
 *     them.
 * Every call is single-threaded: the network splits its products into row
 * blocks and runs those on its threads, so the sums each element of C sees
 * do not depend on the thread count. Within a path the summation order is
 * fixed, so results are reproducible. bp__gemm_ref is the naive twin used
 * as the test oracle.
 */
#include "internal.h"

#include <stdatomic.h>
#include <string.h>

#include "math/dnnl.h"

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

/* ---- the built-in blocked kernel ---- */

#define MR 6   /* rows of C per micro-kernel call */
#define NR 16  /* columns of C per micro-kernel call: one 512-bit vector, two of 256 */
#define KC 256 /* depth of a packed block */
#define MC 72  /* rows of a packed block of op(A): 12 panels */
#define NC 256 /* columns of a packed block of op(B): 16 panels */

/* Pack op(A)[i0 .. i0 + mc, k0 .. k0 + kc) into panels of MR rows, each
 * stored k-major (MR values per k), zero-padded past mc. */
static void pack_a(int ta, const float *A, int lda, int i0, int k0, int mc, int kc, float *pa)
{
    for (int p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? mc - p : MR;
        for (int k = 0; k < kc; k++) {
            for (int r = 0; r < rows; r++)
                pa[r] = ta ? AT(A, lda, k0 + k, i0 + p + r) : AT(A, lda, i0 + p + r, k0 + k);
            for (int r = rows; r < MR; r++)
                pa[r] = 0.0f;
            pa += MR;
        }
    }
}

/* Pack op(B)[k0 .. k0 + kc, j0 .. j0 + nc) into panels of NR columns, each
 * stored k-major (NR values per k), zero-padded past nc. */
static void pack_b(int tb, const float *B, int ldb, int k0, int j0, int kc, int nc, float *pb)
{
    for (int p = 0; p < nc; p += NR) {
        int cols = nc - p < NR ? nc - p : NR;
        for (int k = 0; k < kc; k++) {
            if (!tb && cols == NR) {
                memcpy(pb, &AT(B, ldb, k0 + k, j0 + p), NR * sizeof *pb);
            } else {
                for (int c = 0; c < cols; c++)
                    pb[c] = tb ? AT(B, ldb, j0 + p + c, k0 + k) : AT(B, ldb, k0 + k, j0 + p + c);
                for (int c = cols; c < NR; c++)
                    pb[c] = 0.0f;
            }
            pb += NR;
        }
    }
}

/* C (mr, nr) += alpha pa pb over kc steps: pa one packed A panel, pb one
 * packed B panel. Each element sums its kc products in k order. A row of
 * the tile is NR / VW vectors of VW floats: VW is the target's own vector
 * width, since a vector wider than the registers is split through memory
 * by the compiler and runs several times slower. */
#define DEFINE_MICRO_KERNEL(name, attr, VW)                                                  \
    attr static void name(int kc, const float *pa, const float *pb, float alpha, float *C,    \
                          int ldc, int mr, int nr)                                           \
    {                                                                                        \
        typedef float vec __attribute__((vector_size((VW) * sizeof(float))));              \
        enum { NV = NR / (VW) };                                                             \
        vec acc[MR][NV];                                                                     \
        for (int r = 0; r < MR; r++)                                                         \
            for (int v = 0; v < NV; v++)                                                     \
                acc[r][v] = (vec){0};                                                        \
        for (int k = 0; k < kc; k++) {                                                       \
            vec b[NV];                                                                       \
            for (int v = 0; v < NV; v++)                                                     \
                memcpy(&b[v], pb + (size_t)k * NR + v * (VW), sizeof b[v]);                  \
            const float *a = pa + (size_t)k * MR;                                            \
            for (int r = 0; r < MR; r++)                                                     \
                for (int v = 0; v < NV; v++)                                                 \
                    acc[r][v] += a[r] * b[v];                                                \
        }                                                                                    \
        float tile[MR][NR];                                                                  \
        for (int r = 0; r < MR; r++)                                                         \
            for (int v = 0; v < NV; v++)                                                     \
                memcpy(&tile[r][v * (VW)], &acc[r][v], sizeof acc[r][v]);                    \
        for (int r = 0; r < mr; r++) {                                                       \
            float *c = C + (size_t)r * (size_t)ldc;                                          \
            for (int j = 0; j < nr; j++)                                                     \
                c[j] += alpha * tile[r][j];                                                  \
        }                                                                                    \
    }

typedef void (*micro_kernel_fn)(int, const float *, const float *, float, float *, int, int,
                                int);

/* The baseline: 128-bit vectors, SSE2's width (and NEON's). */
DEFINE_MICRO_KERNEL(micro_kernel_base, , 4)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BP_X86_LEVELS 1
/* With GCC on x86-64, one version more per x86-64 level: 512-bit vectors
 * for AVX-512 (x86-64-v4), 256-bit for AVX2 with FMA (v3). */
DEFINE_MICRO_KERNEL(micro_kernel_v4, __attribute__((target("arch=x86-64-v4"))), 16)
DEFINE_MICRO_KERNEL(micro_kernel_v3, __attribute__((target("arch=x86-64-v3"))), 8)
#endif

static micro_kernel_fn pick_micro_kernel(void)
{
#ifdef BP_X86_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
        return micro_kernel_v4;
    if (__builtin_cpu_supports("x86-64-v3"))
        return micro_kernel_v3;
#endif
    return micro_kernel_base;
}

/* The version for this CPU, picked on first use (an ifunc would be picked
 * while the program is relocated, before the sanitizers' runtimes start).
 * Threads that race to pick it store the same pointer. */
static micro_kernel_fn micro_kernel(void)
{
    static _Atomic(micro_kernel_fn) chosen;
    micro_kernel_fn f = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (!f) {
        f = pick_micro_kernel();
        atomic_store_explicit(&chosen, f, memory_order_relaxed);
    }
    return f;
}

/* C += alpha op(A) op(B) through packed blocks. The packing buffers live on
 * the stack (about 330 KiB), so a call allocates nothing. */
static void gemm_blocked(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float *C, int ldc)
{
    _Alignas(64) float pa[MC * KC];
    _Alignas(64) float pb[NC * KC];
    const micro_kernel_fn kernel = micro_kernel();
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC;
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            pack_b(tb, B, ldb, k0, j0, kc, nc, pb);
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC;
                pack_a(ta, A, lda, i0, k0, mc, kc, pa);
                for (int jp = 0; jp < nc; jp += NR)
                    for (int ip = 0; ip < mc; ip += MR)
                        kernel(kc, pa + (size_t)ip * kc, pb + (size_t)jp * kc, alpha,
                               &AT(C, ldc, i0 + ip, j0 + jp), ldc,
                               mc - ip < MR ? mc - ip : MR, nc - jp < NR ? nc - jp : NR);
            }
        }
    }
}

void bp__gemm_builtin(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if ((long long)N * K < BP__TINY_ROW_MACS) {
        if (N < BP__ROW_VECTOR_N)
            bp__gemm_small(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else
            bp__gemm_rows(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    scale_rows(M, N, beta, C, ldc);
    gemm_blocked(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

/* Out of line (noinline): inlined into bp__gemm's callers by LTO, it
 * changed how their tiny products' calls were laid out and slowed the
 * lessons' epoch by 7%, though those calls never reach it. */
__attribute__((noinline)) void bp__gemm_wide(int ta, int tb, int M, int N, int K, float alpha,
                                             const float *A, int lda, const float *B, int ldb,
                                             float beta, float *C, int ldc)
{
    if (ta && !tb && (long long)M * N * K >= BP__OUTER_MACS)
        bp__gemm_large(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        bp__gemm_rows(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void bp__gemm_large(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
#ifdef BP_HAVE_DNNL
    const bp__dnnl_api *dnnl = bp__dnnl();
    if (dnnl && M > 0 && N > 0 && K > 0) {
        /* oneDNN threads a call made outside a parallel region over the
         * OpenMP pool, and may then split K: a different sum. Every call is
         * single-threaded instead (the caller splits rows over threads). */
        const int saved = bp__dnnl_solo_begin();
        dnnl_status_t st = dnnl->sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                       ldb, beta, C, ldc);
        bp__dnnl_solo_end(saved);
        if (st == dnnl_success)
            return;
    }
#endif
    bp__gemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *bp_gemm_backend(void)
{
#ifdef BP_HAVE_DNNL
    return bp__dnnl_failed() ? "builtin" : "onednn";
#else
    return "builtin";
#endif
}
