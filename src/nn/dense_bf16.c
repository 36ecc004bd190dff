/*
 * dense_bf16.c - a dense layer's products in bfloat16 (nn/dense_bf16.h):
 * oneDNN matmul primitives with bf16 inputs and float accumulation and
 * output, made once when the workspace is reserved.
 *
 * What the products read: the weights' bf16 copy (O, I), written by the
 * optimizer's step as it writes the weights (else refreshed before the
 * forward pass); and in the layer's scratch rows, each row's input in
 * bf16 (written by the forward pass, or before it when it runs by units)
 * then its dz in bf16 (written where the network finishes dz). The
 * primitives take the rows (and the batch and the units, for the weights'
 * slopes and the forward pass by units) at run time, so one primitive
 * serves every block; each call runs on one thread. oneDNN computes a
 * row the same way in any block of two rows or more but a lone row by
 * another kernel, so a block of one row or one unit is computed as two (a
 * zero row, or its neighbour unit) and the row kept: the bits never depend
 * on the blocks.
 */
#include "internal.h"
#include "math/bf16.h"
#include "math/dnnl.h"
#include "nn/dense_bf16.h"

#ifdef BP_HAVE_DNNL
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* FWD_U and after take a second size at run time: the units, the batch. */
enum { FWD, GIN, FWD_U, GW, GW_SUM, PRIMS };
/* Slots: at most this many blocks of one layer's work run at once. */
#define SLOTS (2 * BP__MAX_ROW_BLOCKS)

typedef struct slot {
    dnnl_stream_t stream;
    uint16_t *src2; /* (2, ld) bf16: a lone row and a zero row */
    float *dst2;    /* (2, max(I, O)): their results */
    /* Each product's memory objects for the last sizes it ran with, kept
     * so that a call of the same sizes only points them at its buffers
     * (a training run's blocks keep their sizes from batch to batch). */
    dnnl_memory_t mem[PRIMS][3];
    int mem_m[PRIMS], mem_k[PRIMS];
} slot;

struct bp__dense_half {
    const bp__dnnl_api *d;
    int I, O;
    dnnl_dim_t ld;                /* bf16 values per scratch row */
    dnnl_dim_t dz_at;             /* where a row's dz starts in it */
    dnnl_primitive_t prim[PRIMS];
    const char *impl[PRIMS];      /* oneDNN's name for the implementation it chose */
    uint16_t *w16;                /* (O, I) the weights in bf16 */
    void *raw;                    /* the slots' buffers */
    slot slots[SLOTS];
};

/* A 2-D descriptor: dims (r, c) with strides (sr, sc). */
static int md2(const bp__dnnl_api *d, dnnl_memory_desc_t *md, dnnl_dim_t r, dnnl_dim_t c,
               dnnl_dim_t sr, dnnl_dim_t sc, dnnl_data_type_t t)
{
    const dnnl_dims_t dims = {r, c}, strides = {sr, sc};
    return d->memory_desc_init_by_strides(md, 2, dims, t, strides) != dnnl_success;
}

/* The three layouts of product p for M rows, K sums and N columns:
 * forward  z (M, O) = in16 (M, I) W16^T;   gin din (M, I) = dz16 (M, O) W16;
 * fwd_u    z[:, K units] (M, K) = in16 (M, I) W16[units]^T, z's rows O apart;
 * gw       dW (M units, I) = dz16^T (M, K = B) in16 (B, I). */
static int layouts(const bp__dense_half *H, int p, dnnl_dim_t M, dnnl_dim_t K,
                   dnnl_memory_desc_t *a, dnnl_memory_desc_t *b, dnnl_memory_desc_t *c)
{
    const bp__dnnl_api *d = H->d;
    switch (p) {
    case FWD:
        return md2(d, a, M, H->I, H->ld, 1, dnnl_bf16) ||
               md2(d, b, H->I, H->O, 1, H->I, dnnl_bf16) ||
               md2(d, c, M, H->O, H->O, 1, dnnl_f32);
    case FWD_U:
        return md2(d, a, M, H->I, H->ld, 1, dnnl_bf16) ||
               md2(d, b, H->I, K, 1, H->I, dnnl_bf16) ||
               md2(d, c, M, K, H->O, 1, dnnl_f32);
    case GIN:
        return md2(d, a, M, H->O, H->ld, 1, dnnl_bf16) ||
               md2(d, b, H->O, H->I, H->I, 1, dnnl_bf16) ||
               md2(d, c, M, H->I, H->I, 1, dnnl_f32);
    default:
        return md2(d, a, M, K, 1, H->ld, dnnl_bf16) ||
               md2(d, b, K, H->I, H->ld, 1, dnnl_bf16) ||
               md2(d, c, M, H->I, H->I, 1, dnnl_f32);
    }
}

static int make_prim(bp__dense_half *H, int p)
{
    const bp__dnnl_api *d = H->d;
    const dnnl_dim_t R = DNNL_RUNTIME_DIM_VAL;
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int rc = -1;
    if (layouts(H, p, R, p >= FWD_U ? R : 0, &a, &b, &c) ||
        d->matmul_desc_init(&md, &a, &b, NULL, &c) != dnnl_success ||
        d->primitive_attr_create(&attr) != dnnl_success)
        goto done;
    if (p == GW_SUM && (d->post_ops_create(&ops) != dnnl_success ||
                        d->post_ops_append_sum(ops, 1.0f) != dnnl_success ||
                        d->primitive_attr_set_post_ops(attr, ops) != dnnl_success))
        goto done;
    if (d->primitive_desc_create(&pd, &md, attr, d->engine, NULL) != dnnl_success)
        goto done;
    H->impl[p] = bp__dnnl_impl(d, pd);
    if (bp__dnnl_is_reference(H->impl[p]))
        goto done;
    if (d->primitive_create(&H->prim[p], pd) != dnnl_success) {
        H->prim[p] = NULL;
        goto done;
    }
    rc = 0;
done:
    if (pd)
        d->primitive_desc_destroy(pd);
    if (ops)
        d->post_ops_destroy(ops);
    if (attr)
        d->primitive_attr_destroy(attr);
    return rc;
}

void bp__dense_half_free(bp__dense_half *H)
{
    if (!H)
        return;
    for (int s = 0; s < SLOTS; s++) {
        if (H->slots[s].stream)
            H->d->stream_destroy(H->slots[s].stream);
        for (int p = 0; p < PRIMS; p++)
            for (int i = 0; i < 3; i++)
                if (H->slots[s].mem[p][i])
                    H->d->memory_destroy(H->slots[s].mem[p][i]);
    }
    for (int p = 0; p < PRIMS; p++)
        if (H->prim[p])
            H->d->primitive_destroy(H->prim[p]);
    bp__free(H->w16);
    bp__free(H->raw);
    bp__free(H);
}

int bp__dense_half_make(const bp__layer *L, bp__dense_half **out, char *msg, size_t size)
{
    const bp__dnnl_api *d = bp__dnnl_prims();
    bp__dense_half *H;
    *out = NULL;
    if (!d) {
        bp__format(msg, size, "bf16 needs oneDNN, which could not be loaded");
        return BP_EUNSUPPORTED;
    }
    if (!(H = bp__calloc(1, sizeof *H))) {
        bp__format(msg, size, "out of memory");
        return BP_ENOMEM;
    }
    H->d = d;
    H->I = L->I;
    H->O = L->O;
    H->ld = (dnnl_dim_t)(2 * L->scratch);
    H->dz_at = (dnnl_dim_t)(2 * bp__dense_half_in_floats(L));
    const size_t wide = (size_t)(L->I > L->O ? L->I : L->O);
    const size_t per = 2 * (size_t)H->ld * sizeof(uint16_t) + 2 * wide * sizeof(float);
    int rc = 0;
    if (!(H->w16 = bp__malloc(L->n_w * sizeof *H->w16)) || !(H->raw = bp__calloc(SLOTS, per)))
        rc = BP_ENOMEM;
    for (int s = 0; rc == 0 && s < SLOTS; s++) {
        unsigned char *base = (unsigned char *)H->raw + (size_t)s * per;
        H->slots[s].src2 = (uint16_t *)(void *)base;
        H->slots[s].dst2 = (float *)(void *)(base + 2 * (size_t)H->ld * sizeof(uint16_t));
        if (d->stream_create(&H->slots[s].stream, d->engine, dnnl_stream_default_flags) !=
            dnnl_success) {
            H->slots[s].stream = NULL;
            rc = BP_ENOMEM;
        }
    }
    if (rc != 0) {
        bp__format(msg, size, "out of memory making its bf16 products");
    } else {
        /* planned for the one thread each runs on */
        const int saved = bp__dnnl_solo_begin();
        for (int p = 0; p < PRIMS && rc == 0; p++)
            if (make_prim(H, p) != 0) {
                bp__format(msg, size, "oneDNN offers no native bf16 product for it (%s)",
                           H->impl[p] ? H->impl[p] : "none");
                rc = BP_EUNSUPPORTED;
            }
        bp__dnnl_solo_end(saved);
    }
    if (rc != 0) {
        bp__dense_half_free(H);
        return rc;
    }
    *out = H;
    return 0;
}

void bp__dense_half_refresh(bp__dense_half *H, const float *w)
{
    bp__to_bf16(w, H->w16, (size_t)H->O * (size_t)H->I);
}

uint16_t *bp__dense_half_w16(bp__dense_half *H)
{
    return H->w16;
}

/* The calling thread's slot: threads of one parallel region have distinct
 * numbers below SLOTS (the network runs at most that many blocks at once). */
static slot *my_slot(bp__dense_half *H)
{
#ifdef _OPENMP
    return &H->slots[omp_get_thread_num() % SLOTS];
#else
    return &H->slots[0];
#endif
}

/* Product p for M rows (K sums for the slopes): c from a and b. */
static void product(bp__dense_half *H, int p, int M, int K, const void *a, const void *b, void *c)
{
    const bp__dnnl_api *d = H->d;
    slot *S = my_slot(H);
    dnnl_memory_t *m = S->mem[p];
    /* oneDNN takes handles without const; it only reads inputs */
    void *h[3] = {(void *)(uintptr_t)a, (void *)(uintptr_t)b, c};
    int ok = 1;
    if (!m[0] || S->mem_m[p] != M || S->mem_k[p] != K) { /* new sizes: new objects */
        dnnl_memory_desc_t ma, mb, mc;
        const dnnl_memory_desc_t *mds[3] = {&ma, &mb, &mc};
        for (int i = 0; i < 3; i++) {
            if (m[i])
                d->memory_destroy(m[i]);
            m[i] = NULL;
        }
        if (layouts(H, p, M, K, &ma, &mb, &mc))
            return;
        for (int i = 0; i < 3; i++)
            ok &= d->memory_create(&m[i], mds[i], d->engine, h[i]) == dnnl_success;
        S->mem_m[p] = M;
        S->mem_k[p] = K;
    } else {
        for (int i = 0; i < 3; i++)
            ok &= d->memory_set_data_handle(m[i], h[i]) == dnnl_success;
    }
    if (ok) {
        dnnl_exec_arg_t args[3] = {
            {DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_DST, m[2]}};
        const int saved = bp__dnnl_solo_begin();
        d->primitive_execute(H->prim[p], S->stream, 3, args);
        bp__dnnl_solo_end(saved);
    } else { /* made again on the next call */
        for (int i = 0; i < 3; i++) {
            if (m[i])
                d->memory_destroy(m[i]);
            m[i] = NULL;
        }
    }
}

/* Rows of a (rows, ld) bf16 input at a, from column 0, times b into c
 * (rows, N): a lone row runs as two, with a zero row under it. */
static void rows_product(bp__dense_half *H, int p, int rows, int K, const uint16_t *a,
                         const void *b, float *c, int N)
{
    if (rows >= 2) {
        product(H, p, rows, 0, a, b, c);
        return;
    }
    slot *S = my_slot(H);
    memcpy(S->src2, a, (size_t)K * sizeof *a);
    memset(S->src2 + H->ld, 0, (size_t)K * sizeof *a);
    product(H, p, 2, 0, S->src2, b, S->dst2);
    memcpy(c, S->dst2, (size_t)N * sizeof *c);
}

void bp__dense_half_keep_in(const bp__dense_half *H, int rows, const float *x, float *scratch,
                            int c0, int c1)
{
    uint16_t *in16 = (uint16_t *)(void *)scratch; /* (rows, ld) */
    for (int b = 0; b < rows; b++)
        bp__to_bf16(x + (size_t)b * (size_t)H->I + c0, in16 + (size_t)b * (size_t)H->ld + c0,
                    (size_t)(c1 - c0));
}

void bp__dense_half_forward(bp__dense_half *H, int rows, const float *x, float *z,
                            float *scratch)
{
    bp__dense_half_keep_in(H, rows, x, scratch, 0, H->I);
    rows_product(H, FWD, rows, H->I, (const uint16_t *)(void *)scratch, H->w16, z, H->O);
}

void bp__dense_half_forward_units(bp__dense_half *H, int B, const float *scratch, float *z,
                                  int u0, int u1)
{
    product(H, FWD_U, B, u1 - u0, scratch, H->w16 + (size_t)u0 * (size_t)H->I, z + u0);
}

void bp__dense_half_keep_dz(const bp__dense_half *H, int rows, const float *dz, float *scratch)
{
    uint16_t *dz16 = (uint16_t *)(void *)scratch + H->dz_at; /* (rows, ld) */
    for (int b = 0; b < rows; b++)
        bp__to_bf16(dz + (size_t)b * (size_t)H->O, dz16 + (size_t)b * (size_t)H->ld,
                    (size_t)H->O);
}

void bp__dense_half_grad_input(bp__dense_half *H, int rows, const float *scratch, float *din)
{
    const uint16_t *dz16 = (const uint16_t *)(const void *)scratch + H->dz_at;
    rows_product(H, GIN, rows, H->O, dz16, H->w16, din, H->I);
}

void bp__dense_half_grad_w(bp__dense_half *H, int o0, int o1, int B, const float *scratch,
                           float *dw, int fresh)
{
    const uint16_t *in16 = (const uint16_t *)(const void *)scratch; /* (B, ld) */
    const uint16_t *dz16 = in16 + H->dz_at;                         /* (B, ld), O used */
    if (o1 - o0 >= 2 || H->O == 1) {
        product(H, fresh ? GW : GW_SUM, o1 - o0, B, dz16 + o0, in16,
                dw + (size_t)o0 * (size_t)H->I);
        return;
    }
    /* a lone unit: with its neighbour, and its row kept; the neighbour's
     * row is added to as well when adding, so both go as the block would */
    slot *S = my_slot(H);
    const int first = o0 + 1 < H->O ? o0 : o0 - 1;
    const size_t I = (size_t)H->I;
    float *row = dw + (size_t)o0 * I, *got = S->dst2 + (size_t)(o0 - first) * I;
    if (!fresh)
        memcpy(S->dst2, dw + (size_t)first * I, 2 * I * sizeof *row);
    product(H, fresh ? GW : GW_SUM, 2, B, dz16 + first, in16, S->dst2);
    memcpy(row, got, I * sizeof *row);
}
#endif /* BP_HAVE_DNNL */
