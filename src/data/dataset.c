/*
 * dataset.c - the data-set type: one allocation holding the description,
 * the per-feature scaling, the targets (rows, T) and the inputs (rows, I),
 * stored as bytes (IDX images) or floats (everything else), and the shape
 * of a sample (C, H, W), whose nonzero sides multiply to the inputs.
 *
 * bp_dataset_gather turns rows into float batches, x' = (x - shift) * mul,
 * computed in float; it validates every row index before writing anything
 * and allocates nothing. Invariants: shift and mul hold I finite values;
 * classes > 0 only when T == 1 and every target is an integer in
 * [0, classes).
 */
#include "data.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#define GATHER_STREAM 1
/* A batch this large is written past the caches. Its lines have left
 * them since the last step, so ordinary stores would first read each line
 * back in; streamed whole lines skip that read. */
#define STREAM_MIN ((size_t)256 << 10)
#endif

/* Offsets inside the one allocation are kept at this alignment. */
#define DS_ALIGN 16

static size_t align_up(size_t n)
{
    return (n + DS_ALIGN - 1) / DS_ALIGN * DS_ALIGN;
}

/* *sum = a + b; nonzero when it does not fit in size_t. */
static int add_size(size_t a, size_t b, size_t *sum)
{
    if (b > SIZE_MAX - a)
        return BP_EOVERFLOW;
    *sum = a + b;
    return 0;
}

bp_dataset *bp__dataset_new(size_t rows, int inputs, int T, int bytes,
                            const char *what, bp_error *err)
{
    bp_dataset *ds = NULL;
    size_t nx, nt, x_size, t_size, s_size, head, total;
    unsigned char *block;

    if (inputs < 1 || inputs > BP__DATA_MAX_INPUTS || T < 1 || T > BP__DATA_MAX_INPUTS) {
        bp__error_set(err, BP_EINVAL,
                      "%s: a data set needs 1 to %d inputs and target columns, got %d and %d",
                      what, BP__DATA_MAX_INPUTS, inputs, T);
        return NULL;
    }
    head = align_up(sizeof *ds);
    if (bp__mul_size(rows, (size_t)inputs, &nx) != 0 ||
        bp__mul_size(nx, bytes ? 1 : sizeof(float), &x_size) != 0 ||
        bp__mul_size(rows, (size_t)T, &nt) != 0 ||
        bp__mul_size(nt, sizeof(float), &t_size) != 0 ||
        bp__mul_size((size_t)inputs, 2 * sizeof(float), &s_size) != 0 ||
        add_size(head, align_up(s_size), &total) != 0 ||
        add_size(total, align_up(t_size), &total) != 0 ||
        add_size(total, x_size, &total) != 0) {
        bp__error_set(err, BP_EOVERFLOW, "%s: %zu rows of %d inputs is too large", what,
                      rows, inputs);
        return NULL;
    }
    block = bp__malloc(total);
    if (!block) {
        bp__error_set(err, BP_ENOMEM, "%s: out of memory for %zu rows of %d inputs (%zu bytes)",
                      what, rows, inputs, total);
        return NULL;
    }
    ds = (bp_dataset *)(void *)block;
    memset(ds, 0, sizeof *ds);
    ds->rows = rows;
    ds->inputs = inputs;
    ds->shape[0] = inputs;
    ds->T = T;
    ds->bytes = bytes ? 1 : 0;
    ds->shift = (float *)(void *)(block + head);
    ds->mul = ds->shift + inputs;
    ds->t = (float *)(void *)(block + head + align_up(s_size));
    ds->x = block + head + align_up(s_size) + align_up(t_size);
    for (int j = 0; j < inputs; j++) {
        ds->shift[j] = 0.0f;
        ds->mul[j] = bytes ? 1.0f / 255.0f : 1.0f;
    }
    return ds;
}

void bp__dataset_name(bp_dataset *ds, const char *name, const char *detail)
{
    char tail[96];
    if (ds->classes > 0)
        snprintf(tail, sizeof tail, "%d class%s", ds->classes, ds->classes == 1 ? "" : "es");
    else
        snprintf(tail, sizeof tail, "%s", ds->T == 1 ? "numeric target" : "numeric targets");
    snprintf(ds->describe, sizeof ds->describe, "%s (%zu row%s, %d input%s%s%s, %s)", name,
             ds->rows, ds->rows == 1 ? "" : "s", ds->inputs, ds->inputs == 1 ? "" : "s",
             detail ? ", " : "", detail ? detail : "", tail);
}

int bp__dataset_classes_of(const float *t, size_t n)
{
    float top = 0.0f;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        float v = t[i];
        if (!(v >= 0.0f && v <= (float)BP__DATA_MAX_CLASS) || v != floorf(v))
            return 0;
        if (v > top)
            top = v;
    }
    return (int)top + 1;
}

bp_dataset *bp_dataset_from_arrays(size_t rows, int inputs, int T, const float *x,
                                   const float *t, int classes, bp_error *err)
{
    bp_dataset *ds;
    size_t nx, nt;

    if (inputs < 1 || T < 1 || classes < 0) {
        bp__error_set(err, BP_EINVAL,
                      "data arrays: inputs and target columns must be at least 1 and classes "
                      "at least 0, got %d, %d and %d", inputs, T, classes);
        return NULL;
    }
    if (classes > 0 && T != 1) {
        bp__error_set(err, BP_EINVAL,
                      "data arrays: class labels need one target column, got %d", T);
        return NULL;
    }
    if (rows > 0 && (!x || !t)) {
        bp__error_set(err, BP_EINVAL, "data arrays: x and t must not be NULL");
        return NULL;
    }
    ds = bp__dataset_new(rows, inputs, T, 0, "data arrays", err);
    if (!ds)
        return NULL;
    nx = rows * (size_t)inputs; /* both checked by bp__dataset_new */
    nt = rows * (size_t)T;
    for (size_t i = 0; i < nx; i++)
        if (!isfinite(x[i])) {
            bp__error_set(err, BP_ENONFINITE, "data arrays: x row %zu, column %zu is not finite",
                          i / (size_t)inputs, i % (size_t)inputs);
            goto fail;
        }
    for (size_t i = 0; i < nt; i++) {
        if (!isfinite(t[i])) {
            bp__error_set(err, BP_ENONFINITE, "data arrays: t row %zu, column %zu is not finite",
                          i / (size_t)T, i % (size_t)T);
            goto fail;
        }
        if (classes > 0 && (t[i] < 0.0f || t[i] >= (float)classes || t[i] != floorf(t[i]))) {
            bp__error_set(err, BP_EINVAL,
                          "data arrays: t row %zu is %g, not a class index in [0, %d)", i,
                          (double)t[i], classes);
            goto fail;
        }
    }
    if (nx > 0)
        memcpy(ds->x, x, nx * sizeof(float));
    if (nt > 0)
        memcpy(ds->t, t, nt * sizeof(float));
    ds->classes = classes;
    bp__dataset_name(ds, "arrays", NULL);
    return ds;
fail:
    bp_dataset_free(ds);
    return NULL;
}

void bp_dataset_free(bp_dataset *ds)
{
    if (!ds)
        return;
    if (ds->class_names)
        for (int k = 0; k < ds->classes; k++)
            bp__free(ds->class_names[k]);
    bp__free(ds->class_names);
    bp__free(ds->schema);
    bp__free(ds);
}

const char *bp_dataset_class_name(const bp_dataset *ds, int k)
{
    if (!ds || !ds->class_names || k < 0 || k >= ds->classes)
        return NULL;
    return ds->class_names[k];
}

int bp_dataset_has_targets(const bp_dataset *ds)
{
    return ds && !ds->no_targets;
}

int bp_dataset_target_scaling(const bp_dataset *ds, double *mean, double *scale)
{
    int none = !ds || !ds->t_scaled;
    if (mean)
        *mean = none ? 0.0 : ds->t_mean;
    if (scale)
        *scale = none ? 1.0 : ds->t_scale;
    return none;
}

const char *bp_dataset_task_reason(const bp_dataset *ds)
{
    return ds ? ds->reason : "";
}

const char *bp_dataset_label(const bp_dataset *ds)
{
    return ds ? ds->label : "";
}

const char *bp_dataset_schema(const bp_dataset *ds)
{
    return ds ? ds->schema : NULL;
}

size_t bp_dataset_rows(const bp_dataset *ds)
{
    return ds ? ds->rows : 0;
}

int bp_dataset_inputs(const bp_dataset *ds)
{
    return ds ? ds->inputs : 0;
}

void bp_dataset_shape(const bp_dataset *ds, int *c, int *h, int *w)
{
    /* NULL outputs are skipped; a NULL data set is {0, 0, 0}. */
    if (c)
        *c = ds ? ds->shape[0] : 0;
    if (h)
        *h = ds ? ds->shape[1] : 0;
    if (w)
        *w = ds ? ds->shape[2] : 0;
}

int bp_dataset_target_cols(const bp_dataset *ds)
{
    return ds ? ds->T : 0;
}

int bp_dataset_classes(const bp_dataset *ds)
{
    return ds ? ds->classes : 0;
}

const char *bp_dataset_describe(const bp_dataset *ds)
{
    return ds ? ds->describe : "";
}

static void gather_rows(const bp_dataset *ds, const size_t *rows, size_t first, int b0, int b1,
                        int stream, float *x, float *t);

/* Block k of n of a gather, for bp__for_blocks. */
typedef struct gather_job {
    const bp_dataset *ds;
    const size_t *rows;
    size_t first;
    int B;
    float *x, *t;
    const size_t *next; /* (n_next) rows to ask for, NULL: none */
    size_t n_next;
    void (*done)(void *ctx, int b0, int b1, const float *x); /* NULL: none */
    void *done_ctx;
    int stream; /* x's rows streamed past the caches (gather_rows) */
} gather_job;

static void prefetch_row(const bp_dataset *ds, size_t r);

/* Block k of n of a gather, then block k of the next batch's rows asked
 * for: the same block of the next gather, so the same thread's. */
static void gather_block(void *ctx, int k, int n)
{
    gather_job *j = ctx;
    const int b0 = BP__BLOCK_START(j->B, k, n), b1 = BP__BLOCK_START(j->B, k + 1, n);
    gather_rows(j->ds, j->rows, j->first, b0, b1, j->stream, j->x, j->t);
    if (j->done && b1 > b0)
        j->done(j->done_ctx, b0, b1, j->x + (size_t)b0 * (size_t)j->ds->inputs);
    if (j->next)
        for (size_t b = j->n_next * (size_t)k / (size_t)n,
                    e = j->n_next * (size_t)(k + 1) / (size_t)n;
             b < e; b++)
            if (j->next[b] < j->ds->rows)
                prefetch_row(j->ds, j->next[b]);
}

static int gather(const bp_dataset *ds, const size_t *rows, size_t first, int B, float *x,
                  float *t, const size_t *next, size_t n_next,
                  void (*done)(void *ctx, int b0, int b1, const float *x), void *done_ctx)
{
    size_t I;
    if (!ds || B < 0)
        return BP_EINVAL;
    if (rows) {
        for (int b = 0; b < B; b++)
            if (rows[b] >= ds->rows)
                return BP_EINVAL;
    } else if (first > ds->rows || (size_t)B > ds->rows - first) {
        return BP_EINVAL;
    }
    I = (size_t)ds->inputs;
    /* Rows are independent and each value is copied alone, so any split
     * gives the same bits: a batch of many values is gathered by blocks of
     * rows on every thread (the reads of shuffled rows wait on memory, and
     * a thread with no rows of its own would only wait). */
    const int n = x && B > 1 ? bp__elem_blocks((size_t)B * I) : 1;
    gather_job job = {.ds = ds, .rows = rows, .first = first, .B = B, .x = x, .t = t,
                      .next = x ? next : NULL, .n_next = n_next, .done = x ? done : NULL,
                      .done_ctx = done_ctx};
#ifdef GATHER_STREAM
    /* not where done reads the rows straight back */
    job.stream = x && !done && (size_t)B * I * sizeof(float) >= STREAM_MIN;
#endif
    bp__for_blocks(n, n, gather_block, &job);
    return 0;
}

int bp_dataset_gather(const bp_dataset *ds, const size_t *rows, size_t first, int B,
                      float *x, float *t)
{
    return gather(ds, rows, first, B, x, t, NULL, 0, NULL, NULL);
}

int bp__dataset_gather_ahead(const bp_dataset *ds, const size_t *rows, int B, float *x, float *t,
                             const size_t *next, size_t n_next,
                             void (*done)(void *ctx, int b0, int b1, const float *x), void *ctx)
{
    return gather(ds, rows, 0, B, x, t, next, n_next, done, ctx);
}

/* Asks for row r's stored inputs and targets ahead of their use. */
static void prefetch_row(const bp_dataset *ds, size_t r)
{
    const size_t len = (size_t)ds->inputs * (ds->bytes ? sizeof(uint8_t) : sizeof(float));
    const char *row = (const char *)ds->x + r * len;
    for (size_t o = 0; o < len; o += 64) /* a cache line */
        __builtin_prefetch(row + o);
    __builtin_prefetch(ds->t + r * (size_t)ds->T); /* its targets' first line */
}

/* Row r's scaled values, columns [j0, j1), into xo (I). */
static void scale_row(const bp_dataset *ds, size_t r, size_t j0, size_t j1, float *xo)
{
    const size_t I = (size_t)ds->inputs;
    if (ds->bytes) {
        const uint8_t *src = (const uint8_t *)ds->x + r * I;
        for (size_t j = j0; j < j1; j++)
            xo[j] = ((float)src[j] - ds->shift[j]) * ds->mul[j];
    } else {
        const float *src = (const float *)ds->x + r * I;
        for (size_t j = j0; j < j1; j++)
            xo[j] = (src[j] - ds->shift[j]) * ds->mul[j];
    }
}

#ifdef GATHER_STREAM
/* scale_row's values by whole cache lines of xo streamed to memory; the
 * row's partial lines at either end stored as scale_row stores them. The
 * same operations per value: the same bits. */
static void scale_row_stream(const bp_dataset *ds, size_t r, float *xo)
{
    const size_t I = (size_t)ds->inputs;
    size_t j = (size_t)((64 - ((uintptr_t)xo & 63)) & 63) / sizeof(float);
    if (j > I)
        j = I; /* no whole line: all by scale_row */
    scale_row(ds, r, 0, j, xo);
    const float *shift = ds->shift, *mul = ds->mul;
    for (; j + 16 <= I; j += 16) {
        for (size_t q = j; q < j + 16; q += 4) {
            __m128 v;
            if (ds->bytes) {
                int32_t four; /* four bytes, widened to four int32 */
                memcpy(&four, (const uint8_t *)ds->x + r * I + q, sizeof four);
                const __m128i z = _mm_setzero_si128();
                const __m128i b = _mm_cvtsi32_si128(four);
                v = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(b, z), z));
            } else {
                v = _mm_loadu_ps((const float *)ds->x + r * I + q);
            }
            v = _mm_mul_ps(_mm_sub_ps(v, _mm_loadu_ps(shift + q)), _mm_loadu_ps(mul + q));
            _mm_stream_ps(xo + q, v);
        }
    }
    scale_row(ds, r, j, I, xo);
}
#endif

/* Rows [b0, b1) of a gather whose arguments are checked. Shuffled rows
 * are scattered over a set larger than the caches, and the CPU cannot
 * guess the next one: each is asked for a few rows ahead of its turn
 * (Fashion-MNIST's batch of 128 gathered in 68 us instead of 95). With
 * stream, x's rows go past the caches. */
static void gather_rows(const bp_dataset *ds, const size_t *rows, size_t first, int b0, int b1,
                        int stream, float *x, float *t)
{
    enum { AHEAD = 4 };
    const size_t I = (size_t)ds->inputs, T = (size_t)ds->T;
#ifndef GATHER_STREAM
    (void)stream;
#endif
    for (int b = b0; b < b1; b++) {
        size_t r = rows ? rows[b] : first + (size_t)b;
        if (x) {
            if (rows && b + AHEAD < b1)
                prefetch_row(ds, rows[b + AHEAD]);
            float *xo = x + (size_t)b * I; /* (I) */
#ifdef GATHER_STREAM
            if (stream)
                scale_row_stream(ds, r, xo);
            else
#endif
                scale_row(ds, r, 0, I, xo);
        }
        if (t)
            memcpy(t + (size_t)b * T, ds->t + r * T, T * sizeof(float));
    }
#ifdef GATHER_STREAM
    if (stream) /* the streamed rows seen by every thread once the gather ends */
        _mm_sfence();
#endif
}

/* Row r's stored values, before scaling, into row (I). */
static void raw_row(const bp_dataset *ds, size_t r, double *row)
{
    size_t I = (size_t)ds->inputs;
    if (ds->bytes) {
        const uint8_t *src = (const uint8_t *)ds->x + r * I;
        for (size_t j = 0; j < I; j++)
            row[j] = src[j];
    } else {
        const float *src = (const float *)ds->x + r * I;
        for (size_t j = 0; j < I; j++)
            row[j] = src[j];
    }
}

int bp_dataset_standardize(bp_dataset *ds)
{
    double *mean, *sq, *first, *row, *varies;
    size_t I;

    if (!ds || ds->rows == 0)
        return BP_EINVAL;
    I = (size_t)ds->inputs;
    mean = bp__calloc(5 * I, sizeof *mean);
    if (!mean)
        return BP_ENOMEM;
    sq = mean + I;        /* (I) sums of squared deviations */
    first = sq + I;       /* (I) row 0 */
    row = first + I;      /* (I) the current row */
    varies = row + I;     /* (I) 1 where some value differs from row 0's */
    raw_row(ds, 0, first);
    for (size_t r = 0; r < ds->rows; r++) {
        raw_row(ds, r, row);
        for (size_t j = 0; j < I; j++)
            mean[j] += row[j];
    }
    for (size_t j = 0; j < I; j++)
        mean[j] /= (double)ds->rows;
    for (size_t r = 0; r < ds->rows; r++) {
        raw_row(ds, r, row);
        for (size_t j = 0; j < I; j++) {
            double d = row[j] - mean[j];
            sq[j] += d * d;
            if (row[j] != first[j])
                varies[j] = 1.0;
        }
    }
    /* Population standard deviation; a constant column keeps mul 1. */
    for (size_t j = 0; j < I; j++) {
        double sd = sqrt(sq[j] / (double)ds->rows);
        float mul = varies[j] != 0.0 && sd > 0.0 ? (float)(1.0 / sd) : 1.0f;
        ds->shift[j] = (float)mean[j];
        ds->mul[j] = isfinite(mul) ? mul : 1.0f;
    }
    bp__free(mean);
    return 0;
}

int bp_dataset_get_scaling(const bp_dataset *ds, float *shift, float *mul)
{
    if (!ds)
        return BP_EINVAL;
    if (shift)
        memcpy(shift, ds->shift, (size_t)ds->inputs * sizeof *shift);
    if (mul)
        memcpy(mul, ds->mul, (size_t)ds->inputs * sizeof *mul);
    return 0;
}

int bp_dataset_set_scaling(bp_dataset *ds, const float *shift, const float *mul)
{
    if (!ds || !shift || !mul)
        return BP_EINVAL;
    for (int j = 0; j < ds->inputs; j++)
        if (!isfinite(shift[j]) || !isfinite(mul[j]))
            return BP_ENONFINITE;
    memcpy(ds->shift, shift, (size_t)ds->inputs * sizeof *shift);
    memcpy(ds->mul, mul, (size_t)ds->inputs * sizeof *mul);
    return 0;
}
