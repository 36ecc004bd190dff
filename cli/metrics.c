/*
 * metrics.c - `backprop eval`'s figures: bp_metrics_evaluate run with room
 * for the model's classes, then printed as text (a per-class table and the
 * confusion matrix up to CLI_METRICS_TABLE_MAX classes) or as one JSON
 * object. The library computes every figure; this file only formats them,
 * each number the shortest decimal that reads back the same (cli_num).
 */
#include "metrics.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Class k's name from the data set, NULL when it has none. */
static const char *class_name(const bp_dataset *ds, int k)
{
    return bp_dataset_class_name(ds, k);
}

/* The target's original units, value * scale + mean; 0 when the data set
 * keeps its targets as they are (scale 1, mean 0). */
static int target_units(const bp_dataset *ds, double *mean, double *scale)
{
    return bp_dataset_target_scaling(ds, mean, scale) == 0;
}

/* ---- text -------------------------------------------------------------- */

enum { CELL = 80 };

/* Characters a cell takes on a terminal: UTF-8 lead bytes only. */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Rows of cells (rows, cols) in columns two spaces apart; the first column
 * left-aligned, the others right-aligned when `right`, else left. */
static void table(FILE *f, const char *cells, int rows, int cols, int right)
{
    int w[64] = {0};
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols && c < 64; c++) {
            int n = width(cells + ((size_t)r * (size_t)cols + (size_t)c) * CELL);
            if (n > w[c])
                w[c] = n;
        }
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const char *s = cells + ((size_t)r * (size_t)cols + (size_t)c) * CELL;
            int pad = (c < 64 ? w[c] : 0) - width(s);
            if (c > 0)
                fputs("  ", f);
            if (c > 0 && right)
                fprintf(f, "%*s%s", pad > 0 ? pad : 0, "", s);
            else if (c < cols - 1)
                fprintf(f, "%s%*s", s, pad > 0 ? pad : 0, "");
            else
                fputs(s, f);
        }
        fputc('\n', f);
    }
}

static char *cell(char *cells, int cols, int r, int c)
{
    return cells + ((size_t)r * (size_t)cols + (size_t)c) * CELL;
}

static void label(char *out, const bp_dataset *ds, int k)
{
    const char *name = class_name(ds, k);
    if (name)
        snprintf(out, CELL, "%.*s", CELL - 1, name);
    else
        snprintf(out, CELL, "%d", k);
}

/* precision, recall, f1 and support of one row of the per-class table. */
static void figures(char *cells, int r, double p, double rc, double f1, size_t support)
{
    cli_num(cell(cells, 5, r, 1), p);
    cli_num(cell(cells, 5, r, 2), rc);
    cli_num(cell(cells, 5, r, 3), f1);
    snprintf(cell(cells, 5, r, 4), CELL, "%zu", support);
}

static int text_classes(FILE *f, const bp_metrics *m, const bp_dataset *ds)
{
    int C = m->classes;
    char a[32], b[32], c[32];
    size_t correct = 0;
    for (int k = 0; k < C; k++)
        correct += m->confusion[(size_t)k * (size_t)C + (size_t)k];
    fprintf(f, "accuracy %s (%zu of %zu)\n", cli_num(a, m->accuracy), correct, m->n);
    if (C > CLI_METRICS_TABLE_MAX) {
        fprintf(f, "macro avg  precision %s  recall %s  f1 %s\n", cli_num(a, m->macro_precision),
                cli_num(b, m->macro_recall), cli_num(c, m->macro_f1));
        fprintf(f, "(per-class figures and the confusion matrix of the %d classes: add --json)\n",
                C);
        return CLI_OK;
    }
    /* Per class, then the macro averages. */
    /* Room for both tables: (C + 2, 5) and (C + 1, C + 1) cells. */
    size_t n_cells = (size_t)(C + 2) * (size_t)(C + 1 > 5 ? C + 1 : 5);
    char *cells = calloc(n_cells, CELL);
    if (!cells) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    static const char *const head[5] = {"class", "precision", "recall", "f1", "support"};
    for (int j = 0; j < 5; j++)
        snprintf(cell(cells, 5, 0, j), CELL, "%s", head[j]);
    for (int k = 0; k < C; k++) {
        const bp_class_metrics *pc = &m->per_class[k];
        label(cell(cells, 5, k + 1, 0), ds, k);
        figures(cells, k + 1, pc->precision, pc->recall, pc->f1, pc->support);
    }
    snprintf(cell(cells, 5, C + 1, 0), CELL, "macro avg");
    figures(cells, C + 1, m->macro_precision, m->macro_recall, m->macro_f1, m->n);
    fputc('\n', f);
    table(f, cells, C + 2, 5, 0);

    /* The confusion matrix: a header row of predicted classes. */
    memset(cells, 0, n_cells * CELL);
    int cols = C + 1;
    snprintf(cell(cells, cols, 0, 0), CELL, "true\\predicted");
    for (int k = 0; k < C; k++) {
        label(cell(cells, cols, 0, k + 1), ds, k);
        label(cell(cells, cols, k + 1, 0), ds, k);
        for (int j = 0; j < C; j++)
            snprintf(cell(cells, cols, k + 1, j + 1), CELL, "%zu",
                     m->confusion[(size_t)k * (size_t)C + (size_t)j]);
    }
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n");
    table(f, cells, C + 1, cols, 1);
    free(cells);
    return CLI_OK;
}

static int print_text(FILE *f, const bp_metrics *m, const bp_dataset *ds, int scaled)
{
    char a[32], b[32], c[32];
    fprintf(f, "loss %s  n %zu\n", cli_num(a, m->loss), m->n);
    if (m->classes > 0)
        return text_classes(f, m, ds);
    fprintf(f, "mae %s  rmse %s  r2 %s\n", cli_num(a, m->mae), cli_num(b, m->rmse),
            cli_num(c, m->r2));
    if (scaled)
        fprintf(f, "(loss, mae and rmse in the target's units: value * %s + %s)\n",
                cli_num(a, m->target_scale), cli_num(b, m->target_mean));
    return CLI_OK;
}

/* ---- JSON -------------------------------------------------------------- */

static void field(FILE *f, const char *name, double v)
{
    fprintf(f, ", \"%s\": ", name);
    cli_json_number(f, v);
}

/* The object's end: the network, layer by layer with its shapes. */
static void json_end(FILE *f, const bp_net *net)
{
    fputs(", ", f);
    cli_json_net(f, net);
    fputs("}\n", f);
}

static void print_json(FILE *f, const bp_metrics *m, const bp_net *net, const bp_dataset *ds,
                       int scaled)
{
    int C = m->classes;
    fputs("{\"loss\": ", f);
    cli_json_number(f, m->loss);
    fprintf(f, ", \"n\": %zu, \"task\": \"%s\"", m->n, C > 0 ? "classification" : "regression");
    if (C == 0) {
        field(f, "mae", m->mae);
        field(f, "rmse", m->rmse);
        field(f, "r2", m->r2);
        if (scaled) {
            field(f, "target_mean", m->target_mean);
            field(f, "target_scale", m->target_scale);
        }
        json_end(f, net);
        return;
    }
    field(f, "accuracy", m->accuracy);
    field(f, "macro_precision", m->macro_precision);
    field(f, "macro_recall", m->macro_recall);
    field(f, "macro_f1", m->macro_f1);
    fputs(", \"classes\": [", f);
    for (int k = 0; k < C; k++) {
        const bp_class_metrics *pc = &m->per_class[k];
        const char *name = class_name(ds, k);
        fprintf(f, "%s{\"class\": %d", k ? ", " : "", k);
        if (name) {
            fputs(", \"name\": ", f);
            cli_json_string(f, name);
        }
        field(f, "precision", pc->precision);
        field(f, "recall", pc->recall);
        field(f, "f1", pc->f1);
        fprintf(f, ", \"support\": %zu}", pc->support);
    }
    fputs("], \"confusion\": [", f);
    for (int k = 0; k < C; k++) {
        fputs(k ? ", [" : "[", f);
        for (int j = 0; j < C; j++)
            fprintf(f, "%s%zu", j ? ", " : "", m->confusion[(size_t)k * (size_t)C + (size_t)j]);
        fputc(']', f);
    }
    fputc(']', f);
    json_end(f, net);
}

/* ---- the run ----------------------------------------------------------- */

int cli_metrics_run(FILE *f, bp_net *net, const bp_dataset *ds, bp_loss loss, int json)
{
    int C = bp_metrics_classes(net, loss), rc = CLI_RUNTIME;
    size_t *confusion = NULL;
    bp_class_metrics *per_class = NULL;
    bp_metrics m;
    bp_error err;
    if (C > 0 && (!(confusion = calloc((size_t)C * (size_t)C, sizeof *confusion)) ||
                  !(per_class = calloc((size_t)C, sizeof *per_class)))) {
        cli_error("out of memory for the confusion matrix of %d classes", C);
        goto done;
    }
    bp_metrics_init(&m, confusion, per_class, C);
    int scaled = target_units(ds, &m.target_mean, &m.target_scale);
    int e = bp_metrics_evaluate(net, ds, loss, &m, &err);
    if (e == BP_ENONFINITE) {
        cli_error("the model gives a non-finite %s on these data (%s): check that its "
                  "training did not diverge (train again with a lower --lr, or with "
                  "standardized inputs) and that the data match those it was trained on "
                  "(columns and scale)",
                  strstr(err.message, "loss") ? "loss" : "output", err.message);
        goto done;
    }
    if (e != 0) {
        cli_error("%s", err.message);
        goto done;
    }
    /* the loss in the target's units too: squared errors by scale^2, absolute by scale */
    if (scaled && C == 0 && loss == BP_LOSS_MSE)
        m.loss *= m.target_scale * m.target_scale;
    else if (scaled && C == 0 && loss == BP_LOSS_MAE)
        m.loss *= m.target_scale;
    if (json)
        print_json(f, &m, net, ds, scaled);
    else if ((rc = print_text(f, &m, ds, scaled)) != CLI_OK)
        goto done;
    rc = CLI_OK;
done:
    free(confusion);
    free(per_class);
    return rc;
}
