/*
 * layer.h - what a layer kind is: the few functions the network, the spec,
 * the gradient check and explain call, so that they walk the table of
 * kinds (nn/layer.c) and never switch on one. Each kind lives in its own
 * file (nn/dense.c, nn/conv.c, nn/pool.c) and is one entry in the table.
 *
 * The float passes work on blocks of a batch so that the network can run
 * blocks on its threads; a block's result never depends on how the batch
 * was split, so the bits are the same at any thread count. A kind whose
 * rows are not independent (batch statistics, dropout's draws in order)
 * gives whole-batch passes instead and splits their work itself by a rule
 * that never depends on the thread count (by channel). The double passes
 * work on one sample, naively, or on the whole batch for such a kind: the
 * reference twins that gradient checking differentiates and explain keeps
 * factor by factor.
 */
#ifndef BP_NN_LAYER_H
#define BP_NN_LAYER_H

#include "internal.h"

/* What a kind's spec entry may hold, beside the kind's word. */
enum {
    BP__TAKES_WIDTH = 1 << 0,  /* a count: dense outputs, conv filters */
    BP__TAKES_KERNEL = 1 << 1, /* a window side */
    BP__TAKES_PAD = 1 << 2,    /* same, pad=P */
    BP__TAKES_STRIDE = 1 << 3, /* stride=S */
    BP__TAKES_BIAS = 1 << 4,   /* nobias, bias */
    BP__TAKES_ACT = 1 << 5,    /* an activation */
    BP__SPATIAL_IN = 1 << 6,   /* needs a C x H x W input */
    BP__TAKES_RATE = 1 << 7,   /* a probability in [0, 1): dropout:P */
    BP__TAKES_NORM = 1 << 8,   /* momentum=M, eps=E */
    BP__ACT_WORD = 1 << 9,     /* the entry's word is its activation ("relu") */
    BP__PASS_THROUGH = 1 << 10, /* z is in, and din is dz: the network runs it in place */
    BP__ACT_IN_FORWARD = 1 << 11 /* forward applies relu or leaky relu with the bias */
};

/* Batch normalization's defaults, as PyTorch's. */
#define BP__BN_MOMENTUM 0.1
#define BP__BN_EPS 1e-5

/* What a whole-batch pass reads besides its layer: the blocks, the mode
 * and the generator. */
typedef struct bp__pass {
    const float *params; /* (n_params) */
    float *grads;        /* (n_params), same layout */
    float *state;        /* the state block: running statistics */
    float *keep;         /* the layer's keep floats (L->keep from keep_off) */
    int training;        /* training mode: batch statistics, dropout's draws */
    bp_rng *rng;         /* training mode's generator, NULL when none */
    int B;               /* rows of the batch */
} bp__pass;

struct bp__kind {
    bp_layer_kind id;
    const char *word; /* the spec's word ("conv"); NULL for dense, whose entry is its width */
    unsigned takes;   /* BP__TAKES_* and BP__SPATIAL_IN */

    /* From L->in and the description, fill the rest of L's geometry: out,
     * I, O, n_w, n_b, w_rank, w_dims, fan_in, fan_out, scratch, work, macs, k,
     * stride, pad. On a shape the kind cannot take, write why into msg
     * (the entry is named by the caller) and return -1. */
    int (*plan)(bp__layer *L, const bp_layer_desc *d, char *msg, size_t size);

    /* When set, what the network's creation and bp_net_init give the
     * layer's parameters and state, without draws (batchnorm: weight 1,
     * bias 0, running mean 0 and variance 1). */
    void (*reset)(const bp__layer *L, float *params, float *state);

    /* Rows of a batch forward: z (rows, O) from in (rows, I), keeping what
     * backward needs in scratch (rows, L->scratch). A scratch pointer
     * names its first row: L->scr_base + row * L->scratch. A kind may lay
     * the whole (L->scr_rows, L->scratch) out otherwise, by planes, and
     * find the row from the pointer. The bias is added here;
     * the activation is the network's, except where bp__act_in_forward
     * says the kind applies it in the bias's pass. */
    void (*forward)(const bp__layer *L, const float *params, int rows, const float *in,
                    float *z, float *scratch);
    /* Optional: output units [u0, u1) of z (B, O) for the whole batch,
     * with the bias and an activation bp__act_in_forward applies; what
     * forward would write there. A bf16 layer reads its input from its
     * scratch, where keep_in wrote it. NULL: the
     * network splits forward by rows alone. */
    void (*forward_units)(const bp__layer *L, const float *params, int B, const float *in,
                          float *z, float *scratch, int u0, int u1);
    /* The parameter slopes of output units [u0, u1) (dense outputs, conv
     * filters) over the whole batch of B rows: dW, db from dz (B, O) and the
     * forward's in and scratch, written when fresh, else added. NULL for a
     * kind without parameters. */
    void (*grad_params)(const bp__layer *L, int u0, int u1, int B, const float *in,
                        const float *scratch, const float *dz, float *grads, int fresh);
    /* Rows of the slope of the input: din (rows, I) from dz (rows, O), with
     * work (L->work floats) to write as it goes. */
    void (*grad_input)(const bp__layer *L, const float *params, int rows, const float *in,
                       const float *scratch, const float *dz, float *din, float *work);
    /* Optional (NULL: nothing to make): what the float passes need beside
     * the workspace (a library's primitives), made into L->prims when the
     * workspace is first reserved, never inside a step. 0, or a negative
     * BP_E* code; a kind that cannot make it leaves L->prims NULL and its
     * passes take their plain path. release frees L->prims. */
    int (*prepare)(bp__layer *L);
    void (*release)(bp__layer *L);
    /* Optional: turn the layer's products to bf16 (on) or back to float
     * (L->half, its scratch for any bf16 copies, its prims made at once
     * so that an error shows when the precision is set). 0, or a negative
     * BP_E* code with why in msg. A kind with parameter slopes and no hook
     * has no bf16 path; one without parameters stays in float. */
    int (*set_half)(bp__layer *L, int on, char *msg, size_t size);
    /* Optional, for a layer with L->half and its prims made (bf16): what
     * the products take from the parameters (their bf16 copies), before a
     * forward pass unless the optimizer's step wrote them (half_weights);
     * and dz's rows once final (the network calls it
     * where it finishes them), kept in its scratch for the backward
     * products. */
    void (*refresh)(const bp__layer *L, const float *params);
    /* Optional, with refresh: the bf16 copy of the weights (n_w, in their
     * layout) that refresh writes, for an optimizer's step to write as it
     * writes the weights. */
    uint16_t *(*half_weights)(const bp__layer *L);
    void (*keep_dz)(const bp__layer *L, int rows, const float *dz, float *scratch);
    /* Optional, with forward_units (bf16): columns [c0, c1) of the input's
     * rows (rows, I) into its scratch in bf16, all of them before any
     * block of units reads them; what forward keeps there of its rows. */
    void (*keep_in)(const bp__layer *L, int rows, const float *in, float *scratch, int c0,
                    int c1);

    /* Whole-batch passes, for a kind whose rows are not independent; when
     * set, the network calls them instead of forward, grad_params and
     * grad_input. forward_batch writes z (B, O) from in (B, I) and keeps
     * what backward needs in scratch (B, L->scratch) and ps->keep;
     * backward_batch writes (fresh) or adds the parameter slopes and
     * writes din (B, I) when not NULL. */
    void (*forward_batch)(const bp__layer *L, const bp__pass *ps, const float *in, float *z,
                          float *scratch);
    void (*backward_batch)(const bp__layer *L, const bp__pass *ps, const float *in,
                           const float *scratch, const float *dz, float *din, int fresh);
    /* The whole batch in double, for a kind whose rows are not independent
     * in training mode: z (B, O) from in (B, I) with parameters p and the
     * state block (read only); NULL when forward_d serves. A kind with it
     * has no forward_d, backward_d nor weight_terms (explain refuses it). */
    void (*forward_batch_d)(const bp__layer *L, const double *p, const float *state,
                            int training, int B, const double *in, double *z);

    /* One sample in double: z (O) from in (I) with parameters p (the whole
     * block, indexed from L->w_off). */
    void (*forward_d)(const bp__layer *L, const double *p, const double *in, double *z);
    /* One sample's slopes in double from dz (O): the layer's parameter
     * slopes into g (n_w + n_b, written) when not NULL, and din (I). */
    void (*backward_d)(const bp__layer *L, const double *p, const double *in, const double *dz,
                       double *g, double *din);
    /* For a weight (its index among the layer's n_w): the products that
     * make up its slope over one sample, as pairs of the input index and
     * the output index each product joins (dL/dw = sum of in[i] dz[o]).
     * Writes up to max pairs into io, returns how many there are. */
    size_t (*weight_terms)(const bp__layer *L, size_t weight, size_t max, size_t *io);
};

/* The table: the kind of an id, or of a spec word; NULL when none. */
const bp__kind *bp__kind_of(bp_layer_kind id);
const bp__kind *bp__kind_by_word(const char *word, size_t len);
/* Every kind, for the spec's messages: n of them from *kinds. */
const bp__kind *const *bp__kinds(int *n);

/* The checks every windowed kind's plan makes, with its messages: a
 * C x H x W input, a kernel K and a stride S of at least 1; and a K x K
 * window that fits the input padded by P on each side. 0, or -1 with why
 * in msg. */
int bp__window_args(bp_shape in, long long K, long long S, char *msg, size_t size);
int bp__window_fits(bp_shape in, long long K, long long P, char *msg, size_t size);

/* For a plan without parameters: no weights, no bias, no tensor, no fan. */
static inline void bp__layer_no_params(bp__layer *L)
{
    L->bias = 0;
    L->n_w = 0;
    L->n_b = 0;
    L->w_rank = 0;
    memset(L->w_dims, 0, sizeof L->w_dims);
    L->fan_in = 0.0;
    L->fan_out = 0.0;
}

/* Whether L's forward applies its activation itself, in the pass that adds
 * the bias (a kind with BP__ACT_IN_FORWARD, and relu or leaky relu, whose
 * outputs no loss reads as logits): the network then applies none. */
static inline int bp__act_in_forward(const bp__layer *L)
{
    return (L->kind->takes & BP__ACT_IN_FORWARD) &&
           (L->act == BP_ACT_RELU || L->act == BP_ACT_LEAKY_RELU);
}

/* Output units of a layer whose parameters grad_params splits (dense
 * outputs, conv filters), 0 for a kind without parameters. */
static inline int bp__layer_units(const bp__layer *L)
{
    return L->kind->grad_params ? L->out.c : 0;
}

/* The kinds. */
extern const bp__kind bp__kind_dense;
extern const bp__kind bp__kind_conv;
extern const bp__kind bp__kind_maxpool;
extern const bp__kind bp__kind_avgpool;
extern const bp__kind bp__kind_act;
extern const bp__kind bp__kind_dropout;
extern const bp__kind bp__kind_batchnorm;

#endif /* BP_NN_LAYER_H */
