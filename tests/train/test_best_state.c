/*
 * test_best_state.c - early stopping restores batch norm's running
 * statistics with the best weights: the network it leaves is the one
 * that scored the best validation loss, in evaluation mode.
 */
#include "testutil.h"

typedef struct snapshot {
    bp_net *net;
    float *params, *state; /* (P), (S) at the best epoch so far */
    double best_val;
    int best_epoch;
} snapshot;

static int on_epoch(const bp_epoch_stats *st, void *ctx)
{
    snapshot *s = ctx;
    if (st->best) {
        memcpy(s->params, bp_net_params(s->net), bp_net_param_count(s->net) * sizeof(float));
        memcpy(s->state, bp_net_state(s->net), bp_net_state_count(s->net) * sizeof(float));
        s->best_val = st->val_loss;
        s->best_epoch = st->epoch;
    }
    return 0;
}

static void test_restores_statistics(void **state)
{
    (void)state;
    enum { N = 64 };
    float x[N], t[N];
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        x[i] = (float)(2.0 * bp_rng_uniform(&rng) - 1.0);
        t[i] = (float)(x[i] + 0.5 * bp_rng_normal(&rng));
    }
    bp_error err;
    bp_dataset *tr = bp_dataset_from_arrays(32, 1, 1, x, t, 0, &err);
    bp_dataset *va = bp_dataset_from_arrays(32, 1, 1, x + 32, t + 32, 0, &err);
    assert_non_null(tr);
    assert_non_null(va);
    bp_net *net = tu_net("1,16,batchnorm,tanh,16,batchnorm,tanh,1");
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0));
    const size_t P = bp_net_param_count(net), S = bp_net_state_count(net);
    assert_int_equal(S, 2 * (16 + 16 + 1));
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_MSE;
    o.batch = 8;
    o.epochs = 2000;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.02;
    o.patience = 10;
    snapshot s = {.net = net, .params = tu_xcalloc(P, sizeof(float)),
                  .state = tu_xcalloc(S, sizeof(float))};
    o.on_epoch = on_epoch;
    o.ctx = &s;
    bp_train_result res;
    TU_ASSERT_OK(bp_train(net, tr, va, &o, &res, &err));
    assert_true(res.early_stopped);
    assert_int_equal(res.best_epoch, s.best_epoch);
    assert_int_equal(res.epochs_run, res.best_epoch + 10);
    assert_memory_equal(bp_net_params(net), s.params, P * sizeof(float));
    assert_memory_equal(bp_net_state(net), s.state, S * sizeof(float));
    /* The network left behind scores the best validation loss. */
    float xv[32], tv[32];
    TU_ASSERT_OK(bp_dataset_gather(va, NULL, 0, 32, xv, tv));
    double v;
    TU_ASSERT_OK(bp_net_evaluate(net, BP_LOSS_MSE, 32, xv, tv, 1, &v, NULL));
    TU_ASSERT_CLOSE(v, res.best_val_loss, 1e-12, 0);
    free(s.params);
    free(s.state);
    bp_net_free(net);
    bp_dataset_free(tr);
    bp_dataset_free(va);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restores_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
