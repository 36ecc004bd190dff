/*
 * bench_core.c - the library's own figures for `make bench`, each printed
 * as one JSON line on stdout:
 *   - "peak": sgemm GFLOP/s through the build's backend, the best of the
 *     cubes 512, 1024 and 2048, each in one row block per thread;
 *   - "kernel": GFLOP/s of the built-in kernel, the backend and (where the
 *     bench was built with it) OpenBLAS at the shapes of a 784-256-128-10
 *     MLP's training step with batch 128, each on the same threads; with
 *     oneDNN, also its sgemm as one call threaded by oneDNN itself over the
 *     pool ("onednn_threads"), against the network's row blocks ("backend");
 *   - "batch" and "width": time per sample of a training step (forward,
 *     loss, backward, SGD with momentum) as the batch grows from 1 to 1024
 *     and as the hidden width grows from 64 to 2048;
 *   - "phases": where the MLP's step at batch 128 spends its time: the
 *     forward pass, the loss, the backward pass and the optimizer's step
 *     (SGD with momentum, guarded as training runs it), each the fastest
 *     of a window of steps, beside the time its eight products alone take
 *     at the backend's speed measured above ("kernel").
 * Every GFLOP/s figure is that of the fastest call in its time window.
 * Usage: bench_core [--quick | --step [SECONDS]]
 * --step prints the "phases" line alone (its products timed at the
 * backend only), for comparing builds in turn; SECONDS (default 1) is the
 * phases' window.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "backprop.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef BENCH_OPENBLAS
#include <cblas.h>
#endif
#ifdef BP_HAVE_DNNL
#include "math/dnnl.h"
#endif

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *randoms(size_t n, uint64_t seed)
{
    bp_rng rng;
    float *v = malloc(n * sizeof *v);
    if (!v) {
        fprintf(stderr, "bench_core: out of memory\n");
        exit(1);
    }
    bp_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)bp_rng_normal(&rng);
    return v;
}

/* One product split into row blocks over the threads, as the network does. */
typedef struct split_job {
    gemm_fn fn;
    int ta, tb, M, N, K;
    const float *A, *B;
    float *C;
} split_job;

static void split_block(void *ctx, int b, int n)
{
    const split_job *j = ctx;
    int lda = j->ta ? j->M : j->K, ldb = j->tb ? j->K : j->N;
    int m0 = BP__BLOCK_START(j->M, b, n), m1 = BP__BLOCK_START(j->M, b + 1, n);
    const float *Ab = j->ta ? j->A + m0 : j->A + (size_t)m0 * lda;
    j->fn(j->ta, j->tb, m1 - m0, j->N, j->K, 1.0f, Ab, lda, j->B, ldb, 0.0f,
          j->C + (size_t)m0 * j->N, j->N);
}

/* split: 1 splits as the network does (blocks by the shape), 2 into one
 * block per thread, the largest calls: the machine's best, for the peak. */
static void split_gemm(gemm_fn fn, int split, int ta, int tb, int M, int N, int K,
                       const float *A, const float *B, float *C)
{
    split_job job = {fn, ta, tb, M, N, K, A, B, C};
    int n = split == 2 ? bp_threads() : bp__blocks(M, (double)M * N * K);
    bp__for_blocks(n, n, split_block, &job);
}

#ifdef BENCH_OPENBLAS
/* OpenBLAS with its own threads, as a user calling cblas_sgemm gets it. */
static void openblas_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                          int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

#ifdef BP_HAVE_DNNL
/* oneDNN's sgemm as one call outside a parallel region: oneDNN splits it
 * over the pool itself (the library never calls it so, as the split may
 * change a sum with the thread count). */
static void onednn_pool_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                             int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    const bp__dnnl_api *d = bp__dnnl();
    if (d)
        d->sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

/* GFLOP/s of C = op(A) op(B): its fastest call among those of about
 * `seconds`. On a shared machine a neighbour takes a core for a while now
 * and then; the fastest call is the one it left alone, so the figures of
 * one run compare (a mean over the window once put the sgemm "peak" below
 * the training step that uses it). */
static double gflops(gemm_fn fn, int split, int ta, int tb, int M, int N, int K, double seconds)
{
    float *A = randoms((size_t)M * K, 1), *B = randoms((size_t)K * N, 2);
    float *C = calloc((size_t)M * N, sizeof *C);
    double t0, t1, best = INFINITY;
    int lda = ta ? M : K, ldb = tb ? K : N;
    for (int w = 0; w < 2; w++) /* warm up: first-call set-up, caches */
        split ? split_gemm(fn, split, ta, tb, M, N, K, A, B, C)
              : fn(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    const double start = now();
    do {
        t0 = now();
        split ? split_gemm(fn, split, ta, tb, M, N, K, A, B, C)
              : fn(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        t1 = now();
        best = t1 - t0 < best ? t1 - t0 : best;
    } while (t1 - start < seconds);
    free(A);
    free(B);
    free(C);
    return 2.0 * M * N * K / best / 1e9;
}

/* The network of spec, room for batches of B, its weights from seed 1
 * (He normal); exits on an error. */
static bp_net *bench_net(const char *spec, int B)
{
    bp_error err;
    bp_net *net = bp_net_parse(spec, &err);
    bp_rng rng;
    if (!net || bp_net_reserve(net, B) != 0) {
        fprintf(stderr, "bench_core: %s\n", net ? bp_net_message(net) : err.message);
        exit(1);
    }
    bp_rng_seed(&rng, 1);
    bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0);
    return net;
}

/* Seconds per sample of SGD-with-momentum training steps on random data. */
static double step_time(const char *spec, int B, double seconds)
{
    bp_error err;
    bp_net *net = bench_net(spec, B);
    int ins = bp_net_inputs(net), outs = bp_net_outputs(net);
    float *x = randoms((size_t)B * ins, 3), *t = malloc((size_t)B * sizeof *t);
    for (int b = 0; b < B; b++)
        t[b] = (float)(b % outs);
    bp_optim_opts oo = bp_optim_defaults(BP_OPTIM_SGD);
    bp_optim *opt = bp_optim_create(net, &oo, &err);
    double loss, t0, el;
    long steps = 0;
    for (int w = 0; w < 3; w++) {
        bp_net_gradient(net, BP_LOSS_CCE, B, x, t, 1, &loss);
        bp_optim_step(opt, 0.01);
    }
    t0 = now();
    do {
        bp_net_gradient(net, BP_LOSS_CCE, B, x, t, 1, &loss);
        bp_optim_step(opt, 0.01);
        steps++;
        el = now() - t0;
    } while (el < seconds);
    bp_optim_free(opt);
    bp_net_free(net);
    free(x);
    free(t);
    return el / ((double)steps * B);
}

/* The MLP's step at batch 128 in phases, as bp_train runs it (the guarded
 * step keeps the weights from before it); each phase's fastest time among
 * the window's steps, in seconds: forward, loss, backward, optimizer, and
 * the fastest whole step. */
static void phase_times(double seconds, double out[5])
{
    enum { B = 128 };
    bp_error err;
    bp_net *net = bench_net("784,256:relu,128:relu,10:softmax", B);
    float *x = randoms((size_t)B * 784, 3), t[B];
    for (int b = 0; b < B; b++)
        t[b] = (float)(b % 10);
    bp_optim_opts oo = bp_optim_defaults(BP_OPTIM_SGD);
    oo.momentum = 0.9;
    bp_optim *opt = bp_optim_create(net, &oo, &err);
    float *prev = malloc(bp_net_param_count(net) * sizeof *prev);
    if (!opt || !prev) {
        fprintf(stderr, "bench_core: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < 5; i++)
        out[i] = INFINITY;
    const double start = now();
    for (int step = 0; step < 4 || now() - start < seconds; step++) { /* one timed at least */
        const float *y;
        double loss, c[5];
        int finite;
        c[0] = now();
        bp_net_forward(net, B, x, &y);
        c[1] = now();
        bp__net_loss_checked(net, BP_LOSS_CCE, t, 1, &loss);
        c[2] = now();
        bp__net_backward_fresh(net);
        c[3] = now();
        bp__optim_step_guarded(opt, 1e-4, prev, &finite);
        c[4] = now();
        if (step < 3) /* warm up: first-call set-up, caches */
            continue;
        for (int i = 0; i < 4; i++)
            out[i] = fmin(out[i], c[i + 1] - c[i]);
        out[4] = fmin(out[4], c[4] - c[0]);
    }
    free(prev);
    bp_optim_free(opt);
    bp_net_free(net);
    free(x);
}

int main(int argc, char **argv)
{
    const int step_only = argc > 1 && strcmp(argv[1], "--step") == 0;
    const double s = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 0.05 : 0.4;
    static const int shapes[][5] = {
        /* ta, tb, M, N, K: forward, weight gradients, input gradients */
        {0, 1, 128, 256, 784}, {0, 1, 128, 128, 256}, {0, 1, 128, 10, 128},
        {1, 0, 256, 784, 128}, {1, 0, 128, 256, 128}, {1, 0, 10, 128, 128},
        {0, 0, 128, 256, 128}, {0, 0, 128, 128, 10},
    };
    /* The peak: the best of three cubes, each in one block per thread (a
     * cube that spills the caches can fall below the MLP's own shapes). */
    double peak = 0.0;
    int peak_n = 0;
    for (int n = 512; n <= 2048 && !step_only; n *= 2) {
        double g = gflops(bp__gemm, 2, 0, 0, n, n, n, s);
        if (g > peak) {
            peak = g;
            peak_n = n;
        }
    }
    if (!step_only) {
        printf("{\"bench\": \"peak\", \"backend\": \"%s\", \"threads\": %d, \"size\": %d, "
               "\"gflops\": %.1f}\n",
               bp_gemm_backend(), bp_threads(), peak_n, peak);
        fflush(stdout);
    }
    double products = 0.0; /* seconds of the step's products at the backend's speed */
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *sh = shapes[i];
        const double backend = gflops(bp__gemm, 1, sh[0], sh[1], sh[2], sh[3], sh[4], s);
        products += 2.0 * sh[2] * sh[3] * sh[4] / (backend * 1e9);
        if (step_only)
            continue;
        const double builtin = gflops(bp__gemm_builtin, 1, sh[0], sh[1], sh[2], sh[3], sh[4], s);
        printf("{\"bench\": \"kernel\", \"shape\": \"%s%s %dx%dx%d\", \"builtin\": %.1f, "
               "\"backend\": %.1f",
               sh[0] ? "T" : "N", sh[1] ? "T" : "N", sh[2], sh[3], sh[4], builtin, backend);
#ifdef BP_HAVE_DNNL
        if (bp__dnnl())
            printf(", \"onednn_threads\": %.1f",
                   gflops(onednn_pool_gemm, 0, sh[0], sh[1], sh[2], sh[3], sh[4], s));
#endif
#ifdef BENCH_OPENBLAS
        printf(", \"openblas\": %.1f",
               gflops(openblas_gemm, 0, sh[0], sh[1], sh[2], sh[3], sh[4], s));
#endif
        printf("}\n");
        fflush(stdout);
    }
    double ph[5];
    /* a longer window: each phase keeps its own fastest */
    phase_times(step_only ? (argc > 2 ? atof(argv[2]) : 1.0) : 2.5 * s, ph);
    printf("{\"bench\": \"phases\", \"batch\": 128, \"threads\": %d, \"forward_us\": %.1f, "
           "\"loss_us\": %.1f, \"backward_us\": %.1f, \"optimizer_us\": %.1f, "
           "\"step_us\": %.1f, \"products_us\": %.1f}\n",
           bp_threads(), 1e6 * ph[0], 1e6 * ph[1], 1e6 * ph[2], 1e6 * ph[3], 1e6 * ph[4],
           1e6 * products);
    fflush(stdout);
    if (step_only)
        return 0;
    for (int B = 1; B <= 1024; B *= 2) {
        printf("{\"bench\": \"batch\", \"batch\": %d, \"us_per_sample\": %.3f}\n", B,
               1e6 * step_time("784,256:relu,128:relu,10:softmax", B, s));
        fflush(stdout);
    }
    for (int W = 64; W <= 2048; W *= 2) {
        char spec[128];
        snprintf(spec, sizeof spec, "784,%d:relu,%d:relu,10:softmax", W, W);
        printf("{\"bench\": \"width\", \"width\": %d, \"net\": \"%s\", \"us_per_sample\": %.3f, "
               "\"mflop_per_sample\": %.3f}\n",
               W, spec, 1e6 * step_time(spec, 128, s),
               (2.0 * 2 * (784.0 * W + (double)W * W + 10.0 * W) + 2.0 * ((double)W * W + 10.0 * W)) /
                   1e6);
        fflush(stdout);
    }
    return 0;
}
