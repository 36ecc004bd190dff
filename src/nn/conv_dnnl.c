/*
 * conv_dnnl.c - a convolution layer's passes as oneDNN's convolution
 * primitives (nn/conv.h).
 *
 * Everything is made once, when the network reserves its workspace: the
 * primitives (planned for one thread, on one sample), the reorders between
 * our plain layouts and the blocked ones the primitives choose, and per
 * slot (one per thread that may run a block) a stream, the memory objects
 * and one buffer for the blocked copies and the scratchpad. A pass runs
 * sample by sample on its thread's slot, so a sample's bits never depend on
 * the block it sits in. The filters' slopes come from one primitive per
 * fixed group of filters, so a filter's slope is the same whichever block
 * of filters the network asks for. Every such job reads the whole batch,
 * so from SLOPE_RUNS_C input channels on, and in bf16 always, those
 * primitives take SLOPE_ROWS samples a call (the rows 0 to SLOPE_ROWS - 1,
 * then the next SLOPE_ROWS, and the last B % SLOPE_ROWS one at a time,
 * whatever the thread count); otherwise one sample a call. Each call's
 * group slope is added to the layer's in that order.
 *
 * The reorders between our plain layouts and the primitives' take RUN
 * samples a call where the primitive's layout holds each sample whole
 * after the one before: a reorder of one sample cost more in its call than
 * in its copying. The primitives still run one sample a call, on that
 * sample's place in the run's copy.
 *
 * In bf16 (half) the primitives read the inputs, filters and output slopes
 * in bf16 and write float: the reorders into their blocked layouts convert
 * as they copy, so no pass of ours touches bf16.
 */
#include "internal.h"
#include "math/dnnl.h"
#include "nn/conv.h"

#ifdef BP_HAVE_DNNL
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The tensors the passes hand to the primitives. */
enum {
    F_SRC, F_W, F_B, F_DST,  /* forward */
    D_DDST, D_W, D_DSRC,     /* the input's slope */
    W_SRC, W_DDST, W_DW,     /* a group of filters' slopes, one sample */
    WB_SRC, WB_DDST, WB_DW,  /* the same over SLOPE_ROWS samples */
    TENSORS
};
enum { P_FWD, P_BWD_D, P_BWD_W, P_BWD_WB, PRIMS };
/* Samples a call of the filters' slopes' primitive takes, for layers of at
 * least SLOPE_RUNS_C input channels and for every layer in bf16. */
#define SLOPE_ROWS 8
#define SLOPE_RUNS_C 16
/* Samples a reorder of a pass's per-sample tensors takes at once. */
#define RUN 8
/* Slots: at most this many blocks of one layer's work run at once. */
#define SLOTS (2 * BP__MAX_ROW_BLOCKS)
#define ALIGN 64

typedef struct tensor {
    int used;
    int output;                /* written by the primitive */
    dnnl_memory_desc_t user;   /* the plain row-major layout we hold */
    dnnl_memory_desc_t prim;   /* the primitive's */
    dnnl_primitive_t reorder;  /* user to prim (inputs) or back (outputs); NULL: the same */
    size_t off;                /* the primitive's copy in a slot's buffer, bytes */
    dnnl_memory_desc_t user_run, prim_run; /* the same for RUN samples */
    dnnl_primitive_t reorder_run;          /* their reorder; NULL: none */
    size_t off_run, one;       /* RUN samples' copy in the buffer, one sample's bytes */
} tensor;

typedef struct slot {
    dnnl_stream_t stream;
    dnnl_memory_t user[TENSORS], prim[TENSORS]; /* prim[t] is user[t] without a reorder */
    dnnl_memory_t user_run[TENSORS], prim_run[TENSORS];
    dnnl_memory_t pad[PRIMS];                   /* scratchpads */
    void *raw;                                  /* the buffer's allocation */
    unsigned char *buf;                         /* raw, aligned */
} slot;

struct bp__conv_prims {
    const bp__dnnl_api *d;
    unsigned passes;
    int OUT, I, O, CKK, HW;
    int G, groups;                /* filters per group of the slopes' primitive, groups */
    dnnl_primitive_t prim[PRIMS];
    dnnl_memory_desc_t pad_md[PRIMS];
    size_t pad_off[PRIMS];        /* each pass's scratchpad in the buffer, bytes */
    size_t tmp_off[2];            /* a group's plain slopes (G, C, K, K) in the buffer:
                                   * one sample's, SLOPE_ROWS samples' */
    size_t used[PRIMS];           /* bytes of the buffer each pass takes */
    tensor t[TENSORS];
    int runs[PRIMS];              /* the pass's per-sample reorders take RUN samples */
    int half;                     /* bf16 inputs, float outputs */
    const char *impl[PRIMS];      /* oneDNN's name for each pass's implementation */
    slot *slots;                  /* (SLOTS) */
};

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static int plain(const bp__dnnl_api *d, dnnl_memory_desc_t *md, int n, dnnl_dim_t d0,
                 dnnl_dim_t d1, dnnl_dim_t d2, dnnl_dim_t d3)
{
    const dnnl_dims_t dims = {d0, d1, d2, d3};
    return d->memory_desc_init_by_tag(md, n, dims, dnnl_f32, n == 1 ? dnnl_a : dnnl_abcd) !=
           dnnl_success;
}

/* A layout of the primitive's choosing; in bf16 when `half`. */
static int any(const bp__dnnl_api *d, dnnl_memory_desc_t *md, int half, dnnl_dim_t d0,
               dnnl_dim_t d1, dnnl_dim_t d2, dnnl_dim_t d3)
{
    const dnnl_dims_t dims = {d0, d1, d2, d3};
    return d->memory_desc_init_by_tag(md, 4, dims, half ? dnnl_bf16 : dnnl_f32,
                                      dnnl_format_tag_any) != dnnl_success;
}

/* Tensor t of pass p: the primitive's layout from its descriptor, and a
 * reorder and a place in the buffer when it differs from ours. */
static int tensor_set(bp__conv_prims *P, int t, int p, const dnnl_memory_desc_t *user,
                      const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index, int output)
{
    const bp__dnnl_api *d = P->d;
    tensor *T = &P->t[t];
    const dnnl_memory_desc_t *md = d->primitive_desc_query_md(pd, what, index);
    if (!md)
        return -1;
    T->used = 1;
    T->output = output;
    T->user = *user;
    T->prim = *md;
    if (d->memory_desc_equal(&T->user, &T->prim))
        return 0;
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = output ? &T->prim : &T->user, *to = output ? &T->user : &T->prim;
    if (d->reorder_primitive_desc_create(&rpd, from, d->engine, to, d->engine, NULL) != dnnl_success)
        return -1;
    dnnl_status_t st = d->primitive_create(&T->reorder, rpd);
    d->primitive_desc_destroy(rpd);
    if (st != dnnl_success) {
        T->reorder = NULL;
        return -1;
    }
    T->off = P->used[p];
    P->used[p] += round_up(d->memory_desc_get_size(&T->prim));
    return 0;
}

/* The one-sample layout `one` stretched to RUN samples: -1 unless it holds
 * each sample whole after the one before (no block across samples, the
 * sample stride outermost). */
static int md_run(const bp__dnnl_api *d, const dnnl_memory_desc_t *one, dnnl_memory_desc_t *run)
{
    const dnnl_blocking_desc_t *bk = &one->format_desc.blocking;
    if (one->format_kind != dnnl_blocked || one->ndims < 1 || one->dims[0] != 1 ||
        one->offset0 != 0)
        return -1;
    for (int i = 0; i < bk->inner_nblks; i++)
        if (bk->inner_idxs[i] == 0)
            return -1;
    *run = *one;
    run->dims[0] = RUN;
    run->padded_dims[0] = RUN;
    const size_t size = d->memory_desc_get_size(one);
    const size_t elem = one->data_type == dnnl_bf16 ? 2 : 4;
    if ((size_t)bk->strides[0] * elem != size || d->memory_desc_get_size(run) != RUN * size)
        return -1;
    return 0;
}

/* Tensor t of pass p over RUN samples: its layouts, reorder and place in
 * the buffer; the pass takes runs only while all its tensors can. */
static void tensor_run(bp__conv_prims *P, int t, int p)
{
    const bp__dnnl_api *d = P->d;
    tensor *T = &P->t[t];
    if (!T->reorder)
        return;
    if (md_run(d, &T->user, &T->user_run) || md_run(d, &T->prim, &T->prim_run)) {
        P->runs[p] = 0;
        return;
    }
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = T->output ? &T->prim_run : &T->user_run,
                             *to = T->output ? &T->user_run : &T->prim_run;
    if (d->reorder_primitive_desc_create(&rpd, from, d->engine, to, d->engine, NULL) !=
        dnnl_success) {
        P->runs[p] = 0;
        return;
    }
    const dnnl_status_t st = d->primitive_create(&T->reorder_run, rpd);
    d->primitive_desc_destroy(rpd);
    if (st != dnnl_success) {
        T->reorder_run = NULL;
        P->runs[p] = 0;
        return;
    }
    T->one = d->memory_desc_get_size(&T->prim);
    T->off_run = P->used[p];
    P->used[p] += round_up(d->memory_desc_get_size(&T->prim_run));
}

/* Pass p's primitive from its descriptor, with its scratchpad's place; in
 * bf16, -1 for a reference kernel, the slow emulation bf16 must never be. */
static int prim_set(bp__conv_prims *P, int p, const_dnnl_primitive_desc_t pd)
{
    const bp__dnnl_api *d = P->d;
    P->impl[p] = bp__dnnl_impl(d, pd);
    if (P->half && bp__dnnl_is_reference(P->impl[p]))
        return -1;
    const dnnl_memory_desc_t *md = d->primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (md)
        P->pad_md[p] = *md;
    P->pad_off[p] = P->used[p];
    P->used[p] += round_up(md ? d->memory_desc_get_size(md) : 0);
    if (d->primitive_create(&P->prim[p], pd) != dnnl_success) {
        P->prim[p] = NULL;
        return -1;
    }
    return 0;
}

/* The groups of filters the slopes' primitive covers: as many as the
 * network's blocks of this layer's filters at a large batch (two at least),
 * so that each block's job computes its own groups only. */
static int slope_groups(int OUT)
{
    int n = bp__blocks(OUT, 1e300);
    return OUT >= 2 && n < 2 ? 2 : n;
}

void bp__conv_prims_free(bp__conv_prims *P)
{
    if (!P)
        return;
    const bp__dnnl_api *d = P->d;
    for (int s = 0; P->slots && s < SLOTS; s++) {
        slot *S = &P->slots[s];
        for (int t = 0; t < TENSORS; t++) {
            if (S->prim[t] && S->prim[t] != S->user[t])
                d->memory_destroy(S->prim[t]);
            if (S->user[t])
                d->memory_destroy(S->user[t]);
            if (S->prim_run[t])
                d->memory_destroy(S->prim_run[t]);
            if (S->user_run[t])
                d->memory_destroy(S->user_run[t]);
        }
        for (int p = 0; p < PRIMS; p++)
            if (S->pad[p])
                d->memory_destroy(S->pad[p]);
        if (S->stream)
            d->stream_destroy(S->stream);
        bp__free(S->raw);
    }
    bp__free(P->slots);
    for (int t = 0; t < TENSORS; t++) {
        if (P->t[t].reorder)
            d->primitive_destroy(P->t[t].reorder);
        if (P->t[t].reorder_run)
            d->primitive_destroy(P->t[t].reorder_run);
    }
    for (int p = 0; p < PRIMS; p++)
        if (P->prim[p])
            d->primitive_destroy(P->prim[p]);
    bp__free(P);
}

unsigned bp__conv_prims_passes(const bp__conv_prims *P)
{
    return P ? P->passes : 0;
}

/* Pass p, the slopes of one group of G filters over N samples, with its
 * tensors from t0 (source, output's slope, filters' slope): the group's
 * output slope is read in place from the layer's, rows O floats apart. */
static int slopes_prim(bp__conv_prims *P, const bp__layer *L, const_dnnl_primitive_attr_t attr,
                       int N, int p, int t0)
{
    const bp__dnnl_api *d = P->d;
    const int C = L->in.c, H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w, K = L->k;
    const dnnl_dims_t strides = {L->stride, L->stride}, pad = {L->pad, L->pad};
    const dnnl_dims_t gdims = {N, P->G, Ho, Wo}, gstrides = {P->O, P->HW, Wo, 1};
    dnnl_memory_desc_t src, g_wei, g_dst, u_src, u_gwei, u_gdst;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    int rc = -1;
    dnnl_memory_desc_t h_wei, h_dst;
    if (any(d, &src, P->half, N, C, H, W) || any(d, &g_wei, 0, P->G, C, K, K) ||
        any(d, &h_wei, P->half, P->G, C, K, K) || any(d, &h_dst, P->half, N, P->G, Ho, Wo) ||
        any(d, &g_dst, P->half, N, P->G, Ho, Wo) || plain(d, &u_src, 4, N, C, H, W) ||
        plain(d, &u_gwei, 4, P->G, C, K, K) ||
        d->memory_desc_init_by_strides(&u_gdst, 4, gdims, dnnl_f32, gstrides) != dnnl_success)
        return -1;
    /* its own forward as the hint, all in the inputs' type */
    if (d->convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                         &src, &h_wei, NULL, &h_dst, strides, pad,
                                         pad) != dnnl_success ||
        d->primitive_desc_create(&fwd, &cd, attr, d->engine, NULL) != dnnl_success ||
        d->convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src, &g_wei,
                                                  NULL, &g_dst, strides, pad,
                                                  pad) != dnnl_success ||
        d->primitive_desc_create(&pd, &cd, attr, d->engine, fwd) != dnnl_success)
        goto done;
    P->tmp_off[p == P_BWD_WB] = P->used[p];
    P->used[p] += round_up((size_t)P->G * (size_t)P->CKK * sizeof(float));
    if (tensor_set(P, t0, p, &u_src, pd, dnnl_query_src_md, 0, 0) ||
        tensor_set(P, t0 + 1, p, &u_gdst, pd, dnnl_query_diff_dst_md, 0, 0) ||
        tensor_set(P, t0 + 2, p, &u_gwei, pd, dnnl_query_diff_weights_md, 0, 1) ||
        prim_set(P, p, pd))
        goto done;
    rc = 0;
done:
    if (pd)
        d->primitive_desc_destroy(pd);
    if (fwd)
        d->primitive_desc_destroy(fwd);
    return rc;
}

/* The descriptors and primitives of the passes asked for; -1 when oneDNN
 * refuses any of them. */
static int make_prims(bp__conv_prims *P, const bp__layer *L, unsigned passes)
{
    const bp__dnnl_api *d = P->d;
    const int C = L->in.c, H = L->in.h, W = L->in.w, OUT = L->out.c, Ho = L->out.h,
              Wo = L->out.w, K = L->k;
    const dnnl_dims_t strides = {L->stride, L->stride}, pad = {L->pad, L->pad};
    dnnl_memory_desc_t src, wei, dst, bias, u_src, u_wei, u_dst, u_bias;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    int rc = -1;
    /* dst: the forward's output; dd: the output's slope, an input */
    dnnl_memory_desc_t dd;
    const int h = P->half;
    if (any(d, &src, h, 1, C, H, W) || any(d, &wei, h, OUT, C, K, K) ||
        any(d, &dst, 0, 1, OUT, Ho, Wo) || any(d, &dd, h, 1, OUT, Ho, Wo) ||
        plain(d, &bias, 1, OUT, 0, 0, 0) || plain(d, &u_src, 4, 1, C, H, W) ||
        plain(d, &u_wei, 4, OUT, C, K, K) || plain(d, &u_dst, 4, 1, OUT, Ho, Wo) ||
        plain(d, &u_bias, 1, OUT, 0, 0, 0))
        return -1;
    /* the caller's scratchpad, from the slot's buffer */
    if (d->primitive_attr_create(&attr) != dnnl_success)
        return -1;
    if (d->primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success)
        goto done;
    /* forward, also the hint of the input's slope */
    if (d->convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                         &src, &wei, L->n_b ? &bias : NULL, &dst, strides, pad,
                                         pad) != dnnl_success ||
        d->primitive_desc_create(&fwd, &cd, attr, d->engine, NULL) != dnnl_success)
        goto done;
    if (passes & BP__CONV_FWD)
        if (tensor_set(P, F_SRC, P_FWD, &u_src, fwd, dnnl_query_src_md, 0, 0) ||
            tensor_set(P, F_W, P_FWD, &u_wei, fwd, dnnl_query_weights_md, 0, 0) ||
            (L->n_b && tensor_set(P, F_B, P_FWD, &u_bias, fwd, dnnl_query_weights_md, 1, 0)) ||
            tensor_set(P, F_DST, P_FWD, &u_dst, fwd, dnnl_query_dst_md, 0, 1) ||
            prim_set(P, P_FWD, fwd))
            goto done;
    if (passes & BP__CONV_FWD) {
        P->runs[P_FWD] = 1;
        tensor_run(P, F_SRC, P_FWD);
        tensor_run(P, F_DST, P_FWD);
    }
    if (passes & BP__CONV_BWD_D) {
        dnnl_memory_desc_t dsrc;
        if (any(d, &dsrc, 0, 1, C, H, W) ||
            d->convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &dsrc, &wei, &dd,
                                                   strides, pad, pad) != dnnl_success ||
            d->primitive_desc_create(&pd, &cd, attr, d->engine, fwd) != dnnl_success)
            goto done;
        if (tensor_set(P, D_DDST, P_BWD_D, &u_dst, pd, dnnl_query_diff_dst_md, 0, 0) ||
            tensor_set(P, D_W, P_BWD_D, &u_wei, pd, dnnl_query_weights_md, 0, 0) ||
            tensor_set(P, D_DSRC, P_BWD_D, &u_src, pd, dnnl_query_diff_src_md, 0, 1) ||
            prim_set(P, P_BWD_D, pd))
            goto done;
        P->runs[P_BWD_D] = 1;
        tensor_run(P, D_DDST, P_BWD_D);
        tensor_run(P, D_DSRC, P_BWD_D);
        d->primitive_desc_destroy(pd);
        pd = NULL;
    }
    if (passes & BP__CONV_BWD_W) {
        /* runs of samples from SLOPE_RUNS_C input channels on, and in bf16,
         * whose one-sample kernel is slower still; below, fp32's over
         * several samples was slower (docs/PERFORMANCE.md) */
        const int runs = L->in.c >= SLOPE_RUNS_C || P->half;
        if (slopes_prim(P, L, attr, 1, P_BWD_W, W_SRC) ||
            (runs && slopes_prim(P, L, attr, SLOPE_ROWS, P_BWD_WB, WB_SRC)))
            goto done;
    }
    rc = 0;
done:
    if (pd)
        d->primitive_desc_destroy(pd);
    if (fwd)
        d->primitive_desc_destroy(fwd);
    d->primitive_attr_destroy(attr);
    return rc;
}

/* Slot s: its stream, buffer and memory objects. BP_ENOMEM, or -1 when
 * oneDNN refuses. */
static int make_slot(bp__conv_prims *P, slot *S, size_t bytes)
{
    const bp__dnnl_api *d = P->d;
    if (!(S->buf = bp__malloc_line(bytes, &S->raw)))
        return BP_ENOMEM;
    unsigned char *buf = S->buf;
    if (d->stream_create(&S->stream, d->engine, dnnl_stream_default_flags) != dnnl_success)
        return -1;
    for (int t = 0; t < TENSORS; t++) {
        const tensor *T = &P->t[t];
        if (!T->used)
            continue;
        void *fixed = t == W_DW    ? buf + P->tmp_off[0]
                      : t == WB_DW ? buf + P->tmp_off[1]
                                   : DNNL_MEMORY_NONE;
        if (d->memory_create(&S->user[t], &T->user, d->engine, fixed) != dnnl_success)
            return -1;
        S->prim[t] = S->user[t];
        if (T->reorder &&
            d->memory_create(&S->prim[t], &T->prim, d->engine, buf + T->off) != dnnl_success) {
            S->prim[t] = NULL;
            return -1;
        }
        if (!T->reorder_run)
            continue;
        if (d->memory_create(&S->user_run[t], &T->user_run, d->engine, DNNL_MEMORY_NONE) !=
            dnnl_success) {
            S->user_run[t] = NULL;
            return -1;
        }
        if (d->memory_create(&S->prim_run[t], &T->prim_run, d->engine, buf + T->off_run) !=
            dnnl_success) {
            S->prim_run[t] = NULL;
            return -1;
        }
    }
    for (int p = 0; p < PRIMS; p++)
        if (P->prim[p] &&
            d->memory_create(&S->pad[p], &P->pad_md[p], d->engine, buf + P->pad_off[p]) !=
                dnnl_success)
            return -1;
    return 0;
}

int bp__conv_prims_make(const bp__layer *L, unsigned passes, int half, bp__conv_prims **out,
                        char *msg, size_t size)
{
    const bp__dnnl_api *d = passes ? bp__dnnl_prims() : NULL;
    bp__conv_prims *P;
    *out = NULL;
    if (!d) {
        if (!half)
            return 0;
        bp__format(msg, size, "bf16 needs oneDNN, which could not be loaded");
        return BP_EUNSUPPORTED;
    }
    if (!(P = bp__calloc(1, sizeof *P))) {
        bp__format(msg, size, "out of memory making its convolution primitives");
        return BP_ENOMEM;
    }
    P->d = d;
    P->passes = passes;
    P->half = half;
    P->OUT = L->out.c;
    P->I = L->I;
    P->O = L->O;
    P->CKK = L->in.c * L->k * L->k;
    P->HW = L->out.h * L->out.w;
    P->groups = slope_groups(P->OUT);
    P->G = (P->OUT + P->groups - 1) / P->groups;
    P->groups = (P->OUT + P->G - 1) / P->G;
    /* planned for the one thread each runs on */
    const int saved = bp__dnnl_solo_begin();
    int rc = make_prims(P, L, passes);
    bp__dnnl_solo_end(saved);
    size_t bytes = 0;
    for (int p = 0; p < PRIMS; p++)
        bytes = P->used[p] > bytes ? P->used[p] : bytes;
    if (rc == 0 && !(P->slots = bp__calloc(SLOTS, sizeof *P->slots)))
        rc = BP_ENOMEM;
    for (int s = 0; rc == 0 && s < SLOTS; s++)
        rc = make_slot(P, &P->slots[s], bytes);
    if (rc != 0) {
        const char *impl = "none";
        for (int p = 0; p < PRIMS; p++)
            if (P->impl[p] && !P->prim[p])
                impl = P->impl[p];
        bp__conv_prims_free(P);
        if (rc == BP_ENOMEM) {
            bp__format(msg, size, "out of memory making its convolution primitives");
            return BP_ENOMEM;
        }
        if (half) {
            bp__format(msg, size, "oneDNN offers no native bf16 convolution for it (%s)", impl);
            return BP_EUNSUPPORTED;
        }
        return 0;
    }
    *out = P;
    return 0;
}

/* ---- running them ---- */

/* The calling thread's slot: threads of one parallel region have distinct
 * numbers below SLOTS (the network runs at most that many blocks at once). */
static slot *my_slot(const bp__conv_prims *P)
{
#ifdef _OPENMP
    return &P->slots[omp_get_thread_num() % SLOTS];
#else
    return &P->slots[0];
#endif
}

static int run(const bp__dnnl_api *d, slot *S, const_dnnl_primitive_t p, int n,
               const dnnl_exec_arg_t *args)
{
    return d->primitive_execute(p, S->stream, n, args) == dnnl_success ? 0 : -1;
}

/* Tensor t's copy for one sample at `at` in the slot's buffer. */
static void place(const bp__conv_prims *P, slot *S, int t, size_t at, int *rc)
{
    if (P->d->memory_set_data_handle(S->prim[t], S->buf + at) != dnnl_success)
        *rc = -1;
}

/* An input at x: the memory the primitive reads, reordered when needed. */
static dnnl_memory_t input(const bp__conv_prims *P, slot *S, int t, const float *x, int *rc)
{
    const tensor *T = &P->t[t];
    /* oneDNN takes a handle without const; it only reads inputs */
    if (P->d->memory_set_data_handle(S->user[t], (void *)(uintptr_t)x) != dnnl_success)
        *rc = -1;
    if (T->reorder) {
        if (T->reorder_run) /* a run may have moved it */
            place(P, S, t, T->off, rc);
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, S->user[t]}, {DNNL_ARG_TO, S->prim[t]}};
        *rc |= run(P->d, S, T->reorder, 2, a);
    }
    return S->prim[t];
}

/* An output to go to y: the memory the primitive writes. */
static dnnl_memory_t output(const bp__conv_prims *P, slot *S, int t, float *y, int *rc)
{
    if (P->d->memory_set_data_handle(S->user[t], y) != dnnl_success)
        *rc = -1;
    if (P->t[t].reorder_run)
        place(P, S, t, P->t[t].off, rc);
    return S->prim[t];
}

/* RUN samples' input at x reordered at once (with a reorder at all). */
static void input_run(const bp__conv_prims *P, slot *S, int t, const float *x, int *rc)
{
    const tensor *T = &P->t[t];
    if (!T->reorder_run)
        return;
    if (P->d->memory_set_data_handle(S->user_run[t], (void *)(uintptr_t)x) != dnnl_success)
        *rc = -1;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, S->user_run[t]}, {DNNL_ARG_TO, S->prim_run[t]}};
    *rc |= run(P->d, S, T->reorder_run, 2, a);
}

/* After a run's primitives: its output reordered to y at once. */
static void output_run(const bp__conv_prims *P, slot *S, int t, float *y, int *rc)
{
    const tensor *T = &P->t[t];
    if (!T->reorder_run)
        return;
    if (P->d->memory_set_data_handle(S->user_run[t], y) != dnnl_success)
        *rc = -1;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, S->prim_run[t]}, {DNNL_ARG_TO, S->user_run[t]}};
    *rc |= run(P->d, S, T->reorder_run, 2, a);
}

/* Sample i of a run, at x (one sample's): the memory its primitive uses,
 * in the run's copy when t has a reorder. */
static dnnl_memory_t in_run(const bp__conv_prims *P, slot *S, int t, int i, const float *x,
                            int *rc)
{
    const tensor *T = &P->t[t];
    if (!T->reorder) {
        if (P->d->memory_set_data_handle(S->user[t], (void *)(uintptr_t)x) != dnnl_success)
            *rc = -1;
        return S->user[t];
    }
    place(P, S, t, T->off_run + (size_t)i * T->one, rc);
    return S->prim[t];
}

/* After the primitive: the output reordered into place. */
static void output_done(const bp__conv_prims *P, slot *S, int t, int *rc)
{
    const tensor *T = &P->t[t];
    if (T->reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, S->prim[t]}, {DNNL_ARG_TO, S->user[t]}};
        *rc |= run(P->d, S, T->reorder, 2, a);
    }
}

int bp__conv_prims_forward(const bp__conv_prims *P, const float *w, const float *bias, int rows,
                           const float *in, float *z)
{
    if (!(P->passes & BP__CONV_FWD))
        return -1;
    slot *S = my_slot(P);
    const int saved = bp__dnnl_solo_begin();
    int rc = 0;
    dnnl_exec_arg_t a[5];
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, input(P, S, F_W, w, &rc)};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, S->pad[P_FWD]};
    int n = 4;
    if (bias)
        a[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, input(P, S, F_B, bias, &rc)};
    int b = 0;
    for (; P->runs[P_FWD] && b + RUN <= rows && rc == 0; b += RUN) {
        input_run(P, S, F_SRC, in + (size_t)b * P->I, &rc);
        for (int i = 0; i < RUN && rc == 0; i++) {
            const size_t r = (size_t)(b + i);
            a[2] = (dnnl_exec_arg_t){DNNL_ARG_SRC, in_run(P, S, F_SRC, i, in + r * P->I, &rc)};
            a[3] = (dnnl_exec_arg_t){DNNL_ARG_DST, in_run(P, S, F_DST, i, z + r * P->O, &rc)};
            rc |= run(P->d, S, P->prim[P_FWD], n, a);
        }
        output_run(P, S, F_DST, z + (size_t)b * P->O, &rc);
    }
    for (; b < rows && rc == 0; b++) {
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_SRC, input(P, S, F_SRC, in + (size_t)b * P->I, &rc)};
        a[3] = (dnnl_exec_arg_t){DNNL_ARG_DST, output(P, S, F_DST, z + (size_t)b * P->O, &rc)};
        rc |= run(P->d, S, P->prim[P_FWD], n, a);
        output_done(P, S, F_DST, &rc);
    }
    bp__dnnl_solo_end(saved);
    return rc;
}

int bp__conv_prims_grad_input(const bp__conv_prims *P, const float *w, int rows, const float *dz,
                              float *din)
{
    if (!(P->passes & BP__CONV_BWD_D))
        return -1;
    slot *S = my_slot(P);
    const int saved = bp__dnnl_solo_begin();
    int rc = 0;
    dnnl_exec_arg_t a[4];
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, input(P, S, D_W, w, &rc)};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, S->pad[P_BWD_D]};
    int b = 0;
    for (; P->runs[P_BWD_D] && b + RUN <= rows && rc == 0; b += RUN) {
        input_run(P, S, D_DDST, dz + (size_t)b * P->O, &rc);
        for (int i = 0; i < RUN && rc == 0; i++) {
            const size_t r = (size_t)(b + i);
            a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST,
                                     in_run(P, S, D_DDST, i, dz + r * P->O, &rc)};
            a[3] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC,
                                     in_run(P, S, D_DSRC, i, din + r * P->I, &rc)};
            rc |= run(P->d, S, P->prim[P_BWD_D], 4, a);
        }
        output_run(P, S, D_DSRC, din + (size_t)b * P->I, &rc);
    }
    for (; b < rows && rc == 0; b++) {
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST,
                                 input(P, S, D_DDST, dz + (size_t)b * P->O, &rc)};
        a[3] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC,
                                 output(P, S, D_DSRC, din + (size_t)b * P->I, &rc)};
        rc |= run(P->d, S, P->prim[P_BWD_D], 4, a);
        output_done(P, S, D_DSRC, &rc);
    }
    bp__dnnl_solo_end(saved);
    return rc;
}

/* The slopes of filters [u0, u1) over the n samples (1 or SLOPE_ROWS) from
 * in, dz, by the primitive of that many, each group's added to dw (written
 * when first). */
static int slopes_rows(const bp__conv_prims *P, slot *S, int n, int u0, int u1, const float *in,
                       const float *dz, float *dw, int first)
{
    const int many = n > 1, p = many ? P_BWD_WB : P_BWD_W, t0 = many ? WB_SRC : W_SRC;
    const size_t CKK = (size_t)P->CKK;
    const float *tmp = (const float *)(void *)(S->buf + P->tmp_off[many]); /* (G, CKK) */
    int rc = 0;
    dnnl_exec_arg_t a[4];
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, S->pad[p]};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_SRC, input(P, S, t0, in, &rc)};
    for (int g = 0; g < P->groups && rc == 0; g++) {
        /* group g owns filters [o0, o1) and computes [start, start + G) */
        const int o0 = g * P->G, o1 = g == P->groups - 1 ? P->OUT : o0 + P->G;
        const int start = P->OUT - P->G < o0 ? P->OUT - P->G : o0;
        const int lo = o0 > u0 ? o0 : u0, hi = o1 < u1 ? o1 : u1;
        if (lo >= hi)
            continue;
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST,
                                 input(P, S, t0 + 1, dz + (size_t)start * P->HW, &rc)};
        a[3] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, S->prim[t0 + 2]};
        rc |= run(P->d, S, P->prim[p], 4, a);
        output_done(P, S, t0 + 2, &rc);
        if (rc != 0)
            break;
        const float *src = tmp + (size_t)(lo - start) * CKK;
        float *dst = dw + (size_t)lo * CKK;
        const size_t m = (size_t)(hi - lo) * CKK;
        if (first)
            memcpy(dst, src, m * sizeof *dst);
        else
            for (size_t i = 0; i < m; i++)
                dst[i] += src[i];
    }
    return rc;
}

int bp__conv_prims_grad_weights(const bp__conv_prims *P, int u0, int u1, int B, const float *in,
                                const float *dz, float *dw, int fresh)
{
    if (!(P->passes & BP__CONV_BWD_W))
        return -1;
    slot *S = my_slot(P);
    const int saved = bp__dnnl_solo_begin();
    int rc = 0, b = 0;
    for (; P->prim[P_BWD_WB] && b + SLOPE_ROWS <= B && rc == 0; b += SLOPE_ROWS)
        rc = slopes_rows(P, S, SLOPE_ROWS, u0, u1, in + (size_t)b * P->I, dz + (size_t)b * P->O,
                         dw, fresh && b == 0);
    for (; b < B && rc == 0; b++)
        rc = slopes_rows(P, S, 1, u0, u1, in + (size_t)b * P->I, dz + (size_t)b * P->O, dw,
                         fresh && b == 0);
    bp__dnnl_solo_end(saved);
    return rc;
}

#else /* without oneDNN: never any primitives */

int bp__conv_prims_make(const bp__layer *L, unsigned passes, int half, bp__conv_prims **out,
                        char *msg, size_t size)
{
    (void)L;
    (void)passes;
    *out = NULL;
    if (!half)
        return 0;
    bp__format(msg, size, "bf16 needs the oneDNN build");
    return BP_EUNSUPPORTED;
}

void bp__conv_prims_free(bp__conv_prims *P)
{
    (void)P;
}

unsigned bp__conv_prims_passes(const bp__conv_prims *P)
{
    (void)P;
    return 0;
}

int bp__conv_prims_forward(const bp__conv_prims *P, const float *w, const float *bias, int rows,
                           const float *in, float *z)
{
    (void)P, (void)w, (void)bias, (void)rows, (void)in, (void)z;
    return -1;
}

int bp__conv_prims_grad_input(const bp__conv_prims *P, const float *w, int rows, const float *dz,
                              float *din)
{
    (void)P, (void)w, (void)rows, (void)dz, (void)din;
    return -1;
}

int bp__conv_prims_grad_weights(const bp__conv_prims *P, int u0, int u1, int B, const float *in,
                                const float *dz, float *dw, int fresh)
{
    (void)P, (void)u0, (void)u1, (void)B, (void)in, (void)dz, (void)dw, (void)fresh;
    return -1;
}
#endif /* BP_HAVE_DNNL */
