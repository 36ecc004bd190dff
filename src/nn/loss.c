/*
 * loss.c - the losses: value and slope on activations, the fused stable
 * forms on logits (softmax + categorical cross-entropy by log-sum-exp,
 * sigmoid + binary cross-entropy by the log1p form; an identity output layer
 * takes the same forms, its outputs being logits, as PyTorch's
 * CrossEntropyLoss and BCEWithLogitsLoss), class weights, the
 * double-precision row form used by the reference pass and explain, class
 * probabilities, and accuracy.
 *
 * Targets are (B, T): T == O gives one target per output; for CCE with
 * O > 1, T == 1 holds class indices. Sums run in double. With class weights
 * cw, each term is scaled by its weight and the sum divided by the sum of
 * the weights (see weight_of) instead of by B or B * O.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    return (loss == BP_LOSS_CCE && (act == BP_ACT_SOFTMAX || act == BP_ACT_IDENTITY)) ||
           (loss == BP_LOSS_BCE && (act == BP_ACT_SIGMOID || act == BP_ACT_IDENTITY));
}

int bp__loss_fuses_any(bp_act act)
{
    /* an identity layer's outputs are its logits: nothing to keep */
    return act != BP_ACT_IDENTITY &&
           (bp__loss_fuses(BP_LOSS_CCE, act) || bp__loss_fuses(BP_LOSS_BCE, act));
}

/* Target of row b, output k: the value itself (T == O) or 1 for the
 * indexed class and 0 elsewhere (T == 1 < O). */
static double target_at(const float *t, int T, int O, int b, int k)
{
    if (T == O)
        return t[(size_t)b * (size_t)T + (size_t)k];
    return (int)t[b] == k ? 1.0 : 0.0;
}

/* The weight of row b's term (CCE: the row's class, or sum_k cw_k t_k for a
 * one-hot or soft row) or of element (b, k) (BCE: cw[t], t being 0 or 1);
 * 1 without class weights. */
static double weight_of(bp_loss loss, const float *cw, const float *t, int T, int O, int b,
                        int k)
{
    if (!cw)
        return 1.0;
    if (loss == BP_LOSS_BCE)
        return cw[t[(size_t)b * (size_t)T + (size_t)k] >= 0.5f];
    if (T == 1)
        return cw[(int)t[b]];
    double w = 0.0;
    for (int c = 0; c < O; c++)
        w += (double)cw[c] * t[(size_t)b * (size_t)T + (size_t)c];
    return w;
}

double bp__loss_wnorm(bp_loss loss, const float *cw, int B, int O, const float *t, int T)
{
    if (!cw)
        return bp__loss_norm(loss, B, O);
    double n = 0.0;
    for (int b = 0; b < B; b++)
        if (loss == BP_LOSS_BCE)
            for (int k = 0; k < O; k++)
                n += weight_of(loss, cw, t, T, O, b, k);
        else
            n += weight_of(loss, cw, t, T, O, b, 0);
    return n;
}

int bp__class_weight_check(bp_loss loss, int O, const float *cw, char *msg, size_t msg_size)
{
    if (loss != BP_LOSS_CCE && loss != BP_LOSS_BCE) {
        snprintf(msg, msg_size, "class weights need the loss cce or bce, not %s",
                 bp_loss_name(loss) ? bp_loss_name(loss) : "an unknown loss");
        return BP_EINVAL;
    }
    if (loss == BP_LOSS_CCE && O < 2) {
        snprintf(msg, msg_size, "class weights with cce need at least 2 outputs, the network has %d", O);
        return BP_EINVAL;
    }
    int k = bp__class_weight_count(loss, O);
    for (int c = 0; c < k; c++)
        if (!isfinite(cw[c]) || !(cw[c] > 0.0f)) {
            snprintf(msg, msg_size, "class weight %d is %g, expected a finite number above 0", c,
                     (double)cw[c]);
            return BP_EINVAL;
        }
    return 0;
}

int bp__class_weight_count(bp_loss loss, int O)
{
    return loss == BP_LOSS_BCE ? 2 : O;
}

int bp__loss_check(bp_loss loss, int B, int O, const float *t, int T,
                   char *msg, size_t msg_size)
{
    return bp__loss_check_w(loss, B, O, t, T, NULL, msg, msg_size);
}

int bp__loss_check_w(bp_loss loss, int B, int O, const float *t, int T, const float *cw,
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
            if (cw && loss == BP_LOSS_BCE && v != 0.0f && v != 1.0f) {
                snprintf(msg, msg_size,
                         "target row %d column %d: bce with class weights expects 0 or 1, got %g",
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
    case BP_LOSS_MAE:
        v = bp__loss_mse_mae(loss, d, &g);
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
    double v = bp__loss_values(loss, B, O, y, t, T, NULL, dy);
    if (value)
        *value = v;
    return 0;
}

/* bp__loss_values for one loss, inlined per loss so that element()'s
 * switch is decided once, outside the loop. */
static inline __attribute__((always_inline)) double
values_of(bp_loss loss, int B, int O, const float *y, const float *t, int T, const float *cw,
          float *dy)
{
    double n = bp__loss_wnorm(loss, cw, B, O, t, T), sum = 0.0;
    if (cw) { /* each term scaled by its weight */
        for (int b = 0; b < B; b++)
            for (int k = 0; k < O; k++) {
                size_t i = (size_t)b * (size_t)O + (size_t)k;
                double g, w = weight_of(loss, cw, t, T, O, b, k);
                sum += w * element(loss, y[i], target_at(t, T, O, b, k), &g);
                if (dy)
                    dy[i] = (float)(w * g / n);
            }
        return sum / n;
    }
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
                       const float *cw, float *dy)
{
    switch (loss) {
    case BP_LOSS_MSE:
        return values_of(BP_LOSS_MSE, B, O, y, t, T, NULL, dy);
    case BP_LOSS_MAE:
        return values_of(BP_LOSS_MAE, B, O, y, t, T, NULL, dy);
    case BP_LOSS_BCE:
        return values_of(BP_LOSS_BCE, B, O, y, t, T, cw, dy);
    default:
        return values_of(BP_LOSS_CCE, B, O, y, t, T, cw, dy);
    }
}

double bp__loss_fused(bp_loss loss, int B, int O, const float *z,
                      const float *t, int T, const float *cw, float *dz)
{
    double n = bp__loss_wnorm(loss, cw, B, O, t, T), sum = 0.0;
    for (int b = 0; b < B; b++) {
        const float *zr = z + (size_t)b * (size_t)O;
        float *dr = dz ? dz + (size_t)b * (size_t)O : NULL;
        if (loss == BP_LOSS_CCE) {
            /* a row's exps, kept for its slopes up to KEEP outputs */
            enum { KEEP = 32 };
            double m = zr[0], se = 0.0, tsum = 0.0, tz = 0.0, e[KEEP];
            for (int k = 1; k < O; k++)
                m = zr[k] > m ? zr[k] : m;
            for (int k = 0; k < O; k++) {
                const double v = exp((double)zr[k] - m);
                se += v;
                if (k < KEEP)
                    e[k] = v;
            }
            double lse = m + log(se);
            for (int k = 0; k < O; k++) {
                double tv = target_at(t, T, O, b, k);
                tsum += tv;
                tz += tv * (double)zr[k];
            }
            double w = weight_of(loss, cw, t, T, O, b, 0);
            sum += w * (tsum * lse - tz);
            if (dr)
                for (int k = 0; k < O; k++) {
                    double p = (k < KEEP ? e[k] : exp((double)zr[k] - m)) / se;
                    dr[k] = (float)(w * (p * tsum - target_at(t, T, O, b, k)) / n);
                }
        } else { /* BCE on sigmoid logits */
            for (int k = 0; k < O; k++) {
                double zv = zr[k], tv = target_at(t, T, O, b, k);
                double w = weight_of(loss, cw, t, T, O, b, k);
                sum += w * ((zv > 0.0 ? zv : 0.0) - zv * tv + log1p(exp(-fabs(zv))));
                if (dr) {
                    double p = zv >= 0.0 ? 1.0 / (1.0 + exp(-zv)) : exp(zv) / (1.0 + exp(zv));
                    dr[k] = (float)(w * (p - tv) / n);
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
    return bp__loss_row_wd(loss, out_act, O, z, y, t, T, NULL, n, dy);
}

double bp__loss_row_wd(bp_loss loss, bp_act out_act, int O, const double *z,
                       const double *y, const float *t, int T, const float *cw, double n,
                       double *dy)
{
    double sum = 0.0;
    /* The row's targets sit at row 0 of t (callers pass the row pointer). */
    if (loss == BP_LOSS_CCE && bp__loss_fuses(loss, out_act)) {
        double w = weight_of(loss, cw, t, T, O, 0, 0);
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
        sum = w * (tsum * lse - tz);
        if (dy) /* dL/dz: the slope through softmax (or identity), combined */
            for (int k = 0; k < O; k++)
                dy[k] = w * (exp(z[k] - lse) * tsum - target_at(t, T, O, 0, k)) / n;
        return sum / n;
    }
    for (int k = 0; k < O; k++) {
        double tv = target_at(t, T, O, 0, k), g = 0.0;
        double w = loss == BP_LOSS_BCE || loss == BP_LOSS_CCE ? weight_of(loss, cw, t, T, O, 0, k)
                                                              : 1.0;
        if (loss == BP_LOSS_BCE && bp__loss_fuses(loss, out_act))
            sum += w * ((z[k] > 0.0 ? z[k] : 0.0) - z[k] * tv + log1p(exp(-fabs(z[k]))));
        else
            sum += w * element(loss, y[k], tv, NULL);
        if (dy) {
            if (loss == BP_LOSS_BCE && out_act == BP_ACT_IDENTITY) /* dL/dz = dL/dy */
                g = (z[k] >= 0.0 ? 1.0 / (1.0 + exp(-z[k])) : exp(z[k]) / (1.0 + exp(z[k]))) - tv;
            else
                element(loss, y[k], tv, &g);
            dy[k] = w * g / n;
        }
    }
    return sum / n;
}

int bp_net_probabilities(const bp_net *net, bp_loss loss, int B, const float *y, float *p)
{
    if (!net || B <= 0 || !y || !p)
        return BP_EINVAL;
    const bp__layer *L = bp__net_layer(net, bp_net_layers(net) - 1);
    const int O = L->O;
    const size_t cells = (size_t)B * (size_t)O;
    if (L->act != BP_ACT_IDENTITY || (loss != BP_LOSS_CCE && loss != BP_LOSS_BCE)) {
        if (p != y)
            memmove(p, y, cells * sizeof *p);
        return 0;
    }
    if (loss == BP_LOSS_BCE) {
        for (size_t i = 0; i < cells; i++) {
            double z = y[i];
            p[i] = (float)(z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)));
        }
        return 0;
    }
    for (int b = 0; b < B; b++) { /* stable softmax of the row's logits */
        const float *zr = y + (size_t)b * (size_t)O;
        float *pr = p + (size_t)b * (size_t)O;
        double m = zr[0], se = 0.0;
        for (int k = 1; k < O; k++)
            m = zr[k] > m ? zr[k] : m;
        for (int k = 0; k < O; k++)
            se += exp((double)zr[k] - m);
        for (int k = 0; k < O; k++)
            pr[k] = (float)(exp((double)zr[k] - m) / se);
    }
    return 0;
}

double bp__net_accuracy(const bp_net *net, bp_loss loss, int B, const float *y, const float *t,
                        int T)
{
    const bp__layer *L = bp__net_layer(net, bp_net_layers(net) - 1);
    if (loss == BP_LOSS_BCE && L->act == BP_ACT_IDENTITY && L->O == 1) {
        /* logits: sigmoid(z) >= 0.5 exactly when z >= 0 */
        if (!y || !t || B <= 0 || T != 1)
            return BP_ESHAPE;
        int correct = 0;
        for (int b = 0; b < B; b++)
            correct += (y[b] >= 0.0f) == (t[b] >= 0.5f);
        return (double)correct / (double)B;
    }
    return bp_accuracy(B, L->O, y, t, T);
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

int bp_dataset_class_weights_balanced(const bp_dataset *ds, float *w, bp_error *err)
{
    enum { CHUNK = 1024 };
    float t[CHUNK];
    const int k = bp_dataset_classes(ds);
    const size_t n = bp_dataset_rows(ds);
    if (!ds || !w)
        return bp__error_set(err, BP_EINVAL, "balanced class weights need a data set and room for them");
    if (k <= 0 || bp_dataset_target_cols(ds) != 1)
        return bp__error_set(err, BP_EINVAL,
                             "%s: balanced class weights need class labels, one per row",
                             bp_dataset_describe(ds));
    double *count = bp__calloc((size_t)k, sizeof *count);
    if (!count)
        return bp__error_set(err, BP_ENOMEM, "out of memory counting %d classes", k);
    int rc = 0;
    for (size_t s = 0; s < n && rc == 0; s += CHUNK) {
        int B = (int)(n - s < CHUNK ? n - s : CHUNK);
        if ((rc = bp_dataset_gather(ds, NULL, s, B, NULL, t)) != 0)
            bp__error_set(err, rc, "%s: cannot read the targets", bp_dataset_describe(ds));
        for (int b = 0; rc == 0 && b < B; b++)
            count[(int)t[b]] += 1.0;
    }
    for (int c = 0; rc == 0 && c < k; c++)
        if (count[c] == 0.0)
            rc = bp__error_set(err, BP_EINVAL,
                               "%s: class %d has no rows, so it has no balanced weight",
                               bp_dataset_describe(ds), c);
    for (int c = 0; rc == 0 && c < k; c++) /* scikit-learn's n / (k * count) */
        w[c] = (float)((double)n / ((double)k * count[c]));
    bp__free(count);
    return rc == 0 ? k : rc;
}

int bp_class_weights_parse(const char *text, int k, const char *const *names, float *w,
                           bp_error *err)
{
    if (!text || k <= 0 || !w)
        return bp__error_set(err, BP_EINVAL, "class weights need a text and a class count");
    for (int c = 0; c < k; c++) /* classes not named keep weight 1, as scikit-learn's dict */
        w[c] = 1.0f;
    const char *p = text;
    while (*p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end || eq == p)
            return bp__error_set(err, BP_EINVAL, "class weights: '%.*s' is not NAME=WEIGHT",
                                 (int)(end - p), p);
        int c = -1;
        size_t len = (size_t)(eq - p);
        for (int j = 0; j < k && c < 0; j++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", j);
            if ((names && names[j] && strlen(names[j]) == len && strncmp(names[j], p, len) == 0) ||
                (strlen(idx) == len && strncmp(idx, p, len) == 0))
                c = j;
        }
        if (c < 0)
            return bp__error_set(err, BP_EINVAL,
                                 "class weights: no class '%.*s' (the classes are %s0 to %d)",
                                 (int)len, p, names ? "named, or numbered " : "", k - 1);
        char num[64], *stop;
        size_t nlen = (size_t)(end - eq - 1);
        if (nlen == 0 || nlen >= sizeof num)
            return bp__error_set(err, BP_EINVAL, "class weights: '%.*s' has no weight",
                                 (int)(end - p), p);
        memcpy(num, eq + 1, nlen);
        num[nlen] = '\0';
        double v = strtod(num, &stop);
        if (*stop || !isfinite(v) || !(v > 0.0) || v > 3.0e38)
            return bp__error_set(err, BP_EINVAL,
                                 "class weights: '%s' for class '%.*s' is not a number above 0",
                                 num, (int)len, p);
        w[c] = (float)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}
