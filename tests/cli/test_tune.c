/*
 * test_tune.c - the thread count chosen by measured speed (cli/tune.c),
 * driven by a clock the test moves: each batch takes the time the test
 * gives the setting in use, so every choice and every new measurement is
 * known in advance.
 */
#include "testutil.h"

#include "../../cli/tune.c"

static double clock_now;

double cli_now(void)
{
    return clock_now;
}

typedef struct machine {
    double every, one; /* seconds a batch takes on every thread, on one */
    double pause_until; /* before this time, a batch on every thread takes 10x */
} machine;

/* Batches until the clock reaches `until`; returns how many times the
 * tuner went back to measuring (phase 5 to 1). */
static int train_until(cli_tune *t, const machine *m, double until)
{
    int measured = 0;
    while (clock_now < until) {
        double cost = t->chosen == 1 ? m->one : m->every;
        if (t->chosen != 1 && clock_now < m->pause_until)
            cost *= 10.0;
        clock_now += cost;
        const int was = t->phase;
        cli_tune_batch(t);
        measured += was == 5 && t->phase == 1;
    }
    return measured;
}

static void test_quiet_machine_keeps_every_thread(void **state)
{
    (void)state;
    cli_tune t;
    const machine m = {.every = 0.0006, .one = 0.0009, .pause_until = 0.0};
    clock_now = 0.0;
    cli_tune_init(&t, 2);
    assert_int_equal(train_until(&t, &m, 1.0), 0);
    assert_int_equal(t.phase, 5);
    assert_int_equal(t.chosen, 2);
    /* measured again after 5 s, not before */
    assert_int_equal(train_until(&t, &m, t.settled + 4.9), 0);
    assert_int_equal(train_until(&t, &m, t.settled + 5.2), 1);
    assert_int_equal(train_until(&t, &m, 6.0), 0);
    assert_int_equal(t.chosen, 2);
}

static void test_pause_at_start_is_undone_soon(void **state)
{
    (void)state;
    cli_tune t;
    /* the host stalls the two-thread batches of the first windows */
    const machine m = {.every = 0.0006, .one = 0.0009, .pause_until = 0.05};
    clock_now = 0.0;
    cli_tune_init(&t, 2);
    train_until(&t, &m, 0.2);
    assert_int_equal(t.phase, 5);
    assert_int_equal(t.chosen, 1);
    const double settled = t.settled;
    /* a quarter of a second later the choice is measured again, and two
     * threads win for good */
    assert_int_equal(train_until(&t, &m, settled + 0.2), 0);
    assert_int_equal(t.chosen, 1);
    assert_int_equal(train_until(&t, &m, settled + 0.5), 1);
    assert_int_equal(t.phase, 5);
    assert_int_equal(t.chosen, 2);
    assert_int_equal(train_until(&t, &m, settled + 5.0), 0);
    assert_int_equal(t.chosen, 2);
}

static void test_busy_machine_measures_less_and_less_often(void **state)
{
    (void)state;
    cli_tune t;
    /* another program keeps a core busy: one thread is twice as fast */
    const machine m = {.every = 0.002, .one = 0.001, .pause_until = 0.0};
    clock_now = 0.0;
    cli_tune_init(&t, 2);
    train_until(&t, &m, 0.2);
    assert_int_equal(t.chosen, 1);
    /* measured again after about 0.25, 0.5, 1, 2 and 4 s of standing
     * choices, then every 5 s: 5 times in the next 9 s, 2 in the 10 after */
    assert_int_equal(train_until(&t, &m, 9.2), 5);
    assert_int_equal(train_until(&t, &m, 19.2), 2);
    assert_int_equal(t.chosen, 1);
    assert_in_range((long)(t.wait * 1000.0), 5000, 100000);
}

static void test_one_core_does_not_tune(void **state)
{
    (void)state;
    cli_tune t;
    const machine m = {.every = 0.001, .one = 0.001, .pause_until = 0.0};
    clock_now = 0.0;
    cli_tune_init(&t, 1);
    assert_int_equal(train_until(&t, &m, 1.0), 0);
    assert_int_equal(t.phase, 0);
    assert_int_equal(t.switches, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_machine_keeps_every_thread),
        cmocka_unit_test(test_pause_at_start_is_undone_soon),
        cmocka_unit_test(test_busy_machine_measures_less_and_less_often),
        cmocka_unit_test(test_one_core_does_not_tune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
