/*
 * parallel.c - the thread count and how work is split over threads.
 *
 * The library's parallel work runs on OpenMP's pool, the one oneDNN uses,
 * so the two never oversubscribe the cores. Work is split into blocks of
 * rows, and each block's arithmetic does not depend on which thread runs it
 * or on how many threads there are: every element sums its terms in the
 * same order, so results are bitwise the same with 1 or N threads.
 */
#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#include <stdlib.h>
#endif

/* Default thread count: OMP_NUM_THREADS, else the cores we may run on. */
#ifdef _OPENMP
static int default_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && atoi(env) > 0)
        return atoi(env);
    return omp_get_num_procs();
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

const char *bp_gemm_backend(void)
{
    return bp__gemm_backend();
}

int bp__blocks(int rows, double work)
{
    /* Small work stays on one thread: waking another costs microseconds.
     * Blocks keep at least BP__MIN_BLOCK_ROWS rows, below which a library
     * product may change its own summation order. */
    int threads = bp_threads(), blocks;
    if (threads <= 1 || work < BP__PARALLEL_WORK)
        return 1;
    blocks = rows / BP__MIN_BLOCK_ROWS;
    if (blocks > threads)
        blocks = threads;
    return blocks < 1 ? 1 : blocks;
}
