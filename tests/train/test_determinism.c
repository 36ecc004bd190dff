/*
 * test_determinism.c - the same seed gives bitwise the same weights: on
 * repeat runs, and with 1 or 2 threads, checked by hashing the final
 * parameter block. The networks are wide enough that their products go to
 * the build's backend (oneDNN where found) and are split in row blocks over
 * the threads, and long enough that optimizer steps run on the threads too.
 */
#include "testutil.h"

/* FNV-1a over the parameter block's bytes. */
static uint64_t hash_params(const bp_net *net)
{
    const unsigned char *p = (const unsigned char *)bp_net_params((bp_net *)net);
    size_t n = bp_net_param_count(net) * sizeof(float);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Train spec on spiral data with the given optimizer and threads; returns
 * the hash of the final weights. */
static uint64_t train_hash(const char *spec, bp_optim_kind kind, double dropout, int threads)
{
    bp_error err;
    bp_dataset *ds = NULL;
    if (strcspn(spec, "x") < strcspn(spec, ",")) {
        /* an image network: 300 random 1x12x12 images of 3 classes */
        enum { ROWS = 300, SIDE = 12 };
        static float x[ROWS * SIDE * SIDE], t[ROWS];
        bp_rng r;
        bp_rng_seed(&r, 3);
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
            x[i] = (float)bp_rng_uniform(&r);
        for (int i = 0; i < ROWS; i++)
            t[i] = (float)(i % 3);
        ds = bp_dataset_from_arrays(ROWS, SIDE * SIDE, 1, x, t, 3, &err);
    } else {
        ds = bp_dataset_load("spiral:400:3", 7, &err);
    }
    if (!ds)
        fail_msg("data: %s", err.message);
    bp_net *net = tu_net(spec);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.batch = 128;
    o.epochs = 3;
    o.seed = 5;
    o.dropout = dropout;
    o.optim = bp_optim_defaults(kind);
    o.optim.lr = kind == BP_OPTIM_SGD ? 0.05 : 0.001;
    bp_train_result res;
    bp_set_threads(threads);
    if (bp_train(net, ds, NULL, &o, &res, &err) != 0)
        fail_msg("bp_train: %s", err.message);
    bp_set_threads(0);
    assert_true(isfinite(res.last.train_loss));
    uint64_t h = hash_params(net);
    bp_net_free(net);
    bp_dataset_free(ds);
    return h;
}

static void check(const char *spec, bp_optim_kind kind, double dropout)
{
    uint64_t one = train_hash(spec, kind, dropout, 1);
    uint64_t again = train_hash(spec, kind, dropout, 1);
    uint64_t two = train_hash(spec, kind, dropout, 2);
    uint64_t two_again = train_hash(spec, kind, dropout, 2);
    if (one != again || two != two_again)
        fail_msg("%s: repeat runs differ (%016llx %016llx, 2 threads %016llx %016llx)", spec,
                 (unsigned long long)one, (unsigned long long)again, (unsigned long long)two,
                 (unsigned long long)two_again);
    if (one != two)
        fail_msg("%s: 1 and 2 threads differ (%016llx vs %016llx)", spec,
                 (unsigned long long)one, (unsigned long long)two);
}

/* A change of one bit in the weights changes the hash: the check can fail. */
static void test_hash_sensitive(void **state)
{
    (void)state;
    bp_net *net = tu_net("4,3:relu,2:identity");
    uint64_t h = hash_params(net);
    float *p = bp_net_params(net);
    uint32_t u;
    memcpy(&u, &p[5], sizeof u);
    u ^= 1u;
    memcpy(&p[5], &u, sizeof u);
    assert_true(hash_params(net) != h);
    bp_net_free(net);
}

static void test_sgd(void **state)
{
    (void)state;
    check("2,512:relu,256:relu,3:softmax", BP_OPTIM_SGD, 0.0);
}

static void test_adam_dropout(void **state)
{
    (void)state;
    check("2,256:tanh,256:relu,3:softmax", BP_OPTIM_ADAM, 0.2);
}

/* A convolutional network: unfolded columns, pools and the split of the
 * filters' slopes give the same bits at 1 and 2 threads. */
static void test_cnn(void **state)
{
    (void)state;
    check("1x12x12,conv:16:3:relu:same,maxpool:2,conv:24:3:relu:pad=1:stride=2,avgpool:3,"
          "3:softmax",
          BP_OPTIM_ADAM, 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_sensitive),
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_adam_dropout),
        cmocka_unit_test(test_cnn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
