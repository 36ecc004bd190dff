/*
 * optim.c - the optimizers: gradient descent, SGD with (Nesterov) momentum,
 * RMSprop, Adam and AdamW over the flat parameter block, with PyTorch's
 * update rules (torch.optim, single-tensor form) in PyTorch's order.
 *
 * Invariants: the optimizer and its state live in one allocation made by
 * bp_optim_create; the state is `blocks` arrays of n floats, each in the
 * layout of the parameter block (SGD with momentum: b; RMSPROP: s; ADAM and
 * ADAMW: m then v), zero at creation. bp_optim_step allocates nothing and
 * makes one pass over the block.
 *
 * Numerics follow a float32 model under torch.optim: the per-element
 * arithmetic is float, while the scalar factors (1 - alpha, the bias
 * corrections, lr / (1 - beta1^t), 1 - lr * weight_decay) are computed in
 * double, as Python floats are, and rounded to float once per step.
 */
#include "internal.h"
#include "math/bf16.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* With GCC on x86-64, the long steps' loops are built a second time for
 * AVX-512 and picked at bp_optim_create where the CPU has it. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define OPTIM_AVX512 1
#include <immintrin.h>
#endif

struct bp_optim {
    bp_net *net;          /* borrowed */
    float *params, *grads; /* the network's, which stay put */
    bp_optim_opts opts;
    long steps;           /* steps taken */
    int blocks;           /* state blocks: 0, 1 or 2 */
    size_t n;             /* floats per block: bp_net_param_count(net) */
    bp__span *spans;      /* (bp__net_max_spans) the step's split over the threads */
    float *state;         /* (blocks, n) */
    /* a long step's loops: the update of [lo, hi) without keeping the old
     * values, and the copy of the old values to the guard's keep */
    uint32_t (*update)(bp_optim *opt, double lr, long t, size_t lo, size_t hi);
    void (*keep)(float *restrict dst, const float *restrict src, size_t n);
    /* then the spans and the state, in the one allocation */
};

static uint32_t update_chunk(bp_optim *opt, double lr, long t, size_t lo, size_t hi);
static void keep_copy(float *restrict dst, const float *restrict src, size_t n);
#ifdef OPTIM_AVX512
static uint32_t update_chunk_avx512(bp_optim *opt, double lr, long t, size_t lo, size_t hi);
static void keep_stream(float *restrict dst, const float *restrict src, size_t n);
#endif

static const char *const optim_names[] = {
    "gd", "sgd", "rmsprop", "adam", "adamw", "random",
};

const char *bp_optim_name(bp_optim_kind kind)
{
    if ((int)kind < 0 || (size_t)kind >= sizeof optim_names / sizeof optim_names[0])
        return NULL;
    return optim_names[kind];
}

int bp_optim_parse(const char *name, bp_optim_kind *out)
{
    if (!name || !out)
        return BP_EINVAL;
    for (size_t i = 0; i < sizeof optim_names / sizeof optim_names[0]; i++)
        if (strcmp(name, optim_names[i]) == 0) {
            *out = (bp_optim_kind)i;
            return 0;
        }
    return BP_EINVAL;
}

bp_optim_opts bp_optim_defaults(bp_optim_kind kind)
{
    bp_optim_opts o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.lr = (kind == BP_OPTIM_ADAM || kind == BP_OPTIM_ADAMW) ? 0.001 : 0.01;
    o.momentum = 0.0;
    o.nesterov = 0;
    o.alpha = 0.99;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = kind == BP_OPTIM_ADAMW ? 0.01 : 0.0;
    o.scale = 0.05;
    return o;
}

/* Number of state blocks the options need. */
static int state_blocks(const bp_optim_opts *o)
{
    switch (o->kind) {
    case BP_OPTIM_SGD:
        return o->momentum > 0.0 ? 1 : 0;
    case BP_OPTIM_RMSPROP:
        return 1;
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW:
        return 2;
    default:
        return 0;
    }
}

static int unit_interval(double v) /* v in [0, 1) */
{
    return v >= 0.0 && v < 1.0;
}

/* Check the fields the kind uses; 0 or BP_EINVAL with err naming the field. */
static int check_opts(const bp_optim_opts *o, bp_error *err)
{
    const bp_optim_kind k = o->kind;
    if (!bp_optim_name(k))
        return bp__error_set(err, BP_EINVAL, "optimizer: unknown kind %d", (int)k);
    if (!(isfinite(o->lr) && o->lr > 0.0))
        return bp__error_set(err, BP_EINVAL, "optimizer: lr must be a finite number > 0, got %g",
                             o->lr);
    if (k == BP_OPTIM_RANDOM) {
        if (!(isfinite(o->scale) && o->scale > 0.0))
            return bp__error_set(err, BP_EINVAL,
                                 "optimizer: scale must be a finite number > 0, got %g", o->scale);
        return 0;
    }
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0.0))
        return bp__error_set(err, BP_EINVAL,
                             "optimizer: weight_decay must be a finite number >= 0, got %g",
                             o->weight_decay);
    if (k == BP_OPTIM_SGD) {
        if (!unit_interval(o->momentum))
            return bp__error_set(err, BP_EINVAL, "optimizer: momentum must be in [0, 1), got %g",
                                 o->momentum);
        if (o->nesterov && !(o->momentum > 0.0))
            return bp__error_set(err, BP_EINVAL,
                                 "optimizer: nesterov needs momentum > 0, got momentum %g",
                                 o->momentum);
    }
    if (k == BP_OPTIM_RMSPROP && !unit_interval(o->alpha))
        return bp__error_set(err, BP_EINVAL, "optimizer: alpha must be in [0, 1), got %g",
                             o->alpha);
    if (k == BP_OPTIM_ADAM || k == BP_OPTIM_ADAMW) {
        if (!unit_interval(o->beta1))
            return bp__error_set(err, BP_EINVAL, "optimizer: beta1 must be in [0, 1), got %g",
                                 o->beta1);
        if (!unit_interval(o->beta2))
            return bp__error_set(err, BP_EINVAL, "optimizer: beta2 must be in [0, 1), got %g",
                                 o->beta2);
    }
    if (k == BP_OPTIM_RMSPROP || k == BP_OPTIM_ADAM || k == BP_OPTIM_ADAMW) {
        if (!(isfinite(o->eps) && o->eps > 0.0))
            return bp__error_set(err, BP_EINVAL,
                                 "optimizer: eps must be a finite number > 0, got %g", o->eps);
    }
    return 0;
}

bp_optim *bp_optim_create(bp_net *net, const bp_optim_opts *opts, bp_error *err)
{
    size_t n, floats, bytes;
    int blocks;
    bp_optim *opt;

    if (!net || !opts) {
        bp__error_set(err, BP_EINVAL, "optimizer: needs a network and options");
        return NULL;
    }
    if (check_opts(opts, err) != 0)
        return NULL;
    n = bp_net_param_count(net);
    blocks = state_blocks(opts);
    const size_t head = sizeof *opt + (size_t)bp__net_max_spans(net) * sizeof(bp__span);
    if (bp__mul_size(n, (size_t)blocks, &floats) != 0 ||
        bp__mul_size(floats, sizeof(float), &bytes) != 0 || bytes > SIZE_MAX - head) {
        bp__error_set(err, BP_EOVERFLOW, "optimizer: %d state blocks of %zu parameters are too large",
                      blocks, n);
        return NULL;
    }
    opt = bp__calloc(1, head + bytes);
    if (!opt) {
        bp__error_set(err, BP_ENOMEM, "optimizer: out of memory for %d state blocks of %zu parameters",
                      blocks, n);
        return NULL;
    }
    opt->spans = (bp__span *)(void *)(opt + 1);
    opt->state = (float *)(void *)(opt->spans + bp__net_max_spans(net));
    opt->net = net;
    opt->params = bp_net_params(net);
    opt->grads = bp_net_grads(net);
    opt->opts = *opts;
    opt->blocks = blocks;
    opt->n = n;
    opt->update = update_chunk;
    opt->keep = keep_copy;
#ifdef OPTIM_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        opt->update = update_chunk_avx512;
        opt->keep = keep_stream;
    }
#endif
    return opt;
}

void bp_optim_free(bp_optim *opt)
{
    bp__free(opt);
}

/* Per element, with g the gradient and wd the L2 weight decay (skipped when
 * 0, as PyTorch skips it):
 *   g = g + wd * p
 *   SGD      b = b * momentum + g  (b = g on the first step)
 *            g = g + momentum * b (nesterov) or b
 *   GD, SGD  p = p - lr * g
 *   RMSPROP  s = s * alpha + (1 - alpha) * g * g;  p = p - lr * g / (sqrt(s) + eps)
 *   ADAMW    p = p * (1 - lr * weight_decay), and no L2 term
 *   ADAM     m = m * beta1 + (1 - beta1) * g;  v = v * beta2 + (1 - beta2) * g * g
 *            p = p - step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
 *            step_size = lr / (1 - beta1^t) */
/* The update of entries [lo, hi) of the blocks, for step t (1-based), in
 * one pass: with prev, each parameter's value from before the step is kept
 * there (the training loop's guard goes back to it); returns nonzero when
 * some updated parameter is not finite. Inlined twice, with and without
 * prev, so that neither loop tests it. */
static inline __attribute__((always_inline)) uint32_t
update_elems(bp_optim *opt, double lr, long t, size_t lo, size_t hi, float *restrict prev)
{
    const bp_optim_opts *o = &opt->opts;
    /* separate blocks: restrict spares the loops their overlap tests */
    float *restrict p = opt->params;                 /* (n) */
    const float *restrict grad = opt->grads;         /* (n) */
    float *restrict s0 = opt->state;                 /* (n) b, s or m */
    float *restrict s1 = opt->state + opt->n;        /* (n) v */
    const float rate = (float)lr;
    const float wd = o->kind == BP_OPTIM_ADAMW ? 0.0f : (float)o->weight_decay;
    uint32_t bad = 0;
/* KEEP reads w = p[i]; STORE writes the new value, w to prev when there
 * is one (after the step: copied first, GCC makes the copy a separate
 * memcpy pass), and notes a value that is not finite. */
#define KEEP(i) const float w = p[i]
#define STORE(i, v)                                                                            \
    do {                                                                                       \
        const float v_ = (v);                                                                  \
        p[i] = v_;                                                                             \
        if (prev)                                                                              \
            prev[i] = w;                                                                       \
        bad |= bp__nonfinite_bits(v_);                                                         \
    } while (0)

    switch (o->kind) {
    case BP_OPTIM_GD:
        if (wd == 0.0f)
            for (size_t i = lo; i < hi; i++) {
                KEEP(i);
                STORE(i, w - rate * grad[i]);
            }
        else
            for (size_t i = lo; i < hi; i++) {
                KEEP(i);
                STORE(i, w - rate * (grad[i] + wd * w));
            }
        break;
    case BP_OPTIM_SGD: {
        const float mu = (float)o->momentum;
        const int first = opt->steps == 0, nesterov = o->nesterov != 0;
        for (size_t i = lo; i < hi; i++) {
            KEEP(i);
            float g = grad[i];
            if (wd != 0.0f)
                g = g + wd * w;
            if (opt->blocks) {
                float b = first ? g : s0[i] * mu + g;
                s0[i] = b;
                g = nesterov ? g + mu * b : b;
            }
            STORE(i, w - rate * g);
        }
        break;
    }
    case BP_OPTIM_RMSPROP: {
        const float alpha = (float)o->alpha, keep = (float)(1.0 - o->alpha);
        const float eps = (float)o->eps;
        for (size_t i = lo; i < hi; i++) {
            KEEP(i);
            float g = grad[i];
            if (wd != 0.0f)
                g = g + wd * w;
            float sq = s0[i] * alpha + keep * g * g;
            s0[i] = sq;
            STORE(i, w - rate * g / (sqrtf(sq) + eps));
        }
        break;
    }
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW: {
        const double bc1 = 1.0 - pow(o->beta1, (double)t);
        const double bc2 = 1.0 - pow(o->beta2, (double)t);
        const float beta1 = (float)o->beta1, keep1 = (float)(1.0 - o->beta1);
        const float beta2 = (float)o->beta2, keep2 = (float)(1.0 - o->beta2);
        const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
        const float eps = (float)o->eps;
        const float shrink = (float)(1.0 - lr * o->weight_decay);
        const int decoupled = o->kind == BP_OPTIM_ADAMW;
        for (size_t i = lo; i < hi; i++) {
            KEEP(i);
            float g = grad[i], ws = w;
            if (decoupled)
                ws = w * shrink;
            else if (wd != 0.0f)
                g = g + wd * w;
            float m = s0[i] * beta1 + keep1 * g;
            float v = s1[i] * beta2 + keep2 * g * g;
            s0[i] = m;
            s1[i] = v;
            STORE(i, ws - step_size * m / (sqrtf(v) / bc2_sqrt + eps));
        }
        break;
    }
    default:
        break;
    }
#undef KEEP
#undef STORE
    return bad;
}

/* Entries [lo, hi), with prev or without; with check, returns 1 when the
 * updated parameters are all finite (without, 1). */
static int update_range(bp_optim *opt, double lr, long t, float *prev, int check, size_t lo,
                        size_t hi)
{
    const uint32_t bad = prev ? update_elems(opt, lr, t, lo, hi, prev)
                              : update_elems(opt, lr, t, lo, hi, NULL);
    return !check || bad == 0;
}

static uint32_t update_chunk(bp_optim *opt, double lr, long t, size_t lo, size_t hi)
{
    return update_elems(opt, lr, t, lo, hi, NULL);
}

static void keep_copy(float *restrict dst, const float *restrict src, size_t n)
{
    memcpy(dst, src, n * sizeof *dst);
}

#ifdef OPTIM_AVX512
/* The same arithmetic in wider vectors (no contraction into FMA, so the
 * same bits). */
__attribute__((target("avx512f"))) static uint32_t update_chunk_avx512(bp_optim *opt, double lr,
                                                                      long t, size_t lo, size_t hi)
{
    return update_elems(opt, lr, t, lo, hi, NULL);
}

/* The old values go straight to memory by whole lines: the guard reads
 * them only when a step fails, and they would push the step's own data out
 * of the caches. */
__attribute__((target("avx512f"))) static void keep_stream(float *restrict dst,
                                                          const float *restrict src, size_t n)
{
    size_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 63) != 0; i++)
        dst[i] = src[i];
    for (; i + 16 <= n; i += 16)
        _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
    for (; i < n; i++)
        dst[i] = src[i];
}
#endif

/* Entries [lo, hi) of a long step, a chunk at a time while it is in L1:
 * the old values kept in prev (when not NULL), the update, and the
 * entries' bf16 copy written from half on (when not NULL). With check,
 * returns 1 when the updated parameters are all finite (without, 1). */
static int update_span(bp_optim *opt, double lr, long t, float *prev, int check, size_t lo,
                       size_t hi, uint16_t *half)
{
    enum { CHUNK = 1024 };
    uint32_t bad = 0;
    for (size_t c = lo; c < hi; c += CHUNK) {
        const size_t e = hi - c < CHUNK ? hi : c + CHUNK;
        if (prev)
            opt->keep(prev + c, opt->params + c, e - c);
        bad |= opt->update(opt, lr, t, c, e);
        if (half)
            bp__to_bf16(opt->params + c, half + (c - lo), e - c);
    }
#ifdef OPTIM_AVX512
    if (prev) /* the streamed stores seen by every thread once the step ends */
        _mm_sfence();
#endif
    return !check || bad == 0;
}

/* A step split over the threads by the network's spans. */
typedef struct step_job {
    bp_optim *opt;
    double lr;
    long t;
    float *prev;
    int check, n_spans;
    int ok[BP__MAX_BLOCKS]; /* each thread's finiteness */
} step_job;

/* Thread k of `parts`: the spans it owns and its share of the shared. */
static void step_block(void *ctx, int k, int parts)
{
    step_job *j = ctx;
    int ok = 1;
    for (int i = 0; i < j->n_spans; i++) {
        const bp__span *sp = &j->opt->spans[i];
        size_t lo = sp->lo, hi = sp->hi;
        if (sp->owner < 0) {
            const size_t len = hi - lo;
            lo = sp->lo + len * (size_t)k / (size_t)parts;
            hi = sp->lo + len * (size_t)(k + 1) / (size_t)parts;
        } else if (sp->owner % parts != k) {
            continue;
        }
        if (hi > lo)
            ok &= update_span(j->opt, j->lr, j->t, j->prev, j->check, lo, hi,
                              sp->half ? sp->half + (lo - sp->lo) : NULL);
    }
    j->ok[k] = ok;
}

int bp_optim_step(bp_optim *opt, double lr)
{
    return bp__optim_step_guarded(opt, lr, NULL, NULL);
}

int bp__optim_step_guarded(bp_optim *opt, double lr, float *prev, int *finite)
{
    if (!opt)
        return BP_EINVAL;
    const bp_optim_opts *o = &opt->opts;
    bp_net *net = opt->net;
    if (o->kind == BP_OPTIM_RANDOM) {
        bp__net_set_message(net, "optimizer: random search takes no gradient step; "
                                 "use bp_rsearch_step");
        return BP_EINVAL;
    }
    if (!(isfinite(lr) && lr >= 0.0)) {
        bp__net_set_message(net, "optimizer: the learning rate must be a finite number >= 0, got %g",
                            lr);
        return BP_EINVAL;
    }

    switch (o->kind) {
    case BP_OPTIM_GD:
    case BP_OPTIM_SGD:
    case BP_OPTIM_RMSPROP:
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW:
        break;
    default:
        bp__net_set_message(net, "optimizer: unknown kind %d", (int)o->kind);
        return BP_EINVAL;
    }
    const size_t n = opt->n;
    const long t = opt->steps < LONG_MAX ? opt->steps + 1 : LONG_MAX;
    /* Element-wise, so any split gives the same bits; a long step runs on
     * the threads, each on the spans its caches hold (bp__net_spans). */
    const int parts = bp__elem_blocks(n);
    /* bf16 products: their copies of the weights written in this pass */
    const int half = bp_net_precision(net) == BP_PRECISION_BF16;
    int ok = 1;
    if (n < BP__PARALLEL_ELEMS && !half) { /* a short step: one pass, without the job */
        ok = update_range(opt, lr, t, prev, finite != NULL, 0, n);
    } else {
        /* Field by field: an initializer would clear all BP__MAX_BLOCKS
         * flags every step, and each block sets its own before it is read. */
        step_job job;
        job.opt = opt;
        job.lr = lr;
        job.t = t;
        job.prev = prev;
        job.check = finite != NULL;
        job.n_spans = bp__net_spans(net, parts, opt->spans);
        bp__for_blocks(parts, parts, step_block, &job);
        for (int k = 0; k < parts; k++)
            ok = ok && job.ok[k];
        if (half)
            bp__net_half_written(net);
    }
    if (finite)
        *finite = ok;
    opt->steps = t;
    return 0;
}

long bp_optim_steps(const bp_optim *opt)
{
    return opt ? opt->steps : 0;
}

int bp_optim_state_blocks(const bp_optim *opt)
{
    return opt ? opt->blocks : 0;
}

float *bp_optim_state(bp_optim *opt, int block)
{
    if (!opt || block < 0 || block >= opt->blocks)
        return NULL;
    return opt->state + (size_t)block * opt->n;
}

void bp_optim_set_steps(bp_optim *opt, long steps)
{
    if (opt)
        opt->steps = steps > 0 ? steps : 0;
}
