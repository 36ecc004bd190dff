/*
 * test_shard_bn.c - batch norm in the ordered form of bp_shard, without
 * MPI: the parts of every batch run layer by layer and add their
 * statistics in part order.
 *
 * One process: one part is whole-batch training bit for bit (weights and
 * running statistics); K parts are whole batches to rounding, and not the
 * same bits. Ranks simulated by threads meeting at a barrier, each with
 * its run of the parts, end with the bits of one process with the same
 * parts on every rank, running statistics included, whatever order the
 * allsum adds the ranks in, short last batches with empty parts included.
 * A failing allsum stops training with its error; the forms that cannot
 * give the whole batch's statistics are refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <pthread.h>

/* A CNN with a batch norm after the convolution (per channel, over 6 x 6
 * positions) and one after a dense layer (per feature). */
#define SPEC "1x6x6,conv:4:3:same:nobias,batchnorm,relu,maxpool:2,8:nobias,batchnorm,tanh,3:softmax"
#define ROWS 203 /* batches of 40 leave 3 rows: with 4 parts, one part has none */
#define MAX_RANKS 3

static bp_dataset *images(void)
{
    float *x = tu_xcalloc((size_t)ROWS * 36, sizeof *x), *t = tu_xcalloc(ROWS, sizeof *t);
    bp_rng rng;
    bp_error err;
    bp_rng_seed(&rng, 3);
    for (int i = 0; i < ROWS; i++) {
        const int k = i % 3;
        t[i] = (float)k;
        for (int j = 0; j < 36; j++) {
            const int y = j / 6, xx = j % 6;
            x[i * 36 + j] = (float)((k == 0 ? y : k == 1 ? xx : xx + y) / 6.0 +
                                    0.3 * bp_rng_uniform(&rng));
        }
    }
    bp_dataset *ds = bp_dataset_from_arrays(ROWS, 36, 1, x, t, 3, &err);
    if (!ds)
        fail_msg("images: %s", err.message);
    free(x);
    free(t);
    return ds;
}

static bp_train_opts options(int batch)
{
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = batch;
    o.epochs = 3;
    o.seed = 5;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.003;
    return o;
}

static bp_net *start_net(void)
{
    bp_net *net = tu_net(SPEC);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    return net;
}

static bp_net *train(const bp_dataset *ds, const bp_train_opts *o)
{
    bp_error err;
    bp_train_result res;
    bp_net *net = start_net();
    if (bp_train(net, ds, NULL, o, &res, &err) != 0)
        fail_msg("bp_train: %s", err.message);
    assert_false(res.nonfinite);
    return net;
}

/* Largest |a - b| over a block, relative to the largest |b|. */
static double rel(const float *a, const float *b, size_t n)
{
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

/* Weights and state, bit for bit. */
static int same_bits(bp_net *a, bp_net *b)
{
    return memcmp(bp_net_params(a), bp_net_params(b),
                  bp_net_param_count(a) * sizeof(float)) == 0 &&
           memcmp(bp_net_state(a), bp_net_state(b), bp_net_state_count(a) * sizeof(float)) == 0;
}

static void test_one_process(void **state)
{
    (void)state;
    bp_dataset *ds = images();
    bp_train_opts o = options(40);
    bp_net *whole = train(ds, &o);
    o.shard.parts = o.shard.count = 1;
    bp_net *one = train(ds, &o);
    o.shard.parts = o.shard.count = 4;
    bp_net *four = train(ds, &o);
    assert_true(same_bits(one, whole));
    const double dw = rel(bp_net_params(four), bp_net_params(whole), bp_net_param_count(whole));
    const double ds_ = rel(bp_net_state(four), bp_net_state(whole), bp_net_state_count(whole));
    if (!(dw <= 1e-5) || !(ds_ <= 1e-5))
        fail_msg("4 parts against whole batches: relative difference %g (weights), %g (running "
                 "statistics)", dw, ds_);
    assert_false(same_bits(four, whole)); /* another order of adding, really taken */
    /* running statistics moved once a batch: 3 epochs of 6 batches */
    const float *st = bp_net_state(four);
    TU_ASSERT_EXACT(st[2 * 4], 18.0);
    TU_ASSERT_EXACT(st[bp_net_state_count(four) - 1], 18.0);
    bp_net_free(whole);
    bp_net_free(one);
    bp_net_free(four);
    bp_dataset_free(ds);
}

/* ---- ranks as threads ---------------------------------------------------- */

#define VEC_MAX 256

typedef struct world {
    int ranks, parts, batch;
    int reverse;           /* allsum adds the ranks last to first */
    int fail_at;           /* allsum's call (from 1) that fails on rank 0; 0: none */
    size_t P;
    float *slots;          /* (parts, P) */
    double *sums;          /* (parts, 2) */
    double *vecs;          /* (ranks, VEC_MAX) */
    long allsums;          /* rank 0's allsum calls */
    size_t last_n;         /* and the size of its last one */
    pthread_barrier_t barrier;
    const bp_dataset *ds;
} world;

typedef struct rank {
    world *w;
    int id, first;
    bp_net *net;
    int rc;
    char message[256];
} rank;

/* Sum v over the ranks, in rank order or the reverse; rank 0 fails its
 * fail_at-th call after the others have posted (so that nobody waits). */
static int barrier_allsum(double *v, size_t n, void *ctx)
{
    rank *r = ctx;
    world *w = r->w;
    if (n > VEC_MAX)
        return BP_ESHAPE;
    memcpy(w->vecs + (size_t)r->id * VEC_MAX, v, n * sizeof *v);
    if (r->id == 0) {
        w->allsums++;
        w->last_n = n;
    }
    pthread_barrier_wait(&w->barrier);
    const int failing = w->fail_at > 0 && w->allsums == w->fail_at;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = 0; k < w->ranks; k++)
            s += w->vecs[(size_t)(w->reverse ? w->ranks - 1 - k : k) * VEC_MAX + i];
        v[i] = s;
    }
    pthread_barrier_wait(&w->barrier);
    return failing ? BP_EIO : 0;
}

/* The gradient and the sums added in part order (the contract's form). */
static int barrier_sum(const float *grads, int count, size_t n, float *out, double *sums,
                       void *ctx)
{
    rank *r = ctx;
    world *w = r->w;
    memcpy(w->slots + (size_t)r->first * n, grads, (size_t)count * n * sizeof *grads);
    memcpy(w->sums + 2 * (size_t)r->first, sums, 2 * (size_t)count * sizeof *sums);
    pthread_barrier_wait(&w->barrier);
    for (size_t i = 0; i < n; i++) {
        float s = w->slots[i];
        for (int k = 1; k < w->parts; k++)
            s += w->slots[(size_t)k * n + i];
        out[i] = s;
    }
    double l = w->sums[0], a = w->sums[1];
    for (int k = 1; k < w->parts; k++) {
        l += w->sums[2 * k];
        a += w->sums[2 * k + 1];
    }
    sums[0] = l;
    sums[1] = a;
    pthread_barrier_wait(&w->barrier);
    return 0;
}

static void *rank_main(void *arg)
{
    rank *r = arg;
    world *w = r->w;
    bp_error err;
    bp_train_opts o = options(w->batch);
    r->first = w->parts * r->id / w->ranks;
    o.shard.parts = w->parts;
    o.shard.first = r->first;
    o.shard.count = w->parts * (r->id + 1) / w->ranks - r->first;
    o.shard.reduce = barrier_sum;
    o.shard.allsum = barrier_allsum;
    o.shard.in_order = 1;
    o.shard.ctx = r;
    bp_set_threads(1);
    memset(&err, 0, sizeof err);
    r->rc = bp_train(r->net, w->ds, NULL, &o, NULL, &err);
    memcpy(r->message, err.message, sizeof r->message);
    return NULL;
}

/* Train over `ranks` threads into nets[]; 0 or the first rank's error. */
static int run_ranks(world *w, bp_net **nets, char *message)
{
    rank r[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    int rc = 0;
    w->P = bp_net_param_count(nets[0]);
    w->slots = tu_xcalloc((size_t)w->parts * w->P, sizeof *w->slots);
    w->sums = tu_xcalloc(2 * (size_t)w->parts, sizeof *w->sums);
    w->vecs = tu_xcalloc((size_t)w->ranks * VEC_MAX, sizeof *w->vecs);
    assert_int_equal(pthread_barrier_init(&w->barrier, NULL, (unsigned)w->ranks), 0);
    for (int i = 0; i < w->ranks; i++) {
        r[i] = (rank){.w = w, .id = i, .net = nets[i]};
        assert_int_equal(pthread_create(&th[i], NULL, rank_main, &r[i]), 0);
    }
    for (int i = 0; i < w->ranks; i++)
        pthread_join(th[i], NULL);
    for (int i = w->ranks - 1; i >= 0; i--)
        if (r[i].rc != 0) {
            rc = r[i].rc;
            memcpy(message, r[i].message, sizeof r[i].message);
        }
    pthread_barrier_destroy(&w->barrier);
    free(w->slots);
    free(w->sums);
    free(w->vecs);
    return rc;
}

static void test_thread_ranks(void **state)
{
    (void)state;
    bp_dataset *ds = images();
    /* batches of 40 (6 parts of 6 or 7 rows), and of 50 with a last batch
     * of 3 rows: 4 parts of 0 or 1 row; over 3 ranks, rank 0 has none) */
    const int batches[] = {40, 50}, parts[] = {6, 4};
    for (int c = 0; c < 2; c++) {
        bp_train_opts o = options(batches[c]);
        o.shard.parts = o.shard.count = parts[c];
        bp_net *alone = train(ds, &o);
        for (int ranks = 2; ranks <= MAX_RANKS; ranks++) {
            for (int reverse = 0; reverse < 2; reverse++) {
                world w = {.ranks = ranks, .parts = parts[c], .batch = batches[c],
                           .reverse = reverse, .ds = ds};
                bp_net *nets[MAX_RANKS];
                char message[256] = "";
                for (int i = 0; i < ranks; i++)
                    nets[i] = start_net();
                if (run_ranks(&w, nets, message) != 0)
                    fail_msg("%d ranks: %s", ranks, message);
                /* two sums a step per batch norm, of (parts, 2 C) for the
                 * last, the first batch norm (4 channels) */
                const long steps = 3 * ((ROWS + batches[c] - 1) / batches[c]);
                assert_int_equal(w.allsums, steps * 2 * 2);
                assert_int_equal(w.last_n, (size_t)parts[c] * 2 * 4);
                for (int i = 0; i < ranks; i++) {
                    if (!same_bits(nets[i], alone))
                        fail_msg("batch %d, %d ranks%s, rank %d: not the bits of one process "
                                 "(relative difference %g)", batches[c], ranks,
                                 reverse ? " added in reverse" : "", i,
                                 rel(bp_net_params(nets[i]), bp_net_params(alone),
                                     bp_net_param_count(alone)));
                    bp_net_free(nets[i]);
                }
            }
        }
        bp_net_free(alone);
    }
    bp_dataset_free(ds);
}

/* A failing allsum stops training on the rank that saw it, with its error. */
static void test_allsum_failure(void **state)
{
    (void)state;
    bp_dataset *ds = images();
    world w = {.ranks = 1, .parts = 3, .batch = 40, .fail_at = 5, .ds = ds};
    bp_net *nets[1] = {start_net()};
    char message[256] = "";
    TU_ASSERT_RC(run_ranks(&w, nets, message), BP_EIO);
    assert_non_null(strstr(message, "batch norm's sums over the processes failed"));
    assert_int_equal(w.allsums, 5);
    bp_net_free(nets[0]);
    bp_dataset_free(ds);
}

static int ordered_sum(const float *grads, int count, size_t n, float *out, double *sums,
                       void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        float s = grads[i];
        for (int k = 1; k < count; k++)
            s += grads[(size_t)k * n + i];
        out[i] = s;
    }
    for (int k = 1; k < count; k++) {
        sums[0] += sums[2 * k];
        sums[1] += sums[2 * k + 1];
    }
    return 0;
}

static int no_allsum(double *v, size_t n, void *ctx)
{
    (void)v, (void)n, (void)ctx;
    return 0;
}

/* Without the sums, or with several unordered parts on a process, batch
 * norm cannot see the whole batch: refused before training. */
static void test_refused(void **state)
{
    (void)state;
    bp_dataset *ds = images();
    bp_net *net = start_net();
    const struct {
        int count, allsum, in_order;
    } cases[] = {{1, 0, 0}, {1, 0, 1}, {2, 1, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_train_opts o = options(40);
        bp_error err;
        o.shard.parts = 4;
        o.shard.count = cases[i].count;
        o.shard.reduce = ordered_sum;
        o.shard.allsum = cases[i].allsum ? no_allsum : NULL;
        o.shard.in_order = cases[i].in_order;
        memset(&err, 0, sizeof err);
        TU_ASSERT_RC(bp_train(net, ds, NULL, &o, NULL, &err), BP_EINVAL);
        if (!strstr(err.message, "layer 2 (batchnorm) cannot be split"))
            fail_msg("case %zu: %s", i, err.message);
    }
    bp_net_free(net);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_process),
        cmocka_unit_test(test_thread_ranks),
        cmocka_unit_test(test_allsum_failure),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
