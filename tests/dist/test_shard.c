/*
 * test_shard.c - data-parallel training's hook (bp_shard) without MPI.
 *
 * A batch cut into parts must give the whole batch's training to rounding;
 * a reduction that adds the parts in part order must give the bits of the
 * library's own sum; and ranks simulated by threads, each computing its
 * run of parts and meeting at a barrier to add them, must end with the
 * weights of one process, bit for bit in the ordered form and to rounding
 * in the one-part-per-rank form. With batch norm and an allsum that adds
 * the ranks' statistics, the ranks end with one process's weights and
 * running statistics to rounding, all alike. Bad shards are refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <pthread.h>

#define SPEC "2,48:relu,32:tanh,3:softmax"
#define MAX_RANKS 4

/* One training run's set-up: spiral data, a fixed start, sgd or adam. */
static bp_train_opts options(bp_optim_kind kind, int batch)
{
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = batch;
    o.epochs = 3;
    o.seed = 5;
    o.optim = bp_optim_defaults(kind);
    o.optim.lr = kind == BP_OPTIM_SGD ? 0.05 : 0.003;
    if (kind == BP_OPTIM_SGD)
        o.optim.momentum = 0.9;
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

static bp_dataset *spiral(void)
{
    bp_error err;
    /* 303 rows: batches of 40 leave a short last batch of 23 */
    bp_dataset *ds = bp_dataset_load("spiral:101:3", 7, &err);
    if (!ds)
        fail_msg("spiral: %s", err.message);
    return ds;
}

/* Train a fresh network with o; returns it. */
static bp_net *train(const bp_dataset *ds, const bp_train_opts *o, bp_train_result *res)
{
    bp_error err;
    bp_net *net = start_net();
    if (bp_train(net, ds, NULL, o, res, &err) != 0)
        fail_msg("bp_train: %s", err.message);
    assert_false(res->nonfinite);
    return net;
}

/* Largest |a - b| over the block, relative to the largest |b|. */
static double rel_diff(bp_net *a, bp_net *b)
{
    const float *pa = bp_net_params(a), *pb = bp_net_params(b);
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < bp_net_param_count(a); i++) {
        d = fmax(d, fabs((double)pa[i] - (double)pb[i]));
        m = fmax(m, fabs((double)pb[i]));
    }
    return d / m;
}

static int same_bits(bp_net *a, bp_net *b)
{
    return memcmp(bp_net_params(a), bp_net_params(b), bp_net_param_count(a) * sizeof(float)) ==
           0;
}

/* Parts summed by the library: the whole batch's training to rounding;
 * one part is the whole batch exactly; parts without rows (8 parts of a
 * batch of 5) add nothing. */
static void test_parts_match_whole_batches(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_optim_kind kinds[] = {BP_OPTIM_SGD, BP_OPTIM_ADAM};
    for (int k = 0; k < 2; k++) {
        bp_train_opts o = options(kinds[k], 40);
        bp_train_result r0, r1, r7;
        bp_net *whole = train(ds, &o, &r0);
        o.shard.parts = o.shard.count = 1;
        bp_net *one = train(ds, &o, &r1);
        o.shard.parts = o.shard.count = 7;
        bp_net *seven = train(ds, &o, &r7);
        assert_true(same_bits(one, whole));
        double d = rel_diff(seven, whole);
        if (!(d <= 1e-5))
            fail_msg("%s: 7 parts against whole batches: relative difference %g",
                     bp_optim_name(kinds[k]), d);
        assert_false(same_bits(seven, whole)); /* a different sum, really taken */
        TU_ASSERT_CLOSE(r7.last.train_loss, r0.last.train_loss, 1e-6, 0.0);
        TU_ASSERT_CLOSE(r7.last.train_accuracy, r0.last.train_accuracy, 1e-9, 0.0);
        bp_net_free(whole);
        bp_net_free(one);
        bp_net_free(seven);
    }
    bp_train_opts o = options(BP_OPTIM_SGD, 5);
    bp_train_result r0, r8;
    o.epochs = 1;
    bp_net *whole = train(ds, &o, &r0);
    o.shard.parts = o.shard.count = 8;
    bp_net *eight = train(ds, &o, &r8);
    double d = rel_diff(eight, whole);
    if (!(d <= 1e-5))
        fail_msg("8 parts of batches of 5: relative difference %g", d);
    bp_net_free(whole);
    bp_net_free(eight);
    bp_dataset_free(ds);
}

/* A reduction that gets every part and adds them in part order, written
 * here from the contract. */
typedef struct counting {
    long calls;
    int count;
    size_t n;
} counting;

static int ordered_sum(const float *grads, int count, size_t n, float *out, double *sums,
                       void *ctx)
{
    counting *c = ctx;
    c->calls++;
    c->count = count;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        float s = grads[i];
        for (int k = 1; k < count; k++)
            s += grads[(size_t)k * n + i];
        out[i] = s;
    }
    double l = sums[0], a = sums[1];
    for (int k = 1; k < count; k++) {
        l += sums[2 * k];
        a += sums[2 * k + 1];
    }
    sums[0] = l;
    sums[1] = a;
    return 0;
}

static void test_reduce_hook_gives_the_same_bits(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_train_opts o = options(BP_OPTIM_ADAM, 40);
    bp_train_result ra, rb;
    counting c = {0, 0, 0};
    o.shard.parts = o.shard.count = 5;
    bp_net *alone = train(ds, &o, &ra);
    o.shard.reduce = ordered_sum;
    o.shard.ctx = &c;
    bp_net *hooked = train(ds, &o, &rb);
    assert_int_equal(c.calls, rb.steps);
    assert_int_equal(rb.steps, 3 * 8); /* 303 rows in batches of 40 */
    assert_int_equal(c.count, 5);
    assert_int_equal(c.n, bp_net_param_count(hooked));
    assert_true(same_bits(hooked, alone));
    TU_ASSERT_EXACT(rb.last.train_loss, ra.last.train_loss);
    bp_net_free(alone);
    bp_net_free(hooked);
    bp_dataset_free(ds);
}

/* ---- ranks as threads ---------------------------------------------------- */

/* What the simulated ranks share: each rank's parts, posted by part index,
 * and a barrier before and after the sum. */
typedef struct world {
    int ranks, parts;      /* parts 0: one part per rank, added in rank order */
    size_t P;
    float *slots;          /* (parts, P) */
    double *sums;          /* (parts, 2) */
    double *vecs;          /* (ranks, VEC_MAX) each rank's vector for allsum */
    long allsums;          /* rank 0's allsum calls */
    pthread_barrier_t barrier;
    const bp_dataset *ds;
    bp_optim_kind kind;
} world;

typedef struct rank {
    world *w;
    int id, first;
    bp_net *net;
    bp_train_result res;
    int rc;
} rank;

#define VEC_MAX 64

/* Sum v over the ranks in rank order, at the barrier. */
static int barrier_allsum(double *v, size_t n, void *ctx)
{
    rank *r = ctx;
    world *w = r->w;
    if (n > VEC_MAX)
        return BP_ESHAPE;
    memcpy(w->vecs + (size_t)r->id * VEC_MAX, v, n * sizeof *v);
    if (r->id == 0)
        w->allsums++;
    pthread_barrier_wait(&w->barrier);
    for (size_t i = 0; i < n; i++) {
        double s = w->vecs[i];
        for (int k = 1; k < w->ranks; k++)
            s += w->vecs[(size_t)k * VEC_MAX + i];
        v[i] = s;
    }
    pthread_barrier_wait(&w->barrier);
    return 0;
}

static int barrier_sum(const float *grads, int count, size_t n, float *out, double *sums,
                       void *ctx)
{
    rank *r = ctx;
    world *w = r->w;
    int K = w->parts > 0 ? w->parts : w->ranks;
    memcpy(w->slots + (size_t)r->first * n, grads, (size_t)count * n * sizeof *grads);
    memcpy(w->sums + 2 * (size_t)r->first, sums, 2 * (size_t)count * sizeof *sums);
    pthread_barrier_wait(&w->barrier);
    for (size_t i = 0; i < n; i++) {
        float s = w->slots[i];
        for (int k = 1; k < K; k++)
            s += w->slots[(size_t)k * n + i];
        out[i] = s;
    }
    double l = w->sums[0], a = w->sums[1];
    for (int k = 1; k < K; k++) {
        l += w->sums[2 * k];
        a += w->sums[2 * k + 1];
    }
    sums[0] = l;
    sums[1] = a;
    pthread_barrier_wait(&w->barrier); /* the slots are read before the next step */
    return 0;
}

static void *rank_main(void *arg)
{
    rank *r = arg;
    world *w = r->w;
    bp_error err;
    bp_train_opts o = options(w->kind, 40);
    int K = w->parts > 0 ? w->parts : w->ranks;
    r->first = K * r->id / w->ranks;
    o.shard.parts = K;
    o.shard.first = r->first;
    o.shard.count = K * (r->id + 1) / w->ranks - r->first;
    o.shard.reduce = barrier_sum;
    o.shard.allsum = w->parts == 0 ? barrier_allsum : NULL;
    o.shard.ctx = r;
    bp_set_threads(1); /* each thread's own OpenMP setting: the ranks are the threads */
    r->rc = bp_train(r->net, w->ds, NULL, &o, &r->res, &err);
    return NULL;
}

/* Train over `ranks` threads; every rank's weights into nets[]. Returns
 * the allsum calls of each rank. */
static long run_ranks(const bp_dataset *ds, bp_optim_kind kind, int ranks, int parts,
                      bp_net **nets)
{
    world w = {.ranks = ranks, .parts = parts, .ds = ds, .kind = kind};
    rank r[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    int K = parts > 0 ? parts : ranks;
    w.P = bp_net_param_count(nets[0]);
    w.slots = tu_xcalloc((size_t)K * w.P, sizeof *w.slots);
    w.sums = tu_xcalloc(2 * (size_t)K, sizeof *w.sums);
    w.vecs = tu_xcalloc((size_t)ranks * VEC_MAX, sizeof *w.vecs);
    assert_int_equal(pthread_barrier_init(&w.barrier, NULL, (unsigned)ranks), 0);
    for (int i = 0; i < ranks; i++) {
        r[i] = (rank){.w = &w, .id = i, .net = nets[i]};
        assert_int_equal(pthread_create(&th[i], NULL, rank_main, &r[i]), 0);
    }
    for (int i = 0; i < ranks; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < ranks; i++) {
        assert_int_equal(r[i].rc, 0);
        assert_int_equal(r[i].res.steps, 3 * 8);
    }
    pthread_barrier_destroy(&w.barrier);
    free(w.slots);
    free(w.sums);
    free(w.vecs);
    return w.allsums;
}

static void test_thread_ranks(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_train_opts o = options(BP_OPTIM_ADAM, 40);
    bp_train_result r0, r12;
    bp_net *whole = train(ds, &o, &r0);
    o.shard.parts = o.shard.count = 12;
    bp_net *alone12 = train(ds, &o, &r12);
    for (int ranks = 2; ranks <= 3; ranks++) {
        bp_net *nets[MAX_RANKS];
        for (int i = 0; i < ranks; i++)
            nets[i] = start_net();
        /* ordered: the bits of one process with the same 12 parts */
        run_ranks(ds, BP_OPTIM_ADAM, ranks, 12, nets);
        for (int i = 0; i < ranks; i++) {
            if (!same_bits(nets[i], alone12))
                fail_msg("%d ranks, rank %d: not the bits of one process (relative "
                         "difference %g)", ranks, i, rel_diff(nets[i], alone12));
            bp_net_free(nets[i]);
            nets[i] = start_net();
        }
        /* one part per rank: one process's weights to rounding */
        run_ranks(ds, BP_OPTIM_ADAM, ranks, 0, nets);
        for (int i = 0; i < ranks; i++) {
            double d = rel_diff(nets[i], whole);
            if (!(d <= 1e-5))
                fail_msg("%d ranks, rank %d: relative difference %g", ranks, i, d);
            assert_true(same_bits(nets[i], nets[0]));
        }
        for (int i = 0; i < ranks; i++)
            bp_net_free(nets[i]);
    }
    bp_net_free(whole);
    bp_net_free(alone12);
    bp_dataset_free(ds);
}

/* Batch norm's statistics summed over the ranks: one process's weights
 * and running statistics to rounding on every rank, the same bits on all;
 * 40 rows split 20/20 and 13/13/14 (the slopes weighed by the shares). */
#define BN_SPEC "2,16:nobias,batchnorm,relu,3:softmax"

static bp_net *start_bn_net(void)
{
    bp_net *net = tu_net(BN_SPEC);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    return net;
}

static double state_diff(bp_net *a, bp_net *b)
{
    const float *sa = bp_net_state(a), *sb = bp_net_state(b);
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < bp_net_state_count(a); i++) {
        d = fmax(d, fabs((double)sa[i] - (double)sb[i]));
        m = fmax(m, fabs((double)sb[i]));
    }
    return d / m;
}

static void test_batchnorm_thread_ranks(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_train_opts o = options(BP_OPTIM_ADAM, 40);
    bp_train_result r0;
    bp_net *whole = start_bn_net();
    bp_error err;
    TU_ASSERT_OK(bp_train(whole, ds, NULL, &o, &r0, &err));
    const float *st = bp_net_state(whole);
    assert_int_equal(bp_net_state_count(whole), 33);
    TU_ASSERT_EXACT(st[32], 24.0); /* num_batches_tracked: 3 epochs of 8 batches */
    for (int ranks = 2; ranks <= 3; ranks++) {
        bp_net *nets[MAX_RANKS];
        for (int i = 0; i < ranks; i++)
            nets[i] = start_bn_net();
        long calls = run_ranks(ds, BP_OPTIM_ADAM, ranks, 0, nets);
        assert_int_equal(calls, 24 * 2); /* one forward and one backward sum a step */
        for (int i = 0; i < ranks; i++) {
            double d = rel_diff(nets[i], whole), ds_ = state_diff(nets[i], whole);
            if (!(d <= 1e-5) || !(ds_ <= 1e-5))
                fail_msg("%d ranks, rank %d: relative difference %g (weights), %g (running "
                         "statistics)", ranks, i, d, ds_);
            assert_true(same_bits(nets[i], nets[0]));
            assert_memory_equal(bp_net_state(nets[i]), bp_net_state(nets[0]),
                                bp_net_state_count(nets[0]) * sizeof(float));
        }
        for (int i = 0; i < ranks; i++)
            bp_net_free(nets[i]);
    }
    /* the statistics of each rank alone would be another training */
    bp_train_opts lo = options(BP_OPTIM_ADAM, 20);
    bp_train_result rl;
    bp_net *half = start_bn_net();
    lo.epochs = 1;
    TU_ASSERT_OK(bp_train(half, ds, NULL, &lo, &rl, &err));
    assert_true(state_diff(half, whole) > 1e-3);
    bp_net_free(half);
    bp_net_free(whole);
    bp_dataset_free(ds);
}

/* Shards that cannot work are refused before training, with the reason. */
static void test_refused(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_net *net = start_net();
    bp_error err;
    struct {
        int parts, first, count, reduce;
        bp_optim_kind kind;
        double dropout;
        const char *says;
    } cases[] = {
        {4, 0, 3, 0, BP_OPTIM_SGD, 0.0, "must compute all 4 parts"},
        {4, 2, 3, 1, BP_OPTIM_SGD, 0.0, "do not lie in 0..3"},
        {4, 0, 0, 1, BP_OPTIM_SGD, 0.0, "do not lie in 0..3"},
        {-1, 0, 1, 1, BP_OPTIM_SGD, 0.0, "do not lie"},
        {4, 0, 4, 0, BP_OPTIM_RANDOM, 0.0, "random search"},
        {4, 0, 4, 0, BP_OPTIM_SGD, 0.2, "dropout"},
    };
    /* batch norm across processes needs the statistics' sum (the other
     * refusals: test_shard_bn.c) */
    bp_net *bn = start_bn_net();
    {
        bp_train_opts o = options(BP_OPTIM_SGD, 40);
        counting c = {0, 0, 0};
        o.shard.parts = 4;
        o.shard.count = 1;
        o.shard.reduce = ordered_sum;
        o.shard.ctx = &c;
        memset(&err, 0, sizeof err);
        TU_ASSERT_RC(bp_train(bn, ds, NULL, &o, NULL, &err), BP_EINVAL);
        assert_non_null(strstr(err.message, "layer 2 (batchnorm) cannot be split"));
    }
    bp_net_free(bn);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_train_opts o = options(cases[i].kind, 40);
        counting c = {0, 0, 0};
        o.dropout = cases[i].dropout;
        o.shard.parts = cases[i].parts;
        o.shard.first = cases[i].first;
        o.shard.count = cases[i].count;
        o.shard.reduce = cases[i].reduce ? ordered_sum : NULL;
        o.shard.ctx = &c;
        memset(&err, 0, sizeof err);
        TU_ASSERT_RC(bp_train(net, ds, NULL, &o, NULL, &err), BP_EINVAL);
        if (!strstr(err.message, cases[i].says))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, cases[i].says);
        assert_int_equal(c.calls, 0);
    }
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* A failing reduction stops training with its error. */
static int failing(const float *grads, int count, size_t n, float *out, double *sums,
                   void *ctx)
{
    (void)grads, (void)count, (void)n, (void)out, (void)sums, (void)ctx;
    return BP_EIO;
}

static void test_reduce_failure(void **state)
{
    (void)state;
    bp_dataset *ds = spiral();
    bp_net *net = start_net();
    bp_error err;
    bp_train_opts o = options(BP_OPTIM_SGD, 40);
    o.shard.parts = 2;
    o.shard.count = 1;
    o.shard.reduce = failing;
    TU_ASSERT_RC(bp_train(net, ds, NULL, &o, NULL, &err), BP_EIO);
    assert_non_null(strstr(err.message, "gradient reduction failed"));
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* Without MPI in the build, bp_dist says so; with it, MPI must be started. */
static void test_dist_needs_mpi(void **state)
{
    (void)state;
    bp_net *net = start_net();
    bp_error err;
    memset(&err, 0, sizeof err);
    assert_null(bp_dist_create(net, 0, &err));
    assert_int_equal(err.code, BP_EINVAL);
    assert_non_null(strstr(err.message, bp_dist_available() ? "not initialised" : "no MPI"));
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_match_whole_batches),
        cmocka_unit_test(test_reduce_hook_gives_the_same_bits),
        cmocka_unit_test(test_thread_ranks),
        cmocka_unit_test(test_batchnorm_thread_ranks),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_reduce_failure),
        cmocka_unit_test(test_dist_needs_mpi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
