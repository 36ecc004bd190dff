/*
 * parallel.c - the thread count and how work is split over threads.
 *
 * The library's parallel work runs on OpenMP's pool, the one oneDNN uses,
 * so the two never oversubscribe the cores. Products are split into blocks
 * of rows by their shape alone, and each block is the same single-threaded
 * call whichever thread runs it and however many threads there are, so
 * results are bitwise the same with 1 or N threads.
 */
#include "internal.h"

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#include <stdlib.h>
#endif

/* Default thread count: OMP_NUM_THREADS, else the cores we may run on. */
#ifdef _OPENMP
static int default_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : omp_get_num_procs();
}
#endif

void bp_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : default_threads());
#else
    (void)n;
#endif
}

int bp_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int bp__elem_blocks(size_t n)
{
    if (n < BP__PARALLEL_ELEMS)
        return 1;
    int threads = bp_threads();
    if (threads <= 1)
        return 1;
    return threads > BP__MAX_BLOCKS ? BP__MAX_BLOCKS : threads;
}

void bp__for_blocks_parallel(int n, int threads, bp__block_fn fn, void *ctx)
{
    /* never more threads than the pool's size (bp_threads) nor blocks */
    int max = bp_threads();
    if (threads > max)
        threads = max;
    if (threads > n)
        threads = n;
    if (threads <= 1) {
        for (int b = 0; b < n; b++)
            fn(ctx, b, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(threads)
#endif
    for (int b = 0; b < n; b++)
        fn(ctx, b, n);
}
