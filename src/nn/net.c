/*
 * net.c - the network: an ordered sequence of layers, each of a kind
 * (nn/layer.h), over one contiguous parameter block and a gradient block
 * of the same layout (per layer, its weights then its bias when it has
 * one), a workspace sized once for the largest batch, forward propagation,
 * the loss of the last forward pass, and backpropagation.
 *
 * Invariants: forward writes each layer's activations (B, O) into the
 * workspace and keeps the output layer's pre-activations (logits) for the
 * fused losses; bp_net_loss leaves dL/dz of the output layer in delta[0];
 * backward consumes it, accumulating into the gradient block. Nothing in
 * forward, loss, backward allocates once the workspace fits the batch.
 * With dropout on, a hidden layer's activations stay unmasked in `acts`
 * (the activation's backward needs them) and the masked copy the next
 * layer reads is in `dropped`, with the mask beside it. An activation
 * standing alone after a layer without one runs in place on that layer's
 * buffer (no kind reads its own output back, and an identity needs none
 * for its slope), and backward hands its slope straight to the layer
 * before it, so neither pass copies.
 */
#include "internal.h"
#include "nn/net.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const bp__layer *bp__net_layer(const bp_net *net, int l)
{
    return &net->layers[l];
}

void bp__net_set_message(bp_net *net, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp__vformat(net->message, sizeof net->message, fmt, ap);
    va_end(ap);
}

const char *bp_net_message(const bp_net *net)
{
    return net ? net->message : "no network";
}

/* Whether layer l (planned, as every layer before it) runs in place on
 * its input's buffer: a kind that passes its input through, after a layer
 * whose activation (identity) needs no values for its slope. */
static int in_place(const bp_net *net, int l)
{
    return (net->layers[l].kind->takes & BP__PASS_THROUGH) && l > 0 &&
           net->layers[l - 1].act == BP_ACT_IDENTITY;
}

/* Whether backward hands layer l's slope dz on to the layer before it as
 * that layer's own, in the same buffer. */
static int passes_slope(const bp_net *net, int l)
{
    return (net->layers[l].kind->takes & BP__PASS_THROUGH) && l > 0;
}

/* Plan layer L from its description and input shape; on an error, fill
 * err naming the layer by its number and spec entry. */
static int plan_layer(bp__layer *L, int l, const bp_layer_desc *d, bp_error *err)
{
    char entry[96], why[192];
    const bp__kind *K = bp__kind_of(d->kind);
    if (!K)
        return bp__error_set(err, BP_ESPEC, "layer %d: unknown layer kind %d", l + 1, (int)d->kind);
    if (!bp_act_name(d->act)) {
        bp__format(why, sizeof why, "unknown activation %d", (int)d->act);
    } else if (d->act != BP_ACT_IDENTITY && !(K->takes & BP__TAKES_ACT)) {
        bp__format(why, sizeof why, "a %s layer takes no activation", K->word);
    } else if (d->act == BP_ACT_LEAKY_RELU && !(d->slope >= 0.0f && d->slope < 1.0f)) {
        bp__format(why, sizeof why, "leaky_relu slope must be in (0, 1), got %g", (double)d->slope);
    } else if ((K->takes & BP__SPATIAL_IN) && L->in.h == 0) {
        bp__format(why, sizeof why,
                   "needs a CxHxW input, gets a flat vector of %d "
                   "(start the spec with the input's shape, e.g. 1x28x28)",
                   L->in.c);
    } else {
        L->kind = K;
        L->act = d->act;
        L->bias = (K->takes & BP__TAKES_BIAS) && d->bias != 0;
        L->rate = L->momentum = L->eps = 0.0;
        L->slope = L->act == BP_ACT_LEAKY_RELU
                       ? (d->slope > 0.0f ? d->slope : BP_LEAKY_SLOPE_DEFAULT)
                       : 0.0f;
        if (K->plan(L, d, why, sizeof why) == 0)
            return 0;
    }
    bp__spec_entry(d, entry, sizeof entry);
    return bp__error_set(err, BP_ESPEC, "layer %d (%s): %s", l + 1, entry, why);
}

bp_net *bp_net_create_shaped(bp_shape input, int n_layers, const bp_layer_desc *descs,
                             bp_error *err)
{
    bp_net *net = NULL;
    size_t bytes, n_params = 0, sum_widths = 0, sum_acts = 0, sum_scratch = 0, block;
    size_t n_state = 0, n_keep = 0;
    size_t in_size = bp_shape_size(input);
    int max_width;

    if (in_size == 0 || in_size > (size_t)INT32_MAX || (input.h == 0) != (input.w == 0) ||
        n_layers <= 0 || !descs) {
        bp__error_set(err, BP_ESPEC, "a network needs a positive input shape and at least one layer");
        return NULL;
    }
    bytes = sizeof *net + (size_t)n_layers * (sizeof(bp__layer) + 3 * sizeof(size_t));
    net = bp__calloc(1, bytes);
    if (!net) {
        bp__error_set(err, BP_ENOMEM, "out of memory creating the network");
        return NULL;
    }
    net->act_off = (size_t *)(void *)&net->layers[n_layers];
    net->scr_off = net->act_off + n_layers;
    net->acts_at = net->scr_off + n_layers;
    max_width = (int)in_size;
    bp_shape prev = input;
    for (int l = 0; l < n_layers; l++) {
        bp__layer *L = &net->layers[l];
        L->in = prev;
        if (plan_layer(L, l, &descs[l], err) != 0) {
            bp__free(net);
            return NULL;
        }
        if (n_params > SIZE_MAX / 4 - bp__layer_params(L) ||
            sum_scratch > SIZE_MAX / 4 - L->scratch || L->work > SIZE_MAX / 64 ||
            n_state > SIZE_MAX / 16 - L->n_s || n_keep > SIZE_MAX / 16 - L->keep) {
            bp__error_set(err, BP_EOVERFLOW, "layer %d: too many parameters", l + 1);
            bp__free(net);
            return NULL;
        }
        L->w_off = n_params;
        L->b_off = n_params + L->n_w;
        n_params += bp__layer_params(L);
        L->s_off = n_state;
        n_state += L->n_s;
        L->keep_off = n_keep;
        n_keep += L->keep;
        net->act_off[l] = sum_widths;
        sum_widths += (size_t)L->O;
        if (in_place(net, l)) {
            net->acts_at[l] = net->acts_at[l - 1];
        } else {
            net->acts_at[l] = sum_acts;
            sum_acts += (size_t)L->O;
        }
        net->scr_off[l] = sum_scratch;
        sum_scratch += L->scratch;
        net->max_work = L->work > net->max_work ? L->work : net->max_work;
        max_width = L->O > max_width ? L->O : max_width;
        net->max_macs = L->macs > net->max_macs ? L->macs : net->max_macs;
        prev = L->out;
    }
    /* one allocation: parameters, gradients, state, keep */
    if (n_params > SIZE_MAX / 16 ||
        bp__mul_size(2 * n_params + n_state + n_keep, sizeof(float), &block) != 0 ||
        !(net->params = bp__calloc(1, block ? block : 1))) {
        bp__free(net);
        bp__error_set(err, BP_ENOMEM, "out of memory allocating %zu parameters", n_params);
        return NULL;
    }
    net->grads = net->params + n_params;
    net->state = net->grads + n_params;
    net->n_state = n_state;
    net->keep = net->state + n_state;
    net->n_keep = n_keep;
    for (int l = 0; l < n_layers; l++)
        if (net->layers[l].kind->reset)
            net->layers[l].kind->reset(&net->layers[l], net->params, net->state);
    net->inputs = (int)in_size;
    net->in_shape = input;
    net->n_layers = n_layers;
    net->n_params = n_params;
    net->max_width = max_width;
    net->sum_widths = sum_widths;
    net->sum_acts = sum_acts;
    net->sum_scratch = sum_scratch;
    /* Backward alternates the two slope buffers layer by layer from the
     * output: layer l's dz in one, its input's slope in the other; a
     * layer that passes its slope through keeps to the one it was given. */
    for (int l = n_layers - 1, cur = 0; l >= 0; l--) {
        const bp__layer *L = &net->layers[l];
        net->delta_width[cur] = L->O > net->delta_width[cur] ? L->O : net->delta_width[cur];
        if (passes_slope(net, l))
            continue;
        if (l > 0 && L->I > net->delta_width[1 - cur])
            net->delta_width[1 - cur] = L->I;
        cur = 1 - cur;
    }
    net->small_rows = bp__small_rows(net);
    return net;
}

bp_net *bp_net_create(int inputs, int n_layers, const bp_layer_desc *descs, bp_error *err)
{
    return bp_net_create_shaped((bp_shape){inputs, 0, 0}, n_layers, descs, err);
}

bp_net *bp_net_parse(const char *spec, bp_error *err)
{
    int n_layers = 0;
    bp_shape input;
    bp_layer_desc *descs = NULL;
    if (bp__spec_parse(spec, &input, &n_layers, &descs, err) != 0)
        return NULL;
    bp_net *net = bp_net_create_shaped(input, n_layers, descs, err);
    bp__free(descs);
    return net;
}

void bp_net_free(bp_net *net)
{
    if (!net)
        return;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind->release)
            net->layers[l].kind->release(&net->layers[l]);
    bp__free(net->work);
    bp__free(net->params);
    bp__free(net);
}

int bp_net_layer_spec(const bp_net *net, int l, char *buf, size_t size)
{
    char entry[96];
    if (l < -1 || l >= net->n_layers)
        return BP_EINVAL;
    if (l < 0) {
        bp__spec_shape(net->in_shape, entry, sizeof entry);
    } else {
        bp_layer_desc d = bp_net_layer(net, l);
        bp__spec_entry(&d, entry, sizeof entry);
    }
    return snprintf(buf, size, "%s", entry);
}

int bp_net_spec(const bp_net *net, char *buf, size_t size)
{
    int total = 0;
    char dummy[1];
    if (!buf || size == 0) {
        buf = dummy;
        size = 1;
    }
    for (int l = -1; l < net->n_layers; l++) {
        size_t used = (size_t)total < size ? (size_t)total : size - 1;
        if (l >= 0 && used + 1 < size)
            buf[used++] = ',';
        total += l >= 0;
        int n = bp_net_layer_spec(net, l, buf + used, size - used);
        if (n < 0)
            return BP_EINVAL;
        total += n;
    }
    return total;
}

int bp_net_inputs(const bp_net *net) { return net->inputs; }
int bp_net_outputs(const bp_net *net) { return net->layers[net->n_layers - 1].O; }
int bp_net_layers(const bp_net *net) { return net->n_layers; }
size_t bp_net_param_count(const bp_net *net) { return net->n_params; }
float *bp_net_params(bp_net *net)
{
    net->half_fresh = 0; /* the caller may write through it */
    return net->params;
}
float *bp_net_grads(bp_net *net) { return net->grads; }
size_t bp_net_state_count(const bp_net *net) { return net->n_state; }
float *bp_net_state(bp_net *net) { return net->state; }
int bp_net_training(const bp_net *net) { return net ? net->training : 0; }

float *bp_net_layer_state(bp_net *net, int l, size_t *count)
{
    const int ok = net && l >= 0 && l < net->n_layers && net->layers[l].n_s > 0;
    if (count)
        *count = ok ? net->layers[l].n_s : 0;
    return ok ? net->state + net->layers[l].s_off : NULL;
}

int bp_net_set_training(bp_net *net, int on, bp_rng *rng)
{
    if (!net)
        return BP_EINVAL;
    net->training = on != 0;
    net->rng = on ? rng : NULL;
    net->batch = 0;
    net->have_delta = 0;
    return 0;
}

int bp_net_init(bp_net *net, bp_rng *rng, bp_init scheme, double scale)
{
    if (!net || !rng || (int)scheme < 0 || scheme > BP_INIT_NORMAL)
        return BP_EINVAL;
    if (scheme == BP_INIT_NORMAL && !(scale >= 0.0 && isfinite(scale))) {
        bp__net_set_message(net, "init: the scale must be a finite number >= 0, got %g", scale);
        return BP_EINVAL;
    }
    net->half_fresh = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        double fan_in = L->fan_in, fan_out = L->fan_out, var;
        if (L->kind->reset) {
            L->kind->reset(L, net->params, net->state);
            continue;
        }
        if (L->n_w == 0)
            continue;
        int uniform = 0;
        switch (scheme) {
        case BP_INIT_HE_UNIFORM: uniform = 1; /* fall through */
        case BP_INIT_HE_NORMAL: var = 2.0 / fan_in; break;
        case BP_INIT_XAVIER_UNIFORM: uniform = 1; /* fall through */
        case BP_INIT_XAVIER_NORMAL: var = 2.0 / (fan_in + fan_out); break;
        case BP_INIT_LECUN_UNIFORM: uniform = 1; /* fall through */
        case BP_INIT_LECUN_NORMAL: var = 1.0 / fan_in; break;
        case BP_INIT_NORMAL:
        default: var = scale * scale; break;
        }
        float *w = net->params + L->w_off;
        size_t n = L->n_w;
        double sd = sqrt(var), a = sqrt(3.0 * var);
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(uniform ? a * (2.0 * bp_rng_uniform(rng) - 1.0) : sd * bp_rng_normal(rng));
        if (L->bias)
            memset(net->params + L->b_off, 0, L->n_b * sizeof(float));
    }
    return 0;
}

void bp__net_bind_scratch(bp_net *net)
{
    for (int l = 0; l < net->n_layers; l++) {
        net->layers[l].scr_base = net->scratch ? bp__scratch_of(net, l) : NULL;
        net->layers[l].scr_rows = net->scratch ? net->capacity : 0;
    }
}

int bp__net_workspace(bp_net *net, int rows, int dropout)
{
    size_t cap = (size_t)rows, acts, logits, delta0, delta1, scr, bw, floats, bytes;
    size_t hidden = net->sum_widths - (size_t)bp_net_outputs(net);
    const int blocks = bp__blocks(rows, 1e300); /* the most grad_input blocks of rows */
    /* floats: acts (cap * sum_acts), logits (cap * O_last), the two
     * slopes (cap * delta_width), the layers' scratch (cap * sum_scratch),
     * each block's work for grad_input, with dropout a mask and a masked
     * copy (cap * hidden each). */
    if (bp__mul_size(cap, net->sum_acts, &acts) ||
        bp__mul_size(cap, (size_t)bp_net_outputs(net), &logits) ||
        bp__mul_size(cap, (size_t)net->delta_width[0], &delta0) ||
        bp__mul_size(cap, (size_t)net->delta_width[1], &delta1) ||
        bp__mul_size(cap, net->sum_scratch, &scr) ||
        bp__mul_size((size_t)blocks, net->max_work, &bw) ||
        bp__mul_size(cap, dropout ? hidden : 0, &hidden) ||
        acts > SIZE_MAX / 16 || logits > SIZE_MAX / 16 || delta0 > SIZE_MAX / 16 ||
        delta1 > SIZE_MAX / 16 || hidden > SIZE_MAX / 16 || scr > SIZE_MAX / 16 ||
        bw > SIZE_MAX / 16 ||
        bp__mul_size(acts + logits + delta0 + delta1 + scr + bw + 2 * hidden, sizeof(float),
                     &floats)) {
        bp__net_set_message(net, "a batch of %d rows is too large for this network", rows);
        return BP_EOVERFLOW;
    }
    bytes = floats;
    void *work = bp__malloc(bytes);
    if (!work) {
        bp__net_set_message(net, "out of memory reserving a workspace for %d rows", rows);
        return BP_ENOMEM;
    }
    /* the kinds' own state, once: it does not depend on the rows */
    for (int l = 0; l < net->n_layers; l++) {
        bp__layer *L = &net->layers[l];
        int rc = L->kind->prepare && !L->prims ? L->kind->prepare(L) : 0;
        if (rc != 0) {
            bp__free(work);
            bp__net_set_message(net, "out of memory preparing layer %d", l + 1);
            return rc;
        }
    }
    bp__free(net->work);
    net->work = work;
    net->acts = work;
    net->logits = net->acts + acts;
    net->delta[0] = net->logits + logits;
    net->delta[1] = net->delta[0] + delta0;
    net->scratch = net->delta[1] + delta1;
    net->bwork = net->scratch + scr;
    net->mask = dropout ? net->bwork + bw : NULL;
    net->dropped = dropout ? net->mask + hidden : NULL;
    net->drop_ready = dropout;
    net->capacity = rows;
    bp__net_bind_scratch(net);
    net->batch = 0;
    net->have_delta = 0;
    net->kept_x = NULL;
    return 0;
}

int bp_net_reserve(bp_net *net, int max_batch)
{
    if (!net || max_batch <= 0)
        return BP_EINVAL;
    if (max_batch <= net->capacity)
        return 0;
    return bp__net_workspace(net, max_batch, net->drop_p > 0.0);
}

int bp_net_set_dropout(bp_net *net, double p, bp_rng *rng)
{
    if (!net)
        return BP_EINVAL;
    if (!(p >= 0.0 && p < 1.0) || (p > 0.0 && !rng)) {
        bp__net_set_message(net, "dropout: the probability must be in [0, 1) with a generator, got %g", p);
        return BP_EINVAL;
    }
    if (p > 0.0 && !net->drop_ready && net->capacity > 0) {
        int rc = bp__net_workspace(net, net->capacity, 1);
        if (rc != 0)
            return rc;
    }
    net->drop_p = p;
    net->drop_rng = rng;
    net->batch = 0;
    net->have_delta = 0;
    return 0;
}

/* Whether layer l's output goes through dropout in the current mode. */
static int dropping(const bp_net *net, int l)
{
    return net->drop_p > 0.0 && net->training && l < net->n_layers - 1;
}

/* Inverted dropout over n values: keep each with probability 1 - p. The
 * draw compares 32 random bits with a threshold, two values per 64 bits. */
static void dropout_apply(bp_net *net, size_t n, const float *a, float *mask, float *out)
{
    const uint64_t threshold = (uint64_t)(net->drop_p * 4294967296.0);
    const float keep = (float)(1.0 / (1.0 - net->drop_p));
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 1) == 0)
            bits = bp_rng_next(net->drop_rng);
        uint64_t r = (i & 1) ? bits >> 32 : bits & 0xffffffffu;
        mask[i] = r < threshold ? 0.0f : keep;
        out[i] = a[i] * mask[i];
    }
}

/* What layer l + 1 reads: the masked copy under dropout, else the values. */
static const float *output_of(const bp_net *net, int l)
{
    return dropping(net, l) ? net->dropped + (size_t)net->capacity * net->act_off[l]
                            : bp__acts_of(net, l);
}

/* Rows [b0, b1) of layer l's z (B, O) once its kind wrote them: the logits
 * kept for the output layer, then the activation in place. */
static void finish_rows(bp_net *net, int l, int b0, int b1, float *z)
{
    const bp__layer *L = &net->layers[l];
    const int rows = b1 - b0;
    float *zr = z + (size_t)b0 * (size_t)L->O; /* (rows, O) */
    if (l == net->n_layers - 1 && bp__loss_fuses_any(L->act))
        memcpy(net->logits + (size_t)b0 * (size_t)L->O, zr,
               (size_t)rows * (size_t)L->O * sizeof *zr);
    if (!bp__act_in_forward(L))
        bp__act_forward(L->act, L->slope, rows, L->O, zr);
}

/* Rows [b0, b1) of layer l's forward pass: z from its kind, then as
 * finish_rows. The rows are independent, so blocks of them run on
 * separate threads. */
static void forward_rows(bp_net *net, int l, int b0, int b1, const float *in, float *z)
{
    const bp__layer *L = &net->layers[l];
    const int rows = b1 - b0;
    const float *x = in + (size_t)b0 * (size_t)L->I; /* (rows, I) */
    float *zr = z + (size_t)b0 * (size_t)L->O;       /* (rows, O) */
    L->kind->forward(L, net->params, rows, x, zr,
                     bp__scratch_of(net, l) + (size_t)b0 * L->scratch);
    finish_rows(net, l, b0, b1, z);
}

/* A whole-batch pass's view of the network for layer l. */
static bp__pass pass_of(bp_net *net, int l, int B)
{
    const bp__layer *L = &net->layers[l];
    bp__pass ps = {.params = net->params, .grads = net->grads, .state = net->state,
                   .keep = net->keep + L->keep_off, .training = net->training,
                   .rng = net->rng, .B = B};
    return ps;
}

/* Block b of n of a layer's forward pass, for bp__for_blocks. */
typedef struct forward_job {
    bp_net *net;
    int l, B;
    const float *in; /* (B, I) */
    float *z;        /* (B, O) */
    int feed;        /* also write layer l + 1's bf16 input (feeds_half) */
} forward_job;

static void forward_block(void *ctx, int b, int n)
{
    forward_job *j = ctx;
    forward_rows(j->net, j->l, BP__BLOCK_START(j->B, b, n), BP__BLOCK_START(j->B, b + 1, n), j->in,
                 j->z);
}

/* About one block per BP__BLOCK_UNITS units, as bp__blocks_of splits.
 * With few units (a convolution's filters) and much work, two, so that
 * the backward jobs pair up over the threads instead of one thread taking
 * all the slopes. */
int bp__net_unit_blocks(const bp_net *net, int l, int B)
{
    const bp__layer *L = &net->layers[l];
    const double work = (double)B * L->macs;
    const int units = bp__layer_units(L);
    if (units == 0)
        return 0;
    if (bp__one_block(net, B))
        return 1;
    const int nw = bp__blocks_of(units, BP__BLOCK_UNITS, work);
    return nw == 1 && units >= 2 && work >= BP__PARALLEL_WORK ? 2 : nw;
}

/* Whether layer l's forward pass over B rows runs by blocks of output
 * units, those of its slopes, rather than by rows: a dense hidden layer
 * with at least as many units as rows, so its weights outweigh its input.
 * Each thread then reads only the weights it steps, and the weights (and
 * their bf16 copy) never move between cores (a row split reads all of
 * them on every thread). A bf16 block takes two rows and two units at
 * least (a lone one runs another kernel). */
static int forward_by_units(const bp_net *net, int l, int B)
{
    const bp__layer *L = &net->layers[l];
    if (!L->kind->forward_units || l == net->n_layers - 1 || L->O < B ||
        !(bp__act_in_forward(L) || L->act == BP_ACT_IDENTITY))
        return 0;
    const int nw = bp__net_unit_blocks(net, l, B);
    return nw > 1 && (!L->half || (L->prims && L->kind->keep_in && B >= 2 && L->O >= 2 * nw));
}

/* Whether layer l, running by units, also writes the bf16 input of layer
 * l + 1, which runs by units in bf16: each block its own columns while
 * they are in its cache, instead of a pass of its own over the rows. */
static int feeds_half(const bp_net *net, int l, int B)
{
    return l + 1 < net->n_layers && !dropping(net, l) && net->layers[l + 1].half &&
           forward_by_units(net, l + 1, B);
}

static void forward_unit_block(void *ctx, int j, int n)
{
    forward_job *w = ctx;
    const bp__layer *L = &w->net->layers[w->l];
    const int u0 = BP__BLOCK_START(L->O, j, n), u1 = BP__BLOCK_START(L->O, j + 1, n);
    L->kind->forward_units(L, w->net->params, w->B, w->in, w->z, bp__scratch_of(w->net, w->l),
                           u0, u1);
    if (w->feed) {
        const bp__layer *N = L + 1;
        N->kind->keep_in(N, w->B, w->z, bp__scratch_of(w->net, w->l + 1), u0, u1);
    }
}

/* Rows [b0, b1) of bf16 layer l's input, x at row b0, into its scratch
 * rows. */
static void keep_in_rows(bp_net *net, int l, int b0, int b1, const float *x)
{
    const bp__layer *L = &net->layers[l];
    L->kind->keep_in(L, b1 - b0, x, bp__scratch_of(net, l) + (size_t)b0 * L->scratch, 0, L->I);
}

/* Rows block b of n of a bf16 layer's input into its scratch rows. */
static void keep_in_block(void *ctx, int b, int n)
{
    forward_job *w = ctx;
    const int b0 = BP__BLOCK_START(w->B, b, n), b1 = BP__BLOCK_START(w->B, b + 1, n);
    keep_in_rows(w->net, w->l, b0, b1, w->in + (size_t)b0 * (size_t)w->net->layers[w->l].I);
}

/* Whether a forward pass of B rows runs in the workspace as it is, rather
 * than making a larger one (or one with dropout's buffers) first. */
static int workspace_fits(const bp_net *net, int B)
{
    return B <= net->capacity && !(net->drop_p > 0.0 && !net->drop_ready);
}

int bp_net_forward(bp_net *net, int B, const float *x, const float **out)
{
    int rc;
    if (!net)
        return BP_EINVAL;
    if (B <= 0 || !x) {
        bp__net_set_message(net, "forward: expected a batch of at least one row, got %d", B);
        return BP_EINVAL;
    }
    if (!workspace_fits(net, B) &&
        (rc = bp__net_workspace(net, B > net->capacity ? B : net->capacity, net->drop_p > 0.0)) != 0)
        return rc;
    const float *in = x;
    if (bp__small_serves(net, B)) { /* small layers: fused, the same bits */
        bp__small_forward(net, B, x);
        in = bp__acts_of(net, net->n_layers - 1);
    } else {
        const int small = bp__one_block(net, B);
        /* the layer before (for the first, the caller) wrote this one's
         * bf16 input */
        int fed = net->kept_x == x && net->kept_rows == B;
        bp__net_refresh(net);
        for (int l = 0; l < net->n_layers; l++) {
            const bp__layer *L = &net->layers[l];
            const int was_fed = fed;
            fed = 0;
            float *z = bp__acts_of(net, l); /* (B, O) */
            const int n = small ? 1 : bp__blocks(B, (double)B * L->macs);
            if (L->kind->forward_batch) { /* the kind splits its own work */
                const bp__pass ps = pass_of(net, l, B);
                L->kind->forward_batch(L, &ps, in, z, bp__scratch_of(net, l));
                finish_rows(net, l, 0, B, z);
            } else if (forward_by_units(net, l, B)) {
                const int nw = bp__net_unit_blocks(net, l, B);
                forward_job job = {
                    .net = net, .l = l, .B = B, .in = in, .z = z, .feed = feeds_half(net, l, B)};
                /* every block reads every row: converted first, unless the
                 * layer before wrote them */
                if (L->half && !was_fed) {
                    const int nb = bp__elem_blocks((size_t)B * (size_t)L->I);
                    const int nr = nb < B ? nb : B;
                    bp__for_blocks(nr, nr, keep_in_block, &job);
                }
                bp__for_blocks(nw, nw, forward_unit_block, &job);
                finish_rows(net, l, 0, B, z);
                fed = job.feed;
            } else if (n == 1) { /* the same call, without the job */
                forward_rows(net, l, 0, B, in, z);
            } else {
                forward_job job = {.net = net, .l = l, .B = B, .in = in, .z = z};
                bp__for_blocks(n, n, forward_block, &job);
            }
            if (dropping(net, l)) {
                size_t off = (size_t)net->capacity * net->act_off[l];
                dropout_apply(net, (size_t)B * (size_t)L->O, z, net->mask + off,
                              net->dropped + off);
            }
            in = output_of(net, l);
        }
    }
    net->batch = B;
    net->x = x;
    net->kept_x = NULL;
    net->have_delta = 0;
    if (out)
        *out = in;
    return 0;
}

/* (bf16 never takes the fused passes of small networks, which are fp32's) */
int bp__net_takes_input(const bp_net *net, int B)
{
    return net->layers[0].half && workspace_fits(net, B) && forward_by_units(net, 0, B);
}

void bp__net_keep_input(bp_net *net, int b0, int b1, const float *x)
{
    keep_in_rows(net, 0, b0, b1, x);
}

void bp__net_input_kept(bp_net *net, const float *x, int B)
{
    net->kept_x = x;
    net->kept_rows = B;
}

int bp__net_check_targets(bp_net *net, bp_loss loss, int B, const float *t, int T)
{
    return bp__loss_check_w(loss, B, bp_net_outputs(net), t, T, net->class_weight,
                            net->message, sizeof net->message);
}

/* The loss of the last forward pass; dz (B, O) receives dL/dz of the output
 * layer when not NULL. */
static int output_loss(bp_net *net, bp_loss loss, const float *t, int T,
                       double *value, float *dz, int checked)
{
    const bp__layer *L = &net->layers[net->n_layers - 1];
    int B = net->batch, rc;
    double v;
    if (B <= 0) {
        bp__net_set_message(net, "loss: run bp_net_forward first");
        return BP_EINVAL;
    }
    if (!checked && (rc = bp__net_check_targets(net, loss, B, t, T)) != 0)
        return rc;
    if (dz && bp__small_serves(net, B) && bp__small_loss(net, loss, t, T, dz, &v)) {
        /* small layers: the loss, its slope and the output's in one pass */
    } else if (bp__loss_fuses(loss, L->act)) {
        const float *z = L->act == BP_ACT_IDENTITY ? bp__acts_of(net, net->n_layers - 1)
                                                   : net->logits; /* (B, O) */
        v = bp__loss_fused(loss, B, L->O, z, t, T, net->class_weight, dz);
    } else {
        const float *a = bp__acts_of(net, net->n_layers - 1);
        v = bp__loss_values(loss, B, L->O, a, t, T, net->class_weight, dz);
        if (dz)
            bp__act_backward(L->act, L->slope, B, L->O, a, dz);
    }
    if (value)
        *value = v;
    return 0;
}

void bp__net_refresh(bp_net *net)
{
    if (net->half_fresh) { /* once: a later pointer to them may be written through */
        net->half_fresh = 0;
        return;
    }
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].prims && net->layers[l].kind->refresh)
            net->layers[l].kind->refresh(&net->layers[l], net->params);
}

void bp__net_keep_dz(bp_net *net, int l, int b0, int b1, const float *dz)
{
    const bp__layer *L = &net->layers[l];
    if (L->half && L->prims && L->kind->keep_dz && b1 > b0)
        L->kind->keep_dz(L, b1 - b0, dz + (size_t)b0 * (size_t)L->O,
                         bp__scratch_of(net, l) + (size_t)b0 * L->scratch);
}

static int net_loss(bp_net *net, bp_loss loss, const float *t, int T, double *value,
                    int checked)
{
    if (!net)
        return BP_EINVAL;
    int rc = output_loss(net, loss, t, T, value, net->delta[0], checked);
    net->have_delta = rc == 0;
    if (rc == 0)
        bp__net_keep_dz(net, net->n_layers - 1, 0, net->batch, net->delta[0]);
    return rc;
}

int bp_net_loss(bp_net *net, bp_loss loss, const float *t, int T, double *value)
{
    return net_loss(net, loss, t, T, value, 0);
}

int bp__net_loss_checked(bp_net *net, bp_loss loss, const float *t, int T, double *value)
{
    return net_loss(net, loss, t, T, value, 1);
}

void bp_net_zero_grad(bp_net *net)
{
    if (net)
        memset(net->grads, 0, net->n_params * sizeof *net->grads);
}

/* Output units [u0, u1) of layer l's parameter slopes from dz (B, O),
 * added to the gradient block, or with fresh written over it. */
static void weight_grad_rows(bp_net *net, int l, int u0, int u1, const float *dz, int fresh)
{
    const bp__layer *L = &net->layers[l];
    const float *in = l == 0 ? net->x : output_of(net, l - 1); /* (B, I) */
    L->kind->grad_params(L, u0, u1, net->batch, in, bp__scratch_of(net, l), dz, net->grads,
                         fresh);
}

static void through_prev(bp_net *net, int l, int b0, int b1, float *din);

/* Batch rows [b0, b1) of the slope with respect to layer l's input, then
 * through_prev. */
static void input_grad_rows(bp_net *net, int l, int block, int b0, int b1, const float *dz,
                            float *din)
{
    const bp__layer *L = &net->layers[l];
    const int rows = b1 - b0;
    const float *in = l == 0 ? net->x : output_of(net, l - 1);
    float *dr = din + (size_t)b0 * (size_t)L->I; /* (rows, I) */
    L->kind->grad_input(L, net->params, rows, in + (size_t)b0 * (size_t)L->I,
                        bp__scratch_of(net, l) + (size_t)b0 * L->scratch,
                        dz + (size_t)b0 * (size_t)L->O, dr, net->bwork + (size_t)block * net->max_work);
    through_prev(net, l, b0, b1, din);
}

/* Rows [b0, b1) of din (B, I), layer l's input slope, back through the
 * previous layer's dropout mask and activation, so din becomes that
 * layer's dz. */
static void through_prev(bp_net *net, int l, int b0, int b1, float *din)
{
    const bp__layer *L = &net->layers[l];
    const int rows = b1 - b0;
    float *dr = din + (size_t)b0 * (size_t)L->I; /* (rows, I) */
    if (l == 0)
        return;
    const bp__layer *P = &net->layers[l - 1];
    const size_t row0 = (size_t)b0 * (size_t)P->O;
    if (dropping(net, l - 1)) {
        const float *m = net->mask + (size_t)net->capacity * net->act_off[l - 1] + row0;
        for (size_t i = 0, n = (size_t)rows * (size_t)P->O; i < n; i++)
            dr[i] *= m[i];
    }
    bp__act_backward(P->act, P->slope, rows, P->O, bp__acts_of(net, l - 1) + row0, dr);
    bp__net_keep_dz(net, l - 1, b0, b1, din);
}

/* A layer's backward jobs, for bp__for_blocks: the first nw are blocks of
 * output rows of dW and db, the other nd blocks of batch rows of d in. */
typedef struct backward_job {
    bp_net *net;
    int l, nw, nd, fresh;
    const float *dz; /* (B, O) */
    float *din;      /* (B, I) */
} backward_job;

static void backward_block(void *ctx, int j, int jobs)
{
    backward_job *w = ctx;
    const int O = bp__layer_units(&w->net->layers[w->l]), B = w->net->batch;
    (void)jobs;
    if (j < w->nw)
        weight_grad_rows(w->net, w->l, BP__BLOCK_START(O, j, w->nw),
                         BP__BLOCK_START(O, j + 1, w->nw), w->dz, w->fresh);
    else
        input_grad_rows(w->net, w->l, j - w->nw, BP__BLOCK_START(B, j - w->nw, w->nd),
                        BP__BLOCK_START(B, j - w->nw + 1, w->nd), w->dz, w->din);
}

static int backward(bp_net *net, float *dx, int fresh)
{
    if (!net)
        return BP_EINVAL;
    if (!net->have_delta) {
        bp__net_set_message(net, "backward: run bp_net_forward and bp_net_loss first");
        return BP_EINVAL;
    }
    int B = net->batch, cur = 0;
    const int small = bp__one_block(net, B);
    if (bp__small_serves(net, B)) { /* small layers: fused, the same bits */
        bp__small_backward(net, dx, fresh);
        net->have_delta = 0;
        return 0;
    }
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const bp__layer *L = &net->layers[l];
        const double work = (double)B * L->macs;
        const int units = bp__layer_units(L);
        const int want_din = l > 0 || dx;
        float *din = l == 0 ? dx : net->delta[1 - cur]; /* (B, I) */
        if (passes_slope(net, l)) { /* dz is the input's slope: on in place */
            through_prev(net, l, 0, B, net->delta[cur]);
            continue;
        }
        if (L->kind->backward_batch) { /* the kind splits its own work */
            const bp__pass ps = pass_of(net, l, B);
            const float *in = l == 0 ? net->x : output_of(net, l - 1);
            L->kind->backward_batch(L, &ps, in, bp__scratch_of(net, l), net->delta[cur],
                                    want_din ? din : NULL, fresh);
            if (want_din)
                through_prev(net, l, 0, B, din);
            cur = 1 - cur;
            continue;
        }
        /* Two independent jobs read dz: the parameter slopes by blocks of
         * output units, d in by blocks of batch rows. */
        const int nw = bp__net_unit_blocks(net, l, B);
        const int nd = !want_din ? 0 : small ? 1 : bp__blocks(B, work);
        if (nw <= 1 && nd <= 1) { /* small work, one thread: the same calls in order */
            if (nw)
                weight_grad_rows(net, l, 0, units, net->delta[cur], fresh);
            if (nd)
                input_grad_rows(net, l, 0, 0, B, net->delta[cur], din);
        } else {
            backward_job job = {.net = net, .l = l, .nw = nw, .nd = nd, .fresh = fresh,
                                .dz = net->delta[cur], .din = din};
            bp__for_blocks(nw + nd, nw + nd, backward_block, &job);
        }
        cur = 1 - cur;
    }
    net->have_delta = 0;
    return 0;
}

int bp__net_max_spans(const bp_net *net)
{
    return net->n_layers * 2 * BP__MAX_ROW_BLOCKS;
}

/* Span [lo, lo + n) for owner with its bf16 copy half, unless empty. */
static int add_span(bp__span *out, int k, size_t lo, size_t n, int owner, uint16_t *half)
{
    if (n == 0)
        return k;
    out[k].lo = lo;
    out[k].hi = lo + n;
    out[k].owner = owner;
    out[k].half = half;
    return k + 1;
}

void bp__net_half_written(bp_net *net)
{
    net->half_fresh = net->precision == BP_PRECISION_BF16;
}

int bp__net_spans(const bp_net *net, int threads, bp__span *out)
{
    int k = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const bp__layer *L = &net->layers[l];
        const int nw = net->batch > 0 && !L->kind->backward_batch
                           ? bp__net_unit_blocks(net, l, net->batch) : 0;
        uint16_t *half = L->half && L->prims && L->kind->half_weights
                             ? L->kind->half_weights(L) : NULL;
        if (nw == 0) { /* no block of units: shared out */
            k = add_span(out, k, L->w_off, L->n_w, -1, half);
            k = add_span(out, k, L->b_off, L->n_b, -1, NULL);
            continue;
        }
        /* block j of the slopes runs on thread j % min(threads, nw) (one
         * block: on the calling thread, 0), as bp__for_blocks deals them */
        const int units = bp__layer_units(L), team = threads < nw ? threads : nw;
        const size_t per = L->n_w / (size_t)units;
        for (int j = 0; j < nw; j++) {
            const size_t u0 = (size_t)BP__BLOCK_START(units, j, nw);
            const size_t u1 = (size_t)BP__BLOCK_START(units, j + 1, nw);
            k = add_span(out, k, L->w_off + u0 * per, (u1 - u0) * per, j % team,
                         half ? half + u0 * per : NULL);
            if (L->n_b)
                k = add_span(out, k, L->b_off + u0, u1 - u0, j % team, NULL);
        }
    }
    return k;
}

int bp_net_backward(bp_net *net, float *dx)
{
    return backward(net, dx, 0);
}

int bp__net_backward_fresh(bp_net *net)
{
    return backward(net, NULL, 1);
}

int bp_net_gradient(bp_net *net, bp_loss loss, int B, const float *x,
                    const float *t, int T, double *value)
{
    int rc;
    if (!net)
        return BP_EINVAL;
    bp_net_zero_grad(net);
    if ((rc = bp_net_forward(net, B, x, NULL)) != 0 ||
        (rc = bp_net_loss(net, loss, t, T, value)) != 0)
        return rc;
    return bp_net_backward(net, NULL);
}

int bp_net_evaluate(bp_net *net, bp_loss loss, int B, const float *x,
                    const float *t, int T, double *value, double *accuracy)
{
    const float *out;
    int rc;
    if (!net)
        return BP_EINVAL;
    if ((rc = bp_net_forward(net, B, x, &out)) != 0 ||
        (rc = output_loss(net, loss, t, T, value, NULL, 0)) != 0)
        return rc;
    if (accuracy)
        *accuracy = bp__net_accuracy(net, loss, B, out, t, T);
    return 0;
}

size_t bp__net_row_floats(const bp_net *net)
{
    return net->sum_acts + (size_t)bp_net_outputs(net) + (size_t)net->delta_width[0] +
           (size_t)net->delta_width[1] + net->sum_scratch;
}

int bp__net_dense_only(const bp_net *net, const char *what, bp_error *err)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind->id != BP_LAYER_DENSE) {
            char entry[96];
            bp_net_layer_spec(net, l, entry, sizeof entry);
            return bp__error_set(err, BP_EINVAL, "%s takes dense layers only; layer %d is %s",
                                 what, l + 1, entry);
        }
    return 0;
}

void bp__net_set_class_weight(bp_net *net, const float *cw)
{
    net->class_weight = cw;
}
