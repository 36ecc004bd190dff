/*
 * progress.c - a training run's progress: epoch lines, the progress bar, the
 * CSV log and the JSON array of epochs; and the clock, figure formatting,
 * JSON texts and files written whole that they rest on. The POSIX calls
 * they need (clock_gettime, isatty, stat, access) are kept in this file.
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1 /* the bar at most ten times a second */
#define LINE_SECONDS 0.1   /* epoch lines likewise, when epochs are faster */

double cli_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cli_process_seconds(void)
{
#ifdef CLOCK_BOOTTIME
    /* Field 22 of /proc/self/stat is the start time in clock ticks since
     * boot; the second field, the name, is in parentheses and may hold
     * spaces, so the fields are counted from its closing one. */
    char buf[1024], *p;
    unsigned long long start = 0;
    struct timespec ts;
    long tick = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    if (!(p = strrchr(buf, ')')) || tick <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return NAN;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", &start) != 1)
        return NAN;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - (double)start / (double)tick;
#else
    return NAN;
#endif
}

int cli_is_terminal(FILE *f)
{
    return isatty(fileno(f)) == 1;
}

const char *cli_fig(char *buf, size_t size, double v)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, "%s", v < 0 ? "-inf" : "inf");
    else if (a == 0.0 || (a >= 1e-3 && a < 1e5))
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "%.4e", v);
    return buf;
}

static void fmt_seconds(char *buf, size_t size, double t)
{
    if (t >= 1.0)
        snprintf(buf, size, "%.1f s", t);
    else if (t >= 1e-3)
        snprintf(buf, size, "%.1f ms", t * 1e3);
    else if (t >= 1e-6)
        snprintf(buf, size, "%.0f us", t * 1e6);
    else
        snprintf(buf, size, "%.0f ns", t * 1e9);
}

/* The shortest of "%.15g", "%.16g" and "%.17g" that reads back as v: the
 * shortest round-trip form, as cli_num gives, in at most three tries, which
 * matters for logs of many thousands of epochs. */
static const char *exact(char *buf, double v)
{
    if (!isfinite(v))
        return cli_num(buf, v);
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* ---- small JSON texts ---------------------------------------------------- */

void cli_jt_add(cli_jtext *j, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (j->over)
        return;
    va_start(ap, fmt);
    n = vsnprintf(j->buf + j->len, sizeof j->buf - j->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof j->buf - j->len)
        j->over = 1;
    else
        j->len += (size_t)n;
}

void cli_jt_num(cli_jtext *j, const char *key, double v)
{
    char num[32];
    cli_jt_add(j, "%s\"%s\": %s", j->len > 1 ? ", " : "", key,
               isfinite(v) ? exact(num, v) : "null");
}

void cli_jt_epoch(cli_jtext *j, const cli_epoch *e)
{
    cli_jt_num(j, "loss", e->loss);
    if (e->has & CLI_HAS_ACC)
        cli_jt_num(j, "accuracy", e->accuracy);
    if (e->has & CLI_HAS_VAL)
        cli_jt_num(j, "val_loss", e->val_loss);
    if (e->has & CLI_HAS_VAL_ACC)
        cli_jt_num(j, "val_accuracy", e->val_accuracy);
    if (e->has & CLI_HAS_TEST)
        cli_jt_num(j, "test_loss", e->test_loss);
    if (e->has & CLI_HAS_TEST_ACC)
        cli_jt_num(j, "test_accuracy", e->test_accuracy);
}

/* ---- a training run's progress ------------------------------------------- */

void cli_progress_init(cli_progress *p, int epochs, size_t rows, long batch, int lines, int bar,
                       int keep)
{
    memset(p, 0, sizeof *p);
    p->epochs = epochs;
    p->rows = rows;
    p->batch = batch;
    p->lines = lines;
    p->bar = bar && cli_is_terminal(stderr);
    p->keep = keep;
    p->loss_mul = 1.0;
    if (p->bar)
        p->epoch_start = cli_now();
}

void cli_progress_free(cli_progress *p)
{
    free(p->all);
    p->all = NULL;
    p->n = p->cap = 0;
}

void cli_progress_clear(cli_progress *p)
{
    if (!p->bar_shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->bar_shown = 0;
}

/* "epoch 3/10 [#########...............] 180/469  loss 0.3492  31000 samples/s
 * 1.3 s left", over the line it had; \033[K erases what a longer line left. */
static void draw_bar(cli_progress *p, int epoch, long batch, long batches, double now)
{
    char bar[BAR_WIDTH + 1], fig[32], left[32];
    double elapsed = now - p->epoch_start;
    double done = (double)batch * (double)p->batch;
    int filled = (int)((double)batch / (double)batches * BAR_WIDTH + 0.5);
    if (done > (double)p->rows)
        done = (double)p->rows;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fmt_seconds(left, sizeof left, elapsed / (double)batch * (double)(batches - batch));
    cli_fig(fig, sizeof fig, p->loss_sum / (double)p->loss_n * p->loss_mul);
    fprintf(stderr, "\repoch %d/%d [%s] %ld/%ld  loss %s  %.0f samples/s  %s left\033[K", epoch,
            p->epochs, bar, batch, batches, fig, elapsed > 0.0 ? done / elapsed : 0.0, left);
    fflush(stderr);
    p->bar_shown = 1;
}

void cli_progress_batch(cli_progress *p, int epoch, long batch, long batches, double loss)
{
    p->loss_sum += loss;
    p->loss_n++;
    if (!p->bar)
        return; /* away from a terminal the clock is not read per batch */
    double now = cli_now();
    /* Not in an epoch's first tenth of a second, so fast epochs draw nothing. */
    if (now - p->bar_last >= REDRAW_SECONDS && now - p->epoch_start >= REDRAW_SECONDS) {
        p->bar_last = now;
        draw_bar(p, epoch, batch, batches, now);
    }
}

static void print_line(const cli_progress *p, const cli_epoch *e)
{
    char fig[32];
    printf("epoch %d/%d  loss %s", e->epoch, p->epochs, cli_fig(fig, sizeof fig, e->loss));
    if (e->has & CLI_HAS_ACC)
        printf("  acc %.2f%%", 100.0 * e->accuracy);
    if (e->has & CLI_HAS_VAL)
        printf("  val_loss %s", cli_fig(fig, sizeof fig, e->val_loss));
    if (e->has & CLI_HAS_VAL_ACC)
        printf("  val_acc %.2f%%", 100.0 * e->val_accuracy);
    if (e->has & CLI_HAS_TEST)
        printf("  test_loss %s", cli_fig(fig, sizeof fig, e->test_loss));
    if (e->has & CLI_HAS_TEST_ACC)
        printf("  test_acc %.2f%%", 100.0 * e->test_accuracy);
    if (e->timed > 0) {
        fmt_seconds(fig, sizeof fig, e->seconds);
        printf("  %.0f samples/s  %s", e->samples_per_s, fig);
        if (e->timed > 1)
            printf(" an epoch (mean of %d)", e->timed);
    }
    putchar('\n');
    fflush(stdout);
}

void cli_progress_units(const cli_progress *p, cli_epoch *e)
{
    e->loss *= p->loss_mul;
    e->val_loss *= p->loss_mul;
    e->test_loss *= p->loss_mul;
}

cli_epoch *cli_progress_next(cli_progress *p)
{
    return &p->last;
}

int cli_progress_epoch(cli_progress *p)
{
    cli_epoch *e = &p->last;
    cli_progress_units(p, e);
    cli_progress_clear(p);
    if (e->timed > 0)
        p->elapsed += e->seconds * e->timed;
    if (p->bar)
        p->epoch_start = cli_now();
    p->loss_sum = 0.0;
    p->loss_n = 0;
    if (p->keep) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 64;
            cli_epoch *all = realloc(p->all, cap * sizeof *all);
            if (!all) {
                cli_error("out of memory for the figures of %zu epochs", cap);
                return CLI_RUNTIME;
            }
            p->all = all;
            p->cap = cap;
        }
        p->all[p->n++] = *e;
    }
    p->n_seen++;
    p->printed = 0;
    /* A line at most every LINE_SECONDS, but always the first and the last
     * (training times both), and only of timed epochs. */
    if (p->lines && e->timed > 0 &&
        (!p->line_any || e->epoch == 1 || e->epoch == p->epochs ||
         p->elapsed - p->line_last >= LINE_SECONDS)) {
        print_line(p, e);
        p->line_last = p->elapsed;
        p->line_any = 1;
        p->printed = 1;
    }
    return 0;
}

void cli_progress_end(cli_progress *p)
{
    cli_progress_clear(p);
    if (p->lines && p->n_seen > 0 && !p->printed)
        print_line(p, &p->last);
}

/* ",v", or "," alone where v does not apply. */
static void csv_cell(FILE *f, double v, unsigned applies)
{
    char num[32];
    fputc(',', f);
    if (applies)
        fputs(exact(num, v), f);
}

int cli_progress_write_csv(const cli_progress *p, const char *path)
{
    cli_outfile of;
    if (cli_outfile_open(&of, path) != 0)
        return CLI_RUNTIME;
    fputs("epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds,"
          "samples_per_s\n", of.f);
    for (size_t i = 0; i < p->n; i++) {
        const cli_epoch *e = &p->all[i];
        fprintf(of.f, "%d", e->epoch);
        csv_cell(of.f, e->loss, 1);
        csv_cell(of.f, e->accuracy, e->has & CLI_HAS_ACC);
        csv_cell(of.f, e->val_loss, e->has & CLI_HAS_VAL);
        csv_cell(of.f, e->val_accuracy, e->has & CLI_HAS_VAL_ACC);
        csv_cell(of.f, e->test_loss, e->has & CLI_HAS_TEST);
        csv_cell(of.f, e->test_accuracy, e->has & CLI_HAS_TEST_ACC);
        csv_cell(of.f, e->lr, 1);
        csv_cell(of.f, e->seconds, e->timed > 0);
        csv_cell(of.f, e->samples_per_s, e->timed > 0);
        fputc('\n', of.f);
    }
    return cli_outfile_commit(&of);
}

void cli_progress_json(const cli_progress *p, FILE *f)
{
    fputc('[', f);
    for (size_t i = 0; i < p->n; i++) {
        const cli_epoch *e = &p->all[i];
        cli_jtext j = {.len = 0};
        cli_jt_add(&j, "{\"epoch\": %d", e->epoch);
        cli_jt_epoch(&j, e);
        cli_jt_num(&j, "lr", e->lr);
        cli_jt_num(&j, "seconds", e->seconds);
        cli_jt_num(&j, "samples_per_s", e->samples_per_s);
        fprintf(f, "%s\n  %s}", i ? "," : "", j.buf);
    }
    fputs("\n]", f);
}

/* ---- files written whole ----------------------------------------------- */

int cli_outfile_open(cli_outfile *o, const char *path)
{
    size_t n = strlen(path);
    o->f = NULL;
    o->path = path;
    if (!(o->tmp = malloc(n + sizeof ".tmp"))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp", sizeof ".tmp");
    if (!(o->f = fopen(o->tmp, "w"))) {
        cli_error("%s: cannot write: %s", o->path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

int cli_outfile_commit(cli_outfile *o)
{
    int rc = CLI_OK, err = ferror(o->f) ? EIO : 0;
    if (fflush(o->f) != 0 && !err)
        err = errno ? errno : EIO;
    if (!err && fsync(fileno(o->f)) != 0) /* on disk before the rename makes it current */
        err = errno ? errno : EIO;
    if (fclose(o->f) != 0 && !err)
        err = errno ? errno : EIO;
    o->f = NULL;
    if (err) {
        cli_error("%s: write failed: %s", o->path, strerror(err));
        remove(o->tmp);
        rc = CLI_RUNTIME;
    } else if (rename(o->tmp, o->path) != 0) {
        cli_error("%s: cannot write: %s", o->path, strerror(errno));
        remove(o->tmp);
        rc = CLI_RUNTIME;
    }
    free(o->tmp);
    o->tmp = NULL;
    return rc;
}

void cli_outfile_abort(cli_outfile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->tmp)
        remove(o->tmp);
    free(o->tmp);
    o->f = NULL;
    o->tmp = NULL;
}

int cli_check_writable(const char *opt, const char *path)
{
    struct stat st;
    const char *slash = strrchr(path, '/');
    char *dir;
    int rc = CLI_OK;
    if (!path[0]) {
        cli_error("%s: the file name is empty", opt);
        return CLI_RUNTIME;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s: '%s' is a directory", opt, path);
        return CLI_RUNTIME;
    }
    if (!(dir = malloc(strlen(path) + 2))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    if (stat(dir, &st) != 0) {
        cli_error("%s: cannot write '%s': %s", opt, path, strerror(errno));
        rc = CLI_RUNTIME;
    } else if (!S_ISDIR(st.st_mode)) {
        cli_error("%s: cannot write '%s': '%s' is not a directory", opt, path, dir);
        rc = CLI_RUNTIME;
    } else if (access(dir, W_OK) != 0) {
        cli_error("%s: cannot write '%s': %s", opt, path, strerror(errno));
        rc = CLI_RUNTIME;
    }
    free(dir);
    return rc;
}
