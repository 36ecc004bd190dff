/*
 * train.c - the training loop: epochs over a data set in full or mini
 * batches (reshuffled every epoch by the run's seeded generator; a full
 * batch keeps the data's order and is gathered once), an
 * optimizer step per batch at the schedule's rate, validation after every
 * epoch, early stopping that restores the best weights, gradient clipping,
 * dropout, and the guard that stops on the first non-finite loss or
 * gradient while the weights are still the last good ones.
 *
 * Everything is allocated before the first epoch; the loop itself
 * allocates nothing.
 */
#include "internal.h"
#include "io/checkpoint.h"

#include <math.h>
#include <string.h>

bp_train_opts bp_train_defaults(void)
{
    bp_train_opts o;
    memset(&o, 0, sizeof o);
    o.loss = BP_LOSS_MSE;
    o.epochs = 10;
    o.batch = 32;
    o.shuffle = 1;
    o.seed = 0;
    o.optim = bp_optim_defaults(BP_OPTIM_SGD);
    o.schedule.kind = BP_SCHED_CONSTANT;
    o.schedule.gamma = 0.1;
    o.schedule.step_size = 10;
    o.patience = 0;
    o.norms = 1;
    return o;
}

/* Everything one run needs, allocated once. */
typedef struct run {
    bp_net *net;
    const bp_train_opts *opts;
    bp_rng rng;
    int B, I, T, O, eval_rows;
    size_t n_train, n_val;
    size_t *order;          /* (n_train) training rows, reshuffled per epoch */
    size_t *val_rows;       /* (n_val) rows of the validation set */
    const bp_dataset *train, *val;  /* val may be the training set (split) */
    float *xb, *tb;         /* (eval_rows, I), (eval_rows, T) batch buffers */
    void *xb_mem;           /* their allocation; xb starts on a cache line */
    float *best;            /* (P + S) best weights, then the network's state (running
                             * statistics) at the same epoch, for early stopping */
    float *prev;            /* (P) the weights before the current step */
    double *layer_norm;     /* (layers) per-layer gradient norms of the last batch */
    bp_optim *optim;
    bp_schedule sched;      /* the options' schedule from the optimizer's rate */
    double lr;              /* the rate of the last step taken */
    bp_rsearch *rsearch;
    bp__shard_work shard;   /* data-parallel parts (opts->shard) */
    int classify;           /* accuracy is meaningful */
} run;

/* Rows of an evaluation batch: `want`, fewer when the network's workspace
 * for them would pass EVAL_BYTES (an image network's activations and
 * unfolded columns run to hundreds of KB a row), never fewer than floor. */
#define EVAL_BYTES 32e6
static int eval_rows(const bp_net *net, int want, int floor)
{
    const double per_row = 4.0 * (double)bp__net_row_floats(net);
    int fit = (int)(EVAL_BYTES / per_row);
    fit = fit < want ? fit : want;
    return fit > floor ? fit : floor;
}

static void run_free(run *r)
{
    bp__free(r->order);
    bp__free(r->xb_mem);
    bp__free(r->best);
    bp__free(r->prev);
    bp__free(r->layer_norm);
    bp_optim_free(r->optim);
    bp_rsearch_free(r->rsearch);
    bp__shard_free(&r->shard);
}

/* Fisher-Yates with the run's generator. */
static void shuffle(bp_rng *rng, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bp_rng_below(rng, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* The inputs of ds against net's: the same width, and the same CxHxW when
 * both are images (a flat side reads the other flattened). A spatial side
 * is named with its shape: "784 inputs (1x28x28)". */
static int check_inputs(const bp_net *net, const bp_dataset *ds, const char *what,
                        bp_error *err)
{
    const bp_shape ns = bp_net_input_shape(net);
    bp_shape dshape;
    bp_dataset_shape(ds, &dshape.c, &dshape.h, &dshape.w);
    const int I = bp_net_inputs(net), inputs = bp_dataset_inputs(ds);
    const int n_img = ns.h > 0, d_img = dshape.h > 0;
    const char *w = what ? what : "", *sp = what ? " " : ""; /* "the training data" */
    char nt[40], dt[40];
    bp__spec_shape(ns, nt, sizeof nt);
    bp__spec_shape(dshape, dt, sizeof dt);
    if (inputs != I)
        return bp__error_set(err, BP_ESHAPE, "the %s%sdata have %d input%s%s%s%s; the network "
                             "takes %d%s%s%s", w, sp, inputs, inputs == 1 ? "" : "s",
                             d_img ? " (" : "", d_img ? dt : "", d_img ? ")" : "", I,
                             n_img ? " (" : "", n_img ? nt : "", n_img ? ")" : "");
    if (n_img && d_img && (ns.c != dshape.c || ns.h != dshape.h || ns.w != dshape.w))
        return bp__error_set(err, BP_ESHAPE, "the %s%sdata are %s images; the network takes %s "
                             "(the same %d inputs in another shape)", w, sp, dt, nt, I);
    return 0;
}

int bp_net_check_inputs(const bp_net *net, const bp_dataset *ds, const char *what,
                        bp_error *err)
{
    if (!net || !ds)
        return bp__error_set(err, BP_EINVAL, "checking data needs a network and data");
    return check_inputs(net, ds, what, err);
}

static int check_data(const bp_net *net, const bp_dataset *ds, const char *what,
                      bp_loss loss, bp_error *err)
{
    int O = bp_net_outputs(net), rc;
    int T = bp_dataset_target_cols(ds), classes = bp_dataset_classes(ds);
    const char *w = what ? what : "", *sp = what ? " " : ""; /* "the training data" */
    if ((rc = check_inputs(net, ds, what, err)) != 0)
        return rc;
    if (bp_dataset_rows(ds) == 0)
        return bp__error_set(err, BP_EINVAL, "the %s%sdata have no rows", w, sp);
    if (loss == BP_LOSS_CCE && O > 1 && T == 1) {
        if (classes <= 0)
            return bp__error_set(err, BP_ESHAPE,
                                 "the %s%sdata have numeric targets; cce on %d outputs needs "
                                 "class labels", w, sp, O);
        if (classes > O)
            return bp__error_set(err, BP_ESHAPE,
                                 "the %s%sdata have %d classes; the network has %d outputs", w, sp,
                                 classes, O);
    } else if (T != O) {
        return bp__error_set(err, BP_ESHAPE,
                             "the %s%sdata have %d target column%s; the network has %d "
                             "output%s (loss %s)",
                             w, sp, T, T == 1 ? "" : "s", O, O == 1 ? "" : "s", bp_loss_name(loss));
    }
    return 0;
}

int bp_net_check_data(const bp_net *net, bp_loss loss, const bp_dataset *ds, const char *what,
                      bp_error *err)
{
    if (!net || !ds)
        return bp__error_set(err, BP_EINVAL, "checking data needs a network and data");
    return check_data(net, ds, what, loss, err);
}

/* Loss and accuracy over rows of ds, in chunks; the caller has set
 * evaluation mode. */
static int evaluate(run *r, const bp_dataset *ds, const size_t *rows, size_t n,
                    double *loss, double *acc)
{
    double lsum = 0.0, asum = 0.0;
    int rc = 0;
    bp__net_set_class_weight(r->net, NULL); /* validation reports the plain loss */
    for (size_t s = 0; s < n; s += (size_t)r->eval_rows) {
        int b = (int)(n - s < (size_t)r->eval_rows ? n - s : (size_t)r->eval_rows);
        double l, a = 0.0;
        rc = bp_dataset_gather(ds, rows ? rows + s : NULL, s, b, r->xb, r->tb);
        if (rc == 0)
            rc = bp_net_evaluate(r->net, r->opts->loss, b, r->xb, r->tb, r->T, &l,
                                 r->classify ? &a : NULL);
        if (rc != 0)
            break;
        lsum += l * b;
        asum += a * b;
    }
    bp__net_set_class_weight(r->net, r->opts->class_weight);
    if (rc != 0)
        return rc;
    *loss = lsum / (double)n;
    *acc = r->classify ? asum / (double)n : -1.0;
    return 0;
}

/* The global gradient norm, and each layer's into layer_norm; when it is not
 * finite, *bad_layer gets the first layer whose gradient holds a non-finite
 * value. The global sum runs in block order, whatever the layers. */
static double grad_norm(bp_net *net, double *layer_norm, int *bad_layer)
{
    const float *g = bp_net_grads(net);
    double s = 0.0;
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        size_t cnt = bp__layer_params(L);
        /* Eight partial sums in a fixed order: independent chains that
         * vectorize, the same bits every run. */
        double part[8] = {0};
        size_t i = L->w_off, end = L->w_off + cnt;
        for (; i + 8 <= end; i += 8)
            for (int u = 0; u < 8; u++)
                part[u] += (double)g[i + u] * (double)g[i + u];
        double ls = ((part[0] + part[4]) + (part[1] + part[5])) +
                    ((part[2] + part[6]) + (part[3] + part[7]));
        for (; i < end; i++)
            ls += (double)g[i] * (double)g[i];
        s += ls;
        layer_norm[l] = sqrt(ls);
    }
    *bad_layer = -1;
    if (!isfinite(s)) {
        for (int l = 0; l < bp_net_layers(net) && *bad_layer < 0; l++) {
            const bp__layer *L = bp__net_layer(net, l);
            size_t cnt = bp__layer_params(L);
            for (size_t i = L->w_off; i < L->w_off + cnt; i++)
                if (!isfinite(g[i])) {
                    *bad_layer = l;
                    break;
                }
        }
        if (*bad_layer < 0)
            *bad_layer = 0; /* finite entries whose squares overflow */
    }
    return sqrt(s);
}

/* The first layer holding a non-finite parameter, or -1. */
static int nonfinite_layer(bp_net *net)
{
    const float *p = bp_net_params(net);
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        size_t cnt = bp__layer_params(L);
        for (size_t i = L->w_off; i < L->w_off + cnt; i++)
            if (!isfinite(p[i]))
                return l;
    }
    return -1;
}

static int setup(run *r, bp_net *net, const bp_dataset *train, const bp_dataset *val,
                 const bp_train_opts *o, bp_error *err)
{
    int rc;
    size_t n = bp_dataset_rows(train);
    memset(r, 0, sizeof *r);
    r->net = net;
    r->opts = o;
    bp_rng_seed(&r->rng, o->seed);
    if (o->epochs <= 0 || o->batch < 0 || !(o->val_split >= 0.0 && o->val_split < 1.0) ||
        o->patience < 0 || !(o->clip_norm >= 0.0) || !(o->dropout >= 0.0 && o->dropout < 1.0))
        return bp__error_set(err, BP_EINVAL,
                             "training options: epochs must be > 0 (got %d), batch >= 0 (got %d), "
                             "val_split in [0, 1) (got %g), patience >= 0 (got %d), clip_norm >= 0 "
                             "(got %g), dropout in [0, 1) (got %g)",
                             o->epochs, o->batch, o->val_split, o->patience, o->clip_norm,
                             o->dropout);
    if ((rc = check_data(net, train, "training", o->loss, err)) != 0 ||
        (val && (rc = check_data(net, val, "validation", o->loss, err)) != 0))
        return rc;
    if (o->class_weight) {
        char msg[160];
        if ((rc = bp__class_weight_check(o->loss, bp_net_outputs(net), o->class_weight, msg,
                                         sizeof msg)) != 0)
            return bp__error_set(err, rc, "training options: %s", msg);
        if (o->shard.parts > 0)
            return bp__error_set(err, BP_EINVAL, "training options: class weights cannot be "
                                 "used with sharded batches");
        bp__net_set_class_weight(net, o->class_weight);
    }
    if (val && bp_dataset_target_cols(val) != bp_dataset_target_cols(train))
        return bp__error_set(err, BP_ESHAPE, "validation data have %d target columns, training data %d",
                             bp_dataset_target_cols(val), bp_dataset_target_cols(train));
    r->I = bp_net_inputs(net);
    r->O = bp_net_outputs(net);
    r->T = bp_dataset_target_cols(train);
    /* Accuracy means something for the classification losses only (integer
     * regression targets are classes to the data set, not to MSE). */
    r->classify = o->loss == BP_LOSS_CCE || o->loss == BP_LOSS_BCE;
    r->train = train;
    r->val = val;

    r->order = bp__calloc(n, sizeof *r->order);
    if (!r->order)
        return bp__error_set(err, BP_ENOMEM, "out of memory for %zu row indices", n);
    for (size_t i = 0; i < n; i++)
        r->order[i] = i;
    r->n_train = n;
    if (!val && o->val_split > 0.0) {
        size_t nv = (size_t)floor(o->val_split * (double)n);
        if (nv == 0 || nv >= n)
            return bp__error_set(err, BP_EINVAL,
                                 "val_split %g of %zu rows leaves %zu for validation and %zu for training",
                                 o->val_split, n, nv, n - nv);
        shuffle(&r->rng, r->order, n);
        r->n_train = n - nv;
        r->n_val = nv;
        r->val_rows = r->order + r->n_train;
        r->val = train;
    } else if (val) {
        r->n_val = bp_dataset_rows(val);
    }

    r->B = o->batch == 0 || (size_t)o->batch > r->n_train ? (int)(r->n_train > 1u << 30 ? 1u << 30 : r->n_train)
                                                           : o->batch;
    r->eval_rows = eval_rows(net, r->B > 256 ? r->B : 256, r->B);
    size_t cells, tcells;
    if (bp__mul_size((size_t)r->eval_rows, (size_t)r->I + (size_t)r->T, &cells) ||
        bp__mul_size(cells, sizeof(float), &tcells))
        return bp__error_set(err, BP_EOVERFLOW, "batch of %d rows is too large", r->eval_rows);
    /* on a cache line, so that a large batch's rows stream by whole lines */
    r->xb = bp__malloc_line(tcells, &r->xb_mem);
    if (!r->xb)
        return bp__error_set(err, BP_ENOMEM, "out of memory for a batch of %d rows", r->eval_rows);
    r->tb = r->xb + (size_t)r->eval_rows * (size_t)r->I;

    if (o->patience > 0 && r->n_val > 0) {
        r->best = bp__calloc(bp_net_param_count(net) + bp_net_state_count(net),
                             sizeof(float));
        if (!r->best)
            return bp__error_set(err, BP_ENOMEM, "out of memory for a copy of the weights");
    }
    if (!(r->prev = bp__calloc(bp_net_param_count(net), sizeof(float))))
        return bp__error_set(err, BP_ENOMEM, "out of memory for a copy of the weights");
    if (!(r->layer_norm = bp__calloc((size_t)bp_net_layers(net), sizeof(double))))
        return bp__error_set(err, BP_ENOMEM, "out of memory for the layer norms");
    if (o->optim.kind == BP_OPTIM_RANDOM) {
        if (!(r->rsearch = bp_rsearch_create(net, o->optim.scale, err)))
            return err ? err->code : BP_ENOMEM;
    } else if (!(r->optim = bp_optim_create(net, &o->optim, err))) {
        return err ? err->code : BP_ENOMEM;
    }
    r->sched = o->schedule;
    r->sched.base = o->optim.lr;
    if ((rc = bp_schedule_check(&r->sched, err)) != 0)
        return rc;
    /* the options' dropout, whatever the network was set to before */
    if ((rc = bp_net_set_dropout(net, o->dropout, o->dropout > 0.0 ? &r->rng : NULL)) != 0)
        return bp__error_set(err, rc, "%s", bp_net_message(net));
    if ((rc = bp_net_reserve(net, r->eval_rows)) != 0)
        return bp__error_set(err, rc, "%s", bp_net_message(net));
    return bp__shard_setup(o, net, &r->shard, err);
}

/* The gather's hook: the first layer's bf16 input of the rows it wrote. */
static void keep_rows(void *net, int b0, int b1, const float *x)
{
    bp__net_keep_input(net, b0, b1, x);
}

/* One batch: gradient, guard, clipping, step. Returns 0, or 1 when a
 * non-finite value stopped training, or a negative error. The gradient
 * norms (*norm and the layers') are measured when want_norm is set or
 * clipping needs them; otherwise only the gradient's finiteness is
 * checked, which costs far less than the norm's long chain of double
 * adds. */
static int batch_step(run *r, int B, long step, int want_norm, double *loss, double *acc,
                      double *norm, int *bad_layer)
{
    const bp_train_opts *o = r->opts;
    bp_net *net = r->net;
    const float *out;
    int rc;
    *acc = 0.0;
    if (r->rsearch) {
        rc = bp_rsearch_step(r->rsearch, &r->rng, o->loss, B, r->xb, r->tb, r->T, loss, NULL);
        *norm = 0.0;
        *bad_layer = -1;
        if (rc == 0 && !isfinite(*loss))
            return 1;
        return rc;
    }
    if (o->shard.parts > 0) {
        /* the batch's parts, summed over every process */
        if ((rc = bp__shard_gradient(&o->shard, &r->shard, net, o->loss, B, r->xb, r->tb, r->T,
                                     r->classify, loss, acc)) != 0)
            return rc;
        if (!isfinite(*loss)) {
            *bad_layer = -1;
            return 1;
        }
    } else {
        /* the targets were checked when the batch was gathered */
        if ((rc = bp_net_forward(net, B, r->xb, &out)) != 0 ||
            (rc = bp__net_loss_checked(net, o->loss, r->tb, r->T, loss)) != 0)
            return rc;
        if (r->classify)
            *acc = bp__net_accuracy(net, o->loss, B, out, r->tb, r->T);
        if (!isfinite(*loss)) {
            *bad_layer = -1;
            return 1;
        }
        if ((rc = bp__net_backward_fresh(net)) != 0)
            return rc;
    }
    /* A non-finite gradient needs no test of its own: it makes the stepped
     * weights non-finite too (inf and NaN survive every optimizer's update,
     * even at a rate of 0), and the step's own check below catches them. */
    if (want_norm || o->clip_norm > 0.0) {
        *norm = grad_norm(net, r->layer_norm, bad_layer);
        if (!isfinite(*norm))
            return 1;
    }
    if (o->clip_norm > 0.0 && *norm > o->clip_norm) {
        float s = (float)(o->clip_norm / (*norm + 1e-6));
        float *g = bp_net_grads(net);
        for (size_t i = 0, n = bp_net_param_count(net); i < n; i++)
            g[i] *= s;
    }
    /* A finite gradient can still step a weight out of range: keep the
     * weights from before the step, and go back to them if it does. */
    size_t P = bp_net_param_count(net);
    int finite;
    r->lr = bp_schedule_lr(&r->sched, step);
    if ((rc = bp__optim_step_guarded(r->optim, r->lr, r->prev, &finite)) != 0)
        return rc;
    if (!finite) {
        /* the layer whose gradient was not finite, else whose weights */
        *norm = grad_norm(net, r->layer_norm, bad_layer);
        if (isfinite(*norm))
            *bad_layer = nonfinite_layer(net);
        memcpy(bp_net_params(net), r->prev, P * sizeof(float));
        return 1;
    }
    return 0;
}

/* How many epochs the next timed group holds, from the last group's time
 * per epoch: about BP_TIMED_SECONDS of them, one when an epoch takes that
 * long. Reading the clock (clock_gettime, 25-30 ns under KVM) after every
 * epoch took a seventh of the lessons' 2-2-1 network's epoch. */
int bp__timed_group(double per_epoch)
{
    enum { MOST = 4096 };
    if (!(per_epoch > 0.0) || per_epoch * MOST < BP_TIMED_SECONDS)
        return MOST;
    const double k = BP_TIMED_SECONDS / per_epoch;
    return k < 1.0 ? 1 : (int)k;
}

/* Early stopping's copy of the network: the weights (P), then the state
 * block (S), since batch norm's running statistics belong to its weights. */
static void keep_best(bp_net *net, float *best)
{
    const size_t P = bp_net_param_count(net);
    memcpy(best, bp_net_params(net), P * sizeof(float));
    memcpy(best + P, bp_net_state(net), bp_net_state_count(net) * sizeof(float));
}

static void restore_best(bp_net *net, const float *best)
{
    const size_t P = bp_net_param_count(net);
    memcpy(bp_net_params(net), best, P * sizeof(float));
    memcpy(bp_net_state(net), best + P, bp_net_state_count(net) * sizeof(float));
}

/* The run's state at a position, borrowing the run's buffers, handed to
 * the checkpoint callback; nonzero when the callback asks to stop. */
static int checkpoint(run *r, int epoch, long batch, long step, double lsum, double asum,
                      double norm, int since_best, const bp_train_result *res)
{
    char spec[4096];
    bp_train_state s;
    memset(&s, 0, sizeof s);
    if (bp_net_spec(r->net, spec, sizeof spec) >= (int)sizeof spec)
        spec[0] = '\0';
    s.spec = spec;
    s.P = bp_net_param_count(r->net);
    s.n_rows = bp_dataset_rows(r->train);
    s.blocks = bp_optim_state_blocks(r->optim);
    s.optim_steps = bp_optim_steps(r->optim);
    s.params = bp_net_params(r->net);
    s.optim = s.blocks ? bp_optim_state(r->optim, 0) : NULL;
    s.best = r->best;
    s.S = bp_net_state_count(r->net);
    s.state = bp_net_state(r->net);
    s.order = r->order;
    s.rng = r->rng;
    s.epoch = epoch;
    s.batch = batch;
    s.step = step;
    s.lsum = lsum;
    s.asum = asum;
    s.norm = norm;
    s.since_best = since_best;
    s.best_epoch = res->best_epoch;
    s.best_val_loss = res->best_val_loss;
    return r->opts->on_checkpoint(&s, r->opts->ctx);
}

/* Put the run where a checkpoint left it, having checked that it fits. */
static int restore(run *r, const bp_train_state *s, bp_train_result *res, bp_error *err)
{
    char spec[4096];
    size_t P = bp_net_param_count(r->net);
    long batches = (long)((r->n_train + (size_t)r->B - 1) / (size_t)r->B);
    if (r->rsearch)
        return bp__error_set(err, BP_EINVAL, "random search cannot resume from a checkpoint");
    bp_net_spec(r->net, spec, sizeof spec);
    if (strcmp(spec, s->spec) != 0 || s->P != P)
        return bp__error_set(err, BP_ESHAPE, "the checkpoint is of the network %s; this run "
                             "trains %s", s->spec, spec);
    if (s->n_rows != bp_dataset_rows(r->train))
        return bp__error_set(err, BP_ESHAPE, "the checkpoint is of %zu training rows; this run "
                             "has %zu", s->n_rows, bp_dataset_rows(r->train));
    if (s->blocks != bp_optim_state_blocks(r->optim) || !s->best != !r->best)
        return bp__error_set(err, BP_EINVAL, "the checkpoint holds %d optimizer state blocks "
                             "%s the best weights; this run's options need %d %s them",
                             s->blocks, s->best ? "and" : "without", bp_optim_state_blocks(r->optim),
                             r->best ? "and" : "without");
    if (s->epoch > r->opts->epochs || s->batch > batches)
        return bp__error_set(err, BP_EINVAL, "the checkpoint stands at epoch %d, batch %ld; this "
                             "run has %d epochs of %ld batches", s->epoch, s->batch,
                             r->opts->epochs, batches);
    if (s->S != bp_net_state_count(r->net))
        return bp__error_set(err, BP_ESHAPE, "the checkpoint holds %zu state values (running "
                             "statistics); this run's network has %zu", s->S,
                             bp_net_state_count(r->net));
    memcpy(bp_net_params(r->net), s->params, P * sizeof(float));
    if (s->S) /* no state: s->state is NULL */
        memcpy(bp_net_state(r->net), s->state, s->S * sizeof(float));
    for (int k = 0; k < s->blocks; k++)
        memcpy(bp_optim_state(r->optim, k), s->optim + (size_t)k * P, P * sizeof(float));
    bp_optim_set_steps(r->optim, s->optim_steps);
    if (r->best)
        memcpy(r->best, s->best, (P + s->S) * sizeof(float));
    memcpy(r->order, s->order, s->n_rows * sizeof *r->order);
    r->rng = s->rng;
    res->best_epoch = s->best_epoch;
    res->best_val_loss = s->best_val_loss;
    return 0;
}

int bp_train(bp_net *net, const bp_dataset *train, const bp_dataset *val,
             const bp_train_opts *opts, bp_train_result *res, bp_error *err)
{
    run r;
    bp_train_result local;
    int rc;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->best_val_loss = NAN;
    if (!net || !train || !opts)
        return bp__error_set(err, BP_EINVAL, "training needs a network, data and options");
    if ((rc = setup(&r, net, train, val, opts, err)) != 0)
        goto done;

    long step = 0, first_batch = 0;
    int since_best = 0, first_epoch = 1, gathered = 0;
    double lsum0 = 0.0, asum0 = 0.0, norm0 = 0.0;   /* a resumed epoch's sums so far */
    const bp_train_state *rs = opts->resume;
    if (rs) {
        if ((rc = restore(&r, rs, res, err)) != 0)
            goto done;
        step = rs->step;
        since_best = rs->since_best;
        first_epoch = rs->epoch;
        first_batch = rs->batch;
        lsum0 = rs->lsum;
        asum0 = rs->asum;
        norm0 = rs->norm;
    }
    if (opts->on_checkpoint && r.rsearch) {
        rc = bp__error_set(err, BP_EINVAL, "random search keeps no checkpoints");
        goto done;
    }
    /* An epoch's time runs from the previous reading of the clock (the
     * start, for the first) to the end of its own work, so it includes the
     * callbacks in between. Epochs with validation are timed one by one;
     * short ones without it in groups (see bp__timed_group). */
    double t0 = bp__seconds();
    int group = 1, in_group = 0;
    const long batches = (long)((r.n_train + (size_t)r.B - 1) / (size_t)r.B);
    for (int epoch = first_epoch; epoch <= opts->epochs; epoch++) {
        const long step0 = step;
        double lsum = lsum0, asum = asum0, norm = norm0;
        /* A resumed epoch keeps the order it was shuffled into; one batch
         * holds every row whatever their order, so it is not shuffled. */
        if (opts->shuffle && first_batch == 0 && batches > 1)
            shuffle(&r.rng, r.order, r.n_train);
        for (long b = first_batch; b < batches; b++) {
            size_t first = (size_t)b * (size_t)r.B;
            int B = (int)(r.n_train - first < (size_t)r.B ? r.n_train - first : (size_t)r.B);
            double loss = 0.0, acc = 0.0;
            int bad_layer = -1;
            /* training mode for the step: dropout, batch statistics */
            if ((rc = bp_net_set_training(net, 1, &r.rng)) != 0) {
                bp__error_set(err, rc, "%s", bp_net_message(net));
                goto done;
            }
            /* the one batch of a full-batch run is the same every epoch */
            if (!(batches == 1 && gathered)) {
                /* the next batch's rows are asked for now, while this one
                 * trains: shuffled rows come from memory, not the caches */
                const size_t after = first + (size_t)B, left = r.n_train - after;
                /* a bf16 first layer's input converted as the rows are written */
                const int keep = !r.rsearch && opts->shard.parts == 0 && bp__net_takes_input(net, B);
                if ((rc = bp__dataset_gather_ahead(train, r.order + first, B, r.xb, r.tb,
                                                   b + 1 < batches ? r.order + after : NULL,
                                                   left < (size_t)r.B ? left : (size_t)r.B,
                                                   keep ? keep_rows : NULL, net)) != 0) {
                    bp__error_set(err, rc, "reading training batch %ld failed", b + 1);
                    goto done;
                }
                if (keep)
                    bp__net_input_kept(net, r.xb, B);
                if (!r.rsearch && (rc = bp__net_check_targets(net, opts->loss, B, r.tb, r.T)) != 0) {
                    bp__error_set(err, rc, "%s", bp_net_message(net));
                    goto done;
                }
                gathered = 1;
            }
            /* the epoch's figures report the norms of its last batch */
            rc = batch_step(&r, B, step, opts->norms && b + 1 == batches, &loss, &acc, &norm,
                            &bad_layer);
            if (rc < 0) {
                bp__error_set(err, rc, "%s", bp_net_message(net));
                goto done;
            }
            if (rc == 1) {
                res->nonfinite = 1;
                res->bad_epoch = epoch;
                res->bad_batch = b + 1;
                res->bad_layer = bad_layer;
                rc = 0;
                goto done;
            }
            step++;
            lsum += loss * B;
            asum += acc * B;
            if (opts->on_batch && opts->on_batch(epoch, b + 1, batches, loss, opts->ctx)) {
                res->stopped = 1;
                if (opts->on_checkpoint)
                    checkpoint(&r, epoch, b + 1, step, lsum, asum, norm, since_best, res);
                break;
            }
            if (opts->on_checkpoint &&
                (opts->checkpoint_every > 0 ? step % opts->checkpoint_every == 0 : b + 1 == batches) &&
                checkpoint(&r, epoch, b + 1, step, lsum, asum, norm, since_best, res)) {
                res->stopped = 1;
                break;
            }
        }
        in_group++;
        const int timed = r.n_val > 0 || in_group >= group || epoch == opts->epochs || res->stopped;
        const double t_batches = timed ? bp__seconds() : NAN;
        first_batch = 0;
        lsum0 = asum0 = norm0 = 0.0;
        bp_net_set_training(net, 0, NULL); /* evaluation mode for the figures */
        /* The figures go straight into res->last, every field set (for the
         * lessons' network, clearing and copying a separate struct took a
         * twentieth of an epoch's time). */
        bp_epoch_stats *const st = &res->last;
        st->best = 0;
        st->timed_epochs = 0;
        st->epoch = epoch;
        st->epochs = opts->epochs;
        st->steps = step;
        /* the rate of the epoch's last step, kept from the step itself: for
         * the lessons' network, computing it again here cost 54
         * instructions and a tenth of an epoch's time */
        st->lr = step > step0 && !r.rsearch ? r.lr : bp_schedule_lr(&r.sched, step > 0 ? step - 1 : 0);
        st->train_loss = lsum / (double)r.n_train;
        st->train_accuracy = r.classify && !r.rsearch ? asum / (double)r.n_train : -1.0;
        st->grad_norm = norm;
        st->layer_grad_norm =
            r.rsearch || !(opts->norms || opts->clip_norm > 0.0) ? NULL : r.layer_norm;
        st->val_loss = NAN;
        st->val_accuracy = -1.0;
        if (r.n_val > 0) {
            if ((rc = evaluate(&r, r.val, r.val_rows, r.n_val, &st->val_loss, &st->val_accuracy)) != 0) {
                bp__error_set(err, rc, "%s", bp_net_message(net));
                goto done;
            }
            if (!(st->val_loss >= res->best_val_loss)) { /* first, or lower */
                res->best_val_loss = st->val_loss;
                res->best_epoch = epoch;
                st->best = 1;
                since_best = 0;
                if (r.best)
                    keep_best(net, r.best);
            } else {
                since_best++;
            }
        }
        st->train_seconds = st->seconds = NAN;
        if (timed) {
            const double now = r.n_val > 0 ? bp__seconds() : t_batches;
            st->train_seconds = t_batches - t0;
            st->seconds = now - t0;
            st->timed_epochs = in_group;
            group = bp__timed_group(st->seconds / in_group);
            in_group = 0;
            t0 = now;
        }
        res->epochs_run = epoch;
        res->steps = step;
        if (opts->on_epoch && opts->on_epoch(st, opts->ctx))
            res->stopped = 1;
        if (res->stopped)
            break;
        if (r.best && since_best >= opts->patience) {
            res->early_stopped = 1;
            break;
        }
    }
    if (r.best && res->best_epoch > 0) /* the best weights with their statistics */
        restore_best(net, r.best);
    rc = 0;
done:
    bp_net_set_dropout(net, 0.0, NULL);
    bp_net_set_training(net, 0, NULL);
    if (net)
        bp__net_set_class_weight(net, NULL);
    run_free(&r);
    return rc;
}

int bp_evaluate(bp_net *net, const bp_dataset *ds, bp_loss loss, double *value,
                double *accuracy, bp_error *err)
{
    run r;
    bp_train_opts o = bp_train_defaults();
    int rc;
    if (!net || !ds)
        return bp__error_set(err, BP_EINVAL, "evaluation needs a network and data");
    o.loss = loss;
    memset(&r, 0, sizeof r);
    r.net = net;
    r.opts = &o;
    if ((rc = check_data(net, ds, NULL, loss, err)) != 0)
        return rc;
    r.I = bp_net_inputs(net);
    r.O = bp_net_outputs(net);
    r.T = bp_dataset_target_cols(ds);
    r.classify = loss == BP_LOSS_CCE || loss == BP_LOSS_BCE;
    size_t n = bp_dataset_rows(ds);
    r.eval_rows = eval_rows(net, n < 1024 ? (int)n : 1024, 1);
    r.xb = bp__calloc((size_t)r.eval_rows * ((size_t)r.I + (size_t)r.T), sizeof(float));
    if (!r.xb)
        return bp__error_set(err, BP_ENOMEM, "out of memory for a batch of %d rows", r.eval_rows);
    r.tb = r.xb + (size_t)r.eval_rows * (size_t)r.I;
    double v = 0.0, a = -1.0;
    bp_net_set_training(net, 0, NULL);
    rc = evaluate(&r, ds, NULL, n, &v, &a);
    if (rc != 0)
        bp__error_set(err, rc, "%s", bp_net_message(net));
    bp__free(r.xb);
    if (value)
        *value = v;
    if (accuracy)
        *accuracy = a;
    return rc;
}

int bp__evaluate_check(const bp_net *net, const bp_dataset *ds, bp_loss loss, bp_error *err)
{
    return check_data(net, ds, "evaluation", loss, err);
}
