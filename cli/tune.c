/*
 * tune.c - the thread count chosen by measured speed (see tune.h). A window
 * is at least WINDOW_BATCHES batches and WINDOW_SECONDS long; the first
 * WARMUP_BATCHES batches (one-time set-up inside the libraries) are not
 * timed; four windows, every thread, one, one, every thread, decide; a
 * settled choice of every thread is measured again after RETUNE_SECONDS,
 * one of fewer after RETUNE_FIRST, then twice as long each time it stands
 * (up to RETUNE_SECONDS): a pause of the host in the first windows must
 * not keep a quiet machine on one core for seconds.
 */
#include "tune.h"

#include "backprop.h"
#include "progress.h"

#define WARMUP_BATCHES 4
#define WINDOW_BATCHES 8
#define WINDOW_SECONDS 0.02
#define RETUNE_SECONDS 5.0
#define RETUNE_FIRST 0.25
#define RETUNE_CHECK_BATCHES 64 /* settled: the clock is read every this many batches */

/* The windows' sums, every thread ([0]) and one ([1]), emptied. */
static void clear_sums(cli_tune *t)
{
    t->seconds[0] = t->seconds[1] = 0.0;
    t->timed[0] = t->timed[1] = 0;
}

void cli_tune_init(cli_tune *t, int max)
{
    t->max = max;
    t->phase = 0;
    t->batches = 0;
    t->start = 0.0;
    clear_sums(t);
    t->settled = 0.0;
    t->wait = 0.0;
    t->chosen = max;
    t->switches = 0;
    if (max > 1)
        bp_set_threads(max);
}

static void use(cli_tune *t, int threads)
{
    if (threads != t->chosen)
        t->switches++;
    t->chosen = threads;
    bp_set_threads(threads);
}

static void open_window(cli_tune *t, double now)
{
    t->batches = 0;
    t->start = now;
}

/* Whether a window of n batches is checked against the clock: every batch
 * up to 16, then every n/16 to n/8 batches, so fast batches cost a few
 * clock reads per window rather than one each (and overshoot it by at most
 * an eighth). */
static int check_due(long n)
{
    long step = 1;
    while (step * 16 <= n)
        step *= 2;
    return n >= WINDOW_BATCHES && n % step == 0;
}

void cli_tune_batch(cli_tune *t)
{
    if (t->max <= 1)
        return;
    t->batches++;
    switch (t->phase) {
    case 0: /* warming up with every thread */
        if (t->batches >= WARMUP_BATCHES) {
            t->phase = 1;
            open_window(t, cli_now());
        }
        return;
    case 5: { /* settled: measure again after a while */
        if (t->batches % RETUNE_CHECK_BATCHES != 0)
            return;
        double now = cli_now();
        const double wait = t->wait > 0.0 && t->wait < RETUNE_SECONDS ? t->wait : RETUNE_SECONDS;
        if (now - t->settled >= wait) {
            t->phase = 1;
            clear_sums(t);
            use(t, t->max);
            open_window(t, now);
        }
        return;
    }
    default:
        break;
    }
    if (!check_due(t->batches))
        return;
    double now = cli_now();
    if (now - t->start < WINDOW_SECONDS)
        return;
    const int one = t->phase == 2 || t->phase == 3; /* the window's setting */
    t->seconds[one] += now - t->start;
    t->timed[one] += t->batches;
    if (t->phase < 4) {
        t->phase++;
        use(t, t->phase == 4 ? t->max : 1);
        open_window(t, now);
        return;
    }
    t->phase = 5;
    t->settled = now;
    t->batches = 0;
    const int fewer = t->seconds[1] * (double)t->timed[0] < t->seconds[0] * (double)t->timed[1];
    if (fewer && t->wait < RETUNE_SECONDS)
        t->wait = t->wait > 0.0 ? 2.0 * t->wait : RETUNE_FIRST;
    else if (!fewer)
        t->wait = 0.0;
    use(t, fewer ? 1 : t->max);
}

void cli_tune_epoch(cli_tune *t)
{
    /* The window restarts after the epoch's evaluation. */
    if (t->max > 1 && t->phase >= 1 && t->phase <= 4)
        open_window(t, cli_now());
}
