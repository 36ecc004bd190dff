/*
 * progress.h - the progress of a training run as the tool reports it: the
 * figures of every epoch, printed as one line each (thinned to a few a
 * second when epochs are fast, the first and the last always shown), a
 * progress bar redrawn in place on a terminal at most ten times a second,
 * and the same figures as a CSV log and as JSON. Also what such reports
 * need: a monotonic clock, figures formatted one way, small JSON texts, and
 * files written whole (to FILE.tmp, then renamed over FILE) so a failed run
 * never leaves half a file behind.
 */
#ifndef BACKPROP_CLI_PROGRESS_H
#define BACKPROP_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

/* Seconds on a monotonic clock (an arbitrary origin). */
double cli_now(void);

/* Seconds since this process started (exec and loading included), to the
 * kernel's clock tick (10 ms); NAN where /proc cannot tell. */
double cli_process_seconds(void);

/* 1 when f is a terminal. */
int cli_is_terminal(FILE *f);

/* A figure as the tool prints it: 4 decimals, or 4 significant digits in
 * e-notation when |v| is below 1e-3 or from 1e5 up; "nan", "inf". Returns
 * buf (32 bytes are enough). */
const char *cli_fig(char *buf, size_t size, double v);

/* ---- small JSON texts ---------------------------------------------------- */

/* A JSON text built in a fixed buffer; `over` is set when it did not fit. */
typedef struct cli_jtext {
    char buf[1024];
    size_t len;
    int over;
} cli_jtext;

void cli_jt_add(cli_jtext *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* `"key": v` right after the opening brace, else `, "key": v`; null for a
 * value that is not finite. */
void cli_jt_num(cli_jtext *j, const char *key, double v);

/* ---- the figures of an epoch ---------------------------------------------- */

/* Which figures apply. */
enum {
    CLI_HAS_ACC = 1,
    CLI_HAS_VAL = 2,
    CLI_HAS_VAL_ACC = 4,
    CLI_HAS_TEST = 8,
    CLI_HAS_TEST_ACC = 16
};

/* One epoch's figures as measured (a loss may be infinite or NaN). */
typedef struct cli_epoch {
    int epoch;     /* 1-based */
    unsigned has;  /* CLI_HAS_* */
    double loss, accuracy, val_loss, val_accuracy, test_loss, test_accuracy;
    double lr;
    int timed;            /* epochs the two figures below were measured over,
                           * this one the last (short epochs are timed in
                           * groups); 0: not timed, both NAN */
    double seconds;       /* an epoch's time, evaluations included: the mean
                           * over the timed epochs */
    double samples_per_s; /* training rows over the time of their batches */
} cli_epoch;

/* The loss and whichever of the other figures apply, as JSON members. */
void cli_jt_epoch(cli_jtext *j, const cli_epoch *e);

/* ---- a training run's progress ------------------------------------------- */

typedef struct cli_progress {
    int epochs;          /* planned */
    size_t rows;         /* training rows per epoch */
    long batch;          /* rows per batch */
    int lines;           /* print a line per epoch to stdout */
    int bar;             /* draw the bar on stderr */
    int keep;            /* keep every epoch's figures */
    double bar_last, line_last; /* when the bar, a line, was last drawn */
    int bar_shown, line_any;
    double elapsed;      /* the epochs' seconds so far, as measured by training */
    double epoch_start;  /* when the current epoch began (kept for the bar) */
    double loss_sum;     /* its batch losses so far */
    long loss_n;
    cli_epoch *all;      /* (n) every epoch's figures, when kept */
    size_t n, cap;
    cli_epoch last;      /* the last epoch's figures (valid when n_seen > 0) */
    long n_seen;
    int printed;         /* the last epoch's line was printed */
    double loss_mul;     /* losses as reported = as measured * loss_mul: a
                          * standardized regression target's scale (mae) or
                          * its square (mse), so they read in its units; 1 */
} cli_progress;

/* lines: print epoch lines; bar: draw the bar (only done when stderr is a
 * terminal); keep: keep every epoch for the log and JSON. The clock of the
 * first epoch starts now. */
void cli_progress_init(cli_progress *p, int epochs, size_t rows, long batch, int lines, int bar,
                       int keep);
void cli_progress_free(cli_progress *p);

/* After each batch (from bp_train's batch callback). */
void cli_progress_batch(cli_progress *p, int epoch, long batch, long batches, double loss);
/* Erase the bar (before printing anything else). */
void cli_progress_clear(cli_progress *p);
/* The record an epoch's figures are written into, field by field, every
 * field set, before cli_progress_epoch: p->last, written in place, since a
 * record built apart and copied in was read back with wide loads while its
 * narrow stores were still in flight, a stall each epoch. Ask for it only
 * once the epoch counts: it holds the last epoch until then. */
cli_epoch *cli_progress_next(cli_progress *p);
/* After each epoch, with the figures of cli_progress_next's record measured
 * (seconds and samples_per_s included: training measures them, so the
 * tool reads no clock per epoch); the record is kept and its line printed
 * when due (lines are thinned by the epochs' measured time). Returns 0, or
 * CLI_RUNTIME (printed) when memory ran out. */
int cli_progress_epoch(cli_progress *p);
/* e's losses (training, validation, test) from the measured ones into the
 * reported units (loss_mul); cli_progress_epoch applies it. */
void cli_progress_units(const cli_progress *p, cli_epoch *e);
/* After training: erase the bar and print the last epoch's line if it was
 * thinned out. */
void cli_progress_end(cli_progress *p);

/* The kept epochs: a CSV log (written whole) and a JSON array. */
int cli_progress_write_csv(const cli_progress *p, const char *path);
void cli_progress_json(const cli_progress *p, FILE *f);

/* ---- files written whole -------------------------------------------------- */

/* A text file being written: text goes to f, which writes PATH.tmp;
 * commit moves it over PATH. */
typedef struct cli_outfile {
    FILE *f;
    const char *path; /* borrowed */
    char *tmp;        /* PATH.tmp */
} cli_outfile;

/* Open PATH.tmp for writing. Prints and returns CLI_RUNTIME on failure. */
int cli_outfile_open(cli_outfile *o, const char *path);
/* Check every write, close, and rename PATH.tmp over PATH. On failure
 * PATH.tmp is removed, PATH is left as it was and the error is printed
 * (CLI_RUNTIME). */
int cli_outfile_commit(cli_outfile *o);
/* Give up: close and remove PATH.tmp. */
void cli_outfile_abort(cli_outfile *o);

/* Check before a long run that PATH can be written: not a directory, in a
 * directory that exists and is writable. Prints "OPT: ..." and returns
 * CLI_RUNTIME when not. */
int cli_check_writable(const char *opt, const char *path);

#endif
