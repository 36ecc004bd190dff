/*
 * net.h - the network's state, shared by the two files that run it: net.c
 * (the general forward, loss and backward, and everything else a network
 * does) and small.c (the fused step of small networks). Nothing outside
 * src/nn/ reads it; the rest of the library goes through backprop.h and
 * internal.h.
 */
#ifndef BP_NN_NET_H
#define BP_NN_NET_H

#include "internal.h"
#include "nn/layer.h"

struct bp_net {
    int inputs, n_layers;
    bp_shape in_shape;       /* the input's shape; inputs is its size */
    int max_width;           /* widest of the inputs and every layer */
    int delta_width[2];      /* the widest slope each of delta[0], delta[1] holds */
    size_t sum_widths;       /* sum of the layers' widths */
    size_t sum_acts;         /* sum of the widths of the layers with buffers of their own */
    size_t n_params;
    size_t sum_scratch;      /* sum of the layers' scratch floats per row */
    size_t max_work;         /* the most work floats of any layer's grad_input */
    double max_macs;         /* the most multiply-adds per row of any layer */
    float *params;           /* (n_params) */
    float *grads;            /* (n_params), same layout */

    /* Workspace, sized for `capacity` rows. */
    int capacity;
    void *work;              /* the one allocation behind the views below */
    float *acts;             /* layer l's (B, O) at acts + capacity * acts_at[l] */
    float *logits;           /* (B, O_last) output pre-activations */
    float *delta[2];         /* (B, max_width) ping-pong slopes */
    float *mask;             /* dropout: hidden layer l's (B, O) at mask + capacity * act_off[l] */
    float *dropped;          /* dropout: the masked values, same layout */
    float *scratch;          /* layer l's (B, scratch) at scratch + capacity * scr_off[l] */
    float *bwork;            /* (blocks, max_work): one per block of grad_input */
    int drop_ready;          /* the workspace holds mask and dropped */

    double drop_p;           /* dropout probability on hidden layers (0: off) */
    bp_rng *drop_rng;        /* borrowed */
    int training;            /* training mode (bp_net_set_training) */
    bp_rng *rng;             /* borrowed: training mode's draws, NULL when none */
    float *state;            /* (n_state) running statistics, after the gradients */
    size_t n_state;
    float *keep;             /* (n_keep) what whole-batch kinds keep per batch */
    size_t n_keep;

    int batch;               /* rows of the last forward pass, 0 if none */
    const float *x;          /* (B, I) input of the last forward pass */
    const float *kept_x;     /* the batch whose first layer's bf16 input the caller
                              * wrote as it wrote x (bp__net_keep_input), else NULL */
    int kept_rows;           /* its rows */
    int have_delta;          /* bp_net_loss ran since the last forward */
    const float *class_weight; /* borrowed class weights of the losses (NULL: none) */
    bp_precision precision;  /* the products' number format (bp_net_set_precision) */
    int half_fresh;          /* the bf16 copies hold the parameters: a step wrote
                              * both, and no pointer to them went out since */
    int small_rows;          /* the largest batch the fused step serves (nn/small.c), 0 if none */
    char message[256];
    size_t *act_off;         /* (n_layers) offsets of mask and dropped, in rows of width 1 */
    size_t *acts_at;         /* (n_layers) offsets in acts, likewise; an activation
                              * run in place shares its input's */
    size_t *scr_off;         /* (n_layers) offsets of the scratch, likewise */
    bp__layer layers[];      /* (n_layers) */
};

/* Layer l's activations (B, O) in the workspace. */
static inline float *bp__acts_of(const bp_net *net, int l)
{
    return net->acts + (size_t)net->capacity * net->acts_at[l];
}

/* Each layer's scr_base and scr_rows from the workspace (none: NULL). */
void bp__net_bind_scratch(bp_net *net);

/* Layer l's scratch (B, L->scratch) in the workspace. */
static inline float *bp__scratch_of(const bp_net *net, int l)
{
    return net->scratch + (size_t)net->capacity * net->scr_off[l];
}

/* Whether every layer's product for a batch of B rows is one block (as
 * bp__blocks would find it, layer by layer). */
static inline int bp__one_block(const bp_net *net, int B)
{
    return (double)B * net->max_macs < BP__PARALLEL_WORK;
}

/* How many blocks of output units layer l's parameter slopes split into
 * for B rows (0 for a kind without them), by shape alone. */
int bp__net_unit_blocks(const bp_net *net, int l, int B);

/* nn/batchnorm.c: a batch norm layer's per-channel sums over B rows of its
 * input x, in double, into v (2 C): of x and x^2 when dz is NULL, else of
 * dz and dz * xhat, xhat from x by the norms the last forward pass kept
 * (keep, the layer's); each channel's in a fixed order. */
void bp__bn_sums(const bp__layer *L, const float *keep, int B, const float *x, const float *dz,
                 double *v);

/* (Re)allocate the workspace for `rows` rows, with the dropout buffers when
 * `dropout` is set, and make what the kinds prepare. On an error the old
 * workspace stays. */
int bp__net_workspace(bp_net *net, int rows, int dropout);

/* Before a forward pass: the layers' copies of the parameters in their
 * product precision (bf16) from the parameter block. */
void bp__net_refresh(bp_net *net);
/* Rows [b0, b1) of layer l's dz (B, O) at dz, now final: kept for the
 * layer's bf16 products when it has them. */
void bp__net_keep_dz(bp_net *net, int l, int b0, int b1, const float *dz);

/* nn/small.c: for a network whose layers are all at most 4 wide (inputs
 * and outputs), the largest batch whose products all take the plain loops
 * (bp__gemm_small) in one block, so that the fused passes below give the
 * general path's bits; 0 for any other network. From the layers alone. */
int bp__small_rows(const bp_net *net);
/* Whether the fused passes serve a batch of B rows now: B fits the rule
 * above and the workspace, and dropout is off. */
static inline int bp__small_serves(const bp_net *net, int B)
{
    return B <= net->small_rows && B <= net->capacity && net->drop_p == 0.0 &&
           net->precision == BP_PRECISION_FP32;
}
/* bp_net_forward's work for such a batch: each layer's outputs, row by
 * row, in the general path's order of operations. */
void bp__small_forward(bp_net *net, int B, const float *x);
/* backward's work from delta[0] (dL/dz of the output layer): the gradient
 * block written (fresh) or added to, and dL/dx into dx when not NULL. */
void bp__small_backward(bp_net *net, float *dx, int fresh);
/* The loss of such a forward pass into *value, and dz (B, O), its slope
 * with respect to the output layer's pre-activations, in one pass, with
 * loss.c's and activation.c's operations: for mse and mae with a target
 * per output, the output's activation identity, relu or leaky relu.
 * Returns 1 when done, 0 (nothing written) for any other case. */
int bp__small_loss(const bp_net *net, bp_loss loss, const float *t, int T, float *dz,
                   double *value);

#endif /* BP_NN_NET_H */
