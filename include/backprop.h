/*
 * backprop.h - the one public header of libbackprop.
 *
 * Dense neural networks trained the classic way: forward propagation, a loss
 * that turns many errors into one number, the slope of that loss for every
 * weight by backpropagation, and steps downhill by gradient descent.
 *
 * Conventions used throughout:
 *   - Shapes: B is the batch size, I a layer's inputs, O its outputs. Every
 *     batch is a row-major [B, width] float buffer.
 *   - Weights are stored [O, I] row-major, as PyTorch's nn.Linear stores them.
 *   - Fallible functions return 0 or a negative BP_E* code; bp_strerror()
 *     names the code and bp_net_message() gives the detail of the last error
 *     on a network. Constructors return NULL and fill an optional bp_error.
 *   - The library never prints, never exits and keeps no hidden global state:
 *     randomness comes from an explicit bp_rng; the only process-wide setting
 *     is the allocator, replaced with bp_set_allocator().
 *   - Handles are freed with their _free function; _free(NULL) does nothing.
 */
#ifndef BACKPROP_H
#define BACKPROP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BP_VERSION_MAJOR 0
#define BP_VERSION_MINOR 1
#define BP_VERSION_PATCH 0
#define BP_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
const char *bp_version(void);

/* ------------------------------------------------------------------------ */
/* Build and threads                                                         */
/* ------------------------------------------------------------------------ */

/* The matrix-product backend this build uses for all but tiny products:
 * "onednn" (oneDNN's sgemm) or "builtin" (the library's blocked kernel).
 * oneDNN is loaded on the first product that needs it; should it not load
 * (its package removed since the build), the built-in kernel computes the
 * products and this says "builtin" from then on. */
const char *bp_gemm_backend(void);

/* Threads for the library's work (matrix products, activations, optimizer
 * steps). The setting is process-wide, as OMP_NUM_THREADS is (the library
 * and oneDNN share one OpenMP thread pool); n <= 0 restores the default:
 * OMP_NUM_THREADS when set, else the cores this process may run on. Results
 * do not depend on the thread count: products are split into row blocks by
 * their shape alone, each one single-threaded call, so 1 or N threads
 * compute the same sums in the same order. A build without OpenMP runs on
 * one thread and bp_threads() returns 1. */
void bp_set_threads(int n);
int bp_threads(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* One list generates the codes and bp_strerror(). */
#define BP_ERRORS(X)                                                  \
    X(BP_ENOMEM, -1, "out of memory")                                 \
    X(BP_EINVAL, -2, "invalid argument")                              \
    X(BP_ESPEC, -3, "bad network spec")                               \
    X(BP_ESHAPE, -4, "shape mismatch")                                \
    X(BP_ENONFINITE, -5, "value is not finite")                       \
    X(BP_EOVERFLOW, -6, "size too large")                             \
    X(BP_EIO, -7, "input/output error")                               \
    X(BP_EFORMAT, -8, "bad file format")                              \
    X(BP_EUNSUPPORTED, -9, "not supported on this machine or build")

enum {
    BP_OK = 0,
#define BP__ERR_ENUM(name, code, text) name = code,
    BP_ERRORS(BP__ERR_ENUM)
#undef BP__ERR_ENUM
};

/* A static description of an error code ("out of memory"); never NULL. */
const char *bp_strerror(int code);

/* Detail of a failed constructor call: a code and a human-readable message
 * such as "layer 2: unknown activation 'rleu'". */
typedef struct bp_error {
    int code;
    char message[256];
} bp_error;

/* ------------------------------------------------------------------------ */
/* Allocation                                                                */
/* ------------------------------------------------------------------------ */

/* Replaceable allocation hooks (process-wide). Every allocation the library
 * makes goes through them, so a test can count allocations or make any one
 * of them fail. Passing NULL restores malloc/realloc/free. Replace the hooks
 * only while no library object is alive. */
typedef struct bp_allocator {
    void *(*malloc_fn)(size_t size, void *ctx);
    void *(*realloc_fn)(void *ptr, size_t size, void *ctx);
    void (*free_fn)(void *ptr, void *ctx);
    void *ctx;
} bp_allocator;

void bp_set_allocator(const bp_allocator *allocator);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */

/* The library's generator is xoshiro256** (Blackman and Vigna), seeded by
 * running SplitMix64 over the 64-bit seed. The same seed gives the same bits
 * on every platform. Normal draws use the Marsaglia polar method in double
 * precision. The struct is public so it can live on the stack and be saved;
 * treat its fields as private. */
typedef struct bp_rng {
    uint64_t s[4];
    double spare;      /* second normal draw of the polar method */
    int has_spare;
} bp_rng;

void bp_rng_seed(bp_rng *rng, uint64_t seed);
uint64_t bp_rng_next(bp_rng *rng);          /* 64 random bits */
double bp_rng_uniform(bp_rng *rng);         /* uniform in [0, 1), 53 bits */
double bp_rng_normal(bp_rng *rng);          /* standard normal */
uint64_t bp_rng_below(bp_rng *rng, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */

/* ------------------------------------------------------------------------ */
/* Activations and losses                                                    */
/* ------------------------------------------------------------------------ */

typedef enum bp_act {
    BP_ACT_IDENTITY = 0, /* a = z */
    BP_ACT_RELU,         /* a = max(z, 0); slope 1 for z > 0 and 0 for z <= 0
                          * (slope 0 at exactly z = 0, as in PyTorch) */
    BP_ACT_LEAKY_RELU,   /* a = z for z > 0, slope * z otherwise; the slope
                          * (default 0.01, must be in (0, 1)) is also the
                          * derivative at exactly z = 0 */
    BP_ACT_SIGMOID,      /* a = 1 / (1 + e^-z), computed without overflow */
    BP_ACT_TANH,         /* a = tanh(z) */
    BP_ACT_SOFTMAX       /* a_k = e^(z_k - max z) / sum_j e^(z_j - max z) */
} bp_act;

#define BP_LEAKY_SLOPE_DEFAULT 0.01f

/* The spec name of an activation ("relu"), or NULL for an unknown value. */
const char *bp_act_name(bp_act act);
/* Parse an activation name; "linear" is accepted for identity and
 * "leaky" for leaky_relu. Returns 0 or BP_EINVAL. */
int bp_act_parse(const char *name, bp_act *out);

/*
 * Losses, each averaged over the batch:
 *   MSE  mean over all B*O elements of (y - t)^2
 *   MAE  mean over all B*O elements of |y - t|; its slope at y == t is 0
 *   BCE  binary cross-entropy, mean over all B*O elements of
 *        -(t log y + (1 - t) log(1 - y)), each log clamped at -100;
 *        after a sigmoid layer it is computed from the logits, stably;
 *        after an identity layer the outputs are the logits and y is their
 *        sigmoid, as PyTorch's BCEWithLogitsLoss
 *   CCE  categorical cross-entropy, mean over B of -sum_k t_k log y_k;
 *        after a softmax layer it is fused with it and computed from the
 *        logits by log-sum-exp, so logits of +-1e4 give finite values;
 *        after an identity layer the outputs are the logits and y is their
 *        softmax, as PyTorch's CrossEntropyLoss (see bp_net_probabilities)
 *   (bp_loss_compute takes y as it is: these logit forms are the network
 *   functions'.)
 *
 * Targets are a row-major [B, T] float buffer. T == O gives one target per
 * output (one-hot rows for CCE). For CCE with O > 1, T == 1 is also
 * accepted: each row then holds a class index in [0, O).
 */
typedef enum bp_loss {
    BP_LOSS_MSE = 0,
    BP_LOSS_MAE,
    BP_LOSS_BCE,
    BP_LOSS_CCE
} bp_loss;

const char *bp_loss_name(bp_loss loss);          /* "mse", "mae", "bce", "cce" */
/* Accepts the names above and the long forms "binary_crossentropy",
 * "categorical_crossentropy", "crossentropy". Returns 0 or BP_EINVAL. */
int bp_loss_parse(const char *name, bp_loss *out);

/* The loss of predictions y (B, O) against targets t (B, T) and, when dy is
 * not NULL, its slope dL/dy (B, O). Works on activations, not logits: use
 * the network functions for the fused, stable forms. */
int bp_loss_compute(bp_loss loss, int B, int O, const float *y, const float *t,
                    int T, double *value, float *dy);

/* Fraction of rows classified correctly. O == 1: y >= 0.5 against t >= 0.5.
 * O > 1: argmax of y against the class index (T == 1) or the argmax of the
 * target row (T == O). Returns a negative BP_E* code on a shape mismatch. */
double bp_accuracy(int B, int O, const float *y, const float *t, int T);

/* ------------------------------------------------------------------------ */
/* Networks                                                                  */
/* ------------------------------------------------------------------------ */

/* The kinds of layer. Dense is 0, so a description written for dense
 * layers only ({width, act, bias, slope}) keeps its meaning. */
typedef enum bp_layer_kind {
    BP_LAYER_DENSE = 0, /* every output a weighted sum of every input, plus a bias */
    BP_LAYER_CONV,      /* 2-D convolution (cross-correlation, as PyTorch's Conv2d) */
    BP_LAYER_MAXPOOL,   /* the largest value of each window, per channel */
    BP_LAYER_AVGPOOL,   /* the mean of each window, per channel */
    BP_LAYER_ACT,       /* an activation standing alone (desc.act), shape kept */
    BP_LAYER_DROPOUT,   /* inverted dropout of desc.rate, in training mode only */
    BP_LAYER_BATCHNORM  /* batch normalization, per channel (spatial) or per feature */
} bp_layer_kind;

/* A kind's name as the spec writes it ("dense", "conv", "maxpool",
 * "avgpool", "activation", "dropout", "batchnorm"); NULL for an unknown
 * kind. (A standalone activation's spec entry is its activation's name.) */
const char *bp_layer_kind_name(bp_layer_kind kind);

/* The shape of what flows between layers: a flat vector of c values (h and
 * w 0), or c channels of h x w, stored channel by channel, row by row
 * (C, H, W), as PyTorch's NCHW tensors. A dense layer reads either kind
 * (a spatial one flattened in that order, as torch.nn.Flatten). */
typedef struct bp_shape {
    int c, h, w;
} bp_shape;

/* Values in one sample of that shape: c, or c * h * w. */
size_t bp_shape_size(bp_shape s);

/* One layer. For dense, `width` outputs; for conv, `width` filters of
 * kernel x kernel over all input channels; pools take no width. Start
 * from a zeroed description ({0} or designated initializers) so that the
 * fields a kind does not use, and those added later, read 0. */
typedef struct bp_layer_desc {
    int width;
    bp_act act;
    int bias;    /* nonzero: the layer adds a bias vector (dense, conv) */
    float slope; /* leaky_relu only; 0 means BP_LEAKY_SLOPE_DEFAULT */
    bp_layer_kind kind;
    int kernel;  /* conv, pools: the window's side */
    int stride;  /* conv, pools: 0 means the default (conv 1, pools kernel) */
    int pad;     /* conv: zeros added on each side; BP_PAD_SAME keeps H x W at stride 1 */
    double rate;     /* dropout: the probability of zeroing a value, in [0, 1) */
    double momentum; /* batchnorm: running statistics' momentum in (0, 1]; 0 means 0.1 */
    double eps;      /* batchnorm: added to the variance, > 0; 0 means 1e-5 */
} bp_layer_desc;

#define BP_PAD_SAME (-1)

/* An ordered sequence of layers. All parameters live in one contiguous
 * float block: for each layer in order, its weights (dense (O, I), conv
 * (OUT, C, K, K)) then its bias when it has one. The gradient block has the
 * same layout. */
typedef struct bp_net bp_net;

/* Build a network from a spec string: the input's shape first (a width,
 * or CxHxW for images), then one entry per layer:
 *   WIDTH[:ACTIVATION][:nobias]                       a dense layer
 *   conv:OUT:K[:ACTIVATION][:same|:pad=P][:stride=S][:nobias]
 *   maxpool:K[:stride=S], avgpool:K[:stride=S]
 *   relu, tanh, sigmoid, softmax, identity, leaky_relu[=SLOPE]
 *                                     an activation standing alone
 *   dropout:P                         inverted dropout (training mode only)
 *   batchnorm[:momentum=M][:eps=E]    batch normalization (as BatchNorm2d
 *                                     after a spatial layer, else BatchNorm1d)
 * e.g. "784,256:relu,128:relu,10:softmax", "2,2:relu:nobias,1:relu:nobias"
 * or "1x28x28,conv:32:3:relu:same,maxpool:2,128:relu,10:softmax". A
 * leaky_relu slope is written "leaky_relu=0.2". A dense layer after a
 * spatial one reads it flattened. Parameters start at zero; see
 * bp_net_init(). */
bp_net *bp_net_parse(const char *spec, bp_error *err);

/* Build a network from layer descriptions (the API form of a spec). */
bp_net *bp_net_create(int inputs, int n_layers, const bp_layer_desc *layers,
                      bp_error *err);
/* The same for an input of any shape, e.g. {1, 28, 28} for an image. */
bp_net *bp_net_create_shaped(bp_shape input, int n_layers, const bp_layer_desc *layers,
                             bp_error *err);

void bp_net_free(bp_net *net);

/* The canonical spec string of a network, written to buf (NUL-terminated).
 * Returns the length it needs, as snprintf does. */
int bp_net_spec(const bp_net *net, char *buf, size_t size);
/* One entry of that spec: layer l's ("conv:32:3:relu:same"), or with l = -1
 * the input's shape ("1x28x28"). Returns the length it needs, as snprintf
 * does, or BP_EINVAL for no such layer. */
int bp_net_layer_spec(const bp_net *net, int l, char *buf, size_t size);

int bp_net_inputs(const bp_net *net);
int bp_net_outputs(const bp_net *net);
int bp_net_layers(const bp_net *net);
/* Layer l's description; its inputs are bp_net_layer_inputs(). */
bp_layer_desc bp_net_layer(const bp_net *net, int l);
int bp_net_layer_inputs(const bp_net *net, int l);
/* The shape of the network's input, and of layer l's output. */
bp_shape bp_net_input_shape(const bp_net *net);
bp_shape bp_net_layer_shape(const bp_net *net, int l);
/* Layer l's parameter count (weights and bias), and its weights' tensor
 * shape as PyTorch's module holds it: dense [O, I], conv [OUT, C, K, K]
 * (dims receives up to 4 sizes). Returns the number of dimensions, 0 for a
 * layer without weights. */
size_t bp_net_layer_params(const bp_net *net, int l);
int bp_net_weight_dims(const bp_net *net, int l, size_t dims[4]);

/* The flat parameter and gradient blocks (borrowed, valid for the life of
 * the network) and their length. In a bf16 network the optimizer's step
 * also writes the products' bf16 copy of the weights; a call of
 * bp_net_params (or bp_net_weight, bp_net_bias) marks it stale, so write
 * through a pointer taken since the last step. */
size_t bp_net_param_count(const bp_net *net);
float *bp_net_params(bp_net *net);
float *bp_net_grads(bp_net *net);

/* The network's state: what forward passes in training mode change besides
 * the parameters, in one flat float block (borrowed, valid for the life of
 * the network), layer by layer. A batchnorm layer of C channels holds its
 * running_mean (C), running_var (C, unbiased) and num_batches_tracked (1,
 * exact up to 2^24); other kinds hold nothing. bp_net_layer_state gives
 * layer l's share (NULL and *count 0 when it has none). Checkpoints and
 * models save the block; optimizers never touch it. */
size_t bp_net_state_count(const bp_net *net);
float *bp_net_state(bp_net *net);
float *bp_net_layer_state(bp_net *net, int l, size_t *count);

/* Training or evaluation mode, as PyTorch's module.train() and .eval(). A
 * network starts in evaluation mode, so that passes which serve
 * predictions need no call. In training mode (on nonzero) dropout layers
 * draw their masks from rng (borrowed; with rng NULL they pass values
 * through, as gradient checks want), the global dropout
 * (bp_net_set_dropout) acts, and batch normalization uses the batch's
 * statistics and updates its running ones on each forward pass; in
 * evaluation mode dropout is the identity and batch normalization uses its
 * running statistics. Returns 0, or BP_EINVAL for a NULL network. */
int bp_net_set_training(bp_net *net, int on, bp_rng *rng);
int bp_net_training(const bp_net *net);

/* The number format of a network's matrix products. FP32 (the default):
 * everything in float. BF16: the products of dense layers and the
 * convolutions take bfloat16 copies of their inputs, weights and slopes
 * and accumulate in float; the parameters, gradients, optimizer state,
 * batch norm, pooling, the loss and every other pass
 * stay float, and models, checkpoints and exports hold float weights
 * whatever the precision. It applies to every forward and backward pass
 * of the network (training and evaluation) until set again. */
typedef enum bp_precision { BP_PRECISION_FP32 = 0, BP_PRECISION_BF16 = 1 } bp_precision;

/* "fp32" or "bf16"; "?" for any other value. */
const char *bp_precision_name(bp_precision p);
/* Accepts the names above. Returns 0 or BP_EINVAL. */
int bp_precision_parse(const char *name, bp_precision *out);
/* Sets the network's precision. BF16 needs the oneDNN build and a CPU
 * with avx512_bf16 or amx_bf16 (with the OS saving AVX-512 state), and
 * none of ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA naming an ISA below
 * avx512_core_bf16; it is never emulated. Where it cannot run:
 * BP_EUNSUPPORTED, with the missing feature named in the network's
 * message and in err. A layer kind without a bf16 path (anything but
 * dense so far): BP_EUNSUPPORTED naming the layer. On an error nothing
 * changes. BP_ENOMEM when the primitives cannot be made. */
int bp_net_set_precision(bp_net *net, bp_precision p, bp_error *err);
bp_precision bp_net_precision(const bp_net *net);
/* 0 when this process can run BF16 products, else BP_EUNSUPPORTED with
 * why in err (as bp_net_set_precision checks it). */
int bp_bf16_check(bp_error *err);

/* Views of layer l inside those blocks: its weights (NULL for a pool), its
 * bias (NULL when it has none). Borrowed; writable. */
float *bp_net_weight(bp_net *net, int l);
float *bp_net_bias(bp_net *net, int l);
float *bp_net_weight_grad(bp_net *net, int l);
float *bp_net_bias_grad(bp_net *net, int l);

/* Copy weights (bp_net_weight_dims) and, when not NULL, a bias into layer l. */
int bp_net_set_layer(bp_net *net, int l, const float *w, const float *b);

/* Weight initialisation; biases are set to zero. Fan-in is I, fan-out O
 * (a convolution: C*K*K and OUT*K*K, as PyTorch counts them).
 *   HE_*:     variance 2 / fan_in      XAVIER_*: variance 2 / (fan_in + fan_out)
 *   LECUN_*:  variance 1 / fan_in      NORMAL:   stddev `scale` (e.g. 0.01)
 * The _UNIFORM forms draw from [-a, a] with the same variance. */
typedef enum bp_init {
    BP_INIT_HE_NORMAL = 0,
    BP_INIT_HE_UNIFORM,
    BP_INIT_XAVIER_NORMAL,
    BP_INIT_XAVIER_UNIFORM,
    BP_INIT_LECUN_NORMAL,
    BP_INIT_LECUN_UNIFORM,
    BP_INIT_NORMAL
} bp_init;

int bp_net_init(bp_net *net, bp_rng *rng, bp_init scheme, double scale);

/* Size the workspace for batches of up to max_batch rows. After this call,
 * forward, loss, backward and optimizer steps on batches that fit allocate
 * nothing. bp_net_forward grows the workspace itself when a batch does not
 * fit (that call allocates). */
int bp_net_reserve(bp_net *net, int max_batch);

/* Forward propagation of x (B, I). *out, when not NULL, receives the output
 * activations (B, O): borrowed, valid until the next forward call. The
 * network keeps a pointer to x for bp_net_backward: x must stay unchanged
 * until then. */
int bp_net_forward(bp_net *net, int B, const float *x, const float **out);

/* The loss of the last forward pass against targets t (B, T) (see bp_loss)
 * into *value, and the slope of the loss with respect to the output layer's
 * pre-activations, kept for bp_net_backward. */
int bp_net_loss(bp_net *net, bp_loss loss, const float *t, int T, double *value);

/* Backpropagation of the slope left by bp_net_loss: adds dL/dW and dL/db of
 * every layer to the gradient block (call bp_net_zero_grad first for a fresh
 * gradient) and, when dx is not NULL, writes dL/dx (B, I). */
int bp_net_backward(bp_net *net, float *dx);

void bp_net_zero_grad(bp_net *net);

/* Zero the gradient, forward, loss and backward in one call. */
int bp_net_gradient(bp_net *net, bp_loss loss, int B, const float *x,
                    const float *t, int T, double *value);

/* Forward and loss only (no slope kept); accuracy may be NULL. */
int bp_net_evaluate(bp_net *net, bp_loss loss, int B, const float *x,
                    const float *t, int T, double *value, double *accuracy);

/* Class probabilities (B, O) from a network's outputs y (B, O) for a loss:
 * an identity output layer holds logits, turned into probabilities as the
 * loss reads them (softmax of each row under cce, sigmoid of each output
 * under bce); any other output layer's values (softmax, sigmoid, ...) are
 * copied as they are. p may be y. Returns 0 or BP_EINVAL. */
int bp_net_probabilities(const bp_net *net, bp_loss loss, int B, const float *y, float *p);

/* The detail of the last error on this network ("" when none). Borrowed. */
const char *bp_net_message(const bp_net *net);

/* ------------------------------------------------------------------------ */
/* Gradient checking                                                         */
/* ------------------------------------------------------------------------ */

/* Per-layer result: the largest relative error over the layer's weights and
 * bias, where the relative error of one entry is
 *   |analytic - numeric| / max(|analytic|, |numeric|, 1e-4 * m, 1e-6 (1 + |L|))
 * where m is the largest |numeric| in the layer and L the loss: slopes below
 * those floors are at the level of rounding noise. Backpropagation runs in
 * float, so correct gradients give errors up to about 1e-4 and a 1% error in
 * one entry reads about 1e-2; 1e-3 separates the two. */
typedef struct bp_gradcheck_layer {
    double max_rel_error;
    size_t worst;      /* index of the worst entry within the layer's block */
    double analytic;   /* the two values at that entry */
    double numeric;
} bp_gradcheck_layer;

/*
 * Check gradients against central finite differences. The numeric slope of
 * each parameter p is (L(p + h) - L(p - h)) / 2h with h = eps * max(1, |p|),
 * where L is the network's loss evaluated in double precision from the same
 * float weights (a reference forward pass kept beside the fast one).
 * `analytic` is the gradient to check, in the layout of the gradient block;
 * NULL means: compute it now by backpropagation. `report` receives one entry
 * per layer; *max_rel_error (may be NULL) the largest of them. eps <= 0
 * means the default, 1e-6.
 */
int bp_gradcheck(bp_net *net, bp_loss loss, int B, const float *x,
                 const float *t, int T, const float *analytic, double eps,
                 bp_gradcheck_layer *report, double *max_rel_error);

/* ------------------------------------------------------------------------ */
/* Explain: backpropagation for one sample, factor by factor                 */
/* ------------------------------------------------------------------------ */

/*
 * For weight w[o][i] of a layer, the classic lesson writes the slope of the
 * loss as the product of three factors:
 *   (1) input[i]    the value of the node that feeds the weight
 *   (2) dnode[o]    the slope of the loss with respect to the node it feeds
 *                   (the node's value after its activation)
 *   (3) dact[o]     the slope of that node's activation at its input
 * so grad_w[o][i] = input[i] * dnode[o] * dact[o], and grad_b[o] is the same
 * with input 1. The slope with respect to each input node is the sum over
 * the weights that leave it: dinput[i] = sum_o w[o][i] * dnode[o] * dact[o],
 * and it is factor (2) of the layer before.
 *
 * A softmax node's slope depends on every node of its layer, so for a softmax
 * layer dnode[o] holds the combined slope dL/dz[o] and dact[o] is 1
 * (combined is set). All values are computed in double precision.
 */
typedef struct bp_explain_layer {
    int inputs, outputs;
    bp_act act;
    int combined;          /* 1 for softmax layers, see above */
    const double *input;   /* (I) factor 1 */
    const double *z;       /* (O) node inputs (pre-activation) */
    const double *value;   /* (O) node values (after activation) */
    const double *dnode;   /* (O) factor 2 */
    const double *dact;    /* (O) factor 3 */
    const double *grad_w;  /* (weights) product of the three factors, summed over the
                            * products a weight takes part in; NULL without weights */
    const double *grad_b;  /* (O) or NULL when the layer has no bias */
    const double *dinput;  /* (I) slope with respect to each input node */
    size_t weights;        /* the layer's weights: O * I for dense, OUT*C*K*K for conv */
} bp_explain_layer;

typedef struct bp_explain {
    int n_layers;
    double loss;
    const bp_explain_layer *layers; /* n_layers entries */
} bp_explain;

/* Explain one sample x (I) with target t (T). *out is owned by the caller
 * and freed with bp_explain_free. */
int bp_explain_sample(bp_net *net, bp_loss loss, const float *x, const float *t,
                      int T, bp_explain **out);
/* The same with the sample x (I) in double and, when params is not NULL,
 * the parameters taken from params (bp_net_param_count doubles, in the
 * layout of bp_net_params) instead of the network's floats: so a step of
 * gradient descent, w - lr * grad, can be followed in double throughout. */
int bp_explain_sample_d(bp_net *net, const double *params, bp_loss loss, const double *x,
                        const float *t, int T, bp_explain **out);
void bp_explain_free(bp_explain *ex);
/* The products weight w of layer l takes part in over one sample: pairs
 * (input node, output node), dL/dw being the sum of input * dnode * dact
 * over them. Dense weights take part in one; a convolution's in one per
 * position of its window over the input. Up to max pairs go into io
 * (io[2j] the input, io[2j+1] the output); returns how many there are. */
size_t bp_explain_terms(const bp_net *net, int l, size_t weight, size_t max, size_t *io);

/* ------------------------------------------------------------------------ */
/* Steps downhill                                                            */
/* ------------------------------------------------------------------------ */

/* Plain gradient descent: every parameter p -= lr * dL/dp. */
int bp_gd_step(bp_net *net, double lr);

/*
 * The random-search baseline: perturb every weight and bias by
 * scale * N(0, 1), keep the new weights if the loss improved, otherwise
 * restore a real copy of the best weights seen so far.
 */
typedef struct bp_rsearch bp_rsearch;

/* Starts from the network's current weights; their loss is measured on the
 * first step. */
bp_rsearch *bp_rsearch_create(bp_net *net, double scale, bp_error *err);
void bp_rsearch_free(bp_rsearch *rs);

/* One try on the batch (x, t). *loss receives the best loss so far (the loss
 * of the weights the network holds after the call); *kept (may be NULL) is 1
 * when the perturbation improved the loss. */
int bp_rsearch_step(bp_rsearch *rs, bp_rng *rng, bp_loss loss, int B,
                    const float *x, const float *t, int T, double *best_loss,
                    int *kept);

/* ------------------------------------------------------------------------ */
/* Optimizers                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Optimizers over the flat parameter block, with their state in blocks of
 * the same layout. The update rules are PyTorch's (torch.optim), in its
 * order of operations, so a model trained here steps as there (to float
 * rounding); lr is the rate passed to bp_optim_step:
 *   GD       p -= lr * g
 *   SGD      b = momentum * b + g (b = g on the first step);
 *            g' = g + momentum * b (nesterov) or b; p -= lr * g'
 *   RMSPROP  s = alpha * s + (1 - alpha) g^2; p -= lr * g / (sqrt(s) + eps)
 *   ADAM     m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 *            p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   ADAMW    p *= 1 - lr * weight_decay, then ADAM without weight decay
 * For GD, SGD, RMSPROP and ADAM, weight_decay is L2: g += weight_decay * p
 * before the rule. RANDOM is the random-search baseline (bp_rsearch); it has
 * no gradient step and bp_optim_step refuses it.
 * As with float32 tensors in PyTorch, the per-element arithmetic is float,
 * while the scalar factors (1 - alpha, the bias corrections 1 - beta^t,
 * lr / (1 - beta1^t), 1 - lr * weight_decay) are computed in double and
 * rounded to float once per step; t counts steps from 1.
 */
typedef enum bp_optim_kind {
    BP_OPTIM_GD = 0,
    BP_OPTIM_SGD,
    BP_OPTIM_RMSPROP,
    BP_OPTIM_ADAM,
    BP_OPTIM_ADAMW,
    BP_OPTIM_RANDOM
} bp_optim_kind;

typedef struct bp_optim_opts {
    bp_optim_kind kind;
    double lr;            /* base learning rate */
    double momentum;      /* SGD (default 0) */
    int nesterov;         /* SGD: nonzero for Nesterov momentum (needs momentum > 0) */
    double alpha;         /* RMSPROP smoothing (default 0.99) */
    double beta1, beta2;  /* ADAM/ADAMW (defaults 0.9, 0.999) */
    double eps;           /* RMSPROP/ADAM/ADAMW (default 1e-8) */
    double weight_decay;  /* L2, or decoupled for ADAMW (default 0; ADAMW 0.01) */
    double scale;         /* RANDOM perturbation scale (default 0.05) */
} bp_optim_opts;

/* PyTorch's defaults for the kind, every field filled; lr: 0.01 (GD, SGD,
 * RMSPROP, RANDOM), 0.001 (ADAM, ADAMW). */
bp_optim_opts bp_optim_defaults(bp_optim_kind kind);
const char *bp_optim_name(bp_optim_kind kind);     /* "gd", "sgd", ... "random" */
int bp_optim_parse(const char *name, bp_optim_kind *out);

typedef struct bp_optim bp_optim;

/* An optimizer for net (borrowed; must outlive the optimizer). Validates
 * the fields the kind uses (err names the bad field and value): lr finite
 * > 0 (every kind); weight_decay finite >= 0 (all but RANDOM); SGD:
 * momentum in [0, 1), nesterov only with momentum > 0; RMSPROP: alpha in
 * [0, 1); ADAM, ADAMW: beta1 and beta2 in [0, 1); RMSPROP, ADAM, ADAMW:
 * eps finite > 0; RANDOM: scale finite > 0. Other fields are ignored. */
bp_optim *bp_optim_create(bp_net *net, const bp_optim_opts *opts, bp_error *err);
void bp_optim_free(bp_optim *opt);

/* One step from the gradient block, with learning rate lr (the schedule's
 * value; pass opts.lr for a constant rate), finite and >= 0. Allocates
 * nothing. On an error (a bad lr, or RANDOM: BP_EINVAL) nothing changes,
 * the step does not count, and bp_net_message(net) gives the detail. */
int bp_optim_step(bp_optim *opt, double lr);

/* The optimizer's state for checkpoints: the number of steps taken and the
 * state blocks, each bp_net_param_count floats in the layout of the
 * parameter block, zero at creation: SGD with momentum > 0: 1 (b);
 * RMSPROP: 1 (s); ADAM, ADAMW: 2 (m, then v); GD, SGD without momentum,
 * RANDOM: 0. bp_optim_state returns NULL for a block out of range. SGD's
 * step with steps == 0 is the first (b = g), so restore the steps with the
 * state; set_steps takes a negative count as 0. */
long bp_optim_steps(const bp_optim *opt);
int bp_optim_state_blocks(const bp_optim *opt);
float *bp_optim_state(bp_optim *opt, int block);
void bp_optim_set_steps(bp_optim *opt, long steps);

/* ------------------------------------------------------------------------ */
/* Learning-rate schedules                                                   */
/* ------------------------------------------------------------------------ */

/*
 * lr(step) for step = 0, 1, 2, ... (one step per batch):
 *   CONSTANT     base
 *   STEP         base * gamma^floor(step / step_size)
 *   EXPONENTIAL  base * gamma^step
 *   COSINE       min_lr + (base - min_lr) (1 + cos(pi * step / total)) / 2,
 *                min_lr after total steps
 * With warmup > 0 steps, the rate rises linearly from base / warmup at step
 * 0 to base at step warmup - 1 (base * (step + 1) / warmup); the schedule
 * then runs from step - warmup. A negative step counts as step 0.
 */
typedef enum bp_schedule_kind {
    BP_SCHED_CONSTANT = 0,
    BP_SCHED_STEP,
    BP_SCHED_EXPONENTIAL,
    BP_SCHED_COSINE
} bp_schedule_kind;

typedef struct bp_schedule {
    bp_schedule_kind kind;
    double base;
    double gamma;      /* STEP, EXPONENTIAL */
    long step_size;    /* STEP */
    long total;        /* COSINE: steps to reach min_lr */
    double min_lr;     /* COSINE */
    long warmup;       /* linear warm-up steps (0: none) */
} bp_schedule;

const char *bp_schedule_name(bp_schedule_kind kind); /* "constant", "step", "exp", "cosine" */
/* Accepts the names above and "exponential". Returns 0 or BP_EINVAL. */
int bp_schedule_parse(const char *name, bp_schedule_kind *out);
/* Validates the fields the kind uses: base finite > 0; STEP, EXPONENTIAL:
 * gamma in (0, 1]; STEP: step_size >= 1; COSINE: total >= 1 and min_lr in
 * [0, base]; warmup >= 0. Returns 0 or BP_EINVAL with the field named in err. */
int bp_schedule_check(const bp_schedule *s, bp_error *err);
/* The rate of a checked schedule at step (NAN for NULL or an unknown kind). */
double bp_schedule_lr(const bp_schedule *s, long step);

/* ------------------------------------------------------------------------ */
/* Gradient descent on any function                                          */
/* ------------------------------------------------------------------------ */

/* f(x) and its gradient at x (n values) for an n-dimensional function. */
typedef double (*bp_fn)(const double *x, void *ctx);
typedef void (*bp_grad_fn)(const double *x, double *grad, void *ctx);
/* The 1-D forms. */
typedef double (*bp_fn1)(double x, void *ctx);

typedef struct bp_minimize_opts {
    double lr;        /* step size: x <- x - lr * grad f(x) */
    int max_iter;     /* iterations at most (> 0) */
    double tol;       /* stop once the gradient's norm is <= tol (0: never) */
} bp_minimize_opts;

bp_minimize_opts bp_minimize_defaults(void); /* lr 0.01, 1000 iterations, tol 0 */

/* The path of descent: n points of dim values each (the start included), and
 * f at each point. Owned by the caller; free with bp_path_free. */
typedef struct bp_path {
    int n, dim;
    double *x;  /* (n, dim) */
    double *f;  /* (n) */
    int converged; /* 1 when it stopped on the tolerance */
} bp_path;

int bp_minimize(int dim, bp_fn f, bp_grad_fn grad, void *ctx, const double *x0,
                const bp_minimize_opts *opts, bp_path *path);
int bp_minimize_1d(bp_fn1 f, bp_fn1 df, void *ctx, double x0,
                   const bp_minimize_opts *opts, bp_path *path);
void bp_path_free(bp_path *path);

/* ------------------------------------------------------------------------ */
/* Synthetic data                                                            */
/* ------------------------------------------------------------------------ */

/* The three-class "vertical" set of the random-search lesson, generalised:
 * `points` samples per class, class k centred at (k / classes, 0.5) with
 * normal spread 0.1 in each coordinate. x (points * classes, 2) and labels
 * (points * classes) receive the data, class by class. */
void bp_data_vertical(bp_rng *rng, int points, int classes, float *x, float *labels);

/* The spiral set: `classes` interleaved arms of `points` samples each, with
 * radius from 0 to 1 and angular noise 0.2. Same output layout. */
void bp_data_spiral(bp_rng *rng, int points, int classes, float *x, float *labels);

/* ------------------------------------------------------------------------ */
/* Data sets                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A data set: `rows` samples of `inputs` features and `target_cols` targets,
 * held as compactly as the source allows (IDX images stay bytes) and turned
 * into float batches by bp_dataset_gather, which applies the data set's
 * per-feature scaling x' = (x - shift) * mul, computed in float. Images load
 * with shift 0 and mul 1/255f (values in [0, 1]; 255 gives exactly 1); other
 * sources with the identity scaling. A data set owns copies of its values
 * and lives in one allocation.
 */
typedef struct bp_dataset bp_dataset;

/*
 * Load a data set from a spec:
 *   fashion-mnist[:train], fashion-mnist:test
 *                           Debian's dataset-fashion-mnist package: the files
 *                           {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *                           looked for in $BACKPROP_DATA and
 *                           $BACKPROP_DATA/fashion-mnist when that is set,
 *                           then in /usr/share/datasets/fashion-mnist
 *   idx:IMAGES,LABELS       MNIST-family IDX files of unsigned bytes, gzipped
 *                           or not (the first comma separates the paths);
 *                           classes = largest label + 1
 *   spiral:N:K, vertical:N:K
 *                           N >= 1 points per class, K >= 2 classes (N * K at
 *                           most 2^24), drawn from a generator seeded with seed
 *   xor                     the four points of XOR, targets 0 1 1 0, 2 classes
 *   PATH[:label=COL]        delimited text (below) when PATH ends in .csv,
 *                           .tsv or .txt (any case) or has no extension, and
 *                           is none of the above
 *   csv:PATH[:label=COL]    delimited text whatever the name
 * COL is a column name or a 0-based index (default: the last column); the
 * other columns are the inputs, in file order. A name without extension
 * that is no file gets the "unknown data set" error listing these forms.
 *
 * Delimited text (RFC 4180): cells may be quoted ("a, b" and "say ""hi"""
 * are one cell each, and a quoted cell may span lines; line numbers in
 * messages count the file's lines); blanks around unquoted cells are
 * ignored; blank lines are skipped; CRLF line endings and a UTF-8
 * byte-order mark are accepted; text is kept as bytes (UTF-8 as is). A
 * UTF-16 file or one with NUL bytes is refused ("save it as UTF-8"). The
 * separator is the one of , ; TAB | that gives the same column count (more
 * than one) over the first 20 records, the most columns winning, ties in
 * that order (bp_data_opts.sep forces one). Numbers are decimal text
 * ([+-] digits [. digits] [e [+-] digits]) and must be finite and within
 * float range; in a file not separated by commas the decimal point may be
 * a comma (1,5), as spreadsheets write it in many locales. A column without
 * a name whose every cell is missing (a trailing separator on each line)
 * is left out with a notice. Missing cells: empty, NA, N/A, NaN, nan, null, NULL, None and ?
 * (quoted or not). Header, column types, labels and missing cells: see
 * bp_dataset_load_opts. bp_dataset_load reads delimited text with
 * bp_data_opts_defaults but without any input or target scaling, and keeps
 * its earlier rule for a numeric label: when every value is an integer in
 * [0, 65535] they are the class numbers (classes = largest + 1), else the
 * values are a regression target, kept as they are.
 * Errors name the file and, for content, the line (from 1) and the
 * column (from 0, with its header name), the expected and the found value:
 * "data.csv:7: column 3 ('petal_width'): expected a number, found 'abc'".
 * Codes: BP_EIO (a file cannot be opened or read, Fashion-MNIST not found),
 * BP_EFORMAT (bad content: CSV cells, IDX headers, truncated or trailing
 * data, corrupt gzip), BP_EINVAL (a bad spec, option or column name),
 * BP_EOVERFLOW (IDX data over 2^31 bytes), BP_ENOMEM. Every allocation,
 * zlib's included, goes through the allocation hooks.
 */
bp_dataset *bp_dataset_load(const char *spec, uint64_t seed, bp_error *err);

/* A data set copied from arrays x (rows, inputs) and t (rows, T); classes > 0
 * declares the targets class indices in [0, classes) (T must be 1). Every
 * value must be finite (BP_ENONFINITE) and every class index an integer in
 * range (BP_EINVAL). rows may be 0; x and t may then be NULL. */
bp_dataset *bp_dataset_from_arrays(size_t rows, int inputs, int T, const float *x,
                                   const float *t, int classes, bp_error *err);
void bp_dataset_free(bp_dataset *ds);

size_t bp_dataset_rows(const bp_dataset *ds);
int bp_dataset_inputs(const bp_dataset *ds);
int bp_dataset_target_cols(const bp_dataset *ds);
/* > 0: targets are class indices in [0, classes); 0: numeric targets (see
 * bp_dataset_load and bp_dataset_load_opts for how a CSV label column is
 * read). The accessors
 * return 0 (describe: "") for a NULL data set. */
int bp_dataset_classes(const bp_dataset *ds);
/* A one-line description, e.g. "fashion-mnist train (60000 rows, 784 inputs,
 * 10 classes)" or "iris.csv (150 rows, 4 inputs, label column 'species',
 * 3 classes)". Borrowed; valid for the life of the data set. */
const char *bp_dataset_describe(const bp_dataset *ds);
/* The shape of one sample's features: channels, height, width. An image
 * set (IDX) gives {1, H, W}; a table gives {features, 0, 0} (a flat
 * vector). The product of the nonzero sides is bp_dataset_inputs(). */
void bp_dataset_shape(const bp_dataset *ds, int *c, int *h, int *w);

/* scikit-learn's "balanced" class weights for a set of class labels:
 * w[c] = rows / (classes * rows of class c), for bp_train_opts.class_weight.
 * w holds bp_dataset_classes(ds) floats. Returns that count, or BP_EINVAL
 * (err says why) for a set without class labels or with a class that has
 * no rows. */
int bp_dataset_class_weights_balanced(const bp_dataset *ds, float *w, bp_error *err);

/* Class weights from text "NAME=W,NAME=W,...": each NAME a class name
 * (names[c], when names is not NULL and names[c] is not NULL) or a class
 * number from 0, each W a number above 0; classes not named weigh 1, as in
 * scikit-learn's dict form. w receives k weights. BP_EINVAL with err naming
 * the entry for an unknown class or a bad weight. */
int bp_class_weights_parse(const char *text, int k, const char *const *names, float *w,
                           bp_error *err);

/* Copy B samples into x (B, inputs), scaled, and t (B, target_cols): the rows
 * listed in `rows` (first is then ignored), or when rows is NULL the B rows
 * from `first` on. x or t may be NULL to skip it. Returns BP_EINVAL, having
 * written nothing, when a row index is not below bp_dataset_rows or the
 * range runs past the end. Allocates nothing. */
int bp_dataset_gather(const bp_dataset *ds, const size_t *rows, size_t first, int B,
                      float *x, float *t);

/* Per-feature scaling (inputs values each). standardize sets shift to each
 * column's mean and mul to 1 / its population standard deviation (1 for a
 * constant column), computed in double over all rows from the stored values
 * (it replaces an image set's 1/255); BP_EINVAL for a set without rows.
 * set_scaling refuses non-finite values (BP_ENONFINITE). */
int bp_dataset_standardize(bp_dataset *ds);
int bp_dataset_get_scaling(const bp_dataset *ds, float *shift, float *mul);
int bp_dataset_set_scaling(bp_dataset *ds, const float *shift, const float *mul);

/* What a label column is used for. */
typedef enum bp_task { BP_TASK_AUTO, BP_TASK_CLASSIFY, BP_TASK_REGRESS } bp_task;
/* What a missing cell does: refuse the file, leave its row out, or fill it. */
typedef enum bp_missing { BP_MISSING_ERROR, BP_MISSING_DROP, BP_MISSING_MEAN } bp_missing;

/* How delimited text is read and preprocessed (ignored by the other specs). */
typedef struct bp_data_opts {
    char sep;               /* 0: detect among , ; TAB |; else that byte */
    int header;             /* -1 detect, 0 none, 1 the first line */
    const char *label;      /* name or 0-based index; NULL: the last column
                               (":label=COL" in the spec wins) */
    const char *features;   /* comma-separated names or indices, in the order
                               given; NULL: every column but label/dropped */
    const char *drop;       /* comma-separated names or indices left out */
    bp_task task;           /* AUTO: guessed (see bp_dataset_load_opts) */
    bp_missing missing;     /* default BP_MISSING_ERROR */
    int standardize;        /* 1: numeric inputs to mean 0, sd 1 (shift, mul);
                               one-hot inputs keep shift 0, mul 1 */
    int standardize_target; /* 1: a regression target to mean 0, sd 1, its
                               mean and sd kept (bp_dataset_target_scaling) */
    /* One-line notices (a dropped index column, rows left out, extra
     * columns); NULL: none. line is borrowed for the call. */
    void (*notice)(void *ctx, const char *line);
    void *notice_ctx;
} bp_data_opts;

/* sep 0, header -1, label/features/drop NULL, task AUTO, missing ERROR,
 * standardize 1, standardize_target 1, no notice. */
void bp_data_opts_defaults(bp_data_opts *o);

/*
 * Load a spec as bp_dataset_load does, delimited text read with `o` (NULL:
 * the defaults):
 * - Header (o->header -1): the first record is a header when some column
 *   holds numbers below it and text (not a number, not missing) in it, or,
 *   when no column holds numbers, when none of its cells is missing
 *   (but the first) and none recurs in its column below.
 * - Index column: with a header whose first cell is empty or "Unnamed: 0"
 *   (R's write.csv, pandas' to_csv), column 0 is a row index and is left out
 *   with a notice.
 * - Column types: a column is numeric when each of its cells is a number or
 *   missing, else text. A column with at least as many numbers as text
 *   cells is refused ("expected a number, found 'abc'", naming the line), as a
 *   typo is likelier than a category. A text input is one-hot encoded:
 *   one input per distinct value, sorted by bytes, described "col=value";
 *   at most 1000 values per column.
 * - Label: text → classes numbered by the sorted names (as scikit-learn's
 *   LabelEncoder). Numbers: integers with at most 20 distinct values →
 *   classes numbered by sorted value (1, 2, 3 is 3 classes; -1, +1 is 2),
 *   named by the values' text; non-integers or more than 20 distinct values
 *   → a regression. o->task overrides (BP_TASK_REGRESS on a text label is
 *   BP_EINVAL); bp_dataset_task_reason says why.
 * - Missing cells (the set above): BP_MISSING_ERROR refuses the file with
 *   each column's count and first line; DROP leaves those rows out (a
 *   notice counts them); MEAN fills a numeric input with its mean and a
 *   text input with its most frequent value (ties: the first in sorted
 *   order). A missing label is an error unless DROP.
 * The preprocessing is kept as data (bp_dataset_schema).
 */
bp_dataset *bp_dataset_load_opts(const char *spec, const bp_data_opts *o, uint64_t seed,
                                 bp_error *err);

/*
 * The preprocessing of a data set read from delimited text as JSON text, for
 * a model's metadata: used columns (name, or position without a header),
 * each input column's kind ("number" or "text"), vocabulary and fill, the
 * label's name and kind, the task and its reason, class names, target mean
 * and scale. Input shift/mul are not in it (the model keeps its own).
 * Borrowed, valid for the life of the data set; NULL for a set without one
 * (synthetic, IDX, arrays).
 */
const char *bp_dataset_schema(const bp_dataset *ds);

/*
 * Load delimited text for a model trained with `schema`: columns matched by
 * header name (in any order; extra columns left out with a notice naming
 * them) or, without a header, by their position in the training file. A
 * header is detected when the first record holds a used column's name, or
 * is text where the model reads numbers (a header of other names: the
 * error names the model's columns it lacks); o->header forces it. The label column is used when present; needs_label
 * makes its absence an error; otherwise it is ignored (text or unseen
 * values too) and the targets are 0. Text categories, missing fills (or
 * o->missing when the schema has none), class names and target scaling
 * come from the schema; input scaling is left the identity (apply the
 * model's). An unseen category is BP_EFORMAT naming line, column and value.
 * A file of one column is read when needs_label is 0 (the features of a
 * one-input model). o->sep is used; its label, features, drop, task and
 * standardize fields are ignored. A spec that is not delimited text loads as bp_dataset_load does.
 */
bp_dataset *bp_dataset_load_schema(const char *spec, const char *schema, int needs_label,
                                   const bp_data_opts *o, uint64_t seed, bp_error *err);

/* Class k's name ("setosa", "-1"), borrowed; NULL when the set has no names
 * or k is out of range. */
const char *bp_dataset_class_name(const bp_dataset *ds, int k);
/* 0 when the targets are placeholders (a schema load without a label). */
int bp_dataset_has_targets(const bp_dataset *ds);
/* A standardized regression target: stored t = (value - mean) / scale.
 * Returns 0 and the two values, or 1 (mean 0, scale 1) when there is none. */
int bp_dataset_target_scaling(const bp_dataset *ds, double *mean, double *scale);
/* Why the task is what it is: "3 distinct text labels", "90 distinct
 * integer values (more than 20)", ...; "" when not guessed from a file. */
const char *bp_dataset_task_reason(const bp_dataset *ds);
/* The label column as messages name it: "'price'", or "column 2" in a file
 * without a header; "" when the set was not read from delimited text. */
const char *bp_dataset_label(const bp_dataset *ds);

/* ------------------------------------------------------------------------ */
/* Training                                                                  */
/* ------------------------------------------------------------------------ */

/* Inverted dropout on the hidden layers (not the output layer): while p > 0
 * and the network is in training mode (bp_net_set_training), each forward
 * pass zeroes every hidden value with probability p, drawn from rng
 * (borrowed), and scales the kept ones by 1 / (1 - p); backward applies the
 * same mask. p = 0 (the default) turns it off. p must be in [0, 1). */
int bp_net_set_dropout(bp_net *net, double p, bp_rng *rng);

/* Short epochs are timed in groups of about this many seconds (see
 * bp_epoch_stats.timed_epochs). */
#define BP_TIMED_SECONDS 20e-6

/* Figures of one epoch, handed to the epoch callback. */
typedef struct bp_epoch_stats {
    int epoch;              /* 1-based */
    int epochs;             /* planned */
    long steps;             /* optimizer steps so far */
    double lr;              /* rate of the epoch's last step */
    double train_loss;      /* mean over the epoch's rows, measured in its batches */
    double train_accuracy;  /* same; -1 unless the loss is cce or bce, and with
                             * random search, which measures no accuracy */
    double val_loss;        /* on the validation rows; NAN when there are none */
    double val_accuracy;    /* -1 when none, or unless the loss is cce or bce */
    double grad_norm;       /* global gradient norm of the epoch's last batch */
    const double *layer_grad_norm; /* (layers) each layer's share of it: the norm of
                             * its weight and bias gradient, before clipping;
                             * NULL with random search or when the norms are
                             * not measured. Borrowed, valid during the callback */
    double seconds;         /* wall time of the last timed_epochs epochs, ending
                             * with this one, validation included: from the
                             * previous reading of the clock (the start of
                             * training, for the first), so it includes the
                             * callbacks in between; NAN when timed_epochs is 0 */
    double train_seconds;   /* of it, the time up to the end of this epoch's
                             * batches, before validation; NAN likewise */
    int timed_epochs;       /* how many epochs the two times cover. Epochs are
                             * timed one by one, except short ones without
                             * validation: the clock is then read about every
                             * BP_TIMED_SECONDS, so that reading it costs little
                             * against the epochs, and seconds covers the
                             * epochs since the last reading. 0: the clock was
                             * not read after this epoch. The first and last
                             * epochs, and one where on_batch or a checkpoint
                             * stops training, are timed, so every epoch of a
                             * run falls in exactly one timed group; a stop
                             * from on_epoch may leave the last group untimed */
    int best;               /* 1: the best validation loss so far */
} bp_epoch_stats;

/* Called after every epoch; a nonzero return stops training (the result says
 * it was stopped). */
typedef int (*bp_epoch_fn)(const bp_epoch_stats *stats, void *ctx);
/* Called after every batch with the batch's loss; a nonzero return stops
 * training after this batch. */
typedef int (*bp_batch_fn)(int epoch, long batch, long batches, double loss, void *ctx);

/* Where a run stands: the weights, the optimizer's state and step count,
 * the generator, the row order, the position (epoch and batches done in
 * it), the epoch's running sums and the early-stopping record: all that
 * bp_train needs to go on bit for bit as if it had never stopped. See
 * bp_train_state_save below. */
typedef struct bp_train_state bp_train_state;
/* Called with the state (borrowed, valid during the call only); a nonzero
 * return stops training (the result says it was stopped). */
typedef int (*bp_checkpoint_fn)(const bp_train_state *state, void *ctx);

/*
 * Data-parallel training: how one process shares every batch with others.
 * Each batch of B rows is cut into `parts` sub-batches, part k holding the
 * batch's rows [k B / parts, (k + 1) B / parts). This process computes the
 * gradients of parts first .. first + count - 1 on its own, each scaled by
 * the part's share of the batch (its rows / B) so that the parts add up to
 * the batch's gradient; `reduce` sums them over all processes, and every
 * process takes the same step from the same sum. With reduce NULL, one
 * process computes every part (first 0, count == parts) and adds them
 * itself in part order, element by element: (((g0 + g1) + g2) + ...). A
 * reduce that adds in that same order (bp_dist's deterministic form) gives
 * the same bits over any number of processes. parts 0 (the default) trains
 * on whole batches, as without sharding. Sharding refuses dropout and
 * random search, whose draws would differ between processes; batch norm
 * needs one process alone, or allsum and either in_order or one part per
 * process (see allsum).
 *
 * The reduction: grads holds this process's `count` part gradients of n
 * floats each (the gradient block's layout), in part order; with count 1
 * it may be `out` itself. sums holds (count, 2) doubles: each part's loss
 * and accuracy, each times the part's rows. On return, out (n) holds the
 * sum over every process's parts and sums[0], sums[1] the totals, the same
 * on every process. Returns 0 or a negative BP_E* code.
 */
typedef int (*bp_reduce_fn)(const float *grads, int count, size_t n, float *out,
                            double *sums, void *ctx);
/* Sums v (n doubles) over every process in place, the same result on
 * every process; called by batch norm layers in training mode, a few times
 * per step, with ctx the shard's. Returns 0 or a negative BP_E* code. */
typedef int (*bp_allsum_fn)(double *v, size_t n, void *ctx);

typedef struct bp_shard {
    int parts;              /* sub-batches per batch; 0: off */
    int first, count;       /* the parts this process computes */
    bp_reduce_fn reduce;    /* NULL: this process computes and adds every part */
    void *ctx;              /* passed to reduce and allsum */
    /* Batch norm over the global batch: with one part per process (count
     * 1), each batch norm's forward sums its per-channel sums of x and x^2
     * and its backward those of dz and dz * xhat over every process, so
     * batch statistics, slopes and running statistics are those of the
     * whole batch on every process (PyTorch's SyncBatchNorm). NULL: batch
     * norm is refused with several processes. */
    bp_allsum_fn allsum;
    /* Nonzero when reduce adds the parts in part order (bp_dist's
     * deterministic form); a process alone (reduce NULL) works so too.
     * Then a network with batch norm runs every part layer by layer, and
     * at each batch norm (forward, then backward) every part's 2 C sums are
     * added in part order: allsum is called with a (parts, 2 C) table in
     * which this process has filled its parts' rows and left zeros
     * elsewhere, so that any order of summing over the processes is exact.
     * The bits are those of one process alone with the same parts. */
    int in_order;
} bp_shard;

typedef struct bp_train_opts {
    bp_loss loss;
    int epochs;             /* default 10 */
    int batch;              /* rows per batch; 0: the whole set (full-batch); default 32 */
    int shuffle;            /* reshuffle the rows every epoch (default 1); a full
                             * batch keeps the data's order whatever this says */
    uint64_t seed;          /* the run's generator: shuffle, split, dropout, random search */
    bp_optim_opts optim;    /* default: sgd, lr 0.01 */
    bp_schedule schedule;   /* its base is taken from optim.lr; default constant */
    double val_split;       /* fraction of the training rows held out for validation
                             * when no validation set is given (default 0) */
    int patience;           /* early stopping: epochs without a better validation
                             * loss before stopping; the best weights are restored.
                             * 0 (default) turns it off */
    double clip_norm;       /* clip the global gradient norm to this (0: off) */
    int norms;              /* measure the gradient norms of every epoch's last
                             * batch for bp_epoch_stats (default 1); 0 leaves
                             * them 0 and NULL unless clipping measures them */
    double dropout;         /* hidden-layer dropout probability (0: off) */
    bp_epoch_fn on_epoch;
    bp_batch_fn on_batch;
    void *ctx;              /* passed to the callbacks */
    /* Checkpoints: on_checkpoint is called every checkpoint_every optimizer
     * steps (0: at the end of every epoch's batches, before validation),
     * and when on_batch stops training. Not with random search. */
    bp_checkpoint_fn on_checkpoint;
    long checkpoint_every;
    /* Resume from this state (borrowed; NULL: a fresh run). The network,
     * data, options and seed must be those of the run that saved it; the
     * network's weights are replaced by the state's. */
    const bp_train_state *resume;
    /* Data-parallel training (see bp_shard; zero: whole batches). */
    bp_shard shard;
    /* Class weights (borrowed; NULL: none), as PyTorch's
     * CrossEntropyLoss(weight=w) with mean reduction: cce takes one weight
     * per output and a batch's loss is sum_i w[y_i] l_i / sum_i w[y_i] (a
     * one-hot or soft target row t weighs sum_k w_k t_k); bce takes two, for
     * targets 0 and 1 (which must then be 0 or 1), each element weighing
     * w[t]. Each weight finite and above 0. The training batches' loss and
     * slope are weighted; validation, like bp_evaluate, reports the plain
     * loss. Not with sharded batches. */
    const float *class_weight;
} bp_train_opts;

bp_train_opts bp_train_defaults(void);

typedef struct bp_train_result {
    int epochs_run;
    long steps;
    int best_epoch;         /* epoch of the best validation loss (0: no validation) */
    double best_val_loss;
    int early_stopped;      /* patience ran out; the best weights were restored */
    int stopped;            /* a callback asked to stop */
    bp_epoch_stats last;    /* the last epoch's figures */
    /* The guard against non-finite values: set when the loss, a gradient or
     * (after a step) a weight stopped being finite. Training stops there and
     * the network keeps the weights from before that step. */
    int nonfinite;
    int bad_epoch;          /* 1-based */
    long bad_batch;         /* 1-based within the epoch */
    int bad_layer;          /* 0-based first layer with a non-finite gradient or
                             * weight; -1: the loss */
} bp_train_result;

/*
 * Train net on `train`, evaluating on `val` (may be NULL; then val_split
 * rows are held out, if any) after every epoch. Returns 0 also when training
 * stopped early, on a callback or on a non-finite value (see the result);
 * an error only for bad arguments or memory. err (may be NULL) gets the
 * detail, e.g. a data set whose width does not match the network.
 */
int bp_train(bp_net *net, const bp_dataset *train, const bp_dataset *val,
             const bp_train_opts *opts, bp_train_result *result, bp_error *err);

/*
 * Checkpoint files: safetensors, with the tensors "params", "optim.K" (the
 * optimizer's state blocks), "best" (the best weights, with patience) and
 * "order" (U64 row indices), and __metadata__ holding "format":
 * "backprop-checkpoint", the network spec, the position and the generator
 * (doubles in C99 hex notation, so they read back exactly). The file is
 * written atomically, as models are. load checks every field (err names
 * the file and the field); bp_train checks that the state fits the run.
 */
int bp_train_state_save(const char *path, const bp_train_state *state, bp_error *err);
typedef struct bp_meta bp_meta; /* a model's metadata: see "Saving and loading" */
/* The same, keeping a model's metadata (meta may be NULL) in the header as
 * "model.KEY" entries, so that the checkpoint can be used as that model. */
int bp_train_state_save_meta(const char *path, const bp_train_state *state, const bp_meta *meta,
                             bp_error *err);
/* Whether path is a checkpoint: its header opens with the format entry. 0
 * also when it cannot be read. */
int bp_checkpoint_is(const char *path);
/* A checkpoint's weights where the run stood ("params", not "best") as a
 * new network; *meta (may be NULL) receives the model metadata saved with
 * it and "checkpoint": "epoch E, batch B" (B batches done in epoch E). */
bp_net *bp_checkpoint_load_model(const char *path, bp_meta **meta, bp_error *err);
bp_train_state *bp_train_state_load(const char *path, bp_error *err);
void bp_train_state_free(bp_train_state *state);
/* The position: the epoch in progress (1-based), the batches done in it,
 * and the optimizer steps taken. */
int bp_train_state_epoch(const bp_train_state *state);
long bp_train_state_batch(const bp_train_state *state);
long bp_train_state_steps(const bp_train_state *state);

/* ------------------------------------------------------------------------ */
/* Data-parallel training over MPI                                           */
/* ------------------------------------------------------------------------ */

/*
 * Built when MPI is found (bp_dist_available() returns 1); otherwise
 * bp_dist_create fails with BP_EINVAL. The caller initialises MPI before
 * bp_dist_create and finalises it after bp_dist_free; the library talks on
 * its own duplicate of MPI_COMM_WORLD, so its messages never meet the
 * caller's. Every process must call bp_train with the same network,
 * data, options and seed, and the shard bp_dist_shard gives: each then
 * computes its share of every batch, the gradients are summed, and all
 * take the same step.
 *
 * parts 0: process r computes part r of every batch cut into one part per
 * process, and MPI_Allreduce sums the parts (the least traffic, in MPI's
 * order, so the weights match a one-process run to rounding). parts >= 1
 * (at least the number of processes): the deterministic form: every batch
 * is cut into `parts` sub-batches whatever the number of processes, each
 * process computes a contiguous run of them, and the sum is taken in part
 * order (each process adds up one slice of the gradient block from every
 * part, then the slices are gathered), so the weights are bitwise those of
 * one process training with bp_shard{parts, 0, parts, NULL}, batch norm's
 * statistics included (the shard sets allsum and in_order). The reductions
 * allocate nothing; an MPI failure ends the job (MPI's default handler).
 */
typedef struct bp_dist bp_dist;

int bp_dist_available(void);
/* For networks with net's parameter count. */
bp_dist *bp_dist_create(const bp_net *net, int parts, bp_error *err);
void bp_dist_free(bp_dist *dist);
int bp_dist_rank(const bp_dist *dist);   /* 0 .. size - 1 */
int bp_dist_size(const bp_dist *dist);
/* The shard for bp_train_opts.shard; its ctx borrows dist, which must
 * outlive the training. */
bp_shard bp_dist_shard(bp_dist *dist);
/* The reductions this process has run, and (seconds, may be NULL) the
 * wall time they took, waiting for slower processes included. */
long bp_dist_stats(const bp_dist *dist, double *seconds);
/* Likewise for the batch norm statistics' sums (bp_shard.allsum). */
long bp_dist_stats_allsum(const bp_dist *dist, double *seconds);

/* Whether ds fits net under loss, by the rule bp_train and bp_evaluate
 * apply: the inputs as bp_net_check_inputs says, at least one row, and
 * class labels (at most one class per output) for cce on several outputs,
 * else one target column per output. what names the data in the message
 * ("the training data have 2 inputs; the network takes 3"); NULL for "the
 * data". Returns 0, BP_ESHAPE or BP_EINVAL (no rows, or a NULL argument). */
int bp_net_check_data(const bp_net *net, bp_loss loss, const bp_dataset *ds, const char *what,
                      bp_error *err);
/* Whether ds's samples fit net's input, targets aside: as many inputs as
 * the network takes and, when both the data (bp_dataset_shape) and the
 * network's input are images, the same CxHxW ("the data are 1x28x28
 * images; the network takes 1x14x56 (the same 784 inputs in another
 * shape)"); a flat side takes the other flattened. what as above.
 * Returns 0, BP_ESHAPE or BP_EINVAL (a NULL argument). */
int bp_net_check_inputs(const bp_net *net, const bp_dataset *ds, const char *what,
                        bp_error *err);

/* Loss and accuracy of net over every row of ds (in batches, in
 * evaluation mode, which it leaves set). accuracy (may be NULL) gets -1
 * unless the loss is a classification loss (cce or bce). */
int bp_evaluate(bp_net *net, const bp_dataset *ds, bp_loss loss, double *value,
                double *accuracy, bp_error *err);

/* ------------------------------------------------------------------------ */
/* Evaluation metrics                                                        */
/* ------------------------------------------------------------------------ */

/*
 * What a model scores on a data set, computed in double. A classification
 * loss (cce, bce) gives classification figures, any other loss regression
 * figures (as bp_evaluate gives an accuracy). The predicted class is the one
 * bp_accuracy takes: with one output, class 1 when y >= 0.5 (y >= 0 under
 * bce on an identity output layer, whose outputs are logits), and the true
 * class 1 when t >= 0.5; with O > 1 outputs the argmax of y, against the
 * class index (T == 1) or the argmax of the target row (T == O).
 */
typedef struct bp_class_metrics {
    double precision;  /* TP / (TP + FP); 0 when the class was never predicted */
    double recall;     /* TP / (TP + FN); 0 when the class has no rows */
    double f1;         /* 2 TP / (2 TP + FP + FN); 0 when that is 0/0 */
    size_t support;    /* rows whose true class is this one: TP + FN */
} bp_class_metrics;
/* Zero division gives 0, as scikit-learn's zero_division default does
 * (without its warning). */

typedef struct bp_metrics {
    /* Set by the caller (bp_metrics_init sets them all). */
    double target_mean;   /* regression figures on value * target_scale + */
    double target_scale;  /* target_mean, outputs and targets alike: the
                             target's original units; 0 and 1: as they are */
    int capacity;                /* classes the two buffers below hold */
    size_t *confusion;           /* (capacity, capacity) caller's storage */
    bp_class_metrics *per_class; /* (capacity) caller's storage */

    /* Filled by bp_metrics_evaluate. */
    size_t n;        /* rows */
    double loss;     /* mean loss, as bp_evaluate reports it */
    int classes;     /* C > 0: classification, the figures below; 0: regression */
    /* Regression, over every target column of every row: mean absolute
     * error, root mean squared error and R^2 = 1 - SS_res / SS_tot, where
     * SS_tot sums each column's squared deviations from that column's mean
     * (scikit-learn's r2_score; for several columns its variance_weighted
     * form). A constant target (SS_tot = 0) gives R^2 = 1 when the
     * predictions are exact, else 0, as scikit-learn's force_finite does. */
    double mae, rmse, r2;
    /* Classification: confusion[i * C + j] counts rows of true class i
     * predicted as j (row stride C = classes, not capacity); per_class[k]
     * for each of the C classes; accuracy = trace / n; macro averages are
     * plain means over the classes that occur among the true or the
     * predicted classes (scikit-learn's default labels). */
    double accuracy, macro_precision, macro_recall, macro_f1;
} bp_metrics;

/* Defaults: no unscaling (mean 0, scale 1) and the caller's buffers. */
void bp_metrics_init(bp_metrics *m, size_t *confusion, bp_class_metrics *per_class,
                     int capacity);

/* The classes C the metrics of net under loss need room for: O for a
 * classification loss on O > 1 outputs, 2 on one output, 0 for regression. */
int bp_metrics_classes(const bp_net *net, bp_loss loss);

/* Run net over every row of ds (in batches, in evaluation mode) and fill m. The
 * data are checked as bp_evaluate checks them. BP_EINVAL when m's capacity
 * is below bp_metrics_classes; BP_ENONFINITE, naming the row and output,
 * when an output or the loss is not finite (m is then incomplete). */
int bp_metrics_evaluate(bp_net *net, const bp_dataset *ds, bp_loss loss, bp_metrics *m,
                        bp_error *err);

/* The figures from a confusion matrix m->confusion of m->classes classes
 * (row stride classes): per_class, accuracy, the macro averages and n. */
int bp_metrics_from_confusion(bp_metrics *m);

/* Regression figures of predictions y against targets t, both (rows, T),
 * with m's unscaling, into m->mae, rmse, r2 and n (classes set to 0). */
int bp_metrics_regression(bp_metrics *m, size_t rows, int T, const float *y, const float *t);

/* ------------------------------------------------------------------------ */
/* Model files                                                               */
/* ------------------------------------------------------------------------ */

/* Metadata: an ordered map from string keys to string values (as
 * safetensors' __metadata__ holds). Setting a key again replaces its value. */
typedef struct bp_meta bp_meta;

bp_meta *bp_meta_create(void);
void bp_meta_free(bp_meta *meta);
int bp_meta_set(bp_meta *meta, const char *key, const char *value); /* copies both */
const char *bp_meta_get(const bp_meta *meta, const char *key);     /* NULL when absent */
int bp_meta_count(const bp_meta *meta);
const char *bp_meta_key(const bp_meta *meta, int i);
const char *bp_meta_value(const bp_meta *meta, int i);

/*
 * Save a network as safetensors: an 8-byte little-endian header length, a
 * JSON header, then the raw little-endian float32 data. Tensors are
 * "layers.N.weight" (shape [O, I]) and "layers.N.bias" ([O]), N from 0, so
 * each maps onto a torch.nn.Linear. __metadata__ holds meta's entries plus
 * "net" (the spec) and "backprop_version". A network holding a non-finite
 * value is refused (BP_ENONFINITE), since no loader should accept it. The
 * file is written to a
 * temporary file in the same directory, flushed, synced and renamed over
 * path: a failure leaves any previous file intact.
 */
int bp_model_save(const char *path, bp_net *net, const bp_meta *meta, bp_error *err);

/*
 * Load a model: safetensors (F32, F64, F16 or BF16 tensors; see
 * bp_model_load_spec), or the JSON form for hand-written networks
 * (a file whose first non-blank byte is '{' or '['):
 *   {"net": "2,2:relu:nobias,1:relu:nobias",
 *    "weights": [[[2,1],[1,2]], [[1,1]]],      one [O][I] list per layer
 *    "biases": [[0,0], [0]]}                   optional; one [O] list per layer
 * Every field is checked (dtype, shapes against the spec, offsets inside
 * the file); anything else is refused with a message naming the file and
 * the field. *meta (may be NULL) receives the metadata, owned by the caller.
 */
bp_net *bp_model_load(const char *path, bp_meta **meta, bp_error *err);

/*
 * bp_model_load with the network spec given (NULL: as bp_model_load). A
 * file that holds its own spec ("net" in the metadata, or the JSON form's
 * "net") must hold the same network, or BP_EINVAL names both. A
 * safetensors file without one, such as a PyTorch nn.Sequential's
 * state_dict() saved with safetensors.torch.save_file, is read with it:
 * its tensors must be named PREFIX N.weight ([O, I]) and PREFIX N.bias
 * ([O]), one PREFIX for all, empty or ending in '.' ("0.weight",
 * "net.2.bias", "layers.3.weight"), and the modules, in increasing N, are
 * the spec's dense layers in order (activations hold no tensors, so
 * "0.weight", "2.weight" are layers 0 and 1). Shapes are checked against
 * the spec; a missing bias for a layer that has one, a bias for a layer
 * without, or a tensor beyond the spec's layers is an error naming it.
 * F64, F16 and BF16 tensors are converted to float32; an F64 value outside
 * float range, or any non-finite value, is an error naming the tensor.
 * *meta then receives the file's metadata plus "net", the spec. Without a
 * spec, a file with none fails with "m.safetensors has no network spec (a
 * plain PyTorch state dict?); give it with --net SPEC, e.g. --net
 * 4,16:relu,3:identity", the example built from the tensors' shapes.
 */
bp_net *bp_model_load_spec(const char *path, const char *spec, bp_meta **meta, bp_error *err);

/* The input scaling of a model, kept in its metadata under "scaling" as
 * {"shift": [...], "mul": [...]} with n values each, written so that every
 * float reads back exactly. get returns 0 and fills shift and mul, 1 when
 * the metadata has no scaling (shift and mul untouched), or BP_EFORMAT with
 * err naming what is wrong (a malformed entry, or n values expected). */
int bp_meta_set_scaling(bp_meta *meta, int n, const float *shift, const float *mul);
int bp_meta_get_scaling(const bp_meta *meta, int n, float *shift, float *mul, bp_error *err);

/* The target scaling of a regression model, read from the data schema in
 * its metadata ("schema", whose "target" holds the standardized target's
 * mean and scale): the outputs in the target's units are
 * output * scale + mean. Returns 0 and fills mean and scale (either may be
 * NULL), 1 when there is none (no schema, or a target not standardized;
 * mean and scale untouched), or a negative code with err naming what is
 * wrong with the schema. */
int bp_meta_get_target_scaling(const bp_meta *meta, double *mean, double *scale, bp_error *err);

/* ------------------------------------------------------------------------ */
/* Exports                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Export a network as an ONNX model: IR version 7, opset 13, one graph with
 * the float32 input "input" (batch, I), or (batch, C, H, W) for a network
 * whose input is an image, and output "output" (batch, O), the batch
 * dimension named "batch". The model's input scaling (meta's "scaling",
 * when present) comes first as Sub (x - shift) and Mul (* mul), each left
 * out when it is the identity; then per layer: dense, a Gemm (transB 1: the
 * weights initializer is layers.N.weight (O, I), the bias layers.N.bias
 * (O)), after a Flatten (axis 1) when it reads an image; conv, a Conv
 * (layers.N.weight (OUT, C, K, K), the bias optional; kernel_shape,
 * strides, pads, group 1); maxpool and avgpool, MaxPool and AveragePool
 * (kernel_shape, strides, no padding); then the activation's op: Relu,
 * LeakyRelu (alpha = the slope), Sigmoid, Tanh, Softmax (axis -1, after a
 * Flatten over an image: only the last layer may take a softmax over an
 * image, else BP_EINVAL), none for identity. A last layer whose output is
 * an image is followed by a Flatten. A regression model
 * with a standardized target (bp_meta_get_target_scaling) ends in Mul by
 * "target.scale" and Add of "target.mean" (float32, shape (1)), so the
 * outputs are in the target's units; without one the tail is left out
 * (BP_ENONFINITE when the mean or scale is beyond float range). meta's
 * entries and "net" (the spec) are kept as metadata_props. Parameters must
 * be finite (BP_ENONFINITE). Written atomically, as bp_model_save writes.
 */
int bp_onnx_save(const char *path, bp_net *net, const bp_meta *meta, bp_error *err);

/* What an ONNX file holds besides the network (for bp_onnx_load). */
typedef struct bp_onnx_info {
    int64_t ir_version;
    int64_t opset;          /* of the default domain */
    char producer[64];      /* producer name and version, e.g. "backprop 0.1.0" */
    char graph[64];         /* the graph's name */
    char input[64];         /* the graph input's name */
    char output[64];        /* the graph output's name */
    char batch[64];         /* the batch dimension's name; "" when it is fixed */
    int nodes;
    int initializers;
    char ops[512];          /* the nodes' op types in order, space-separated,
                             * ending in "..." when they do not fit */
} bp_onnx_info;

/*
 * Read back an ONNX model of the form bp_onnx_save writes (the chain of
 * optional Sub and Mul, then each layer's nodes and activation, Flatten
 * where an image turns flat, then the optional Mul and Add of the target's
 * scaling, opset 13 or later) into a new network of the same spec and input
 * shape, whose outputs are those before that tail. *meta (may be
 * NULL) receives metadata_props and, when the graph scales its input,
 * "scaling" rebuilt from the Sub and Mul tensors (a "scaling" entry in
 * metadata_props is ignored: the graph is what runs). The tail's scale and
 * mean must be the float values of the target in metadata_props' "schema"
 * (bp_meta_get_target_scaling then gives them to meta's users); a tail
 * without that target, or with other values, is refused. *info (may be
 * NULL) receives the rest. Any other graph, a malformed file or a
 * non-finite value is refused with a message naming the file and the byte
 * offset, node or tensor: "m.onnx: node 2 (Gemm
 * 'layers.0.gemm'): tensor 'layers.0.weight': shape [3, 5], expected [3, 4]".
 */
bp_net *bp_onnx_load(const char *path, bp_meta **meta, bp_onnx_info *info, bp_error *err);

/*
 * Export a network as one C99 source file with no dependency beyond the C
 * library and its math functions (link with -lm): the weights, biases and
 * input scaling as `static const float` arrays, and
 *     void NAME(const float *x, float *y);
 * which writes the O outputs for one sample of I raw inputs (a CxHxW input
 * channel by channel, each row by row; the scaling is
 * applied inside; for a standardized regression target,
 * bp_meta_get_target_scaling, the outputs are then in the target's units,
 * y = (float)((double)y * scale + mean), as `backprop predict` computes
 * them, so that step matches it bit for bit). NAME is a C identifier of at
 * most 64 characters (NULL: "predict"). Every layer kind is written (dense,
 * conv, maxpool, avgpool, batchnorm folded where it can, see
 * bp_export_c_opts; activation and dropout), one function per kind looping
 * over the geometry;
 * a kind the export has no code for is refused with BP_EINVAL naming the
 * layer. The arithmetic is the library's, operation for operation, in
 * the order of its built-in blocked matrix kernel: each output sums its
 * products in input order (a conv output: channel, kernel row, kernel
 * column) in blocks of 256, then adds the bias. Compiled
 * without fast-math and without floating-point contraction (the default of
 * -std=c99), it gives the library's bits wherever the library sums in that
 * order; elsewhere it differs by rounding alone. NAME's scratch is on the
 * stack up to 256 KiB, else static (one call at a time); the file's macro
 * NAME_SCRATCH, defined when compiling it, chooses either. Written
 * atomically.
 */
int bp_export_c(const char *path, bp_net *net, const bp_meta *meta, const char *name,
                bp_error *err);

/* bp_export_c's options. A batch norm layer is written as a per-channel
 * pass over its running statistics (in double, as the library computes
 * it, so the bits match), or with fold_bn folded into the conv or dense
 * layer before it where that layer has no activation: its weights scaled
 * per output channel and its bias shifted, one pass less, the outputs
 * differing from the library's by rounding. Dropout writes nothing (the
 * identity at inference); a standalone activation applies in place. */
typedef struct bp_export_c_opts {
    const char *name; /* the predict function's name; NULL: "predict" */
    int fold_bn;      /* nonzero: fold batch norm where it can (default 1) */
} bp_export_c_opts;

/* name "predict", fold_bn 1. */
void bp_export_c_opts_defaults(bp_export_c_opts *o);
/* bp_export_c with options (NULL: the defaults). */
int bp_export_c_with(const char *path, bp_net *net, const bp_meta *meta,
                     const bp_export_c_opts *opts, bp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* BACKPROP_H */
