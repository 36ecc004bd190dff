/*
 * test_train.c - the training loop: convergence on small problems under
 * each optimizer, bitwise reproducibility from a seed, early stopping that
 * restores the best weights, the non-finite guard, callbacks, clipping,
 * dropout, argument checks, no allocation inside the loop, and the timing
 * of epochs (short ones in groups).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

static bp_dataset *load(const char *spec, uint64_t seed)
{
    bp_error err;
    bp_dataset *ds = bp_dataset_load(spec, seed, &err);
    if (!ds)
        fail_msg("%s: %s", spec, err.message);
    return ds;
}

static void train_ok(bp_net *net, const bp_dataset *tr, const bp_dataset *val,
                     const bp_train_opts *o, bp_train_result *res)
{
    bp_error err;
    int rc = bp_train(net, tr, val, o, res, &err);
    if (rc != 0)
        fail_msg("bp_train: %s (%s)", err.message, bp_strerror(rc));
}

static void test_xor_each_optimizer(void **state)
{
    (void)state;
    static const struct {
        bp_optim_kind kind;
        double lr;
        int epochs;
    } cases[] = {
        {BP_OPTIM_GD, 2.0, 2000},  {BP_OPTIM_SGD, 0.5, 1000},    {BP_OPTIM_RMSPROP, 0.02, 1000},
        {BP_OPTIM_ADAM, 0.05, 600}, {BP_OPTIM_ADAMW, 0.05, 600},
    };
    bp_dataset *xor = load("xor", 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_net *net = tu_net("2,8:tanh,1:sigmoid");
        bp_rng rng;
        bp_rng_seed(&rng, 3);
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0));
        bp_train_opts o = bp_train_defaults();
        o.loss = BP_LOSS_BCE;
        o.batch = 0;
        o.epochs = cases[i].epochs;
        o.optim = bp_optim_defaults(cases[i].kind);
        o.optim.lr = cases[i].lr;
        if (cases[i].kind == BP_OPTIM_SGD)
            o.optim.momentum = 0.9;
        bp_train_result res;
        train_ok(net, xor, NULL, &o, &res);
        assert_int_equal(res.epochs_run, cases[i].epochs);
        assert_int_equal(res.steps, cases[i].epochs); /* full batch: one step an epoch */
        double loss, acc;
        float x[8], t[4];
        TU_ASSERT_OK(bp_dataset_gather(xor, NULL, 0, 4, x, t));
        TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_BCE, 4, x, t, 1, &loss, &acc));
        if (!(loss < 0.05 && acc == 1.0))
            fail_msg("%s: xor loss %g accuracy %g after %d epochs", bp_optim_name(cases[i].kind),
                     loss, acc, cases[i].epochs);
        assert_true(fabs(res.last.train_loss - loss) < 0.05);
        bp_net_free(net);
    }
    bp_dataset_free(xor);
}

#define SPIRAL_NET "2,32:relu,32:relu,3:softmax"

/* Mini-batch training on spirals: the same seed gives the same bits; a
 * different seed gives other bits. */
static void run_spiral(uint64_t seed, float *params_out, double *val_acc)
{
    bp_dataset *tr = load("spiral:100:3", 1);
    bp_net *net = tu_net(SPIRAL_NET);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = 16;
    o.epochs = 100;
    o.seed = seed;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.01;
    o.val_split = 0.2;
    bp_train_result res;
    train_ok(net, tr, NULL, &o, &res);
    assert_int_equal(res.steps, 100 * 15); /* 240 training rows in batches of 16 */
    *val_acc = res.last.val_accuracy;
    if (!(res.last.train_accuracy > 0.85))
        fail_msg("spiral training accuracy %g", res.last.train_accuracy);
    memcpy(params_out, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
    bp_net_free(net);
    bp_dataset_free(tr);
}

static void test_spiral_reproducible(void **state)
{
    (void)state;
    size_t P = 2 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3;
    float *a = tu_xcalloc(P, sizeof *a), *b = tu_xcalloc(P, sizeof *b), *c = tu_xcalloc(P, sizeof *c);
    double acc_a, acc_b, acc_c;
    run_spiral(5, a, &acc_a);
    run_spiral(5, b, &acc_b);
    run_spiral(6, c, &acc_c);
    assert_memory_equal(a, b, P * sizeof *a);
    assert_true(memcmp(a, c, P * sizeof *a) != 0);
    assert_true(acc_a == acc_b);
    if (!(acc_a > 0.7))
        fail_msg("spiral validation accuracy %g", acc_a);
    free(a);
    free(b);
    free(c);
}

typedef struct snapshots {
    bp_net *net;
    int epochs_seen;
    float *best;      /* (n_params) weights of the best epoch */
    double best_val;
    int stop_at;
} snapshots;

static int keep_best(const bp_epoch_stats *st, void *ctx)
{
    snapshots *s = ctx;
    s->epochs_seen++;
    assert_int_equal(st->epoch, s->epochs_seen);
    if (st->best && s->best) {
        memcpy(s->best, bp_net_params(s->net), bp_net_param_count(s->net) * sizeof(float));
        s->best_val = st->val_loss;
    }
    return s->stop_at > 0 && st->epoch >= s->stop_at;
}

/* Early stopping: a network that overfits a small noisy regression set
 * stops within `patience` epochs of its best validation loss and ends
 * with the weights of that epoch. */
static void test_early_stopping(void **state)
{
    (void)state;
    enum { N = 40 };
    float x[N], t[N];
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&rng) - 1.0);
        t[i] = (float)(x[i] + 0.5 * bp_rng_normal(&rng));
    }
    bp_error err;
    bp_dataset *tr = bp_dataset_from_arrays(20, 1, 1, x, t, 0, &err);
    bp_dataset *va = bp_dataset_from_arrays(20, 1, 1, x + 20, t + 20, 0, &err);
    assert_non_null(tr);
    assert_non_null(va);
    bp_net *net = tu_net("1,16:tanh,16:tanh,1:identity");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 0;
    o.epochs = 3000;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.02;
    o.patience = 25;
    snapshots *s = tu_xcalloc(1, sizeof *s);
    s->best = tu_xcalloc(bp_net_param_count(net), sizeof(float));
    s->net = net;
    o.on_epoch = keep_best;
    o.ctx = s;
    bp_train_result res;
    train_ok(net, tr, va, &o, &res);
    assert_true(res.early_stopped);
    assert_true(res.epochs_run < 3000);
    assert_int_equal(res.epochs_run, res.best_epoch + 25);
    assert_true(res.best_val_loss == s->best_val);
    assert_memory_equal(bp_net_params(net), s->best, bp_net_param_count(net) * sizeof(float));
    /* The restored weights give the best validation loss. */
    float xv[20], tv[20];
    TU_ASSERT_OK(bp_dataset_gather(va, NULL, 0, 20, xv, tv));
    double v;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 20, xv, tv, 1, &v, NULL));
    TU_ASSERT_CLOSE(v, res.best_val_loss, 1e-12, 0);
    free(s->best);
    free(s);
    bp_net_free(net);
    bp_dataset_free(tr);
    bp_dataset_free(va);
}

typedef struct last_good {
    bp_net *net;
    float params[16];
    long batches;
} last_good;

static int remember(int epoch, long batch, long batches, double loss, void *ctx)
{
    last_good *g = ctx;
    (void)epoch;
    (void)batch;
    (void)batches;
    (void)loss;
    memcpy(g->params, bp_net_params(g->net), bp_net_param_count(g->net) * sizeof(float));
    g->batches++;
    return 0;
}

/* A rate far too large makes the weights blow up: training stops at the
 * first non-finite loss or gradient, names where, and keeps the weights
 * from before that step. */
static void test_nonfinite_guard(void **state)
{
    (void)state;
    float x[8] = {1, 2, 3, 4, -1, -2, 5, 6}, t[4] = {10, -20, 30, 40};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(4, 2, 1, x, t, 0, &err);
    bp_net *net = tu_net("2,3:identity,1:identity");
    bp_rng rng;
    bp_rng_seed(&rng, 2);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    last_good g;
    memset(&g, 0, sizeof g);
    g.net = net;
    memcpy(g.params, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 2;
    o.epochs = 1000;
    o.optim = bp_optim_defaults(BP_OPTIM_GD);
    o.optim.lr = 10.0;
    o.on_batch = remember;
    o.ctx = &g;
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    assert_int_equal(res.nonfinite, 1);
    assert_true(res.bad_epoch >= 1 && res.bad_epoch < 1000);
    assert_true(res.bad_batch == 1 || res.bad_batch == 2);
    assert_true(res.bad_layer >= -1 && res.bad_layer <= 1);
    assert_int_equal(g.batches, 2 * (res.bad_epoch - 1) + res.bad_batch - 1);
    const float *p = bp_net_params(net);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        assert_true(isfinite(p[i]));
    assert_memory_equal(p, g.params, bp_net_param_count(net) * sizeof(float));
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* A finite gradient whose step takes a weight out of float range: the guard
 * catches the weight after the step and goes back to the weights before. */
static void test_nonfinite_weight_after_step(void **state)
{
    (void)state;
    float x[1] = {1}, t[1] = {1};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(1, 1, 1, x, t, 0, &err);
    bp_net *net = tu_net("1,1:identity");
    bp_net_weight(net, 0)[0] = 0.5f; /* slope 2 (0.5 - 1) = -1 for the weight and the bias */
    float before[2];
    memcpy(before, bp_net_params(net), sizeof before);
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 0;
    o.epochs = 3;
    o.optim = bp_optim_defaults(BP_OPTIM_GD);
    o.optim.lr = 1e39; /* 0.5 + 1e39 overflows float */
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    assert_int_equal(res.nonfinite, 1);
    assert_int_equal(res.bad_epoch, 1);
    assert_int_equal(res.bad_batch, 1);
    assert_int_equal(res.bad_layer, 0);
    assert_int_equal(res.steps, 0);
    assert_memory_equal(bp_net_params(net), before, sizeof before);
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* A finite loss whose gradient overflows float: the first layer's slope is
 * 2e35 x 1e10. Training stops at the first step, names that layer, and
 * keeps the weights. */
static void test_nonfinite_gradient(void **state)
{
    (void)state;
    float x[1] = {1e10f}, t[1] = {0};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(1, 1, 1, x, t, 0, &err);
    bp_net *net = tu_net("1,1:identity:nobias,1:identity:nobias");
    bp_net_weight(net, 0)[0] = 1e-35f;
    bp_net_weight(net, 1)[0] = 1e30f; /* output 1e5, loss 1e10: finite */
    float before[2];
    memcpy(before, bp_net_params(net), sizeof before);
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 0;
    o.epochs = 3;
    o.optim = bp_optim_defaults(BP_OPTIM_SGD);
    o.optim.lr = 0.01;
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    assert_int_equal(res.nonfinite, 1);
    assert_int_equal(res.bad_epoch, 1);
    assert_int_equal(res.bad_batch, 1);
    assert_int_equal(res.bad_layer, 0);
    assert_int_equal(res.steps, 0);
    assert_memory_equal(bp_net_params(net), before, sizeof before);
    bp_net_free(net);
    bp_dataset_free(ds);
}

static void test_callback_stops(void **state)
{
    (void)state;
    bp_dataset *ds = load("vertical:20:3", 4);
    bp_net *net = tu_net("2,4:relu,3:softmax");
    snapshots *s = tu_xcalloc(1, sizeof *s);
    s->net = net;
    s->stop_at = 3;
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.epochs = 50;
    o.on_epoch = keep_best;
    o.ctx = s;
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    assert_int_equal(res.epochs_run, 3);
    assert_int_equal(res.stopped, 1);
    assert_int_equal(s->epochs_seen, 3);
    assert_true(isnan(res.last.val_loss));
    free(s);
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* A full batch holds every row whatever their order, so training does not
 * shuffle it: with or without shuffling the weights are bitwise those of
 * plain gradient descent written out by hand over the rows in data order
 * (bp_net_gradient, then w -= lr g). The epoch's timing is measured and
 * its batches' share of it is at most the whole. */
static int check_times(const bp_epoch_stats *st, void *ctx)
{
    (void)ctx;
    if (st->timed_epochs == 0) {
        assert_true(isnan(st->seconds) && isnan(st->train_seconds));
        return 0;
    }
    assert_true(st->train_seconds >= 0.0);
    assert_true(st->train_seconds <= st->seconds);
    return 0;
}

static void test_full_batch_in_data_order(void **state)
{
    (void)state;
    const int epochs = 25;
    bp_dataset *ds = load("spiral:30:3", 2);
    int n = (int)bp_dataset_rows(ds), I = bp_dataset_inputs(ds), T = bp_dataset_target_cols(ds);
    float *x = tu_xcalloc((size_t)n * (size_t)(I + T), sizeof *x), *t = x + (size_t)n * I;
    assert_int_equal(bp_dataset_gather(ds, NULL, 0, n, x, t), 0);
    bp_net *by_hand = tu_net("2,8:tanh,3:softmax");
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    TU_ASSERT_OK(bp_net_init(by_hand, &rng, BP_INIT_XAVIER_NORMAL, 0));
    size_t P = bp_net_param_count(by_hand);
    float *w0 = tu_xcalloc(P, sizeof *w0);
    memcpy(w0, bp_net_params(by_hand), P * sizeof *w0);
    for (int e = 0; e < epochs; e++) {
        double v;
        TU_ASSERT_OK(bp_net_gradient(by_hand, BP_LOSS_CCE, n, x, t, T, &v));
        float *w = bp_net_params(by_hand);
        const float *g = bp_net_grads(by_hand);
        for (size_t i = 0; i < P; i++)
            w[i] = w[i] - 0.5f * g[i];
    }
    for (int shuffled = 0; shuffled <= 1; shuffled++) {
        bp_net *net = tu_net("2,8:tanh,3:softmax");
        memcpy(bp_net_params(net), w0, P * sizeof *w0);
        bp_train_opts o = bp_train_defaults();
        o.loss = BP_LOSS_CCE;
        o.batch = 0;
        o.epochs = epochs;
        o.shuffle = shuffled;
        o.seed = 9;
        o.optim = bp_optim_defaults(BP_OPTIM_GD);
        o.optim.lr = 0.5;
        o.on_epoch = check_times;
        bp_train_result res;
        train_ok(net, ds, NULL, &o, &res);
        assert_int_equal(res.steps, epochs);
        assert_memory_equal(bp_net_params(net), bp_net_params(by_hand), P * sizeof(float));
        bp_net_free(net);
    }
    free(w0);
    free(x);
    bp_net_free(by_hand);
    bp_dataset_free(ds);
}

/* The norms of the epoch's last batch: by default measured (the one-layer
 * network's gradient at its zero weights is 2 * (0 - 1000) * (100, -50, 1)),
 * with norms = 0 left out, and the weights the same either way. */
static void test_norms_option(void **state)
{
    (void)state;
    float x[2] = {100, -50}, t[1] = {1000};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(1, 2, 1, x, t, 0, &err);
    float after[2][3];
    for (int norms = 1; norms >= 0; norms--) {
        bp_net *net = tu_net("2,1:identity");
        bp_train_opts o = bp_train_defaults();
        assert_int_equal(o.norms, 1);
        o.loss = BP_LOSS_MSE;
        o.batch = 0;
        o.epochs = 1;
        o.optim = bp_optim_defaults(BP_OPTIM_GD);
        o.optim.lr = 1e-6;
        o.norms = norms;
        bp_train_result res;
        train_ok(net, ds, NULL, &o, &res);
        if (norms) {
            TU_ASSERT_CLOSE(res.last.grad_norm, 2000.0 * sqrt(100.0 * 100 + 50.0 * 50 + 1), 1e-5,
                            0);
            assert_non_null(res.last.layer_grad_norm);
        } else {
            TU_ASSERT_EXACT(res.last.grad_norm, 0.0);
            assert_null(res.last.layer_grad_norm);
        }
        memcpy(after[norms], bp_net_params(net), sizeof after[norms]);
        bp_net_free(net);
    }
    assert_memory_equal(after[0], after[1], sizeof after[0]);
    bp_dataset_free(ds);
}

/* With clipping, a plain gradient step moves the weights by at most
 * lr * clip_norm. */
static void test_clip_norm(void **state)
{
    (void)state;
    float x[2] = {100, -50}, t[1] = {1000};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(1, 2, 1, x, t, 0, &err);
    bp_net *net = tu_net("2,1:identity");
    float before[3];
    memcpy(before, bp_net_params(net), sizeof before);
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 0;
    o.epochs = 1;
    o.optim = bp_optim_defaults(BP_OPTIM_GD);
    o.optim.lr = 0.1;
    o.clip_norm = 2.0;
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    /* The unclipped gradient: 2 * (0 - 1000) * (100, -50, 1). */
    double g = 2000.0 * sqrt(100.0 * 100 + 50.0 * 50 + 1);
    TU_ASSERT_CLOSE(res.last.grad_norm, g, 1e-5, 0);
    const float *p = bp_net_params(net);
    double moved = 0.0;
    for (int i = 0; i < 3; i++)
        moved += (double)(p[i] - before[i]) * (p[i] - before[i]);
    TU_ASSERT_CLOSE(sqrt(moved), 0.1 * 2.0, 1e-4, 0);
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* Dropout changes training but not evaluation: after training, the same
 * input gives the same output twice. */
static void test_dropout(void **state)
{
    (void)state;
    bp_dataset *ds = load("spiral:50:2", 9);
    float *a = NULL, *b = NULL;
    for (int pass = 0; pass < 2; pass++) {
        bp_net *net = tu_net("2,32:relu,32:relu,2:softmax");
        bp_rng rng;
        bp_rng_seed(&rng, 1);
        TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
        bp_train_opts o = bp_train_defaults();
        o.loss = BP_LOSS_CCE;
        o.epochs = 5;
        o.dropout = pass == 0 ? 0.0 : 0.5;
        bp_train_result res;
        train_ok(net, ds, NULL, &o, &res);
        float *copy = tu_xmalloc(bp_net_param_count(net) * sizeof(float));
        memcpy(copy, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
        if (pass == 0)
            a = copy;
        else
            b = copy;
        float x[4] = {0.1f, 0.2f, -0.3f, 0.4f};
        const float *y;
        float first[4];
        TU_ASSERT_OK(bp_net_forward(net, 2, x, &y));
        memcpy(first, y, sizeof first);
        TU_ASSERT_OK(bp_net_forward(net, 2, x, &y));
        assert_memory_equal(first, y, sizeof first);
        bp_net_free(net);
    }
    assert_true(memcmp(a, b, (2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2) * sizeof(float)) != 0);
    free(a);
    free(b);
    bp_dataset_free(ds);
}

/* The loop allocates nothing: a run of 2 epochs and one of 40 make the
 * same number of allocations (leaks are the sanitizer build's to find). */
static void test_no_allocation_per_epoch(void **state)
{
    (void)state;
    long counts[2];
    for (int k = 0; k < 2; k++) {
        bp_dataset *ds = load("spiral:40:3", 2);
        bp_net *net = tu_net("2,16:relu,3:softmax");
        tu_counter c;
        bp_train_opts o = bp_train_defaults();
        o.loss = BP_LOSS_CCE;
        o.epochs = k == 0 ? 2 : 40;
        o.batch = 8;
        o.val_split = 0.25;
        o.patience = 100;
        o.dropout = 0.1;
        o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
        bp_train_result res;
        tu_counter_install(&c);
        bp_error err;
        int rc = bp_train(net, ds, NULL, &o, &res, &err);
        counts[k] = c.requests;
        bp_set_allocator(NULL);
        TU_ASSERT_OK(rc);
        bp_net_free(net);
        bp_dataset_free(ds);
    }
    assert_int_equal(counts[0], counts[1]);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    bp_dataset *ds = load("vertical:10:3", 1);
    bp_net *wide = tu_net("3,4:relu,3:softmax");
    bp_net *narrow = tu_net("2,4:relu,2:softmax");
    bp_net *ok = tu_net("2,4:relu,3:softmax");
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    bp_error err;
    assert_int_equal(bp_train(wide, ds, NULL, &o, NULL, &err), BP_ESHAPE);
    assert_non_null(strstr(err.message, "2 inputs"));
    assert_non_null(strstr(err.message, "takes 3"));
    assert_int_equal(bp_train(narrow, ds, NULL, &o, NULL, &err), BP_ESHAPE);
    assert_non_null(strstr(err.message, "3 classes"));
    o.loss = BP_LOSS_MSE;
    assert_int_equal(bp_train(ok, ds, NULL, &o, NULL, &err), BP_ESHAPE);
    assert_non_null(strstr(err.message, "mse"));
    o.loss = BP_LOSS_CCE;
    o.epochs = 0;
    assert_int_equal(bp_train(ok, ds, NULL, &o, NULL, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "epochs"));
    o.epochs = 1;
    o.val_split = 1.5;
    assert_int_equal(bp_train(ok, ds, NULL, &o, NULL, &err), BP_EINVAL);
    o.val_split = 0;
    o.optim.momentum = 2.0;
    assert_int_equal(bp_train(ok, ds, NULL, &o, NULL, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "momentum"));
    bp_net_free(wide);
    bp_net_free(narrow);
    bp_net_free(ok);
    bp_dataset_free(ds);
}

/* Random search through the trainer keeps the loss of kept weights from
 * rising, so full-batch training never ends worse than it started. */
static void test_random_search_optimizer(void **state)
{
    (void)state;
    bp_dataset *ds = load("vertical:100:3", 0);
    bp_net *net = tu_net("2,3:relu,3:softmax");
    bp_rng rng;
    bp_rng_seed(&rng, 0);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_NORMAL, 0.01));
    float *x = tu_xmalloc(300 * 2 * sizeof(float)), *t = tu_xmalloc(300 * sizeof(float));
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, 300, x, t));
    double start;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, 300, x, t, 1, &start, NULL));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = 0;
    o.epochs = 2000;
    o.optim = bp_optim_defaults(BP_OPTIM_RANDOM);
    bp_train_result res;
    train_ok(net, ds, NULL, &o, &res);
    double end;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, 300, x, t, 1, &end, NULL));
    assert_true(end <= start);
    assert_true(end < log(3.0) - 0.1);
    free(x);
    free(t);
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* bp_evaluate over a whole data set equals one bp_net_evaluate over all
 * its rows, in batches or not. */
static void test_evaluate_dataset(void **state)
{
    (void)state;
    bp_dataset *ds = load("spiral:700:3", 3); /* 2100 rows: more than one batch */
    bp_net *net = tu_net("2,16:tanh,3:softmax");
    bp_rng rng;
    bp_rng_seed(&rng, 4);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0));
    size_t n = bp_dataset_rows(ds);
    float *x = tu_xmalloc(n * 2 * sizeof(float)), *t = tu_xmalloc(n * sizeof(float));
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, (int)n, x, t));
    double l1, a1, l2, a2;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_CCE, (int)n, x, t, 1, &l1, &a1));
    bp_error err;
    TU_ASSERT_OK(bp_evaluate(net, ds, BP_LOSS_CCE, &l2, &a2, &err));
    TU_ASSERT_CLOSE(l2, l1, 1e-12, 0);
    TU_ASSERT_CLOSE(a2, a1, 1e-12, 0);
    /* Regression data report no accuracy. */
    float xr[3] = {1, 2, 3}, tr[3] = {2, 4, 6};
    bp_dataset *reg = bp_dataset_from_arrays(3, 1, 1, xr, tr, 0, &err);
    bp_net *lin = tu_net("1,1:identity:nobias");
    bp_net_weight(lin, 0)[0] = 2.0f;
    TU_ASSERT_OK(bp_evaluate(lin, reg, BP_LOSS_MSE, &l2, &a2, &err));
    TU_ASSERT_EXACT(l2, 0.0);
    TU_ASSERT_EXACT(a2, -1.0);
    assert_int_equal(bp_evaluate(net, reg, BP_LOSS_CCE, &l2, &a2, &err), BP_ESHAPE);
    free(x);
    free(t);
    bp_net_free(lin);
    bp_net_free(net);
    bp_dataset_free(reg);
    bp_dataset_free(ds);
}

/* The size of a timed group: about BP_TIMED_SECONDS of epochs at the last
 * group's pace, 1 for long epochs, at most 4096. */
static void test_timed_group_rule(void **state)
{
    (void)state;
    assert_int_equal(bp__timed_group(1.0), 1);
    assert_int_equal(bp__timed_group(BP_TIMED_SECONDS), 1);
    assert_int_equal(bp__timed_group(BP_TIMED_SECONDS / 2.5), 2);
    assert_int_equal(bp__timed_group(BP_TIMED_SECONDS / 90.5), 90);
    assert_int_equal(bp__timed_group(BP_TIMED_SECONDS / 4096.0), 4096);
    assert_int_equal(bp__timed_group(BP_TIMED_SECONDS / 1e6), 4096);
    assert_int_equal(bp__timed_group(0.0), 4096);
}

/* What each epoch's callback saw of the clock. */
typedef struct timing_seen {
    int epochs, timed, covered, groups_open; /* covered: the sum of timed_epochs */
    int first_timed, last_timed, longest;
} timing_seen;

static int see_timing(const bp_epoch_stats *st, void *ctx)
{
    timing_seen *s = ctx;
    s->epochs++;
    s->groups_open++;
    if (st->timed_epochs == 0) {
        assert_true(isnan(st->seconds) && isnan(st->train_seconds));
        return 0;
    }
    /* a group is the epochs since the last reading, this one the last */
    assert_int_equal(st->timed_epochs, s->groups_open);
    s->groups_open = 0;
    assert_true(st->seconds >= 0.0 && st->train_seconds >= 0.0);
    assert_true(st->train_seconds <= st->seconds);
    s->timed++;
    s->covered += st->timed_epochs;
    if (st->timed_epochs > s->longest)
        s->longest = st->timed_epochs;
    if (st->epoch == 1)
        s->first_timed = 1;
    if (st->epoch == st->epochs)
        s->last_timed = 1;
    return 0;
}

/* Every epoch falls in exactly one timed group, the first and the last
 * epochs are timed, and with validation every epoch is timed alone. */
static void test_epoch_timing(void **state)
{
    (void)state;
    float x[8] = {0, 3, 1, 2, -1, -2, 4, 0}, t[4] = {1, 3, 5, 7};
    const float w0[4] = {2, 1, 1, 2}, w1[2] = {1, 1};
    bp_error err;
    bp_dataset *ds = bp_dataset_from_arrays(4, 2, 1, x, t, 0, &err);
    assert_non_null(ds);
    for (int val = 0; val <= 1; val++) {
        bp_net *net = tu_net("2,2:relu:nobias,1:relu:nobias");
        TU_ASSERT_OK(bp_net_set_layer(net, 0, w0, NULL));
        TU_ASSERT_OK(bp_net_set_layer(net, 1, w1, NULL));
        timing_seen seen = {0};
        bp_train_opts o = bp_train_defaults();
        o.loss = BP_LOSS_MSE;
        o.batch = 0;
        o.epochs = val ? 300 : 20000;
        o.optim = bp_optim_defaults(BP_OPTIM_GD);
        o.optim.lr = 0.001;
        o.on_epoch = see_timing;
        o.ctx = &seen;
        bp_train_result res;
        train_ok(net, ds, val ? ds : NULL, &o, &res);
        assert_int_equal(seen.epochs, o.epochs);
        assert_int_equal(seen.covered, o.epochs);
        assert_int_equal(seen.groups_open, 0);
        assert_true(seen.first_timed && seen.last_timed);
        assert_true(res.last.timed_epochs >= 1);
        if (val) {
            assert_int_equal(seen.timed, o.epochs);
            assert_int_equal(res.last.timed_epochs, 1);
        }
        assert_true(seen.longest <= 4096);
        bp_net_free(net);
    }
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_each_optimizer),
        cmocka_unit_test(test_spiral_reproducible),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_nonfinite_guard),
        cmocka_unit_test(test_nonfinite_weight_after_step),
        cmocka_unit_test(test_nonfinite_gradient),
        cmocka_unit_test(test_norms_option),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_clip_norm),
        cmocka_unit_test(test_full_batch_in_data_order),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_no_allocation_per_epoch),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_random_search_optimizer),
        cmocka_unit_test(test_evaluate_dataset),
        cmocka_unit_test(test_timed_group_rule),
        cmocka_unit_test(test_epoch_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
