/*
 * internal.h - declarations shared between the library's own files (bp__*).
 * Nothing here is public API; the public contract is include/backprop.h.
 */
#ifndef BP_INTERNAL_H
#define BP_INTERNAL_H

#include "backprop.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A hot element-wise loop built for AVX-512, AVX2 and the baseline, the
 * loader picking the widest the CPU has. Those targets hold no fused
 * multiply-add, so every build computes the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BP__WIDE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BP__WIDE
#endif
/* Such a loop's sums run in vectors of eight doubles, a fixed width, so
 * every build adds the same values in the same order (a narrower CPU
 * splits each vector). BP__LOAD8: eight floats from p, in double. */
typedef double bp__v8d __attribute__((vector_size(8 * sizeof(double))));
typedef float bp__v8f __attribute__((vector_size(8 * sizeof(float))));
typedef float bp__v8f_at __attribute__((vector_size(8 * sizeof(float)), aligned(4), may_alias));
#define BP__LOAD8(p) __builtin_convertvector(*(const bp__v8f_at *)(const void *)(p), bp__v8d)
/* The sum of a vector's eight lanes, pairwise in a fixed order. */
static inline double bp__v8d_total(const bp__v8d *v)
{
    const bp__v8d a = *v;
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* ---- core/alloc.c: every allocation goes through the replaceable hooks. */
void *bp__malloc(size_t size);
void *bp__calloc(size_t n, size_t size);   /* zeroed; checks n * size */
/* size bytes starting on a cache line (64 bytes), or NULL; *raw gets the
 * allocation, which bp__free takes. */
void *bp__malloc_line(size_t size, void **raw);
void bp__free(void *ptr);
/* *out = a * b; returns 0, or BP_EOVERFLOW when it does not fit in size_t. */
int bp__mul_size(size_t a, size_t b, size_t *out);

/* ---- core/error.c */
/* Fill an optional bp_error; returns code. */
int bp__error_set(bp_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void bp__vformat(char *buf, size_t size, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;
void bp__format(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- core/clock.c: seconds on a monotonic clock (where there is one),
 * for measuring intervals. */
double bp__seconds(void);

/* ---- core/parallel.c: work split over threads. bp__blocks gives how many
 * row blocks to split `rows` rows into for about `work` multiply-adds: 1
 * for small work, else about one per BP__BLOCK_ROWS rows, at most
 * BP__MAX_ROW_BLOCKS (every call packs the other operand again, so a tall
 * product keeps its blocks long). The split depends on the product's shape
 * alone, never on the thread count or the cores present: a library product
 * may sum a row differently depending on where the call's rows start and
 * end (oneDNN's AVX2 kernels do), so the same calls on 1 or N threads are
 * what keeps the results bitwise the same. Block b of n covers rows
 * [rows*b/n, rows*(b+1)/n). bp__blocks_of is the same rule for blocks of
 * any length (a layer's units, BP__BLOCK_UNITS). bp__elem_blocks splits an
 * element-wise pass over n values, whose results do not depend on the
 * split, over the threads. */
#define BP__PARALLEL_WORK 262144.0
#define BP__BLOCK_ROWS 64
/* Blocks of a layer's output units (its parameter slopes, and its forward
 * pass where it runs by units) are wider than row blocks: a product's
 * speed falls off faster with few output columns than with few rows. */
#define BP__BLOCK_UNITS 128
#define BP__PARALLEL_ELEMS 65536
#define BP__MAX_ROW_BLOCKS 8
#define BP__MAX_BLOCKS 64
/* inline: a tiny network asks for every product it makes */
static inline int bp__blocks_of(int n, int per, double work)
{
    /* Small work stays in one block: waking another thread costs
     * microseconds. Otherwise blocks of about `per` of n (rounded to the
     * nearest count): long enough that a library call's set-up and its
     * packing of the other operand stay a small part of it, and as many
     * whatever the thread count, so the calls, and their sums, are too. */
    if (work < BP__PARALLEL_WORK)
        return 1;
    int blocks = (n + per / 2) / per;
    if (blocks > BP__MAX_ROW_BLOCKS)
        blocks = BP__MAX_ROW_BLOCKS;
    return blocks < 1 ? 1 : blocks;
}
static inline int bp__blocks(int rows, double work)
{
    return bp__blocks_of(rows, BP__BLOCK_ROWS, work);
}
int bp__elem_blocks(size_t n);
/* (one block needs no division: most products of small networks are one) */
static inline int bp__block_start(long long rows, long long b, long long n)
{
    return n == 1 ? (b > 0 ? (int)rows : 0) : (int)(rows * b / n);
}
#define BP__BLOCK_START(rows, b, n) bp__block_start((rows), (b), (n))
/* Run fn(ctx, b, n) for every block b of n: on up to `threads` threads (and
 * never more than bp_threads()), each
 * block on one of them, or, when threads <= 1, in order on the caller's
 * thread without entering any parallel construct (even an inactive one
 * costs an allocation). */
typedef void (*bp__block_fn)(void *ctx, int block, int blocks);
void bp__for_blocks_parallel(int n, int threads, bp__block_fn fn, void *ctx);
static inline void bp__for_blocks(int n, int threads, bp__block_fn fn, void *ctx)
{
    if (threads > 1 && n > 1) {
        bp__for_blocks_parallel(n, threads, fn, ctx);
        return;
    }
    /* inline, so tiny networks pay no call for the split they do not make */
    for (int b = 0; b < n; b++)
        fn(ctx, b, n);
}
/* Fill a new buffer of len bytes front to back by calls of fn for
 * consecutive parts (fn sets *got below n where the data ends; nonzero
 * is an error, returned), while a second thread, where there is one,
 * takes the buffer's first-touch page faults ahead of the writer. The
 * buffer's prior contents are lost; *got is the bytes fn wrote. */
typedef int (*bp__fill_fn)(void *ctx, unsigned char *dst, size_t n, size_t *got);
int bp__fill(void *buf, size_t len, bp__fill_fn fn, void *ctx, size_t *got);
/* 1 when v is inf or NaN: its exponent bits all set. An integer test,
 * which vectorizes (a float sum over a block would be one long chain). */
static inline uint32_t bp__nonfinite_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

/* ---- train/train.c: how many epochs the next timed group holds, from the
 * last group's time per epoch: about BP_TIMED_SECONDS of them, 1 when an
 * epoch takes that long, at most 4096. */
int bp__timed_group(double per_epoch);
/* The check bp_evaluate makes of data against a network and loss (widths,
 * class labels, rows), for the other evaluations. */
int bp__evaluate_check(const bp_net *net, const bp_dataset *ds, bp_loss loss, bp_error *err);

/* ---- data/dataset.c: bp_dataset_gather of shuffled rows that also asks
 * for the stored inputs of the next batch's n_next rows (next; a row out
 * of range is skipped), each thread for the rows it will gather, so that
 * a training loop's next batch comes while it works on this one. With
 * done, each thread then calls done(ctx, b0, b1, x + b0 * inputs) on the
 * rows [b0, b1) it gathered, while they are in its caches. */
int bp__dataset_gather_ahead(const bp_dataset *ds, const size_t *rows, int B, float *x, float *t,
                             const size_t *next, size_t n_next,
                             void (*done)(void *ctx, int b0, int b1, const float *x), void *ctx);

/* ---- train/optim.c: bp_optim_step that, with prev (n), first copies the
 * parameters there, and with finite, sets it to 1 when every parameter
 * after the step is finite: the training loop's guard in the same pass. */
int bp__optim_step_guarded(bp_optim *opt, double lr, float *prev, int *finite);

/* ---- math/gemm.c: one BLAS-style signature for every matrix product.
 * C (M, N) = alpha * op(A) op(B) + beta * C, row-major, where op(A) is
 * (M, K) and op(B) is (K, N); ta/tb nonzero mean A/B are given transposed.
 * beta == 0 overwrites C without reading it. */
/* Products whose rows have fewer than this many multiply-adds (N x K) run
 * plain loops, where packing or a library call would cost more than the
 * arithmetic. The choice never depends on M, the dimension callers split
 * into row blocks. */
#define BP__TINY_ROW_MACS 1024
/* math/gemm_small.c: those plain loops. */
void bp__gemm_small(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);
/* The same loops four outputs at a time, with the same operations per
 * element, so the same bits, for rows of at least BP__ROW_VECTOR_N outputs
 * (a weight gradient at batch 1, a 2-input layer over a data set). */
#define BP__ROW_VECTOR_N 8
/* Except a weight gradient's form (A transposed, B not) from this many
 * multiply-adds on: a batch of a few rows makes it an outer product, which
 * the backend writes several times faster (oneDNN: 19 against 78 us at
 * 256x784x1). A product split into row blocks has at least
 * BP__PARALLEL_WORK / BP__MAX_ROW_BLOCKS multiply-adds in every block, far
 * above this, so a block takes its whole product's path. No forward pass
 * has this form: its bits stay those of the plain loops for any batch. */
#define BP__OUTER_MACS 2048
void bp__gemm_rows(int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc);
/* The build's backend (oneDNN or the built-in kernel) for the rest. */
void bp__gemm_large(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);
/* math/gemm.c: short rows of 8 or more outputs, by the rule above: the
 * vector rows or, for a weight gradient's outer product, the backend. */
void bp__gemm_wide(int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc);
/* Inline, so a tiny network's products go straight to the plain loops. */
static inline void bp__gemm(int ta, int tb, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb,
                            float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if ((long long)N * K >= BP__TINY_ROW_MACS)
        bp__gemm_large(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (N < BP__ROW_VECTOR_N)
        bp__gemm_small(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        bp__gemm_wide(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
/* The built-in kernel alone, whatever the build's backend (tests compare
 * the backends with it). */
void bp__gemm_builtin(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc);
/* The naive twin, kept as the test oracle. */
void bp__gemm_ref(int ta, int tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc);

/* ---- nn/activation.c: forward in place over (B, O); backward turns the
 * slope with respect to the values, d (B, O), into the slope with respect to
 * the inputs, in place, from the values a (B, O). */
void bp__act_forward(bp_act act, float slope, int B, int O, float *z_to_a);
void bp__act_backward(bp_act act, float slope, int B, int O, const float *restrict a,
                      float *restrict d);
/* The activations of one comparison an element (relu, leaky relu; any
 * other act passes v or d through): the value at v, and d times the slope
 * at the output a. The one place they are written; callers pass a
 * constant act, so each use compiles to its own comparison. */
static inline __attribute__((always_inline)) float bp__act_simple(bp_act act, float slope,
                                                                  float v)
{
    if (act == BP_ACT_RELU)
        return v > 0.0f ? v : 0.0f;
    if (act == BP_ACT_LEAKY_RELU)
        return v > 0.0f ? v : slope * v;
    return v;
}
static inline __attribute__((always_inline)) float bp__act_simple_slope(bp_act act, float slope,
                                                                        float a, float d)
{
    if (act == BP_ACT_RELU)
        return a > 0.0f ? d : 0.0f;
    if (act == BP_ACT_LEAKY_RELU)
        return a > 0.0f ? d : slope * d;
    return d;
}
/* Their loops over n values, inline for callers with a handful of them
 * (nn/small.c): 1 when act is identity, relu or leaky relu, else 0, doing
 * nothing. */
static inline int bp__act_forward_simple(bp_act act, float slope, size_t n, float *v)
{
    switch (act) {
    case BP_ACT_IDENTITY:
        return 1;
    case BP_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            v[i] = bp__act_simple(BP_ACT_RELU, slope, v[i]);
        return 1;
    case BP_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            v[i] = bp__act_simple(BP_ACT_LEAKY_RELU, slope, v[i]);
        return 1;
    default:
        return 0;
    }
}
static inline int bp__act_backward_simple(bp_act act, float slope, size_t n,
                                          const float *restrict a, float *restrict d)
{
    switch (act) {
    case BP_ACT_IDENTITY:
        return 1;
    case BP_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = bp__act_simple_slope(BP_ACT_RELU, slope, a[i], d[i]);
        return 1;
    case BP_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = bp__act_simple_slope(BP_ACT_LEAKY_RELU, slope, a[i], d[i]);
        return 1;
    default:
        return 0;
    }
}
/* Double-precision scalar forms for the reference pass and explain. */
double bp__act_value_d(bp_act act, double slope, double z);
double bp__act_slope_d(bp_act act, double slope, double z, double a);
void bp__softmax_d(int O, const double *z, double *a);

/* ---- nn/loss.c */
/* Validate the target width T for a loss on O outputs and the values of the
 * targets (class indices in range). msg receives the detail on failure. */
int bp__loss_check(bp_loss loss, int B, int O, const float *t, int T,
                   char *msg, size_t msg_size);
/* The same with class weights cw (NULL: none): bce then needs 0/1 targets. */
int bp__loss_check_w(bp_loss loss, int B, int O, const float *t, int T, const float *cw,
                     char *msg, size_t msg_size);
/* Class weights: how many a loss on O outputs takes (cce: O, bce: 2, for
 * targets 0 and 1), and whether cw holds that many finite weights above 0
 * for a loss that takes them. */
int bp__class_weight_count(bp_loss loss, int O);
int bp__class_weight_check(bp_loss loss, int O, const float *cw, char *msg, size_t msg_size);
/* The normaliser with class weights cw: the sum of the terms' weights
 * (bp__loss_norm when cw is NULL). */
double bp__loss_wnorm(bp_loss loss, const float *cw, int B, int O, const float *t, int T);
/* bp_loss_compute without the checks, for targets already checked: the
 * loss of outputs y (B, O), and dL/dy into dy when not NULL; cw: class
 * weights or NULL. */
double bp__loss_values(bp_loss loss, int B, int O, const float *y, const float *t, int T,
                       const float *cw, float *dy);
/* Fused forms: from the logits z (B, O) of a softmax or identity (CCE) or
 * sigmoid or identity (BCE) output layer, the loss and, when dz is not
 * NULL, dL/dz (B, O). */
double bp__loss_fused(bp_loss loss, int B, int O, const float *z,
                      const float *t, int T, const float *cw, float *dz);
/* Accuracy of a network's outputs y (B, O): bp_accuracy, except that an
 * identity output under bce holds logits, thresholded at 0. */
double bp__net_accuracy(const bp_net *net, bp_loss loss, int B, const float *y, const float *t,
                        int T);
/* Whether the loss fuses with the output activation; whether some loss
 * fuses with it and the network must keep its logits (not for identity,
 * whose outputs are the logits). */
int bp__loss_fuses(bp_loss loss, bp_act act);
int bp__loss_fuses_any(bp_act act);
/* Double-precision forms for the reference pass: loss of one row, and when
 * dy is not NULL the slope of that row's contribution (already divided by
 * the batch's normaliser n). z is the row's logits (used when fused). */
double bp__loss_row_d(bp_loss loss, bp_act out_act, int O, const double *z,
                      const double *y, const float *t, int T, double n,
                      double *dy);
/* The same with class weights cw (NULL: none); n is then bp__loss_wnorm. */
double bp__loss_row_wd(bp_loss loss, bp_act out_act, int O, const double *z,
                       const double *y, const float *t, int T, const float *cw, double n,
                       double *dy);
/* The normaliser a loss divides its sum by: B for CCE, B * O otherwise. */
double bp__loss_norm(bp_loss loss, int B, int O);
/* The loss of one output for mse (d^2) or mae (|d|), d the output less
 * its target, and its slope with respect to the output into *g: loss.c's
 * element and the small networks' fused pass (nn/small.c) both use it. */
static inline double bp__loss_mse_mae(bp_loss loss, double d, double *g)
{
    if (loss == BP_LOSS_MSE) {
        *g = 2.0 * d;
        return d * d;
    }
    *g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
    return fabs(d);
}

/* ---- nn/spec.c */
int bp__spec_parse(const char *spec, bp_shape *input, int *n_layers,
                   bp_layer_desc **layers, bp_error *err);
/* One layer's spec entry ("128:relu", "conv:32:3:relu:same"), and a shape
 * as the spec writes it ("784", "1x28x28"), into buf. */
void bp__spec_entry(const bp_layer_desc *d, char *buf, size_t size);
void bp__spec_shape(bp_shape s, char *buf, size_t size);

/* ---- nn/net.c: internal views of a network. A layer's geometry, as its
 * kind (nn/layer.h) planned it from the description and the input shape. */
typedef struct bp__kind bp__kind;
typedef struct bp__layer {
    const bp__kind *kind;
    bp_shape in, out;
    int I, O;          /* values per sample in and out: bp_shape_size of in, out */
    bp_act act;
    int bias;
    float slope;
    int k, stride, pad; /* conv, pools: window side, step, zeros on each side */
    size_t w_off;      /* offset of the weights in the parameter block */
    size_t b_off;      /* offset of the bias (out.c values); meaningful when bias */
    size_t n_w, n_b;   /* weight and bias counts (n_b 0 without a bias) */
    int w_rank;        /* dimensions of the weights' tensor, 0 without weights */
    size_t w_dims[4];  /* its shape as PyTorch's module holds it */
    double fan_in, fan_out; /* for the init schemes */
    size_t scratch;    /* floats per sample the kind keeps from forward for backward */
    float *scr_base;   /* the workspace's scratch for this layer, (scr_rows, scratch) */
    int scr_rows;      /* so a kind may lay it out by planes rather than rows */
    size_t keep;       /* floats per batch a whole-batch kind keeps (batch statistics) */
    size_t keep_off;   /* their offset in the network's keep block */
    size_t s_off, n_s; /* the layer's share of the state block (running statistics) */
    double rate;       /* dropout: the probability of zeroing a value */
    double momentum, eps; /* batchnorm: running statistics' momentum, variance's epsilon */
    size_t work;       /* floats grad_input may write while it works on one sample */
    double macs;       /* multiply-adds per sample of the forward pass */
    void *prims;       /* what the kind's prepare made (owned, freed by its release); NULL if none */
    int half;          /* the products in bf16 (the network's precision) */
    struct bp__allsum *allsum; /* batchnorm: sums over every process, NULL: alone */
} bp__layer;

/* The layer's parameters, weights then bias: n_w + n_b from w_off. */
static inline size_t bp__layer_params(const bp__layer *L)
{
    return L->n_w + L->n_b;
}

const bp__layer *bp__net_layer(const bp_net *net, int l);
/* The parameter block cut into spans in order, each with the thread (of
 * `threads`) whose caches hold it after a training step of the last
 * forward pass's batch: the one that wrote its slopes and, for a dense
 * layer run by units, read it forward. Where no one thread does (no batch
 * yet, kinds that split their own work), the owner is -1: each thread
 * takes an even share. An element-wise pass over the parameters that
 * follows it moves none of them between cores. Writes at most
 * bp__net_max_spans(net); returns the count. */
typedef struct bp__span {
    size_t lo, hi;
    int owner;
    uint16_t *half; /* the products' bf16 copy of [lo, hi), NULL: none */
} bp__span;
int bp__net_max_spans(const bp_net *net);
int bp__net_spans(const bp_net *net, int threads, bp__span *out);
/* A step wrote every parameter and, as it went, every bf16 copy a span
 * names: the next forward pass takes the copies as they are. */
void bp__net_half_written(bp_net *net);
/* Workspace floats a row of a batch takes (activations, logits, slopes,
 * the layers' scratch), for sizing batches of evaluation. */
size_t bp__net_row_floats(const bp_net *net);
/* 0 when every layer is dense, else BP_EINVAL with err naming `what` (the
 * format or step that cannot take the layer) and the first other layer. */
int bp__net_dense_only(const bp_net *net, const char *what, bp_error *err);
/* Class weights (borrowed, checked by the caller; NULL: none) for the
 * network's losses, gradient checks included, until set again. */
void bp__net_set_class_weight(bp_net *net, const float *cw);
void bp__net_set_message(bp_net *net, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Validate a batch of targets for this network's output; sets the message. */
int bp__net_check_targets(bp_net *net, bp_loss loss, int B, const float *t, int T);
/* bp_net_loss for targets the caller has checked with bp__net_check_targets. */
int bp__net_loss_checked(bp_net *net, bp_loss loss, const float *t, int T, double *value);
/* bp_net_backward(net, NULL) that writes the gradient block instead of
 * adding to it: what bp_net_zero_grad before it would give, without
 * clearing the block and reading it back. */
int bp__net_backward_fresh(bp_net *net);
/* A caller that writes a batch of B rows before bp_net_forward may write
 * the first layer's bf16 input in the same pass, while the rows are in
 * its caches, when bp__net_takes_input says the layer reads one (a bf16
 * first layer run by units): bp__net_keep_input for rows [b0, b1), x at
 * row b0 (any split over threads), then bp__net_input_kept once all are
 * written; the next bp_net_forward of that x and B then skips its own
 * conversion. Any other forward pass, or a new workspace, forgets it. */
int bp__net_takes_input(const bp_net *net, int B);
void bp__net_keep_input(bp_net *net, int b0, int b1, const float *x);
void bp__net_input_kept(bp_net *net, const float *x, int B);

/* ---- nn/reference.c: one layer's forward in double, z (O) and the
 * activation's values a (O) from in (I) with the parameters p; and the
 * network's loss in double from a double copy of its parameters. */
void bp__layer_forward_d(const bp__layer *L, const double *p, const double *in, double *z,
                         double *a);
int bp__reference_loss(const bp_net *net, const double *params, bp_loss loss,
                       int B, const float *x, const float *t, int T,
                       double *value);

/* ---- dist/shard.c: a batch's gradient as the sum of fixed sub-batches
 * (bp_shard). The work buffers are allocated once, by setup. */
/* Batch norm's sums over every process (bp_shard.allsum) during one
 * part's passes: set on the network's batch norm layers by
 * bp__net_set_allsum and read by their training passes. */
typedef struct bp__allsum {
    bp_allsum_fn sum;
    void *ctx;
    int rows;       /* rows of the global batch */
    double share;   /* this process's rows / rows: the scale of its slopes */
    double *buf;    /* (4 C) for the widest batch norm */
    int rc;         /* the first failure of sum, 0 if none */
    int given;      /* the ordered schedule (dist/split.c): buf holds the whole
                     * batch's sums already (forward's at buf, backward's
                     * weighed ones at buf + 2 C); sum is not called, and
                     * forward leaves the running statistics to the caller */
} bp__allsum;

/* nn/batchnorm.c: point every batch norm layer of net at a (NULL: sums of
 * this process alone, the one-process arithmetic). */
void bp__net_set_allsum(bp_net *net, bp__allsum *a);
/* The largest channel count of net's batch norm layers, 0 if none. */
size_t bp__net_bn_channels(const bp_net *net);
/* For a process with no rows in this part: the sums its batch norm
 * layers' forward (in layer order, with the running statistics' update)
 * and backward (in reverse order) would take part in, with zeros. */
void bp__net_allsum_idle(bp_net *net, bp__allsum *a);
/* Move batch norm layer l's running statistics (and num_batches_tracked)
 * by the whole batch's sums of x and x^2 (2 C) over `rows` rows. */
void bp__net_bn_track(bp_net *net, int l, const double *sums, int rows);

/* nn/net_rows.c: the network's passes one layer at a time over rows
 * [r0, r1) of a batch held in the workspace, with the bits of a pass over
 * those rows alone (the same blocks and kernels), so that the parts of a
 * batch can run layer by layer side by side (dist/split.c). Training mode,
 * no global dropout. begin reserves rows and takes x (rows, I), borrowed
 * until the next forward; forward runs layer l (a batch norm takes its
 * sums from its allsum, given); loss leaves dL/dz of the output layer for
 * the rows, and their mean loss in *value and accuracy in *acc (when not
 * NULL); backward runs layer l from its dz to its input's (l > 0),
 * writing its parameter slopes (fresh) into grads, a block of the
 * parameter layout; bn_sums writes batch norm layer l's per-channel sums
 * over the rows (2 C: of x and x^2, or in backward of dz and dz * xhat). */
int bp__net_rows_begin(bp_net *net, int rows, const float *x);
void bp__net_rows_forward(bp_net *net, int l, int r0, int r1);
void bp__net_rows_loss(bp_net *net, bp_loss loss, int r0, int r1, const float *t, int T,
                       double *value, double *acc);
void bp__net_rows_backward(bp_net *net, int l, int r0, int r1, float *grads);
void bp__net_rows_bn_sums(const bp_net *net, int l, int r0, int r1, int backward, double *v);

typedef struct bp__shard_work {
    float *grads;   /* (count, P) part gradients for reduce, or (P) the running
                     * sum when this process adds the parts; NULL when neither */
    double *sums;   /* (count, 2) each part's loss and accuracy times its rows */
    bp__allsum allsum; /* batch norm's sums over every process (buf NULL: none) */
    int split;      /* batch norm in the ordered form: dist/split.c's schedule */
    double *table;  /* (parts, 2 C) with split: every part's batch norm sums */
} bp__shard_work;

/* Check o->shard against the options and the network, and allocate w
 * (zeroed first). Nothing to do when o->shard.parts is 0. */
int bp__shard_setup(const bp_train_opts *o, const bp_net *net, bp__shard_work *w,
                    bp_error *err);
void bp__shard_free(bp__shard_work *w);
/* The gradient of the batch x (B, I), t (B, T) into the network's gradient
 * block, summed over every process's parts; *loss and *acc the batch's
 * mean loss and accuracy (acc 0 unless classify). The caller has checked
 * the targets (bp__net_check_targets); the loss may be non-finite (the
 * caller checks that too). */
int bp__shard_gradient(const bp_shard *sh, bp__shard_work *w, bp_net *net, bp_loss loss,
                       int B, const float *x, const float *t, int T, int classify,
                       double *value, double *acc);
/* dist/split.c: bp__shard_gradient's work for a network with batch norm
 * in the ordered form: this process's parts layer by layer, each part's
 * slopes into its block of w->grads for the reduction (the gradient block
 * itself for one part), or, alone, summed in part order into w->grads;
 * each part's loss and accuracy times its rows into s (count, 2). */
int bp__split_gradient(const bp_shard *sh, bp__shard_work *w, bp_net *net, bp_loss loss, int B,
                       const float *x, const float *t, int T, int classify, double *s);

#endif /* BP_INTERNAL_H */
