/*
 * loss.c - the losses: value and slope on activations, the fused stable
 * forms on logits (softmax + categorical cross-entropy by log-sum-exp,
 * sigmoid + binary cross-entropy by the log1p form), the double-precision
 * row form used by the reference pass and explain, and accuracy.
 *
 * Targets are (B, T): T == O gives one target per output; for CCE with
 * O > 1, T == 1 holds class indices. Sums run in double.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LOG_FLOOR (-100.0)   /* log clamp, as PyTorch's BCELoss */
#define TINY 1e-12           /* floor of denominators in unfused slopes */

static const char *const loss_names[] = {"mse", "mae", "bce", "cce"};

const char *bp_loss_name(bp_loss loss)
{
    if ((int)loss < 0 || (size_t)loss >= sizeof loss_names / sizeof loss_names[0])
        return NULL;
    return loss_names[loss];
}

int bp_loss_parse(const char *name, bp_loss *out)
{
    static const struct {
        const char *name;
        bp_loss loss;
    } aliases[] = {
        {"mse", BP_LOSS_MSE},
        {"mae", BP_LOSS_MAE},
        {"bce", BP_LOSS_BCE},
        {"cce", BP_LOSS_CCE},
        {"binary_crossentropy", BP_LOSS_BCE},
        {"categorical_crossentropy", BP_LOSS_CCE},
        {"crossentropy", BP_LOSS_CCE},
    };
    if (!name || !out)
        return BP_EINVAL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].name) == 0) {
            *out = aliases[i].loss;
            return 0;
        }
    return BP_EINVAL;
}

double bp__loss_norm(bp_loss loss, int B, int O)
{
    return loss == BP_LOSS_CCE ? (double)B : (double)B * (double)O;
}

int bp__loss_fuses(bp_loss loss, bp_act act)
{
    return (loss == BP_LOSS_CCE && act == BP_ACT_SOFTMAX) ||
           (loss == BP_LOSS_BCE && act == BP_ACT_SIGMOID);
}

int bp__loss_fuses_any(bp_act act)
{
    return bp__loss_fuses(BP_LOSS_CCE, act) || bp__loss_fuses(BP_LOSS_BCE, act);
}

/* Target of row b, output k: the value itself (T == O) or 1 for the
 * indexed class and 0 elsewhere (T == 1 < O). */
static double target_at(const float *t, int T, int O, int b, int k)
{
    if (T == O)
        return t[(size_t)b * (size_t)T + (size_t)k];
    return (int)t[b] == k ? 1.0 : 0.0;
}

int bp__loss_check(bp_loss loss, int B, int O, const float *t, int T,
                   char *msg, size_t msg_size)
{
    if ((int)loss < 0 || loss > BP_LOSS_CCE) {
        snprintf(msg, msg_size, "unknown loss %d", (int)loss);
        return BP_EINVAL;
    }
    if (!t || B <= 0 || O <= 0) {
        snprintf(msg, msg_size, "no targets given");
        return BP_EINVAL;
    }
    int index_targets = loss == BP_LOSS_CCE && O > 1 && T == 1;
    if (T != O && !index_targets) {
        if (loss == BP_LOSS_CCE)
            snprintf(msg, msg_size,
                     "targets have %d columns; %s on %d outputs expects %d "
                     "(one-hot) or 1 (class index)", T, bp_loss_name(loss), O, O);
        else
            snprintf(msg, msg_size, "targets have %d columns; %s on %d outputs expects %d",
                     T, bp_loss_name(loss), O, O);
        return BP_ESHAPE;
    }
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < T; c++) {
            float v = t[(size_t)b * (size_t)T + (size_t)c];
            if (!isfinite(v)) {
                snprintf(msg, msg_size, "target row %d column %d is not finite", b, c);
                return BP_ENONFINITE;
            }
            if (index_targets && (v != floorf(v) || v < 0.0f || v >= (float)O)) {
                snprintf(msg, msg_size,
                         "target row %d: class index must be an integer in [0, %d), got %g",
                         b, O, (double)v);
                return BP_EINVAL;
            }
            if (loss == BP_LOSS_BCE && (v < 0.0f || v > 1.0f)) {
                snprintf(msg, msg_size,
                         "target row %d column %d: bce expects a value in [0, 1], got %g",
                         b, c, (double)v);
                return BP_EINVAL;
            }
        }
    }
    return 0;
}

static double clamped_log(double x)
{
    double l = x > 0.0 ? log(x) : LOG_FLOOR;
    return l < LOG_FLOOR ? LOG_FLOOR : l;
}

/* Loss of one element (unfused) and, when dy is not NULL, its slope. */
static double element(bp_loss loss, double y, double tv, double *dy)
{
    double d = y - tv, v = 0.0, g = 0.0;
    switch (loss) {
    case BP_LOSS_MSE:
        v = d * d;
        g = 2.0 * d;
        break;
    case BP_LOSS_MAE:
        v = fabs(d);
        g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
        break;
    case BP_LOSS_BCE: {
        v = -(tv * clamped_log(y) + (1.0 - tv) * clamped_log(1.0 - y));
        double den = y * (1.0 - y);
        g = d / (den > TINY ? den : TINY);
        break;
    }
    case BP_LOSS_CCE:
        v = -tv * clamped_log(y);
        g = -tv / (y > TINY ? y : TINY);
        break;
    }
    if (dy)
        *dy = g;
    return v;
}

int bp_loss_compute(bp_loss loss, int B, int O, const float *y, const float *t,
                    int T, double *value, float *dy)
{
    char msg[160];
    int rc = bp__loss_check(loss, B, O, t, T, msg, sizeof msg);
    if (rc != 0)
        return rc;
    if (!y)
        return BP_EINVAL;
    double v = bp__loss_values(loss, B, O, y, t, T, dy);
    if (value)
        *value = v;
    return 0;
}

/* bp__loss_values for one loss, inlined per loss so that element()'s
 * switch is decided once, outside the loop. */
static inline __attribute__((always_inline)) double
values_of(bp_loss loss, int B, int O, const float *y, const float *t, int T, float *dy)
{
    double n = bp__loss_norm(loss, B, O), sum = 0.0;
    if (T == O) { /* a target per output: one flat pass, in the same order */
        const size_t cells = (size_t)B * (size_t)O;
        for (size_t i = 0; i < cells; i++) {
            double g;
            sum += element(loss, y[i], t[i], &g);
            if (dy)
                dy[i] = (float)(g / n);
        }
        return sum / n;
    }
    for (int b = 0; b < B; b++)
        for (int k = 0; k < O; k++) {
            size_t i = (size_t)b * (size_t)O + (size_t)k;
            double g;
            sum += element(loss, y[i], target_at(t, T, O, b, k), &g);
            if (dy)
                dy[i] = (float)(g / n);
        }
    return sum / n;
}

double bp__loss_values(bp_loss loss, int B, int O, const float *y, const float *t, int T,
                       float *dy)
{
    switch (loss) {
    case BP_LOSS_MSE:
        return values_of(BP_LOSS_MSE, B, O, y, t, T, dy);
    case BP_LOSS_MAE:
        return values_of(BP_LOSS_MAE, B, O, y, t, T, dy);
    case BP_LOSS_BCE:
        return values_of(BP_LOSS_BCE, B, O, y, t, T, dy);
    default:
        return values_of(BP_LOSS_CCE, B, O, y, t, T, dy);
    }
}

double bp__loss_fused(bp_loss loss, int B, int O, const float *z,
                      const float *t, int T, float *dz)
{
    double n = bp__loss_norm(loss, B, O), sum = 0.0;
    for (int b = 0; b < B; b++) {
        const float *zr = z + (size_t)b * (size_t)O;
        float *dr = dz ? dz + (size_t)b * (size_t)O : NULL;
        if (loss == BP_LOSS_CCE) {
            double m = zr[0], se = 0.0, tsum = 0.0, tz = 0.0;
            for (int k = 1; k < O; k++)
                m = zr[k] > m ? zr[k] : m;
            for (int k = 0; k < O; k++)
                se += exp((double)zr[k] - m);
            double lse = m + log(se);
            for (int k = 0; k < O; k++) {
                double tv = target_at(t, T, O, b, k);
                tsum += tv;
                tz += tv * (double)zr[k];
            }
            sum += tsum * lse - tz;
            if (dr)
                for (int k = 0; k < O; k++) {
                    double p = exp((double)zr[k] - lse);
                    dr[k] = (float)((p * tsum - target_at(t, T, O, b, k)) / n);
                }
        } else { /* BCE on sigmoid logits */
            for (int k = 0; k < O; k++) {
                double zv = zr[k], tv = target_at(t, T, O, b, k);
                sum += (zv > 0.0 ? zv : 0.0) - zv * tv + log1p(exp(-fabs(zv)));
                if (dr) {
                    double p = zv >= 0.0 ? 1.0 / (1.0 + exp(-zv)) : exp(zv) / (1.0 + exp(zv));
                    dr[k] = (float)((p - tv) / n);
                }
            }
        }
    }
    return sum / n;
}

double bp__loss_row_d(bp_loss loss, bp_act out_act, int O, const double *z,
                      const double *y, const float *t, int T, double n,
                      double *dy)
{
    double sum = 0.0;
    /* The row's targets sit at row 0 of t (callers pass the row pointer). */
    if (loss == BP_LOSS_CCE && out_act == BP_ACT_SOFTMAX) {
        double m = z[0], se = 0.0, tsum = 0.0, tz = 0.0;
        for (int k = 1; k < O; k++)
            m = z[k] > m ? z[k] : m;
        for (int k = 0; k < O; k++)
            se += exp(z[k] - m);
        double lse = m + log(se);
        for (int k = 0; k < O; k++) {
            double tv = target_at(t, T, O, 0, k);
            tsum += tv;
            tz += tv * z[k];
        }
        sum = tsum * lse - tz;
        if (dy) /* dL/dz: the slope through softmax, combined */
            for (int k = 0; k < O; k++)
                dy[k] = (exp(z[k] - lse) * tsum - target_at(t, T, O, 0, k)) / n;
        return sum / n;
    }
    for (int k = 0; k < O; k++) {
        double tv = target_at(t, T, O, 0, k), g = 0.0;
        if (loss == BP_LOSS_BCE && out_act == BP_ACT_SIGMOID)
            sum += (z[k] > 0.0 ? z[k] : 0.0) - z[k] * tv + log1p(exp(-fabs(z[k])));
        else
            sum += element(loss, y[k], tv, NULL);
        if (dy) {
            element(loss, y[k], tv, &g);
            dy[k] = g / n;
        }
    }
    return sum / n;
}

double bp_accuracy(int B, int O, const float *y, const float *t, int T)
{
    if (!y || !t || B <= 0 || O <= 0 || (T != O && !(T == 1 && O > 1)))
        return BP_ESHAPE;
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *yr = y + (size_t)b * (size_t)O;
        const float *tr = t + (size_t)b * (size_t)T;
        if (O == 1) {
            correct += (yr[0] >= 0.5f) == (tr[0] >= 0.5f);
            continue;
        }
        int py = 0, pt = 0;
        for (int k = 1; k < O; k++)
            if (yr[k] > yr[py])
                py = k;
        if (T == 1) {
            pt = (int)tr[0];
        } else {
            for (int k = 1; k < O; k++)
                if (tr[k] > tr[pt])
                    pt = k;
        }
        correct += py == pt;
    }
    return (double)correct / (double)B;
}
