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
 * Usage: bench_core [--quick | --step [SECONDS] [--bf16]]
 * --step prints the "phases" line alone (its products timed at the
 * backend only), for comparing builds in turn; SECONDS (default 1) is the
 * phases' window. With --bf16 the network trains in bf16 and its products
 * are timed as oneDNN's bf16 matmuls, each row block's made for its sizes
 * (the fastest kernel oneDNN has for them), for the bf16 bound.
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
#include "math/bf16.h"
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

/* The fastest of the calls of call(ctx) made in about `seconds`, after
 * two untimed ones (first-call set-up, caches), in seconds. On a shared
 * machine a neighbour takes a core for a while now and then; the fastest
 * call is the one it left alone, so the figures of one run compare (a mean
 * over the window once put the sgemm "peak" below the training step that
 * uses it). */
static double fastest(void (*call)(void *), void *ctx, double seconds)
{
    double t0, t1, best = INFINITY;
    for (int w = 0; w < 2; w++)
        call(ctx);
    const double start = now();
    do {
        t0 = now();
        call(ctx);
        t1 = now();
        best = t1 - t0 < best ? t1 - t0 : best;
    } while (t1 - start < seconds);
    return best;
}

/* One product through fn, split as split_gemm does (split 0: one call). */
typedef struct gemm_call {
    gemm_fn fn;
    int split, ta, tb, M, N, K;
    const float *A, *B;
    float *C;
} gemm_call;

static void gemm_once(void *ctx)
{
    const gemm_call *g = ctx;
    if (g->split)
        split_gemm(g->fn, g->split, g->ta, g->tb, g->M, g->N, g->K, g->A, g->B, g->C);
    else
        g->fn(g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A, g->ta ? g->M : g->K, g->B,
              g->tb ? g->K : g->N, 0.0f, g->C, g->N);
}

/* GFLOP/s of C = op(A) op(B): its fastest call among those of about
 * `seconds`. */
static double gflops(gemm_fn fn, int split, int ta, int tb, int M, int N, int K, double seconds)
{
    float *A = randoms((size_t)M * K, 1), *B = randoms((size_t)K * N, 2);
    float *C = calloc((size_t)M * N, sizeof *C);
    gemm_call g = {fn, split, ta, tb, M, N, K, A, B, C};
    const double best = fastest(gemm_once, &g, seconds);
    free(A);
    free(B);
    free(C);
    return 2.0 * M * N * K / best / 1e9;
}

#ifdef BP_HAVE_DNNL
/* One block of rows of a bf16 product: a oneDNN matmul made for its sizes
 * (bf16 inputs, float accumulation and output), its memory and stream. */
typedef struct half_block {
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
    dnnl_stream_t stream;
} half_block;

typedef struct half_job {
    const bp__dnnl_api *d;
    half_block *blocks;
    int n;
} half_job;

static void half_run(void *ctx, int b, int n)
{
    (void)n;
    const half_job *j = ctx;
    half_block *h = &j->blocks[b];
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, h->mem[0]}, {DNNL_ARG_WEIGHTS, h->mem[1]}, {DNNL_ARG_DST, h->mem[2]}};
    j->d->primitive_execute(h->prim, h->stream, 3, args);
}

/* Every block of the product, on the threads. */
static void half_once(void *ctx)
{
    half_job *j = ctx;
    bp__for_blocks(j->n, j->n, half_run, j);
}

/* A (rows, cols) descriptor, row-major or (trans) read from its transpose. */
static void half_md(const bp__dnnl_api *d, dnnl_memory_desc_t *md, int rows, int cols, int trans,
                    int ld, dnnl_data_type_t t)
{
    const dnnl_dims_t dims = {rows, cols};
    const dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
    d->memory_desc_init_by_strides(md, 2, dims, t, strides);
}

/* GFLOP/s of C = op(A) op(B) in bf16 (fp32 accumulation), split into the
 * network's row blocks, each block a primitive made for its sizes on one
 * thread (oneDNN's best kernel for them); 0 where oneDNN offers no native
 * bf16 product. The fastest call of about `seconds`. */
static double half_gflops(int ta, int tb, int M, int N, int K, double seconds,
                          const char **impl)
{
    const bp__dnnl_api *d = bp__dnnl_prims();
    if (!d)
        return 0.0;
    float *A = randoms((size_t)M * K, 1), *B = randoms((size_t)K * N, 2);
    uint16_t *A16 = malloc((size_t)M * K * 2), *B16 = malloc((size_t)K * N * 2);
    float *C = calloc((size_t)M * N, sizeof *C);
    const int n = bp__blocks(M, (double)M * N * K), lda = ta ? M : K, ldb = tb ? K : N;
    half_block blocks[BP__MAX_ROW_BLOCKS] = {{0}};
    double best = INFINITY;
    int ok = A16 && B16 && C;
    if (ok) {
        bp__to_bf16(A, A16, (size_t)M * K);
        bp__to_bf16(B, B16, (size_t)K * N);
    }
    const int saved = bp__dnnl_solo_begin(); /* each block's kernel planned for one thread */
    for (int b = 0; ok && b < n; b++) {
        const int m0 = BP__BLOCK_START(M, b, n), m1 = BP__BLOCK_START(M, b + 1, n);
        dnnl_memory_desc_t ma, mb, mc;
        dnnl_matmul_desc_t md;
        dnnl_primitive_desc_t pd = NULL;
        half_md(d, &ma, m1 - m0, K, ta, lda, dnnl_bf16);
        half_md(d, &mb, K, N, tb, ldb, dnnl_bf16);
        half_md(d, &mc, m1 - m0, N, 0, N, dnnl_f32);
        ok = d->matmul_desc_init(&md, &ma, &mb, NULL, &mc) == dnnl_success &&
             d->primitive_desc_create(&pd, &md, NULL, d->engine, NULL) == dnnl_success;
        if (ok) {
            const char *name = bp__dnnl_impl(d, pd);
            if (!*impl) /* the first product's, the largest */
                *impl = name;
            ok = !bp__dnnl_is_reference(name) &&
                 d->primitive_create(&blocks[b].prim, pd) == dnnl_success &&
                 d->stream_create(&blocks[b].stream, d->engine, dnnl_stream_default_flags) ==
                     dnnl_success &&
                 d->memory_create(&blocks[b].mem[0], &ma, d->engine,
                                  ta ? A16 + m0 : A16 + (size_t)m0 * lda) == dnnl_success &&
                 d->memory_create(&blocks[b].mem[1], &mb, d->engine, B16) == dnnl_success &&
                 d->memory_create(&blocks[b].mem[2], &mc, d->engine, C + (size_t)m0 * N) ==
                     dnnl_success;
        }
        if (pd)
            d->primitive_desc_destroy(pd);
    }
    bp__dnnl_solo_end(saved);
    half_job job = {d, blocks, n};
    if (ok)
        best = fastest(half_once, &job, seconds);
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < 3; i++)
            if (blocks[b].mem[i])
                d->memory_destroy(blocks[b].mem[i]);
        if (blocks[b].stream)
            d->stream_destroy(blocks[b].stream);
        if (blocks[b].prim)
            d->primitive_destroy(blocks[b].prim);
    }
    free(A);
    free(B);
    free(A16);
    free(B16);
    free(C);
    return ok ? 2.0 * M * N * K / best / 1e9 : 0.0;
}
#endif

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
static void phase_times(double seconds, bp_precision precision, double out[5])
{
    enum { B = 128 };
    bp_error err;
    bp_net *net = bench_net("784,256:relu,128:relu,10:softmax", B);
    if (bp_net_set_precision(net, precision, &err) != 0) {
        fprintf(stderr, "bench_core: %s\n", err.message);
        exit(1);
    }
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
    const int half = step_only && strcmp(argv[argc - 1], "--bf16") == 0;
    const double window = step_only && argc > 2 && argv[2][0] != '-' ? atof(argv[2]) : 1.0;
    const char *impl = NULL; /* oneDNN's kernel for the bf16 products */
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
        double backend = 0.0;
#ifdef BP_HAVE_DNNL
        if (half)
            backend = half_gflops(sh[0], sh[1], sh[2], sh[3], sh[4], s, &impl);
#endif
        if (!half)
            backend = gflops(bp__gemm, 1, sh[0], sh[1], sh[2], sh[3], sh[4], s);
        if (!(backend > 0.0)) {
            fprintf(stderr, "bench_core: this build or CPU offers no native bf16 product\n");
            return 1;
        }
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
    phase_times(step_only ? window : 2.5 * s, half ? BP_PRECISION_BF16 : BP_PRECISION_FP32, ph);
    printf("{\"bench\": \"phases\", \"precision\": \"%s\", \"batch\": 128, \"threads\": %d, "
           "\"forward_us\": %.1f, \"loss_us\": %.1f, \"backward_us\": %.1f, "
           "\"optimizer_us\": %.1f, \"step_us\": %.1f, \"products_us\": %.1f",
           half ? "bf16" : "fp32", bp_threads(), 1e6 * ph[0], 1e6 * ph[1], 1e6 * ph[2],
           1e6 * ph[3], 1e6 * ph[4], 1e6 * products);
    if (impl)
        printf(", \"products_kernel\": \"%s\"", impl);
    printf("}\n");
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
