/*
 * test_schedule.c - learning-rate schedules: every kind at chosen steps
 * against its closed form written out here, the linear warm-up, names, and
 * the checks on each field.
 */
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static bp_schedule sched(bp_schedule_kind kind, double base)
{
    bp_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.base = base;
    return s;
}

static void check_ok(const bp_schedule *s)
{
    bp_error err;
    memset(&err, 0, sizeof err);
    if (bp_schedule_check(s, &err) != 0)
        fail_msg("a valid schedule was refused: %s", err.message);
}

/* lr(step) within a few ulp of the expected value. */
#define ASSERT_LR(s, step, want) TU_ASSERT_CLOSE(bp_schedule_lr((s), (step)), (want), 1e-14, 0.0)

static void test_names(void **state)
{
    static const char *const names[] = {"constant", "step", "exp", "cosine"};
    bp_schedule_kind k;
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(bp_schedule_name((bp_schedule_kind)i), names[i]);
        TU_ASSERT_OK(bp_schedule_parse(names[i], &k));
        assert_int_equal(k, i);
    }
    TU_ASSERT_OK(bp_schedule_parse("exponential", &k));
    assert_int_equal(k, BP_SCHED_EXPONENTIAL);
    assert_null(bp_schedule_name((bp_schedule_kind)4));
    assert_null(bp_schedule_name((bp_schedule_kind)-1));
    TU_ASSERT_RC(bp_schedule_parse("cos", &k), BP_EINVAL);
    TU_ASSERT_RC(bp_schedule_parse("Constant", &k), BP_EINVAL);
    TU_ASSERT_RC(bp_schedule_parse("", &k), BP_EINVAL);
    TU_ASSERT_RC(bp_schedule_parse(NULL, &k), BP_EINVAL);
    TU_ASSERT_RC(bp_schedule_parse("step", NULL), BP_EINVAL);
}

static void test_constant(void **state)
{
    (void)state;
    bp_schedule s = sched(BP_SCHED_CONSTANT, 0.03);
    check_ok(&s);
    static const long steps[] = {0, 1, 2, 99, 100000, 2147483647L};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        TU_ASSERT_EXACT(bp_schedule_lr(&s, steps[i]), 0.03);
}

/* base * gamma^floor(step / step_size). */
static void test_step(void **state)
{
    (void)state;
    bp_schedule s = sched(BP_SCHED_STEP, 0.1);
    s.gamma = 0.5;
    s.step_size = 3;
    check_ok(&s);
    static const struct {
        long step;
        double want;
    } cases[] = {
        {0, 0.1}, {1, 0.1}, {2, 0.1}, {3, 0.05}, {5, 0.05}, {6, 0.025}, {8, 0.025},
        {9, 0.0125}, {30, 0.1 / 1024.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ASSERT_LR(&s, cases[i].step, cases[i].want);
    /* gamma 1 keeps the base; step_size 1 is exponential decay. */
    s.gamma = 1.0;
    check_ok(&s);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 1000), 0.1);
    s.gamma = 0.9;
    s.step_size = 1;
    for (long k = 0; k < 20; k++)
        ASSERT_LR(&s, k, 0.1 * pow(0.9, (double)k));
}

/* base * gamma^step. */
static void test_exponential(void **state)
{
    (void)state;
    bp_schedule s = sched(BP_SCHED_EXPONENTIAL, 0.2);
    s.gamma = 0.95;
    check_ok(&s);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 0), 0.2);
    ASSERT_LR(&s, 1, 0.2 * 0.95);
    ASSERT_LR(&s, 2, 0.2 * 0.95 * 0.95);
    static const long steps[] = {3, 10, 57, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        ASSERT_LR(&s, steps[i], 0.2 * exp((double)steps[i] * log(0.95)));
    s.gamma = 0.5;
    ASSERT_LR(&s, 10, 0.2 / 1024.0);
}

/* min_lr + (base - min_lr) (1 + cos(pi step / total)) / 2, then min_lr. */
static void test_cosine(void **state)
{
    (void)state;
    bp_schedule s = sched(BP_SCHED_COSINE, 0.1);
    s.total = 100;
    s.min_lr = 0.001;
    check_ok(&s);
    ASSERT_LR(&s, 0, 0.1);
    ASSERT_LR(&s, 50, (0.1 + 0.001) / 2.0);
    /* A quarter of the way: cos(pi / 4) = sqrt(2) / 2. */
    ASSERT_LR(&s, 25, 0.001 + 0.099 * (1.0 + sqrt(0.5)) / 2.0);
    ASSERT_LR(&s, 75, 0.001 + 0.099 * (1.0 - sqrt(0.5)) / 2.0);
    static const long steps[] = {1, 7, 33, 99};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        ASSERT_LR(&s, steps[i], 0.001 + 0.099 * (1.0 + cos(PI * (double)steps[i] / 100.0)) / 2.0);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 100), 0.001);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 101), 0.001);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 1000000), 0.001);
    /* Falling all the way: never below min_lr, never rising. */
    double prev = INFINITY;
    for (long k = 0; k <= 120; k++) {
        double lr = bp_schedule_lr(&s, k);
        assert_true(lr <= prev && lr >= 0.001);
        prev = lr;
    }
    /* To zero, and a one-step cosine. */
    s.min_lr = 0.0;
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 100), 0.0);
    s.total = 1;
    check_ok(&s);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 0), 0.1);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 1), 0.0);
    /* min_lr == base is flat. */
    s.total = 10;
    s.min_lr = 0.1;
    check_ok(&s);
    for (long k = 0; k < 12; k++)
        ASSERT_LR(&s, k, 0.1);
}

/* base / warmup at step 0 up to base at step warmup - 1, then the schedule
 * from step - warmup. */
static void test_warmup(void **state)
{
    (void)state;
    bp_schedule s = sched(BP_SCHED_COSINE, 0.08);
    s.total = 20;
    s.min_lr = 0.0;
    s.warmup = 4;
    check_ok(&s);
    ASSERT_LR(&s, 0, 0.02);
    ASSERT_LR(&s, 1, 0.04);
    ASSERT_LR(&s, 2, 0.06);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 3), 0.08);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 4), 0.08); /* cosine step 0 */
    for (long k = 4; k < 24; k++)
        ASSERT_LR(&s, k, 0.04 * (1.0 + cos(PI * (double)(k - 4) / 20.0)));
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 24), 0.0);

    /* Step decay after warm-up counts its steps from the end of warm-up. */
    s = sched(BP_SCHED_STEP, 0.1);
    s.gamma = 0.1;
    s.step_size = 5;
    s.warmup = 10;
    check_ok(&s);
    for (long k = 0; k < 10; k++)
        ASSERT_LR(&s, k, 0.1 * (double)(k + 1) / 10.0);
    ASSERT_LR(&s, 10, 0.1);
    ASSERT_LR(&s, 14, 0.1);
    ASSERT_LR(&s, 15, 0.01);
    ASSERT_LR(&s, 20, 0.001);

    /* Warm-up of one step is no warm-up; constant after it. */
    s = sched(BP_SCHED_CONSTANT, 0.5);
    s.warmup = 1;
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 0), 0.5);
    s.warmup = 3;
    ASSERT_LR(&s, 0, 0.5 / 3.0);
    ASSERT_LR(&s, 1, 1.0 / 3.0);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 2), 0.5);
    TU_ASSERT_EXACT(bp_schedule_lr(&s, 3), 0.5);
    /* Negative steps count as step 0. */
    ASSERT_LR(&s, -7, 0.5 / 3.0);
}

/* One bad field each: BP_EINVAL and a message naming the field. */
static void test_check(void **state)
{
    (void)state;
    static const struct {
        bp_schedule_kind kind;
        const char *field;
        double value;
    } bad[] = {
        {BP_SCHED_CONSTANT, "base", 0.0},
        {BP_SCHED_STEP, "base", -0.1},
        {BP_SCHED_EXPONENTIAL, "base", NAN},
        {BP_SCHED_COSINE, "base", INFINITY},
        {BP_SCHED_STEP, "gamma", 0.0},
        {BP_SCHED_STEP, "gamma", 1.5},
        {BP_SCHED_EXPONENTIAL, "gamma", -0.5},
        {BP_SCHED_EXPONENTIAL, "gamma", NAN},
        {BP_SCHED_STEP, "step_size", 0},
        {BP_SCHED_STEP, "step_size", -3},
        {BP_SCHED_COSINE, "total", 0},
        {BP_SCHED_COSINE, "total", -1},
        {BP_SCHED_COSINE, "min_lr", -0.001},
        {BP_SCHED_COSINE, "min_lr", 0.2},
        {BP_SCHED_COSINE, "min_lr", NAN},
        {BP_SCHED_CONSTANT, "warmup", -1},
        {BP_SCHED_COSINE, "warmup", -100},
        {(bp_schedule_kind)9, "kind", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* A valid schedule of the kind, then one field spoiled. */
        bp_schedule s = sched(bad[i].kind, 0.1);
        const char *f = bad[i].field;
        double v = bad[i].value;
        bp_error err;
        s.gamma = 0.5;
        s.step_size = 10;
        s.total = 100;
        s.min_lr = 0.0;
        if (strcmp(f, "base") == 0)
            s.base = v;
        else if (strcmp(f, "gamma") == 0)
            s.gamma = v;
        else if (strcmp(f, "step_size") == 0)
            s.step_size = (long)v;
        else if (strcmp(f, "total") == 0)
            s.total = (long)v;
        else if (strcmp(f, "min_lr") == 0)
            s.min_lr = v;
        else if (strcmp(f, "warmup") == 0)
            s.warmup = (long)v;
        memset(&err, 0, sizeof err);
        int rc = bp_schedule_check(&s, &err);
        if (rc != BP_EINVAL)
            fail_msg("schedule %d with %s = %g: returned %d, expected BP_EINVAL", (int)s.kind, f,
                     v, rc);
        assert_int_equal(err.code, BP_EINVAL);
        if (!strstr(err.message, f))
            fail_msg("%s = %g: the message \"%s\" does not name the field", f, v, err.message);
        TU_ASSERT_RC(bp_schedule_check(&s, NULL), BP_EINVAL);
    }

    bp_error err;
    bp_schedule s = sched(BP_SCHED_STEP, 0.1);
    s.gamma = 2.0;
    s.step_size = 4;
    TU_ASSERT_RC(bp_schedule_check(&s, &err), BP_EINVAL);
    assert_string_equal(err.message, "schedule: gamma must be in (0, 1], got 2");
    TU_ASSERT_RC(bp_schedule_check(NULL, &err), BP_EINVAL);

    /* Fields a kind does not use are not checked. */
    s = sched(BP_SCHED_CONSTANT, 0.1);
    s.gamma = -1.0;
    s.step_size = 0;
    s.total = -5;
    s.min_lr = 7.0;
    check_ok(&s);
    s = sched(BP_SCHED_EXPONENTIAL, 0.1);
    s.gamma = 1.0;
    check_ok(&s);
    /* min_lr may equal base. */
    s = sched(BP_SCHED_COSINE, 0.1);
    s.total = 1;
    s.min_lr = 0.1;
    check_ok(&s);
    assert_true(isnan(bp_schedule_lr(NULL, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_warmup),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
