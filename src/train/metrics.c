/*
 * metrics.c - what a model scores on a data set, in double: MAE, RMSE and
 * R^2 for regression (optionally in the target's original units), and for
 * classification the confusion matrix with per-class precision, recall, F1
 * and support, accuracy and macro averages. Zero divisions give 0, as
 * scikit-learn's defaults do. The network runs over the data in batches of
 * at most 1024 rows, as bp_evaluate runs it, and every output and batch
 * loss is checked to be finite on the way.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Running sums for regression: absolute and squared errors over all cells,
 * and each target column's mean and sum of squared deviations (Welford's
 * update, exact enough in double for any row count). */
typedef struct reg_acc {
    int T;
    size_t rows;
    double abs_sum, sq_sum;
    double *mean, *m2; /* (T) per target column */
} reg_acc;

static int reg_init(reg_acc *a, int T, bp_error *err)
{
    memset(a, 0, sizeof *a);
    a->T = T;
    a->mean = bp__calloc(2 * (size_t)T, sizeof(double));
    if (!a->mean)
        return bp__error_set(err, BP_ENOMEM, "out of memory for %d target columns", T);
    a->m2 = a->mean + T;
    return 0;
}

static void reg_add(reg_acc *a, const bp_metrics *m, int B, const float *y, const float *t)
{
    double mean = m->target_mean, scale = m->target_scale;
    for (int b = 0; b < B; b++) {
        double n = (double)++a->rows;
        for (int j = 0; j < a->T; j++) {
            size_t k = (size_t)b * (size_t)a->T + (size_t)j;
            double yv = (double)y[k] * scale + mean, tv = (double)t[k] * scale + mean;
            double e = yv - tv, d = tv - a->mean[j];
            a->abs_sum += fabs(e);
            a->sq_sum += e * e;
            a->mean[j] += d / n;
            a->m2[j] += d * (tv - a->mean[j]);
        }
    }
}

static void reg_finish(const reg_acc *a, bp_metrics *m)
{
    double cells = (double)a->rows * (double)a->T, ss_tot = 0.0;
    for (int j = 0; j < a->T; j++)
        ss_tot += a->m2[j];
    m->n = a->rows;
    m->classes = 0;
    m->mae = cells > 0 ? a->abs_sum / cells : 0.0;
    m->rmse = cells > 0 ? sqrt(a->sq_sum / cells) : 0.0;
    /* A constant target: 1 for exact predictions, else 0 (scikit-learn). */
    if (ss_tot > 0.0)
        m->r2 = 1.0 - a->sq_sum / ss_tot;
    else
        m->r2 = a->sq_sum == 0.0 ? 1.0 : 0.0;
}

/* The first non-finite value of y (B, O), as bp__error_set's message. */
static int check_finite(const float *y, int B, int O, size_t first_row, bp_error *err)
{
    for (size_t k = 0; k < (size_t)B * (size_t)O; k++)
        if (!isfinite(y[k]))
            return bp__error_set(err, BP_ENONFINITE, "output %d of data row %zu is %g",
                                 (int)(k % (size_t)O), first_row + k / (size_t)O + 1,
                                 (double)y[k]);
    return 0;
}

/* True and predicted class of each row into the confusion matrix (C, C);
 * one output is class 1 from `cut` on (0.5, or 0 for logits). */
static int confusion_add(size_t *cm, int C, int B, int O, float cut, const float *y,
                         const float *t, int T)
{
    for (int b = 0; b < B; b++) {
        const float *yr = y + (size_t)b * (size_t)O, *tr = t + (size_t)b * (size_t)T;
        int py = 0, pt = 0;
        if (O == 1) {
            py = yr[0] >= cut;
            pt = tr[0] >= 0.5f;
        } else {
            for (int k = 1; k < O; k++)
                if (yr[k] > yr[py])
                    py = k;
            if (T == 1) {
                if (!(tr[0] >= 0.0f && tr[0] < (float)C))
                    return BP_EINVAL;
                pt = (int)tr[0];
            } else {
                for (int k = 1; k < T; k++)
                    if (tr[k] > tr[pt])
                        pt = k;
            }
        }
        cm[(size_t)pt * (size_t)C + (size_t)py]++;
    }
    return 0;
}

static double ratio(size_t num, size_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

int bp_metrics_from_confusion(bp_metrics *m)
{
    if (!m || m->classes <= 0 || !m->confusion || !m->per_class)
        return BP_EINVAL;
    size_t C = (size_t)m->classes, n = 0, correct = 0;
    int present = 0;
    double sp = 0.0, sr = 0.0, sf = 0.0;
    for (size_t k = 0; k < C; k++) {
        size_t tp = m->confusion[k * C + k], support = 0, predicted = 0;
        for (size_t j = 0; j < C; j++) {
            support += m->confusion[k * C + j];
            predicted += m->confusion[j * C + k];
        }
        bp_class_metrics *pc = &m->per_class[k];
        pc->support = support;
        pc->precision = ratio(tp, predicted);
        pc->recall = ratio(tp, support);
        /* 2TP / (2TP + FP + FN): the harmonic mean of the two, defined
         * whenever either is. */
        pc->f1 = ratio(2 * tp, support + predicted);
        n += support;
        correct += tp;
        if (support > 0 || predicted > 0) {
            present++;
            sp += pc->precision;
            sr += pc->recall;
            sf += pc->f1;
        }
    }
    m->n = n;
    m->accuracy = ratio(correct, n);
    m->macro_precision = present ? sp / present : 0.0;
    m->macro_recall = present ? sr / present : 0.0;
    m->macro_f1 = present ? sf / present : 0.0;
    return 0;
}

void bp_metrics_init(bp_metrics *m, size_t *confusion, bp_class_metrics *per_class,
                     int capacity)
{
    if (!m)
        return;
    memset(m, 0, sizeof *m);
    m->target_mean = 0.0;
    m->target_scale = 1.0;
    m->capacity = capacity;
    m->confusion = confusion;
    m->per_class = per_class;
}

int bp_metrics_classes(const bp_net *net, bp_loss loss)
{
    if (!net || (loss != BP_LOSS_CCE && loss != BP_LOSS_BCE))
        return 0;
    int O = bp_net_outputs(net);
    return O == 1 ? 2 : O;
}

int bp_metrics_regression(bp_metrics *m, size_t rows, int T, const float *y, const float *t)
{
    reg_acc a;
    if (!m || T <= 0 || (rows > 0 && (!y || !t)))
        return BP_EINVAL;
    if (reg_init(&a, T, NULL) != 0)
        return BP_ENOMEM;
    int rc = 0;
    for (size_t r = 0; r < rows && rc == 0; r++) {
        const float *yr = y + r * (size_t)T, *tr = t + r * (size_t)T;
        if ((rc = check_finite(yr, 1, T, r, NULL)) == 0)
            reg_add(&a, m, 1, yr, tr);
    }
    if (rc == 0)
        reg_finish(&a, m);
    bp__free(a.mean);
    return rc;
}

int bp_metrics_evaluate(bp_net *net, const bp_dataset *ds, bp_loss loss, bp_metrics *m,
                        bp_error *err)
{
    reg_acc acc = {0};
    float *xb = NULL;
    int rc;
    if (!net || !ds || !m)
        return bp__error_set(err, BP_EINVAL, "metrics need a network, data and a result");
    if ((rc = bp__evaluate_check(net, ds, loss, err)) != 0)
        return rc;
    int C = bp_metrics_classes(net, loss);
    if (C > 0 && (C > m->capacity || !m->confusion || !m->per_class))
        return bp__error_set(err, BP_EINVAL, "the metrics need room for %d classes; %d given",
                             C, m->confusion && m->per_class ? m->capacity : 0);
    int I = bp_net_inputs(net), O = bp_net_outputs(net), T = bp_dataset_target_cols(ds);
    size_t n = bp_dataset_rows(ds);
    int rows = n < 1024 ? (int)n : 1024;
    xb = bp__calloc((size_t)rows * ((size_t)I + (size_t)T), sizeof(float));
    if (!xb)
        return bp__error_set(err, BP_ENOMEM, "out of memory for a batch of %d rows", rows);
    float *tb = xb + (size_t)rows * (size_t)I; /* (rows, T) */
    if (C > 0)
        memset(m->confusion, 0, (size_t)C * (size_t)C * sizeof *m->confusion);
    else if ((rc = reg_init(&acc, T, err)) != 0)
        goto done;

    /* bce on an identity output layer reads its outputs as logits. */
    bp_layer_desc last = bp_net_layer(net, bp_net_layers(net) - 1);
    float cut = loss == BP_LOSS_BCE && last.act == BP_ACT_IDENTITY ? 0.0f : 0.5f;
    bp_net_set_training(net, 0, NULL);
    double lsum = 0.0;
    for (size_t s = 0; s < n; s += (size_t)rows) {
        int b = (int)(n - s < (size_t)rows ? n - s : (size_t)rows);
        const float *out; /* (b, O), borrowed until the next forward */
        double l;
        if ((rc = bp_dataset_gather(ds, NULL, s, b, xb, tb)) != 0 ||
            (rc = bp_net_forward(net, b, xb, &out)) != 0) {
            bp__error_set(err, rc, "%s", bp_net_message(net));
            goto done;
        }
        if ((rc = check_finite(out, b, O, s, err)) != 0)
            goto done;
        if (C > 0) {
            if ((rc = confusion_add(m->confusion, C, b, O, cut, out, tb, T)) != 0) {
                bp__error_set(err, rc, "a class label of data rows %zu to %zu is outside 0..%d",
                              s + 1, s + (size_t)b, C - 1);
                goto done;
            }
        } else {
            reg_add(&acc, m, b, out, tb);
        }
        if ((rc = bp_net_loss(net, loss, tb, T, &l)) != 0) {
            bp__error_set(err, rc, "%s", bp_net_message(net));
            goto done;
        }
        if (!isfinite(l)) {
            rc = bp__error_set(err, BP_ENONFINITE, "the %s loss of data rows %zu to %zu is %g",
                               bp_loss_name(loss), s + 1, s + (size_t)b, l);
            goto done;
        }
        lsum += l * b;
    }
    m->loss = lsum / (double)n;
    m->classes = C;
    if (C > 0) {
        rc = bp_metrics_from_confusion(m);
    } else {
        reg_finish(&acc, m);
        if (!isfinite(m->mae) || !isfinite(m->rmse))
            rc = bp__error_set(err, BP_ENONFINITE,
                               "the errors in the target's units overflow (scale %g)",
                               m->target_scale);
    }
done:
    bp__free(acc.mean);
    bp__free(xb);
    return rc;
}
