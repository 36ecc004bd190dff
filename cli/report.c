/*
 * report.c - the training report as one HTML page (see report.h): the
 * curves from the epochs' figures, the rate from the schedule the steps
 * used, the confusion matrix and the confidently wrong samples from a pass
 * of the trained network over the evaluation data, the norms as recorded
 * (layers with parameters only), the table of layers and the filters from
 * the network itself (report_net.c), the settings from the model's metadata. Sections are <section
 * class="plot"> elements holding one or more SVG pictures each.
 */
#include "report.h"
#include "cli.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_WRONG 12    /* confidently wrong samples shown */
#define MAX_CLASSES 40 /* larger confusion matrices are not drawn */
#define EVAL_BATCH 256

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

/* ---- norms --------------------------------------------------------------- */

int cli_norms_add(cli_norms *r, double epoch, bp_net *net, const double *grad)
{
    int L = bp_net_layers(net);
    if (r->n == 0 && r->cap == 0)
        r->layers = L;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        double *e = realloc(r->epoch, cap * sizeof *e);
        if (e)
            r->epoch = e;
        double *w = e ? realloc(r->weight, cap * (size_t)L * sizeof *w) : NULL;
        if (w)
            r->weight = w;
        double *g = w ? realloc(r->grad, cap * (size_t)L * sizeof *g) : NULL;
        if (!g) {
            cli_error("out of memory for the norms of %zu epochs", cap);
            return CLI_RUNTIME;
        }
        r->grad = g;
        r->cap = cap;
    }
    r->epoch[r->n] = epoch;
    for (int l = 0; l < L; l++) {
        /* Weights then bias lie together in the block (dense (O, I), conv
         * (OUT, C, K, K)); a pool has none, and no norm. */
        size_t cnt = bp_net_layer_params(net, l);
        const float *w = bp_net_weight(net, l);
        double s = 0.0;
        for (size_t i = 0; i < cnt; i++)
            s += (double)w[i] * (double)w[i];
        r->weight[r->n * (size_t)L + (size_t)l] = cnt ? sqrt(s) : NAN;
        r->grad[r->n * (size_t)L + (size_t)l] = grad && cnt ? grad[l] : NAN;
    }
    r->n++;
    return CLI_OK;
}

void cli_norms_free(cli_norms *r)
{
    free(r->epoch);
    free(r->weight);
    free(r->grad);
    memset(r, 0, sizeof *r);
}

int cli_norms_measure_grad(bp_net *net, bp_loss loss, const bp_dataset *ds, double *out)
{
    size_t n = bp_dataset_rows(ds), P = bp_net_param_count(net);
    int I = bp_net_inputs(net), T = bp_dataset_target_cols(ds), L = bp_net_layers(net), lib;
    float *x = malloc((size_t)EVAL_BATCH * ((size_t)I + (size_t)T) * sizeof *x); /* (B, I + T) */
    double *acc = calloc(P, sizeof *acc);                                          /* (P) */
    int rc = CLI_RUNTIME;
    if (!x || !acc || n == 0) {
        cli_error(n == 0 ? "the data have no rows" : "out of memory");
        goto done;
    }
    float *t = x + (size_t)EVAL_BATCH * (size_t)I;
    for (size_t first = 0; first < n; first += EVAL_BATCH) {
        int B = n - first < EVAL_BATCH ? (int)(n - first) : EVAL_BATCH;
        double value;
        if ((lib = bp_dataset_gather(ds, NULL, first, B, x, t)) != 0 ||
            (lib = bp_net_gradient(net, loss, B, x, t, T, &value)) != 0) {
            cli_lib_error("measuring the gradient", lib, net);
            goto done;
        }
        /* Each batch's gradient is its mean; weigh it by its rows. */
        const float *g = bp_net_grads(net);
        for (size_t i = 0; i < P; i++)
            acc[i] += (double)g[i] * B / (double)n;
    }
    size_t off = 0;
    for (int l = 0; l < L; l++) {
        size_t cnt = bp_net_layer_params(net, l); /* the layer's block; 0 for a pool */
        double s = 0.0;
        for (size_t i = off; i < off + cnt; i++)
            s += acc[i] * acc[i];
        out[l] = cnt ? sqrt(s) : NAN;
        off += cnt;
    }
    bp_net_zero_grad(net);
    rc = CLI_OK;
done:
    free(acc);
    free(x);
    return rc;
}

/* ---- the evaluation pass ------------------------------------------------- */

/* A wrong prediction. */
typedef struct wrong {
    size_t row;
    int truth, pred;
    double conf;
} wrong;

typedef struct evaluation {
    int K;            /* classes; 0: not a classification */
    long *counts;     /* (K, K) rows: true class, columns: predicted */
    wrong worst[N_WRONG];
    int n_worst;
    size_t rows;
} evaluation;

/* The class of a target row (T values) for O outputs. */
static int target_class(const float *t, int T, int O)
{
    if (T == 1)
        return O == 1 ? t[0] >= 0.5f : (int)t[0];
    int k = 0;
    for (int j = 1; j < T; j++)
        if (t[j] > t[k])
            k = j;
    return k;
}

/* The predicted class and its output. */
static int predicted(const float *y, int O, double *conf)
{
    if (O == 1) {
        int k = y[0] >= 0.5f;
        *conf = k ? y[0] : 1.0 - y[0];
        return k;
    }
    int k = 0;
    for (int j = 1; j < O; j++)
        if (y[j] > y[k])
            k = j;
    *conf = y[k];
    return k;
}

/* Keep the N_WRONG most confident mistakes, most confident first. */
static void keep_wrong(evaluation *ev, const wrong *w)
{
    int i = ev->n_worst < N_WRONG ? ev->n_worst++ : N_WRONG - 1;
    if (i == N_WRONG - 1 && ev->n_worst == N_WRONG && !(w->conf > ev->worst[i].conf))
        return;
    while (i > 0 && w->conf > ev->worst[i - 1].conf) {
        ev->worst[i] = ev->worst[i - 1];
        i--;
    }
    ev->worst[i] = *w;
}

/* The class count of the evaluation, or 0 when it is no classification. */
static int class_count(const bp_net *net, const bp_dataset *ds)
{
    int O = bp_net_outputs(net), T = bp_dataset_target_cols(ds), C = bp_dataset_classes(ds);
    if (T == 1 && C > 0)
        return O == 1 ? 2 : (C > O ? 0 : O);
    if (T == O && O > 1)
        return O;
    return 0;
}

static int evaluate(bp_net *net, const bp_dataset *ds, evaluation *ev)
{
    int I = bp_net_inputs(net), O = bp_net_outputs(net), T = bp_dataset_target_cols(ds), lib;
    size_t n = bp_dataset_rows(ds);
    float *x = NULL; /* (B, I + T) */
    const float *y;  /* (B, O) */
    memset(ev, 0, sizeof *ev);
    ev->rows = n;
    if ((ev->K = class_count(net, ds)) == 0 || ev->K > MAX_CLASSES)
        return CLI_OK;
    x = malloc((size_t)EVAL_BATCH * ((size_t)I + (size_t)T) * sizeof *x);
    ev->counts = calloc((size_t)ev->K * (size_t)ev->K, sizeof *ev->counts);
    if (!x || !ev->counts) {
        free(x);
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    float *t = x + (size_t)EVAL_BATCH * (size_t)I;
    for (size_t first = 0; first < n; first += EVAL_BATCH) {
        int B = n - first < EVAL_BATCH ? (int)(n - first) : EVAL_BATCH;
        if ((lib = bp_dataset_gather(ds, NULL, first, B, x, t)) != 0 ||
            (lib = bp_net_forward(net, B, x, &y)) != 0) {
            free(x);
            return cli_lib_error("evaluating the network", lib, net);
        }
        for (int b = 0; b < B; b++) {
            wrong w = {.row = first + (size_t)b};
            w.truth = target_class(t + (size_t)b * (size_t)T, T, O);
            w.pred = predicted(y + (size_t)b * (size_t)O, O, &w.conf);
            if (w.truth < 0 || w.truth >= ev->K)
                continue;
            ev->counts[(size_t)w.truth * (size_t)ev->K + (size_t)w.pred]++;
            if (w.truth != w.pred)
                keep_wrong(ev, &w);
        }
    }
    free(x);
    return CLI_OK;
}

/* ---- page pieces --------------------------------------------------------- */

static const char *class_name(const cli_report *r, int k, char *buf, size_t size)
{
    const char *d = bp_dataset_describe(r->eval);
    if (r->eval && strncmp(d, "fashion-mnist", 13) == 0 && k >= 0 && k < 10)
        return fashion_names[k];
    snprintf(buf, size, "%d", k);
    return buf;
}

static void section_begin(FILE *f, const char *id, const char *title, const char *cls)
{
    fprintf(f, "<section class=\"%s\" id=\"%s\">\n<h2>", cls, id);
    svg_escape(f, title);
    fputs("</h2>\n", f);
}

static void para(FILE *f, const char *text)
{
    fputs("<p>", f);
    svg_escape(f, text);
    fputs("</p>\n", f);
}

/* A chart of up to 3 series over the epochs. */
static void epoch_chart(FILE *f, const char *title, const char *ylabel, const double *x,
                        const double *const *y, const char *const *names, int n_series, int n,
                        int logy)
{
    svg_axes a = {.left = 62, .top = 28, .width = 380, .height = 220, .logy = logy, .xint = 1};
    const char *colors[3];
    double lo = 1, hi = 0;
    a.x0 = 1;
    a.x1 = 0;
    svg_range_add(&a.x0, &a.x1, x, n, 0);
    svg_range_fix(&a.x0, &a.x1, 0);
    for (int s = 0; s < n_series; s++)
        svg_range_add(&lo, &hi, y[s], n, logy);
    svg_range_fix(&lo, &hi, logy);
    a.y0 = lo;
    a.y1 = hi;
    svg_begin(f, 460, 290, "chart");
    svg_axes_draw(f, &a, title, "epoch", ylabel);
    for (int s = 0; s < n_series; s++) {
        colors[s] = svg_color(s);
        svg_line(f, &a, names[s], x, y[s], n, colors[s], 2, 0);
        if (n <= 40)
            svg_dots(f, &a, names[s], x, y[s], n, colors[s], 2.5);
    }
    svg_legend(f, &a, names, colors, n_series, 0);
    svg_end(f);
}

static void curves(FILE *f, const cli_report *r, double *buf)
{
    size_t n = r->n_epochs;
    double *x = buf, *v[6];
    unsigned has = 0;
    for (int s = 0; s < 6; s++)
        v[s] = buf + (size_t)(s + 1) * n;
    for (size_t i = 0; i < n; i++) {
        const cli_epoch *e = &r->epochs[i];
        has |= e->has;
        x[i] = e->epoch;
        v[0][i] = e->loss;
        v[1][i] = e->has & CLI_HAS_VAL ? e->val_loss : NAN;
        v[2][i] = e->has & CLI_HAS_TEST ? e->test_loss : NAN;
        v[3][i] = e->has & CLI_HAS_ACC ? e->accuracy : NAN;
        v[4][i] = e->has & CLI_HAS_VAL_ACC ? e->val_accuracy : NAN;
        v[5][i] = e->has & CLI_HAS_TEST_ACC ? e->test_accuracy : NAN;
    }
    static const char *const all[6] = {"train loss",     "validation loss",     "test loss",
                                       "train accuracy", "validation accuracy", "test accuracy"};
    static const unsigned flag[6] = {0, CLI_HAS_VAL, CLI_HAS_TEST, CLI_HAS_ACC, CLI_HAS_VAL_ACC,
                                     CLI_HAS_TEST_ACC};
    const double *ys[3];
    const char *names[3];
    int k = 0, positive = 1;
    section_begin(f, "curves", "Loss and accuracy", "plot");
    for (int s = 0; s < 3; s++) {
        if (s > 0 && !(has & flag[s]))
            continue;
        for (size_t i = 0; i < n; i++)
            positive &= !isfinite(v[s][i]) || v[s][i] > 0.0;
        ys[k] = v[s];
        names[k++] = all[s];
    }
    epoch_chart(f, "Loss", "loss", x, ys, names, k, (int)n, positive);
    k = 0;
    for (int s = 3; s < 6; s++)
        if (has & flag[s]) {
            ys[k] = v[s];
            names[k++] = all[s];
        }
    if (k > 0)
        epoch_chart(f, "Accuracy", "accuracy", x, ys, names, k, (int)n, 0);
    else
        para(f, "No accuracy: the loss is not a classification loss, or random search "
                "measured none.");
    fputs("</section>\n", f);
}

/* The rate of every step (thinned to at most 1000 points) and the rate of
 * each epoch's last step. */
static int rates(FILE *f, const cli_report *r, double *buf)
{
    size_t n = r->n_epochs;
    long steps = r->schedule ? r->steps : 0, every = steps > 1000 ? (steps + 999) / 1000 : 1;
    long m = steps > 0 ? (steps + every - 1) / every : 0;
    double *sx = NULL, *sy = NULL, *ex = buf, *ey = buf + n;
    svg_axes a = {.left = 62, .top = 28, .width = 620, .height = 220, .xint = 1};
    double lo = 1, hi = 0;
    if (m > 0 && (!(sx = malloc(2 * (size_t)m * sizeof *sx)))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    sy = sx ? sx + m : NULL;
    for (long i = 0; i < m; i++) {
        long step = i * every;
        sx[i] = (double)(step + 1);
        sy[i] = bp_schedule_lr(r->schedule, step);
    }
    for (size_t i = 0; i < n; i++) {
        ex[i] = r->epochs[i].epoch;
        ey[i] = r->epochs[i].lr;
    }
    section_begin(f, "lr", "Learning rate", "plot");
    if (m > 0) {
        /* Place each epoch's rate at its last step. */
        double per = (double)steps / (double)(n ? r->epochs[n - 1].epoch : 1);
        for (size_t i = 0; i < n; i++)
            ex[i] = ex[i] * per;
        a.x0 = 1;
        a.x1 = (double)steps;
    } else {
        a.x0 = 1;
        a.x1 = 0;
        svg_range_add(&a.x0, &a.x1, ex, (int)n, 0);
    }
    svg_range_fix(&a.x0, &a.x1, 0);
    svg_range_add(&lo, &hi, ey, (int)n, 0);
    if (m > 0)
        svg_range_add(&lo, &hi, sy, (int)m, 0);
    if (lo > 0.0)
        lo = 0.0;
    svg_range_fix(&lo, &hi, 0);
    a.y0 = lo;
    a.y1 = hi;
    svg_begin(f, 720, 290, "chart");
    svg_axes_draw(f, &a, "Learning rate", m > 0 ? "step" : "epoch", "rate");
    const char *names[2] = {"every step", "last step of each epoch"};
    const char *colors[2] = {svg_color(0), svg_color(3)};
    if (m > 0)
        svg_line(f, &a, names[0], sx, sy, (int)m, colors[0], 1.5, 0);
    svg_dots(f, &a, names[1], ex, ey, (int)n, colors[1], 3);
    svg_legend(f, &a, m > 0 ? names : names + 1, m > 0 ? colors : colors + 1, m > 0 ? 2 : 1, 0);
    svg_end(f);
    if (m == 0)
        para(f, "The rate of each epoch's last step, from the log.");
    fputs("</section>\n", f);
    free(sx);
    return CLI_OK;
}

static void confusion(FILE *f, const cli_report *r, const evaluation *ev)
{
    char title[160], name[32], b1[32], b2[32];
    int K = ev->K;
    long total = 0, right = 0, max = 1;
    section_begin(f, "confusion", "Confusion matrix", "plot");
    if (K == 0 || !ev->counts) {
        para(f, K == 0 ? "No confusion matrix: the targets are not classes."
                       : "No confusion matrix: too many classes to draw.");
        fputs("</section>\n", f);
        return;
    }
    for (int i = 0; i < K * K; i++) {
        total += ev->counts[i];
        max = ev->counts[i] > max ? ev->counts[i] : max;
    }
    for (int k = 0; k < K; k++)
        right += ev->counts[k * K + k];
    snprintf(title, sizeof title, "On the %s data: %ld rows, %ld right (%.2f%%)", r->eval_name,
             total, right, total ? 100.0 * (double)right / (double)total : 0.0);
    para(f, title);
    double cell = K <= 10 ? 40 : 400.0 / K, left = 110, top = 80;
    int side = (int)(left + cell * K + 20);
    svg_begin(f, side, (int)(top + cell * K + 40), "chart");
    svg_text(f, left + cell * K / 2, 16, 12, "middle", "predicted class");
    for (int i = 0; i < K; i++) {
        const char *nm = class_name(r, i, name, sizeof name);
        svg_text(f, left - 6, top + cell * i + cell / 2 + 4, 10, "end", nm);
        fprintf(f,
                "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"start\" "
                "transform=\"rotate(-45 %.2f %.2f)\">",
                left + cell * i + cell / 2, top - 4, left + cell * i + cell / 2, top - 4);
        svg_escape(f, K <= 10 ? nm : name);
        fputs("</text>\n", f);
        for (int j = 0; j < K; j++) {
            long c = ev->counts[i * K + j];
            double s = (double)c / (double)max;
            int shade = 255 - (int)lrint(200.0 * sqrt(s));
            fprintf(f,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                    "fill=\"rgb(%d,%d,255)\" stroke=\"#ffffff\" data-true=\"%d\" "
                    "data-pred=\"%d\" data-count=\"%ld\"/>\n",
                    left + cell * j, top + cell * i, cell, cell, shade, shade, i, j, c);
            if (cell >= 18) {
                snprintf(b1, sizeof b1, "%ld", c);
                fprintf(f, "<g fill=\"%s\">", s > 0.5 ? "#ffffff" : "#222222");
                svg_text(f, left + cell * j + cell / 2, top + cell * i + cell / 2 + 4,
                         cell >= 36 ? 10 : 8, "middle", b1);
                fputs("</g>", f);
            }
        }
    }
    svg_text(f, left + cell * K / 2, top + cell * K + 20, 11, "middle",
             "rows: true class, columns: predicted class");
    svg_end(f);
    fputs("<table class=\"classes\"><tr><th>class</th><th>rows</th><th>precision</th>"
          "<th>recall</th></tr>\n",
          f);
    for (int k = 0; k < K; k++) {
        long col = 0, row = 0, tp = ev->counts[k * K + k];
        for (int i = 0; i < K; i++) {
            col += ev->counts[i * K + k];
            row += ev->counts[k * K + i];
        }
        if (col)
            snprintf(b1, sizeof b1, "%.4f", (double)tp / (double)col);
        else
            snprintf(b1, sizeof b1, "n/a");
        if (row)
            snprintf(b2, sizeof b2, "%.4f", (double)tp / (double)row);
        else
            snprintf(b2, sizeof b2, "n/a");
        fprintf(f, "<tr data-class=\"%d\"><td>", k);
        svg_escape(f, class_name(r, k, name, sizeof name));
        fprintf(f, "</td><td>%ld</td><td class=\"precision\">%s</td><td class=\"recall\">%s"
                   "</td></tr>\n",
                row, b1, b2);
    }
    fputs("</table>\n</section>\n", f);
}

/* The most confident mistakes: pictures when the input is one image
 * channel (1xHxW), or a flat vector that forms a square. */
static int mistakes(FILE *f, const cli_report *r, const evaluation *ev)
{
    int I = bp_net_inputs(r->net), side = (int)lrint(sqrt((double)I)), lib;
    bp_shape in = bp_net_input_shape(r->net);
    int ih = in.h > 0 ? in.h : side, iw = in.h > 0 ? in.w : side;
    int picture = in.h > 0 ? in.c == 1 && ih >= 4 && iw >= 4 : side >= 4 && side * side == I;
    int big = ih > iw ? ih : iw;
    double scale = picture ? (big <= 28 ? 3.0 : 84.0 / big) : 0.0;
    double cw = picture ? iw * scale + 70 : 200, ch = picture ? ih * scale + 44 : 70;
    cw = cw < 150 ? 150 : cw; /* room for the labels under a small picture */
    int per_row = 6, n = ev->n_worst;
    float *x = malloc((size_t)I * sizeof *x); /* (I) one sample */
    float lo, hi;
    char line[128], t1[32], t2[32];
    if (!x) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    section_begin(f, "mistakes", "Most confidently wrong", "plot");
    if (n == 0) {
        para(f, ev->K == 0 ? "No mistakes to show: the targets are not classes."
                           : "No mistakes: every row was classified right.");
        fputs("</section>\n", f);
        free(x);
        return CLI_OK;
    }
    snprintf(line, sizeof line, "The %d wrong predictions on the %s data with the highest "
                                "output for the predicted class.",
             n, r->eval_name);
    para(f, line);
    int rows = (n + per_row - 1) / per_row;
    svg_begin(f, (int)(cw * (n < per_row ? n : per_row)) + 10, (int)(ch * rows) + 10, "chart");
    for (int i = 0; i < n; i++) {
        const wrong *w = &ev->worst[i];
        double left = 5 + cw * (i % per_row), top = 5 + ch * (i / per_row);
        if ((lib = bp_dataset_gather(r->eval, NULL, w->row, 1, x, NULL)) != 0) {
            free(x);
            return cli_lib_error("reading a sample", lib, NULL);
        }
        fprintf(f, "<g class=\"sample\" data-row=\"%zu\" data-true=\"%d\" data-pred=\"%d\">\n",
                w->row, w->truth, w->pred);
        if (picture) {
            /* Scaled images normally lie in [0, 1]; stretch any other range. */
            lo = hi = x[0];
            for (int j = 1; j < I; j++) {
                lo = x[j] < lo ? x[j] : lo;
                hi = x[j] > hi ? x[j] : hi;
            }
            if (lo < 0.0f || hi > 1.0f)
                for (int j = 0; j < I; j++)
                    x[j] = hi > lo ? (x[j] - lo) / (hi - lo) : 0.0f;
            svg_image(f, left + (cw - iw * scale) / 2 - 5, top, iw, ih, x, scale);
        } else {
            line[0] = '\0';
            for (int j = 0; j < I && j < 4; j++) {
                size_t len = strlen(line);
                snprintf(line + len, sizeof line - len, "%s%.4g", j ? ", " : "x = ", (double)x[j]);
            }
            if (I > 4)
                strncat(line, ", ...", sizeof line - strlen(line) - 1);
            svg_text(f, left + 4, top + 14, 10, "start", line);
        }
        double ty = picture ? top + ih * scale + 14 : top + 32;
        snprintf(line, sizeof line, "true: %s", class_name(r, w->truth, t1, sizeof t1));
        svg_text(f, left + cw / 2 - 5, ty, 10, "middle", line);
        snprintf(line, sizeof line, "predicted: %s (%.3f)", class_name(r, w->pred, t2, sizeof t2),
                 w->conf);
        fputs("<g fill=\"#b00000\">", f);
        svg_text(f, left + cw / 2 - 5, ty + 13, 10, "middle", line);
        fputs("</g></g>\n", f);
    }
    svg_end(f);
    fputs("</section>\n", f);
    free(x);
    return CLI_OK;
}

static void norms(FILE *f, const cli_report *r, double *buf)
{
    const cli_norms *nm = r->norms;
    section_begin(f, "norms", "Per-layer weight and gradient norms", "plot");
    if (!nm || nm->n == 0) {
        para(f, "No norms were recorded.");
        fputs("</section>\n", f);
        return;
    }
    int L = nm->layers, n = (int)nm->n, with[16], shown = 0;
    /* Only layers with parameters have norms: pools are left out. */
    for (int l = 0; l < L && shown < 16; l++)
        if (l >= bp_net_layers(r->net) || bp_net_layer_params(r->net, l) > 0)
            with[shown++] = l;
    for (int which = 0; which < 2; which++) {
        const double *src = which ? nm->grad : nm->weight;
        svg_axes a = {.left = 62, .top = 28, .width = 380, .height = 220, .logy = 1, .xint = 1};
        double lo = 1, hi = 0;
        const char *names[16], *colors[16];
        char label[16][32];
        a.x0 = 1;
        a.x1 = 0;
        svg_range_add(&a.x0, &a.x1, nm->epoch, n, 0);
        svg_range_fix(&a.x0, &a.x1, 0);
        for (int k = 0; k < shown; k++) {
            for (int i = 0; i < n; i++)
                buf[(size_t)k * (size_t)n + (size_t)i] =
                    src[(size_t)i * (size_t)L + (size_t)with[k]];
            svg_range_add(&lo, &hi, buf + (size_t)k * (size_t)n, n, 1);
        }
        svg_range_fix(&lo, &hi, 1);
        a.y0 = lo / 1.2;
        a.y1 = hi * 1.2;
        svg_begin(f, 460, 290, "chart");
        svg_axes_draw(f, &a, which ? "Gradient norm per layer" : "Weight norm per layer",
                      "epoch", which ? "||dL/dp||" : "||p||");
        for (int k = 0; k < shown; k++) {
            const double *v = buf + (size_t)k * (size_t)n;
            snprintf(label[k], sizeof label[k], "layer %d", with[k]);
            names[k] = label[k];
            colors[k] = svg_color(k);
            svg_line(f, &a, label[k], nm->epoch, v, n, colors[k], 2, 0);
            if (n <= 40)
                svg_dots(f, &a, label[k], nm->epoch, v, n, colors[k], 2.5);
        }
        svg_legend(f, &a, names, colors, shown, 1);
        svg_end(f);
    }
    para(f, r->norms_note ? r->norms_note
                          : "Norms of each layer's weights and bias after every epoch, and of "
                            "their gradient in the epoch's last batch (before clipping).");
    if (shown < L && shown < 16)
        para(f, "The pooling layers have no parameters and no norms.");
    fputs("</section>\n", f);
}

static void settings(FILE *f, const cli_report *r)
{
    char spec[1024];
    bp_net_spec(r->net, spec, sizeof spec);
    section_begin(f, "settings", "Settings", "settings");
    fputs("<table class=\"settings\">\n<tr><th>net</th><td>", f);
    svg_escape(f, spec);
    fprintf(f, "</td></tr>\n<tr><th>parameters</th><td>%zu</td></tr>\n",
            bp_net_param_count(r->net));
    for (int i = 0; r->meta && i < bp_meta_count(r->meta); i++) {
        const char *key = bp_meta_key(r->meta, i);
        if (strcmp(key, "net") == 0 || strcmp(key, "scaling") == 0)
            continue; /* the spec is above; the scaling is one number per input */
        fputs("<tr><th>", f);
        svg_escape(f, key);
        fputs("</th><td>", f);
        svg_escape(f, bp_meta_value(r->meta, i));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

static const char *const style =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}"
    "h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:3px}"
    "section{margin-bottom:28px}svg{margin:4px 12px 4px 0;vertical-align:top}"
    "table{border-collapse:collapse;font-size:13px;margin-top:6px}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"
    "th{background:#f4f4f4}td.precision,td.recall{text-align:right}"
    "p{font-size:13px;color:#444}table.settings td{font-family:monospace;word-break:break-all}";

/* The headline: the last epoch's figures. */
static void summary(FILE *f, const cli_report *r)
{
    char b[32];
    const cli_epoch *e = r->n_epochs ? &r->epochs[r->n_epochs - 1] : NULL;
    fputs("<p class=\"summary\">", f);
    svg_escape(f, r->origin);
    if (e) {
        fprintf(f, " After epoch %d: train loss %s", e->epoch, cli_fig(b, sizeof b, e->loss));
        if (e->has & CLI_HAS_VAL)
            fprintf(f, ", validation loss %s", cli_fig(b, sizeof b, e->val_loss));
        if (e->has & CLI_HAS_TEST)
            fprintf(f, ", test loss %s", cli_fig(b, sizeof b, e->test_loss));
        if (e->has & CLI_HAS_TEST_ACC)
            fprintf(f, ", test accuracy %.2f%%", 100.0 * e->test_accuracy);
        else if (e->has & CLI_HAS_VAL_ACC)
            fprintf(f, ", validation accuracy %.2f%%", 100.0 * e->val_accuracy);
        fputc('.', f);
    }
    fputs("</p>\n", f);
}

int cli_report_write(const char *path, const cli_report *r)
{
    cli_outfile of;
    evaluation ev;
    size_t n = r->n_epochs, rows = r->norms ? r->norms->n * (size_t)r->norms->layers : 0;
    size_t cells = 7 * n > rows ? 7 * n : rows;
    double *buf = malloc((cells ? cells : 1) * sizeof *buf);
    int rc = CLI_RUNTIME;
    memset(&ev, 0, sizeof ev);
    if (!buf) {
        cli_error("out of memory");
        return rc;
    }
    if (r->eval && evaluate(r->net, r->eval, &ev) != 0)
        goto done;
    if (cli_outfile_open(&of, path) != 0)
        goto done;
    FILE *f = of.f;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>backprop training report</title>\n<style>%s</style>\n</head>\n<body>\n"
               "<h1>backprop training report</h1>\n",
            style);
    summary(f, r);
    curves(f, r, buf);
    if (rates(f, r, buf) != 0) {
        cli_outfile_abort(&of);
        goto done;
    }
    confusion(f, r, &ev);
    if (mistakes(f, r, &ev) != 0) {
        cli_outfile_abort(&of);
        goto done;
    }
    norms(f, r, buf);
    cli_report_layers(f, r->net);
    if (cli_report_filters(f, r->net) != 0) {
        cli_outfile_abort(&of);
        goto done;
    }
    settings(f, r);
    fprintf(f, "<p>Written by backprop %s.</p>\n</body>\n</html>\n", bp_version());
    rc = cli_outfile_commit(&of);
done:
    free(ev.counts);
    free(buf);
    return rc;
}
