/*
 * small.c - the forward and backward passes of small networks, fused: each
 * layer's product, bias and activation (identity, relu, leaky relu) in one
 * pass over the batch, its weight and bias gradients and the slope of its
 * input, through the previous layer's activation, in another, with no call
 * into the matrix product and no row blocks.
 *
 * A network like the lessons' 2-2-1 on 4 points does about 60
 * multiply-adds a step; through the general path (net.c) each of its five
 * products is a call that sets up strides for 8 to 16 of them, and each
 * bias and activation another pass, so dispatch took most of a step.
 *
 * It serves networks whose every layer has at most 4 inputs and 4 outputs,
 * like the lessons' and xor's.
 *
 * Invariant: the same bits as the general path. That path's products of
 * this size take the plain loops (math/gemm_small.c): each output a float
 * sum from 0 of its products in k order, then alpha (1) and beta applied.
 * The loops here do exactly those operations in that order, then the
 * bias, the logits kept, the activation, as net.c does; bias slopes are
 * summed in double in row order. bp__small_rows says which batches that holds for,
 * and the tests compare both paths bit for bit.
 */
#include "nn/net.h"

#include <string.h>

/* The widest layer, inputs and outputs, with kernels of its own. The
 * general path's products of wider rows take its four-wide vector loops,
 * which a fused loop with the widths variable did not beat (3,000 epochs
 * of spiral data through `2,8:relu,3:softmax` at batch 32: 0.23 against
 * 0.18 s of CPU time). */
enum { SMALL_WIDTH = 4 };

int bp__small_rows(const bp_net *net)
{
    /* Every layer has a kernel (at most SMALL_WIDTH inputs and outputs);
     * then bp__gemm's rule, product by product: rows of N x K <
     * BP__TINY_ROW_MACS multiply-adds take the plain loops; and one block
     * while B * max_macs < BP__PARALLEL_WORK. */
    long long rows = (long long)(BP__PARALLEL_WORK / net->max_macs);
    if ((double)rows * net->max_macs >= BP__PARALLEL_WORK)
        rows--;
    for (int l = 0; l < net->n_layers; l++) {
        const long long I = net->layers[l].I, O = net->layers[l].O;
        if (net->layers[l].kind != &bp__kind_dense) /* dense layers only */
            return 0;
        if (I > SMALL_WIDTH || O > SMALL_WIDTH) /* no kernel of its own */
            return 0;
        /* forward (N = O, K = I) and d in (N = I, K = O) have I x O <= 16
         * multiply-adds a row, and N < BP__ROW_VECTOR_N: the scalar loops;
         * dW (N = I, K = B) while I B < BP__TINY_ROW_MACS */
        const long long most = (BP__TINY_ROW_MACS - 1) / I;
        rows = most < rows ? most : rows;
    }
    return rows > 0 ? (int)(rows < 1 << 30 ? rows : 1 << 30) : 0;
}

/* Layer L's activation over B rows, for the ones the kernels do not
 * apply: through activation.c, as the general path runs them. */
static void act_forward(const bp__layer *L, int B, float *v)
{
    bp__act_forward(L->act, L->slope, B, L->O, v);
}

static void act_backward(const bp__layer *L, int B, const float *restrict a, float *restrict d)
{
    bp__act_backward(L->act, L->slope, B, L->O, a, d);
}

/* The activations a kernel applies to each value as it makes it, in a
 * register (bp__act_simple, the form every pass uses). A pass of their own
 * over a few values just stored cost more than the values' arithmetic:
 * their vector loads waited on the scalar stores. The others (sigmoid,
 * tanh, softmax) keep their pass. */
enum { IN_IDENTITY, IN_RELU, IN_LEAKY, IN_KINDS };

static int in_kernel(bp_act act)
{
    return act == BP_ACT_RELU ? IN_RELU : act == BP_ACT_LEAKY_RELU ? IN_LEAKY : IN_IDENTITY;
}

static int act_in_kernel(bp_act act)
{
    return act == BP_ACT_IDENTITY || act == BP_ACT_RELU || act == BP_ACT_LEAKY_RELU;
}

/* The activation of kernel kind A, a constant where the kernels use it. */
static inline __attribute__((always_inline)) bp_act act_of(int A)
{
    return A == IN_RELU ? BP_ACT_RELU : A == IN_LEAKY ? BP_ACT_LEAKY_RELU : BP_ACT_IDENTITY;
}

/* The kernels of one layer: the forward product with the bias and the
 * activation A, z (B, O) = A(in (B, I) W^T + b); and the backward, dW (O,
 * I) = dz^T in and db = the column sums of dz, written (fresh) or added,
 * and din (B, I) = dz W times the slope of the previous layer's activation
 * D at in (D: NO_DIN for no din). Written once, inlined for each shape and
 * activation with I, O, A and D constants, so that the sums of a few terms
 * are unrolled in registers with no loop around them. */
typedef void forward_fn(int B, const float *restrict in, const float *restrict W,
                        const float *restrict bias, float *restrict z, float slope);
typedef void backward_fn(int B, const float *restrict in, const float *restrict W,
                         const float *restrict dz, float *restrict gW, float *restrict gb,
                         int fresh, float *restrict din, float slope);

static inline __attribute__((always_inline)) void
forward_body(int I, int O, int A, int B, const float *restrict in, const float *restrict W,
             const float *restrict bias, float *restrict z, float slope)
{
    for (int b = 0; b < B; b++) {
        const float *xr = in + (size_t)b * (size_t)I;
        float *zr = z + (size_t)b * (size_t)O;
        for (int o = 0; o < O; o++) {
            const float *w = W + (size_t)o * (size_t)I;
            float acc = 0.0f;
            for (int k = 0; k < I; k++)
                acc += xr[k] * w[k];
            zr[o] = bp__act_simple(act_of(A), slope, bias ? acc + bias[o] : acc);
        }
    }
}

/* n floats from v to out (n constant), four at a time with one 16-byte
 * store, then two with one 8-byte store, then one: the optimizer's
 * vectorized pass reads the gradient that way right after, and a wide
 * load of values stored one at a time waits for the stores to drain (a
 * failed store forward) where one store of the same width forwards. */
typedef float bp__v4 __attribute__((vector_size(16)));
typedef float bp__v2 __attribute__((vector_size(8)));

static inline __attribute__((always_inline)) void store_wide(int n, const float *v,
                                                             float *restrict out)
{
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const bp__v4 q = {v[j], v[j + 1], v[j + 2], v[j + 3]};
        memcpy(out + j, &q, sizeof q);
    }
    if (j + 2 <= n) {
        const bp__v2 q = {v[j], v[j + 1]};
        memcpy(out + j, &q, sizeof q);
        j += 2;
    }
    if (j < n)
        out[j] = v[j];
}

/* The sums of dW stay in acc while the batch goes by, each adding its
 * rows in order, as the general path's loops do. */
enum { MOST_SUMS = SMALL_WIDTH * SMALL_WIDTH, NO_DIN = IN_KINDS };

static inline __attribute__((always_inline)) void
backward_body(int I, int O, int D, int B, const float *restrict in, const float *restrict W,
              const float *restrict dz, float *restrict gW, float *restrict gb, int fresh,
              float *restrict din, float slope)
{
    float acc[MOST_SUMS];
    double s[MOST_SUMS];
    /* Every loop but the batch's unrolled before GCC puts acc and s in
     * registers: unrolled later, they stayed in memory, and the copy out
     * read two sums stored apart with one 8-byte load, which waited on
     * both stores. */
#pragma GCC unroll 16
    for (int j = 0; j < O * I; j++)
        acc[j] = 0.0f;
#pragma GCC unroll 4
    for (int o = 0; o < O; o++)
        s[o] = 0.0;
    for (int b = 0; b < B; b++) {
        const float *dr = dz + (size_t)b * (size_t)O, *xr = in + (size_t)b * (size_t)I;
#pragma GCC unroll 4
        for (int o = 0; o < O; o++) {
#pragma GCC unroll 4
            for (int i = 0; i < I; i++)
                acc[o * I + i] += dr[o] * xr[i];
            if (gb)
                s[o] += dr[o];
        }
        if (D != NO_DIN)
#pragma GCC unroll 4
            for (int i = 0; i < I; i++) {
                float d = 0.0f;
#pragma GCC unroll 4
                for (int o = 0; o < O; o++)
                    d += dr[o] * W[(size_t)o * (size_t)I + (size_t)i];
                din[(size_t)b * (size_t)I + (size_t)i] =
                    bp__act_simple_slope(act_of(D), slope, xr[i], d);
            }
    }
#pragma GCC unroll 16
    for (int j = 0; j < O * I; j++)
        acc[j] = fresh ? acc[j] : acc[j] + gW[j];
    store_wide(O * I, acc, gW);
    if (gb)
#pragma GCC unroll 4
        for (int o = 0; o < O; o++)
            gb[o] = fresh ? (float)s[o] : gb[o] + (float)s[o];
}

/* The kernels of an I x O layer, for each activation, and the table of all
 * SMALL_WIDTH^2 shapes. */
#define FORWARD(i, o, a)                                                                       \
    static void forward_##i##x##o##_##a(int B, const float *restrict in,                       \
                                        const float *restrict W, const float *restrict bias,    \
                                        float *restrict z, float slope)                        \
    {                                                                                          \
        if (bias)                                                                              \
            forward_body(i, o, a, B, in, W, bias, z, slope);                                   \
        else                                                                                   \
            forward_body(i, o, a, B, in, W, NULL, z, slope);                                   \
    }
#define BACKWARD(i, o, d)                                                                      \
    static void backward_##i##x##o##_##d(int B, const float *restrict in,                      \
                                         const float *restrict W, const float *restrict dz,     \
                                         float *restrict gW, float *restrict gb, int fresh,     \
                                         float *restrict din, float slope)                     \
    {                                                                                          \
        backward_body(i, o, d, B, in, W, dz, gW, gb, fresh, din, slope);                       \
    }
#define SHAPE(i, o)                                                                            \
    FORWARD(i, o, 0) FORWARD(i, o, 1) FORWARD(i, o, 2)                                         \
    BACKWARD(i, o, 0) BACKWARD(i, o, 1) BACKWARD(i, o, 2) BACKWARD(i, o, 3)
_Static_assert(SMALL_WIDTH == 4, "the shapes below are listed for a width of 4");
_Static_assert(IN_IDENTITY == 0 && IN_RELU == 1 && IN_LEAKY == 2 && NO_DIN == 3,
               "the kernels below are listed in this order");
#define SHAPES(i) SHAPE(i, 1) SHAPE(i, 2) SHAPE(i, 3) SHAPE(i, 4)
SHAPES(1)
SHAPES(2)
SHAPES(3)
SHAPES(4)
#undef SHAPES
#undef SHAPE
#undef BACKWARD
#undef FORWARD

static const struct {
    forward_fn *forward[IN_KINDS];
    backward_fn *backward[IN_KINDS + 1]; /* by the previous layer's activation, or NO_DIN */
} shapes[SMALL_WIDTH][SMALL_WIDTH] = {
#define KERNELS(i, o)                                                                          \
    {{forward_##i##x##o##_0, forward_##i##x##o##_1, forward_##i##x##o##_2},                     \
     {backward_##i##x##o##_0, backward_##i##x##o##_1, backward_##i##x##o##_2,                   \
      backward_##i##x##o##_3}}
#define ROW(i) {KERNELS(i, 1), KERNELS(i, 2), KERNELS(i, 3), KERNELS(i, 4)}
    ROW(1), ROW(2), ROW(3), ROW(4),
#undef ROW
#undef KERNELS
};

void bp__small_forward(bp_net *net, int B, const float *x)
{
    const float *in = x; /* (B, I) */
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        float *z = bp__acts_of(net, l); /* (B, O) */
        const int inside = act_in_kernel(L->act);
        forward_fn *fn = shapes[L->I - 1][L->O - 1].forward[in_kernel(L->act)];
        fn(B, in, net->params + L->w_off, L->bias ? net->params + L->b_off : NULL, z, L->slope);
        if (!inside) {
            if (l == net->n_layers - 1 && bp__loss_fuses_any(L->act)) /* the fused losses read them */
                memcpy(net->logits, z, (size_t)B * (size_t)L->O * sizeof *z);
            act_forward(L, B, z);
        }
        in = z;
    }
}

void bp__small_backward(bp_net *net, float *dx, int fresh)
{
    const int B = net->batch;
    int cur = 0;
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const bp__layer *L = &net->layers[l];
        const bp__layer *P = l > 0 ? &net->layers[l - 1] : NULL; /* the previous layer */
        float *din = l > 0 ? net->delta[1 - cur] : dx; /* (B, I), or NULL */
        /* din times the previous layer's activation slope: in the kernel
         * where it can, else by a pass after it */
        const int D = !din ? NO_DIN : P ? in_kernel(P->act) : IN_IDENTITY;
        backward_fn *fn = shapes[L->I - 1][L->O - 1].backward[D];
        fn(B, l == 0 ? net->x : bp__acts_of(net, l - 1), net->params + L->w_off, net->delta[cur],
           net->grads + L->w_off, L->bias ? net->grads + L->b_off : NULL, fresh, din,
           P ? P->slope : 0.0f);
        if (P && !act_in_kernel(P->act)) /* back through the previous layer's activation */
            act_backward(P, B, bp__acts_of(net, l - 1), din);
        cur = 1 - cur;
    }
}

/* The cells' loss and slopes, as loss.c's flat pass runs them (a sum in
 * double from 0 in cell order, each slope g / n rounded to float, the
 * loss sum / n), then the output activation A's slope. When n is a power
 * of two, x / n is x times 1 / n, the same correctly rounded value of the
 * same quotient, without a division's latency in the step's chain. */
static inline __attribute__((always_inline)) double
loss_body(bp_loss loss, int A, int pow2, size_t cells, const float *restrict a,
          const float *restrict t, float *restrict dz, double n, float slope)
{
    const double inv = 1.0 / n;
    double sum = 0.0;
    for (size_t i = 0; i < cells; i++) {
        double g;
        sum += bp__loss_mse_mae(loss, (double)a[i] - (double)t[i], &g);
        dz[i] = bp__act_simple_slope(act_of(A), slope, a[i], (float)(pow2 ? g * inv : g / n));
    }
    return pow2 ? sum * inv : sum / n;
}

#define LOSS_BODY(loss, A)                                                                     \
    (pow2 ? loss_body(loss, A, 1, cells, a, t, dz, n, L->slope)                                 \
          : loss_body(loss, A, 0, cells, a, t, dz, n, L->slope))

int bp__small_loss(const bp_net *net, bp_loss loss, const float *t, int T, float *dz,
                   double *value)
{
    const bp__layer *L = &net->layers[net->n_layers - 1];
    if ((loss != BP_LOSS_MSE && loss != BP_LOSS_MAE) || T != L->O || !act_in_kernel(L->act))
        return 0;
    const size_t cells = (size_t)net->batch * (size_t)L->O;
    const float *a = bp__acts_of(net, net->n_layers - 1); /* (B, O) */
    const double n = bp__loss_norm(loss, net->batch, L->O);
    const int pow2 = (cells & (cells - 1)) == 0; /* n == cells */
    switch (in_kernel(L->act) * 2 + (loss == BP_LOSS_MAE)) {
    case IN_RELU * 2:
        *value = LOSS_BODY(BP_LOSS_MSE, IN_RELU);
        break;
    case IN_RELU * 2 + 1:
        *value = LOSS_BODY(BP_LOSS_MAE, IN_RELU);
        break;
    case IN_LEAKY * 2:
        *value = LOSS_BODY(BP_LOSS_MSE, IN_LEAKY);
        break;
    case IN_LEAKY * 2 + 1:
        *value = LOSS_BODY(BP_LOSS_MAE, IN_LEAKY);
        break;
    case IN_IDENTITY * 2 + 1:
        *value = LOSS_BODY(BP_LOSS_MAE, IN_IDENTITY);
        break;
    default:
        *value = LOSS_BODY(BP_LOSS_MSE, IN_IDENTITY);
        break;
    }
    return 1;
}
#undef LOSS_BODY
