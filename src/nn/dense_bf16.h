/*
 * dense_bf16.h - a dense layer's products in bfloat16 with float
 * accumulation (nn/dense_bf16.c), for a network set to BP_PRECISION_BF16.
 * Only built with oneDNN. The layer's scratch holds two planes, each
 * dense: its input in bf16 (rows, I), then its dz in bf16 (rows, O), for
 * the workspace's rows (L->scr_rows).
 */
#ifndef BP_NN_DENSE_BF16_H
#define BP_NN_DENSE_BF16_H

#include "internal.h"

typedef struct bp__dense_half bp__dense_half;

/* Floats per row: the bf16 input's share, then the whole. */
static inline size_t bp__dense_half_in_floats(const bp__layer *L)
{
    return ((size_t)L->I + 1) / 2;
}
static inline size_t bp__dense_half_scratch(const bp__layer *L)
{
    return bp__dense_half_in_floats(L) + ((size_t)L->O + 1) / 2;
}

/* The row that a scratch pointer the network hands over names, in the
 * input's plane (rows, I) and in dz's (rows, O). */
static inline size_t bp__dense_half_row(const bp__layer *L, const float *scratch)
{
    return (size_t)(scratch - L->scr_base) / L->scratch;
}
static inline uint16_t *bp__dense_half_x16(const bp__layer *L, const float *scratch)
{
    return (uint16_t *)(void *)L->scr_base + bp__dense_half_row(L, scratch) * (size_t)L->I;
}
static inline uint16_t *bp__dense_half_dz16(const bp__layer *L, const float *scratch)
{
    float *plane = L->scr_base + (size_t)L->scr_rows * bp__dense_half_in_floats(L);
    return (uint16_t *)(void *)plane + bp__dense_half_row(L, scratch) * (size_t)L->O;
}

#ifdef BP_HAVE_DNNL
/* The primitives and the weights' copy for layer L (its scratch already
 * bp__dense_half_scratch). 0, or BP_ENOMEM / BP_EUNSUPPORTED with why in
 * msg (oneDNN missing, or only a reference kernel on offer). */
int bp__dense_half_make(const bp__layer *L, bp__dense_half **out, char *msg, size_t size);
void bp__dense_half_free(bp__dense_half *H);
/* The weights' bf16 copy from w (O, I): before a forward pass, unless the
 * optimizer's step wrote it (bp__dense_half_w16). */
void bp__dense_half_refresh(bp__dense_half *H, const float *w);
uint16_t *bp__dense_half_w16(bp__dense_half *H);
/* z (rows, O) = x W^T without the bias, x kept in bf16 at x16 (rows, I). */
void bp__dense_half_forward(bp__dense_half *H, int rows, const float *x, float *z,
                            uint16_t *x16);
/* Columns [c0, c1) of x (rows, I) into x16 (rows, I) in bf16, as
 * bp__dense_half_forward keeps x. */
void bp__dense_half_keep_in(const bp__dense_half *H, int rows, const float *x, uint16_t *x16,
                            int c0, int c1);
/* Units [u0, u1), at least two of them and B >= 2, of x W^T from the
 * input x16 (B, I) holds: into a dense (B, u1 - u0) buffer of the calling
 * thread's, returned; where none can be had, into z's columns z[:, u0:u1]
 * (z (B, O)), returning NULL. */
const float *bp__dense_half_forward_units(bp__dense_half *H, int B, const uint16_t *x16,
                                          float *z, int u0, int u1);
/* dz (rows, O) into dz16 (rows, O) in bf16, once it is final. */
void bp__dense_half_keep_dz(const bp__dense_half *H, int rows, const float *dz, uint16_t *dz16);
/* din (rows, I) = dz W, from dz16 (rows, O). */
void bp__dense_half_grad_input(bp__dense_half *H, int rows, const uint16_t *dz16, float *din);
/* Units [o0, o1) of dW (O, I), written (fresh) or added to: dz^T in over
 * the batch's B rows of dz16 and x16. */
void bp__dense_half_grad_w(bp__dense_half *H, int o0, int o1, int B, const uint16_t *x16,
                           const uint16_t *dz16, float *dw, int fresh);
#endif

#endif /* BP_NN_DENSE_BF16_H */
