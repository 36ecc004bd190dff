/*
 * test_checkpoint.c - training state in checkpoint files: a run stopped at
 * any step (mid-epoch, at an epoch's last batch before validation, at the
 * very end) and resumed from its file ends with weights bit for bit equal
 * to an uninterrupted run's; a loaded state re-saves to the same bytes;
 * broken files are refused with the file and the field named; a state
 * that does not fit the run is refused; a checkpoint loads as a model with
 * the metadata saved beside it; every allocation of a load failing
 * in turn gives BP_ENOMEM and leaks nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <unistd.h>

#define POINTS 30
#define CLASSES 3

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_checkpoint");
}

/* The spiral set, 90 rows of 2 inputs and 3 classes. */
static bp_dataset *spiral(void)
{
    float x[POINTS * CLASSES * 2], t[POINTS * CLASSES];
    bp_error err;
    bp_rng rng;
    bp_dataset *ds;
    bp_rng_seed(&rng, 11);
    bp_data_spiral(&rng, POINTS, CLASSES, x, t);
    ds = bp_dataset_from_arrays(POINTS * CLASSES, 2, 1, x, t, CLASSES, &err);
    if (!ds)
        fail_msg("data: %s", err.message);
    return ds;
}

static bp_net *fresh_net(void)
{
    bp_net *net = tu_net("2,8:tanh,6:relu,3:softmax");
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_UNIFORM, 0));
    return net;
}

/* 72 training rows in batches of 7: 11 steps an epoch, 44 in all. */
static bp_train_opts options(void)
{
    bp_train_opts o = bp_train_defaults();
    o.loss = BP_LOSS_CCE;
    o.epochs = 4;
    o.batch = 7;
    o.seed = 9;
    o.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    o.optim.lr = 0.02;
    o.schedule.kind = BP_SCHED_COSINE;
    o.schedule.total = 44;
    o.val_split = 0.2;
    o.patience = 10;
    o.dropout = 0.1;
    return o;
}

/* Save the state at step `at`, then stop. */
typedef struct stop_at {
    long at;
    const char *path;
    int saved;
} stop_at;

static int save_and_stop(const bp_train_state *s, void *ctx)
{
    stop_at *st = ctx;
    bp_error err;
    if (bp_train_state_steps(s) != st->at)
        return 0;
    if (bp_train_state_save(st->path, s, &err) != 0)
        fail_msg("save: %s", err.message);
    st->saved = 1;
    return 1;
}

static float *train_fully(const bp_dataset *ds, size_t *P)
{
    bp_train_opts o = options();
    bp_train_result res;
    bp_error err;
    bp_net *net = fresh_net();
    float *w;
    if (bp_train(net, ds, NULL, &o, &res, &err) != 0)
        fail_msg("train: %s", err.message);
    assert_int_equal(res.steps, 44);
    *P = bp_net_param_count(net);
    w = tu_xmalloc(*P * sizeof *w);
    memcpy(w, bp_net_params(net), *P * sizeof *w);
    bp_net_free(net);
    return w;
}

static void test_resume_bit_for_bit(void **state)
{
    static const long stops[] = {1, 5, 11, 12, 30, 43, 44};
    bp_dataset *ds = spiral();
    size_t P;
    float *want = train_fully(ds, &P);
    (void)state;
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        long k = stops[i];
        stop_at st = {k, tu_path("run.ckpt"), 0};
        bp_train_opts o = options();
        bp_train_result res;
        bp_error err;
        bp_train_state *s;
        bp_net *net = fresh_net();
        o.on_checkpoint = save_and_stop;
        o.checkpoint_every = 1;
        o.ctx = &st;
        TU_ASSERT_OK(bp_train(net, ds, NULL, &o, &res, &err));
        assert_true(st.saved);
        assert_true(res.stopped);
        bp_net_free(net);

        if (!(s = bp_train_state_load(st.path, &err)))
            fail_msg("load after step %ld: %s", k, err.message);
        assert_int_equal(bp_train_state_steps(s), k);
        assert_int_equal(bp_train_state_epoch(s), (k - 1) / 11 + 1);
        assert_int_equal(bp_train_state_batch(s), (k - 1) % 11 + 1);
        /* a fresh network with other weights: the state's replace them */
        net = tu_net("2,8:tanh,6:relu,3:softmax");
        o = options();
        o.resume = s;
        if (bp_train(net, ds, NULL, &o, &res, &err) != 0)
            fail_msg("resume after step %ld: %s", k, err.message);
        assert_int_equal(res.steps, 44);
        assert_int_equal(bp_net_param_count(net), P);
        if (memcmp(bp_net_params(net), want, P * sizeof *want) != 0)
            fail_msg("resumed after step %ld: the weights differ from the uninterrupted run's", k);
        bp_net_free(net);
        bp_train_state_free(s);
    }
    free(want);
    bp_dataset_free(ds);
}

/* A checkpoint of the run after step k, at path. */
static void make_checkpoint(const char *path, long k)
{
    stop_at st = {k, path, 0};
    bp_train_opts o = options();
    bp_train_result res;
    bp_error err;
    bp_dataset *ds = spiral();
    bp_net *net = fresh_net();
    o.on_checkpoint = save_and_stop;
    o.checkpoint_every = 1;
    o.ctx = &st;
    TU_ASSERT_OK(bp_train(net, ds, NULL, &o, &res, &err));
    assert_true(st.saved);
    bp_net_free(net);
    bp_dataset_free(ds);
}

static void test_resave_same_bytes(void **state)
{
    const char *a = tu_path("a.ckpt"), *b = tu_path("b.ckpt");
    unsigned char *x, *y;
    size_t nx, ny;
    bp_error err;
    bp_train_state *s;
    (void)state;
    make_checkpoint(a, 17);
    s = bp_train_state_load(a, &err);
    assert_non_null(s);
    TU_ASSERT_OK(bp_train_state_save(b, s, &err));
    bp_train_state_free(s);
    x = tu_read_file(a, &nx);
    y = tu_read_file(b, &ny);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

/* A checkpoint as a model: the weights where the run stood, the metadata
 * saved with it (escapes kept) and the position; a model file is not a
 * checkpoint. */
static void test_as_model(void **state)
{
    const char *a = tu_path("plain.ckpt"), *b = tu_path("meta.ckpt"), *m = tu_path("m.safetensors");
    const char *odd = "a \"quoted\" \\ value\nover two lines";
    char spec[128];
    bp_error err;
    bp_train_state *s;
    bp_meta *meta = bp_meta_create(), *got = NULL, *got_a = NULL;
    bp_net *na, *nb;
    (void)state;
    assert_non_null(meta);
    make_checkpoint(a, 17);
    s = bp_train_state_load(a, &err);
    assert_non_null(s);
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "cce"));
    TU_ASSERT_OK(bp_meta_set(meta, "odd \"key\"", odd));
    TU_ASSERT_OK(bp_train_state_save_meta(b, s, meta, &err));
    bp_train_state_free(s);
    assert_int_equal(bp_checkpoint_is(a), 1);
    assert_int_equal(bp_checkpoint_is(b), 1);
    assert_int_equal(bp_checkpoint_is(tu_path("none.ckpt")), 0);
    /* the state still loads with the model's entries beside it */
    s = bp_train_state_load(b, &err);
    assert_non_null(s);
    assert_int_equal(bp_train_state_steps(s), 17);
    bp_train_state_free(s);

    na = bp_checkpoint_load_model(a, &got_a, &err);
    nb = bp_checkpoint_load_model(b, &got, &err);
    assert_non_null(na);
    assert_non_null(nb);
    bp_net_spec(nb, spec, sizeof spec);
    assert_string_equal(spec, "2,8:tanh,6:relu,3:softmax");
    assert_int_equal(bp_net_param_count(na), bp_net_param_count(nb));
    assert_memory_equal(bp_net_params(na), bp_net_params(nb),
                        bp_net_param_count(na) * sizeof(float));
    /* 11 steps an epoch: step 17 is 6 batches into epoch 2 */
    assert_string_equal(bp_meta_get(got, "checkpoint"), "epoch 2, batch 6");
    assert_string_equal(bp_meta_get(got, "loss"), "cce");
    assert_string_equal(bp_meta_get(got, "odd \"key\""), odd);
    assert_int_equal(bp_meta_count(got), 3);
    assert_int_equal(bp_meta_count(got_a), 1);
    TU_ASSERT_OK(bp_model_save(m, nb, got, &err));
    assert_int_equal(bp_checkpoint_is(m), 0);
    bp_meta_free(meta);
    bp_meta_free(got);
    bp_meta_free(got_a);
    bp_net_free(na);
    bp_net_free(nb);
}

static void expect_refused(const char *path, const char *piece)
{
    bp_error err;
    bp_train_state *s;
    memset(&err, 0, sizeof err);
    s = bp_train_state_load(path, &err);
    if (s) {
        bp_train_state_free(s);
        fail_msg("%s loaded, expected '%s'", path, piece);
    }
    assert_int_equal(err.code, BP_EFORMAT);
    if (!strstr(err.message, path) || !strstr(err.message, piece))
        fail_msg("message '%s' lacks the file or '%s'", err.message, piece);
}

static void test_broken_files(void **state)
{
    const char *good = tu_path("good.ckpt"), *bad = tu_path("bad.ckpt");
    unsigned char *b;
    size_t n, hlen = 0, rows = POINTS * CLASSES;
    (void)state;
    make_checkpoint(good, 7);
    b = tu_read_file(good, &n);
    for (int i = 0; i < 8; i++)
        hlen |= (size_t)b[i] << (8 * i);
    /* truncated */
    tu_write_file(bad, b, n - 3);
    expect_refused(bad, "tensor 'order': data_offsets must be [begin, end]");
    tu_write_file(bad, b, 20);
    expect_refused(bad, "header length");
    /* the first weight NaN */
    {
        unsigned char *c = tu_xmalloc(n);
        memcpy(c, b, n);
        memcpy(c + 8 + hlen, "\0\0\300\177", 4);
        tu_write_file(bad, c, n);
        expect_refused(bad, "tensor 'params': value 0 is not finite");
        /* the order's last entry repeats its first */
        memcpy(c, b, n);
        memcpy(c + n - 8, c + n - 8 * rows, 8);
        tu_write_file(bad, c, n);
        expect_refused(bad, "repeats an earlier entry; expected a permutation of 0 to 89");
        /* an entry out of range */
        memcpy(c, b, n);
        c[n - 1] = 0x7f;
        tu_write_file(bad, c, n);
        expect_refused(bad, "is out of range");
        /* not a checkpoint: the format renamed */
        memcpy(c, b, n);
        {
            unsigned char *f = (unsigned char *)strstr((char *)c + 8, "backprop-checkpoint");
            assert_non_null(f);
            f[0] = 'B';
        }
        tu_write_file(bad, c, n);
        expect_refused(bad, "__metadata__.format: expected \"backprop-checkpoint\", found "
                            "\"Backprop-checkpoint\" (not a checkpoint)");
        free(c);
    }
    free(b);
}

static void test_misfit_refused(void **state)
{
    const char *path = tu_path("fit.ckpt");
    bp_train_opts o = options();
    bp_train_result res;
    bp_error err;
    bp_dataset *ds = spiral();
    bp_train_state *s;
    bp_net *net;
    (void)state;
    make_checkpoint(path, 3);
    s = bp_train_state_load(path, &err);
    assert_non_null(s);
    net = tu_net("2,9:tanh,6:relu,3:softmax");
    o.resume = s;
    TU_ASSERT_RC(bp_train(net, ds, NULL, &o, &res, &err), BP_ESHAPE);
    assert_non_null(strstr(err.message, "the checkpoint is of the network "
                                        "2,8:tanh,6:relu,3:softmax; this run trains 2,9:tanh,6:relu,3:softmax"));
    bp_net_free(net);
    net = fresh_net();
    o.optim = bp_optim_defaults(BP_OPTIM_SGD);
    TU_ASSERT_RC(bp_train(net, ds, NULL, &o, &res, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "optimizer state blocks"));
    o = options();
    o.resume = s;
    o.epochs = 1;
    o.batch = 70;
    TU_ASSERT_RC(bp_train(net, ds, NULL, &o, &res, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "the checkpoint stands at epoch 1, batch 3; this run has 1 epochs of 2 batches"));
    bp_net_free(net);
    bp_train_state_free(s);
    bp_dataset_free(ds);
}

static void test_load_allocation_failures(void **state)
{
    const char *path = tu_path("oom.ckpt");
    tu_counter c;
    bp_error err;
    bp_train_state *s;
    long total;
    (void)state;
    make_checkpoint(path, 9);
    tu_counter_install(&c);
    s = bp_train_state_load(path, &err);
    assert_non_null(s);
    bp_train_state_free(s);
    total = c.requests;
    assert_true(total >= 3);
    for (long k = 1; k <= total; k++) {
        tu_counter_fail_in(&c, k);
        s = bp_train_state_load(path, &err);
        if (s)
            fail_msg("allocation %ld of %ld failed, yet the load succeeded", k, total);
        assert_int_equal(err.code, BP_ENOMEM);
        assert_int_equal(c.live, 0);
    }
    tu_counter_fail_in(&c, 0);
    bp_set_allocator(NULL);
}

/* Saving with each allocation failing in turn: BP_ENOMEM, nothing leaked,
 * and the previous file at the path untouched. */
static void test_save_allocation_failures(void **state)
{
    const char *path = tu_path("save.ckpt"), *other = tu_path("other.ckpt");
    unsigned char *before, *after;
    size_t nb, na;
    tu_counter c;
    bp_error err;
    bp_train_state *s;
    long total;
    (void)state;
    make_checkpoint(path, 4);
    make_checkpoint(other, 8);
    s = bp_train_state_load(other, &err);
    assert_non_null(s);
    before = tu_read_file(path, &nb);
    tu_counter_install(&c);
    TU_ASSERT_OK(bp_train_state_save(tu_path("scratch.ckpt"), s, &err));
    total = c.requests;
    assert_true(total >= 2);
    for (long k = 1; k <= total; k++) {
        long live = c.live;
        tu_counter_fail_in(&c, k);
        TU_ASSERT_RC(bp_train_state_save(path, s, &err), BP_ENOMEM);
        assert_int_equal(c.live, live);
        after = tu_read_file(path, &na);
        assert_int_equal(na, nb);
        assert_memory_equal(after, before, nb);
        free(after);
    }
    tu_counter_fail_in(&c, 0);
    bp_set_allocator(NULL);
    bp_train_state_free(s);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_bit_for_bit),
        cmocka_unit_test(test_resave_same_bytes),
        cmocka_unit_test(test_as_model),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_misfit_refused),
        cmocka_unit_test(test_load_allocation_failures),
        cmocka_unit_test(test_save_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
