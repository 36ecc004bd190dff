/*
 * tune.h - picking the thread count while training, by measured speed.
 *
 * backprop's results do not depend on the thread count, so the tool may
 * change it between batches at no cost to reproducibility. When the user
 * does not fix it (--threads), training runs a few batches with every
 * thread, twice as many with one, as many again with every thread (so that
 * a run that warms up or slows down favours neither), keeps the faster,
 * and measures again every few seconds (a choice of one thread sooner at
 * first, since a pause of the host can make it): on a quiet machine all
 * cores win; on a machine where other programs keep a core busy, one
 * thread that never waits for a descheduled partner can be several times
 * faster.
 */
#ifndef BACKPROP_CLI_TUNE_H
#define BACKPROP_CLI_TUNE_H

typedef struct cli_tune {
    int max;          /* threads available; <= 1: nothing to tune */
    int phase;        /* 0 warming up, 1-4 timing max, one, one, max; 5 settled */
    long batches;     /* batches in the current window */
    double start;     /* when the window started */
    double seconds[2]; /* timed with max threads, with one */
    long timed[2];    /* batches in those */
    double settled;   /* when the choice was made */
    double wait;      /* how long a choice of one thread stands before it is
                       * measured again (0: every thread was chosen last) */
    int chosen;       /* the thread count in use */
    long switches;    /* times the choice changed */
} cli_tune;

/* Start tuning over max threads (nothing happens when max <= 1). */
void cli_tune_init(cli_tune *t, int max);

/* After every training batch (the clock is read only now and then). */
void cli_tune_batch(cli_tune *t);

/* At an epoch's end: evaluation time must not count as batches'. */
void cli_tune_epoch(cli_tune *t);

#endif
