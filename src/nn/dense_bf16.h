/*
 * dense_bf16.h - a dense layer's products in bfloat16 with float
 * accumulation (nn/dense_bf16.c), for a network set to BP_PRECISION_BF16.
 * Only built with oneDNN. The layer's scratch row holds its input in bf16
 * (bp__dense_half_in_floats floats) then its dz in bf16.
 */
#ifndef BP_NN_DENSE_BF16_H
#define BP_NN_DENSE_BF16_H

#include "internal.h"

typedef struct bp__dense_half bp__dense_half;

/* Floats of a scratch row the bf16 input takes; the whole row. */
static inline size_t bp__dense_half_in_floats(const bp__layer *L)
{
    return ((size_t)L->I + 1) / 2;
}
static inline size_t bp__dense_half_scratch(const bp__layer *L)
{
    return bp__dense_half_in_floats(L) + ((size_t)L->O + 1) / 2;
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
/* z (rows, O) = x W^T without the bias, x kept in bf16 in the scratch rows. */
void bp__dense_half_forward(bp__dense_half *H, int rows, const float *x, float *z,
                            float *scratch);
/* Columns [c0, c1) of x (rows, I) into the scratch rows in bf16, as
 * bp__dense_half_forward keeps x. */
void bp__dense_half_keep_in(const bp__dense_half *H, int rows, const float *x, float *scratch,
                            int c0, int c1);
/* Units [u0, u1) of z (B, O), at least two of them and B >= 2, from the
 * input the B scratch rows hold: z[:, u0:u1] = x W[u0:u1]^T. */
void bp__dense_half_forward_units(bp__dense_half *H, int B, const float *scratch, float *z,
                                  int u0, int u1);
/* dz (rows, O) into the scratch rows in bf16, once it is final. */
void bp__dense_half_keep_dz(const bp__dense_half *H, int rows, const float *dz, float *scratch);
/* din (rows, I) = dz W, from the scratch rows' dz. */
void bp__dense_half_grad_input(bp__dense_half *H, int rows, const float *scratch, float *din);
/* Units [o0, o1) of dW (O, I), written (fresh) or added to: dz^T in over
 * the batch's B scratch rows. */
void bp__dense_half_grad_w(bp__dense_half *H, int o0, int o1, int B, const float *scratch,
                           float *dw, int fresh);
#endif

#endif /* BP_NN_DENSE_BF16_H */
