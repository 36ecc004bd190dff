/*
 * conv.h - what the convolution kind (nn/conv.c) asks of oneDNN's
 * convolution primitives (nn/conv_dnnl.c): made once for a planned layer,
 * then run on one thread, one sample at a time (the filters' slopes, which
 * read the whole batch in every block, in fixed runs of samples), so that
 * a result never depends on the block of the batch it sits in or on the
 * thread count.
 */
#ifndef BP_NN_CONV_H
#define BP_NN_CONV_H

#include "nn/layer.h"

/* The passes primitives may serve, as bits. */
enum {
    BP__CONV_FWD = 1 << 0,   /* forward, bias included */
    BP__CONV_BWD_D = 1 << 1, /* the input's slope */
    BP__CONV_BWD_W = 1 << 2  /* the filters' slopes (the bias's stay in conv.c) */
};

typedef struct bp__conv_prims bp__conv_prims;

/* Make the primitives of the passes in `passes` for L (planned: shapes,
 * kernel, stride, pad), reading bf16 when `half`. *out is NULL, with 0
 * returned, when oneDNN is not built in or cannot be loaded, or refuses
 * the layer; in bf16 that is BP_EUNSUPPORTED instead, as is a reference
 * kernel, with why in msg. BP_ENOMEM when memory ran out. */
int bp__conv_prims_make(const bp__layer *L, unsigned passes, int half, bp__conv_prims **out,
                        char *msg, size_t size);
void bp__conv_prims_free(bp__conv_prims *P);
/* The passes P serves (0 for NULL). */
unsigned bp__conv_prims_passes(const bp__conv_prims *P);

/* The passes. Each returns 0, or -1 when oneDNN failed, having written
 * nothing the caller can rely on: the caller then runs its own path.
 * forward: z (rows, O) from in (rows, I), weights w (OUT, C, K, K) and bias
 * (OUT, or NULL). grad_input: din (rows, I) from dz (rows, O). grad_weights:
 * the slopes of filters [u0, u1) over the B rows into dw (the layer's
 * whole (OUT, C, K, K) block), written when fresh, else added; a failure
 * after the first sample leaves the samples before it added. */
int bp__conv_prims_forward(const bp__conv_prims *P, const float *w, const float *bias, int rows,
                           const float *in, float *z);
int bp__conv_prims_grad_input(const bp__conv_prims *P, const float *w, int rows, const float *dz,
                              float *din);
int bp__conv_prims_grad_weights(const bp__conv_prims *P, int u0, int u1, int B, const float *in,
                                const float *dz, float *dw, int fresh);

#endif /* BP_NN_CONV_H */
