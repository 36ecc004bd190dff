/*
 * dense_bf16.c - a dense layer's products in bfloat16 (nn/dense_bf16.h):
 * oneDNN matmul primitives with bf16 inputs and float accumulation and
 * output.
 *
 * What the products read: the weights' bf16 copy (O, I), written by the
 * optimizer's step as it writes the weights (else refreshed before the
 * forward pass); and the layer's scratch planes, its input in bf16 (B, I)
 * (written by the forward pass, or before it when it runs by units) and
 * its dz in bf16 (B, O) (written where the network finishes dz). Each
 * product has a primitive made when the precision is set that takes the
 * rows (and the units) at run time, and each thread's slot keeps
 * primitives made for the sizes it meets: those take every operand dense,
 * a block of units' dz copied so, and on CPUs with AMX oneDNN runs them
 * on its tile kernels, which read operands that have left the caches far
 * faster. Each call runs on one thread. oneDNN computes a row the same
 * way in any block of two rows or more but a lone row by another kernel,
 * so a block of one row or one unit is computed as two (a zero row, or
 * its neighbour unit) and the row kept; the blocks and so the sizes are
 * the shape's alone: the bits never depend on the threads.
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
/* Sizes a slot keeps primitives for: a training run's blocks take few. */
#define FIXED 8

/* A product's memory objects for the sizes it last ran with, kept so that
 * a call of the same sizes only points them at its buffers. */
typedef struct mems {
    dnnl_memory_t m[3];
    int M, K;
} mems;

/* A primitive made for one product's sizes, every operand dense. */
typedef struct fixed {
    int p, M, K;            /* p < 0: unused */
    dnnl_primitive_t prim; /* NULL: only a reference kernel, or none made */
    mems mem;
} fixed;

typedef struct slot {
    dnnl_stream_t stream;
    uint16_t *src2; /* (2, max(I, O)) bf16: a lone row and a zero row */
    float *dst2;    /* (2, max(I, O)): their results */
    void *buf;      /* buf_n bytes: a block's dz copied dense, or its z */
    size_t buf_n;
    mems run[PRIMS];
    fixed fix[FIXED];
    int next; /* the entry a new size takes when all are used */
} slot;

struct bp__dense_half {
    const bp__dnnl_api *d;
    int I, O;
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
 * gw       dW (M units, I) = dz16^T (M, K = B) in16 (B, I).
 * ld is the row stride of the operand that may be a block of a wider one:
 * fwd_u's z (O, or K for a dense buffer), gw's dz16 (O, or M for a
 * block's dense copy). */
static int layouts(const bp__dense_half *H, int p, dnnl_dim_t M, dnnl_dim_t K, dnnl_dim_t ld,
                   dnnl_memory_desc_t *a, dnnl_memory_desc_t *b, dnnl_memory_desc_t *c)
{
    const bp__dnnl_api *d = H->d;
    switch (p) {
    case FWD:
        return md2(d, a, M, H->I, H->I, 1, dnnl_bf16) ||
               md2(d, b, H->I, H->O, 1, H->I, dnnl_bf16) ||
               md2(d, c, M, H->O, H->O, 1, dnnl_f32);
    case FWD_U:
        return md2(d, a, M, H->I, H->I, 1, dnnl_bf16) ||
               md2(d, b, H->I, K, 1, H->I, dnnl_bf16) ||
               md2(d, c, M, K, ld, 1, dnnl_f32);
    case GIN:
        return md2(d, a, M, H->O, H->O, 1, dnnl_bf16) ||
               md2(d, b, H->O, H->I, H->I, 1, dnnl_bf16) ||
               md2(d, c, M, H->I, H->I, 1, dnnl_f32);
    default:
        return md2(d, a, M, K, 1, ld, dnnl_bf16) ||
               md2(d, b, K, H->I, H->I, 1, dnnl_bf16) ||
               md2(d, c, M, H->I, H->I, 1, dnnl_f32);
    }
}

/* The ld that makes product p's operands dense at sizes M, K. */
static dnnl_dim_t dense_ld(int p, dnnl_dim_t M, dnnl_dim_t K)
{
    return p == FWD_U ? K : M;
}

/* Product p's primitive descriptor for sizes M, K (DNNL_RUNTIME_DIM_VAL:
 * given at run time), or NULL. */
static dnnl_primitive_desc_t describe(const bp__dense_half *H, int p, dnnl_dim_t M, dnnl_dim_t K,
                                      dnnl_dim_t ld)
{
    const bp__dnnl_api *d = H->d;
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (layouts(H, p, M, K, ld, &a, &b, &c) ||
        d->matmul_desc_init(&md, &a, &b, NULL, &c) != dnnl_success ||
        d->primitive_attr_create(&attr) != dnnl_success)
        goto done;
    if (p == GW_SUM && (d->post_ops_create(&ops) != dnnl_success ||
                        d->post_ops_append_sum(ops, 1.0f) != dnnl_success ||
                        d->primitive_attr_set_post_ops(attr, ops) != dnnl_success))
        goto done;
    if (d->primitive_desc_create(&pd, &md, attr, d->engine, NULL) != dnnl_success)
        pd = NULL;
done:
    if (ops)
        d->post_ops_destroy(ops);
    if (attr)
        d->primitive_attr_destroy(attr);
    return pd;
}

static int make_prim(bp__dense_half *H, int p)
{
    const dnnl_dim_t R = DNNL_RUNTIME_DIM_VAL;
    dnnl_primitive_desc_t pd = describe(H, p, R, p >= FWD_U ? R : 0, H->O);
    int rc = -1;
    if (!pd)
        return -1;
    H->impl[p] = bp__dnnl_impl(H->d, pd);
    if (!bp__dnnl_is_reference(H->impl[p]) &&
        H->d->primitive_create(&H->prim[p], pd) == dnnl_success)
        rc = 0;
    else
        H->prim[p] = NULL;
    H->d->primitive_desc_destroy(pd);
    return rc;
}

static void drop_mems(const bp__dnnl_api *d, mems *m)
{
    for (int i = 0; i < 3; i++) {
        if (m->m[i])
            d->memory_destroy(m->m[i]);
        m->m[i] = NULL;
    }
}

void bp__dense_half_free(bp__dense_half *H)
{
    if (!H)
        return;
    for (int s = 0; s < SLOTS; s++) {
        slot *S = &H->slots[s];
        if (S->stream)
            H->d->stream_destroy(S->stream);
        for (int p = 0; p < PRIMS; p++)
            drop_mems(H->d, &S->run[p]);
        for (int f = 0; f < FIXED; f++) {
            drop_mems(H->d, &S->fix[f].mem);
            if (S->fix[f].prim)
                H->d->primitive_destroy(S->fix[f].prim);
        }
        bp__free(S->buf);
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
    const size_t wide = (size_t)(L->I > L->O ? L->I : L->O);
    const size_t per = 2 * wide * sizeof(uint16_t) + 2 * wide * sizeof(float);
    int rc = 0;
    if (!(H->w16 = bp__malloc(L->n_w * sizeof *H->w16)) || !(H->raw = bp__calloc(SLOTS, per)))
        rc = BP_ENOMEM;
    for (int s = 0; rc == 0 && s < SLOTS; s++) {
        unsigned char *base = (unsigned char *)H->raw + (size_t)s * per;
        slot *S = &H->slots[s];
        S->src2 = (uint16_t *)(void *)base;
        S->dst2 = (float *)(void *)(base + 2 * wide * sizeof(uint16_t));
        for (int f = 0; f < FIXED; f++)
            S->fix[f].p = -1;
        if (d->stream_create(&S->stream, d->engine, dnnl_stream_default_flags) != dnnl_success) {
            S->stream = NULL;
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

/* The slot's primitive for product p at sizes M, K with every operand
 * dense (dense_ld), made on first use in the entry made longest ago;
 * NULL where oneDNN offers only a reference kernel or making it fails. */
static fixed *fixed_for(bp__dense_half *H, slot *S, int p, int M, int K)
{
    for (int f = 0; f < FIXED; f++)
        if (S->fix[f].p == p && S->fix[f].M == M && S->fix[f].K == K)
            return S->fix[f].prim ? &S->fix[f] : NULL;
    fixed *F = &S->fix[S->next];
    S->next = (S->next + 1) % FIXED;
    drop_mems(H->d, &F->mem);
    if (F->prim)
        H->d->primitive_destroy(F->prim);
    F->prim = NULL;
    F->p = p;
    F->M = M;
    F->K = K;
    const int saved = bp__dnnl_solo_begin();
    dnnl_primitive_desc_t pd = describe(H, p, M, K, dense_ld(p, M, K));
    if (pd) {
        if (bp__dnnl_is_reference(bp__dnnl_impl(H->d, pd)) ||
            H->d->primitive_create(&F->prim, pd) != dnnl_success)
            F->prim = NULL;
        H->d->primitive_desc_destroy(pd);
    }
    bp__dnnl_solo_end(saved);
    return F->prim ? F : NULL;
}

/* Runs prim on a, b into c, with the memory objects m made for sizes M, K
 * (ld as layouts takes it) or pointed at the buffers when they match. */
static void run(bp__dense_half *H, slot *S, dnnl_primitive_t prim, mems *m, int p, int M, int K,
                dnnl_dim_t ld, const void *a, const void *b, void *c)
{
    const bp__dnnl_api *d = H->d;
    /* oneDNN takes handles without const; it only reads inputs */
    void *h[3] = {(void *)(uintptr_t)a, (void *)(uintptr_t)b, c};
    int ok = 1;
    if (!m->m[0] || m->M != M || m->K != K) { /* new sizes: new objects */
        dnnl_memory_desc_t ma, mb, mc;
        const dnnl_memory_desc_t *mds[3] = {&ma, &mb, &mc};
        drop_mems(d, m);
        if (layouts(H, p, M, K, ld, &ma, &mb, &mc))
            return;
        for (int i = 0; i < 3; i++)
            ok &= d->memory_create(&m->m[i], mds[i], d->engine, h[i]) == dnnl_success;
        m->M = M;
        m->K = K;
    } else {
        for (int i = 0; i < 3; i++)
            ok &= d->memory_set_data_handle(m->m[i], h[i]) == dnnl_success;
    }
    if (ok) {
        dnnl_exec_arg_t args[3] = {
            {DNNL_ARG_SRC, m->m[0]}, {DNNL_ARG_WEIGHTS, m->m[1]}, {DNNL_ARG_DST, m->m[2]}};
        const int saved = bp__dnnl_solo_begin();
        d->primitive_execute(prim, S->stream, 3, args);
        bp__dnnl_solo_end(saved);
    } else { /* made again on the next call */
        drop_mems(d, m);
    }
}

/* Product p (forward or gin) for M rows: c from a and b, by the slot's
 * primitive for these sizes where it has one, else by run time's. */
static void product(bp__dense_half *H, int p, int M, const void *a, const void *b, void *c)
{
    slot *S = my_slot(H);
    fixed *F = fixed_for(H, S, p, M, 0);
    if (F)
        run(H, S, F->prim, &F->mem, p, M, 0, 0, a, b, c);
    else
        run(H, S, H->prim[p], &S->run[p], p, M, 0, 0, a, b, c);
}

/* The slot's buffer of at least n values of size bytes, or NULL. */
static void *slot_buffer(slot *S, size_t n, size_t size)
{
    if (S->buf_n < n * size) {
        bp__free(S->buf);
        S->buf_n = (S->buf = bp__malloc(n * size)) ? n * size : 0;
    }
    return S->buf;
}

/* Rows of a (rows, K) bf16 input at a times b into c (rows, N): a lone
 * row runs as two, with a zero row under it. */
static void rows_product(bp__dense_half *H, int p, int rows, int K, const uint16_t *a,
                         const void *b, float *c, int N)
{
    if (rows >= 2) {
        product(H, p, rows, a, b, c);
        return;
    }
    slot *S = my_slot(H);
    memcpy(S->src2, a, (size_t)K * sizeof *a);
    memset(S->src2 + K, 0, (size_t)K * sizeof *a);
    product(H, p, 2, S->src2, b, S->dst2);
    memcpy(c, S->dst2, (size_t)N * sizeof *c);
}

void bp__dense_half_keep_in(const bp__dense_half *H, int rows, const float *x, uint16_t *x16,
                            int c0, int c1)
{
    for (int b = 0; b < rows; b++)
        bp__to_bf16(x + (size_t)b * (size_t)H->I + c0, x16 + (size_t)b * (size_t)H->I + c0,
                    (size_t)(c1 - c0));
}

void bp__dense_half_forward(bp__dense_half *H, int rows, const float *x, float *z,
                            uint16_t *x16)
{
    bp__dense_half_keep_in(H, rows, x, x16, 0, H->I);
    rows_product(H, FWD, rows, H->I, x16, H->w16, z, H->O);
}

const float *bp__dense_half_forward_units(bp__dense_half *H, int B, const uint16_t *x16,
                                          float *z, int u0, int u1)
{
    const int K = u1 - u0;
    const uint16_t *w = H->w16 + (size_t)u0 * (size_t)H->I;
    slot *S = my_slot(H);
    fixed *F = fixed_for(H, S, FWD_U, B, K);
    float *zb = F ? slot_buffer(S, (size_t)B * (size_t)K, sizeof *zb) : NULL;
    if (!zb) {
        run(H, S, H->prim[FWD_U], &S->run[FWD_U], FWD_U, B, K, H->O, x16, w, z + u0);
        return NULL;
    }
    run(H, S, F->prim, &F->mem, FWD_U, B, K, K, x16, w, zb);
    return zb;
}

void bp__dense_half_keep_dz(const bp__dense_half *H, int rows, const float *dz, uint16_t *dz16)
{
    bp__to_bf16(dz, dz16, (size_t)rows * (size_t)H->O);
}

void bp__dense_half_grad_input(bp__dense_half *H, int rows, const uint16_t *dz16, float *din)
{
    rows_product(H, GIN, rows, H->O, dz16, H->w16, din, H->I);
}

void bp__dense_half_grad_w(bp__dense_half *H, int o0, int o1, int B, const uint16_t *x16,
                           const uint16_t *dz16, float *dw, int fresh)
{
    const int p = fresh ? GW : GW_SUM, M = o1 - o0;
    const size_t I = (size_t)H->I, O = (size_t)H->O;
    slot *S = my_slot(H);
    if (M >= 2 || H->O == 1) {
        fixed *F = fixed_for(H, S, p, M, B);
        const uint16_t *a = dz16 + o0;
        uint16_t *dzb = F && M < H->O ? slot_buffer(S, (size_t)B * (size_t)M, sizeof *dzb) : NULL;
        if (dzb) { /* the block's columns of dz16, dense */
            for (int b = 0; b < B; b++)
                memcpy(dzb + (size_t)b * (size_t)M, a + (size_t)b * O, (size_t)M * sizeof *a);
            a = dzb;
        }
        if (F && (dzb || M == H->O))
            run(H, S, F->prim, &F->mem, p, M, B, M, a, x16, dw + (size_t)o0 * I);
        else
            run(H, S, H->prim[p], &S->run[p], p, M, B, H->O, dz16 + o0, x16,
                dw + (size_t)o0 * I);
        return;
    }
    /* a lone unit: with its neighbour, and its row kept; the neighbour's
     * row is added to as well when adding, so both go as the block would */
    const int first = o0 + 1 < H->O ? o0 : o0 - 1;
    float *row = dw + (size_t)o0 * I, *got = S->dst2 + (size_t)(o0 - first) * I;
    if (!fresh)
        memcpy(S->dst2, dw + (size_t)first * I, 2 * I * sizeof *row);
    run(H, S, H->prim[p], &S->run[p], p, 2, B, H->O, dz16 + first, x16, S->dst2);
    memcpy(row, got, I * sizeof *row);
}
#endif /* BP_HAVE_DNNL */
