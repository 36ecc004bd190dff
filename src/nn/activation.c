/*
 * activation.c - the activations: names, the batched float forward (in
 * place) and backward (from the activation values), and the scalar double
 * forms used by the reference pass and by explain.
 *
 * Every backward works from the values a = f(z), never from z, so the
 * network keeps one buffer per layer. That is exact for all six: relu and
 * leaky_relu (slope in [0, 1)) have a > 0 exactly when z > 0; sigmoid'
 * = a (1 - a); tanh' = 1 - a^2; softmax's Jacobian is diag(a) - a a^T.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const act_names[] = {
    "identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
};

const char *bp_act_name(bp_act act)
{
    if ((int)act < 0 || (size_t)act >= sizeof act_names / sizeof act_names[0])
        return NULL;
    return act_names[act];
}

int bp_act_parse(const char *name, bp_act *out)
{
    if (!name || !out)
        return BP_EINVAL;
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *out = (bp_act)i;
            return 0;
        }
    if (strcmp(name, "linear") == 0) {
        *out = BP_ACT_IDENTITY;
        return 0;
    }
    if (strcmp(name, "leaky") == 0) {
        *out = BP_ACT_LEAKY_RELU;
        return 0;
    }
    return BP_EINVAL;
}

static float sigmoidf_stable(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static void softmax_row(int O, float *z)
{
    float m = z[0];
    for (int k = 1; k < O; k++)
        m = z[k] > m ? z[k] : m;
    double sum = 0.0;
    for (int k = 0; k < O; k++) {
        z[k] = expf(z[k] - m);
        sum += z[k];
    }
    float inv = (float)(1.0 / sum);
    for (int k = 0; k < O; k++)
        z[k] *= inv;
}

void bp__act_forward(bp_act act, float slope, int B, int O, float *v)
{
    size_t n = (size_t)B * (size_t)O;
    if (bp__act_forward_simple(act, slope, n, v))
        return;
    switch (act) {
    case BP_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            v[i] = sigmoidf_stable(v[i]);
        break;
    case BP_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            v[i] = tanhf(v[i]);
        break;
    case BP_ACT_SOFTMAX:
        for (int b = 0; b < B; b++)
            softmax_row(O, v + (size_t)b * (size_t)O);
        break;
    default: /* the simple ones, above */
        break;
    }
}

void bp__act_backward(bp_act act, float slope, int B, int O, const float *restrict a,
                      float *restrict d)
{
    size_t n = (size_t)B * (size_t)O;
    if (bp__act_backward_simple(act, slope, n, a, d))
        return;
    switch (act) {
    case BP_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    case BP_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case BP_ACT_SOFTMAX:
        for (int b = 0; b < B; b++) {
            const float *ar = a + (size_t)b * (size_t)O;
            float *dr = d + (size_t)b * (size_t)O;
            double dotp = 0.0;
            for (int k = 0; k < O; k++)
                dotp += (double)ar[k] * dr[k];
            for (int k = 0; k < O; k++)
                dr[k] = ar[k] * (float)(dr[k] - dotp);
        }
        break;
    default: /* the simple ones, above */
        break;
    }
}

double bp__act_value_d(bp_act act, double slope, double z)
{
    switch (act) {
    case BP_ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case BP_ACT_LEAKY_RELU:
        return z > 0.0 ? z : slope * z;
    case BP_ACT_SIGMOID:
        if (z >= 0.0)
            return 1.0 / (1.0 + exp(-z));
        return exp(z) / (1.0 + exp(z));
    case BP_ACT_TANH:
        return tanh(z);
    case BP_ACT_IDENTITY:
    case BP_ACT_SOFTMAX: /* needs the whole row: bp__softmax_d */
    default:
        return z;
    }
}

double bp__act_slope_d(bp_act act, double slope, double z, double a)
{
    switch (act) {
    case BP_ACT_RELU:
        return z > 0.0 ? 1.0 : 0.0;
    case BP_ACT_LEAKY_RELU:
        return z > 0.0 ? 1.0 : slope;
    case BP_ACT_SIGMOID:
        return a * (1.0 - a);
    case BP_ACT_TANH:
        return 1.0 - a * a;
    case BP_ACT_IDENTITY:
    case BP_ACT_SOFTMAX: /* combined with the loss slope by the caller */
    default:
        return 1.0;
    }
}

void bp__softmax_d(int O, const double *z, double *a)
{
    double m = z[0], sum = 0.0;
    for (int k = 1; k < O; k++)
        m = z[k] > m ? z[k] : m;
    for (int k = 0; k < O; k++) {
        a[k] = exp(z[k] - m);
        sum += a[k];
    }
    for (int k = 0; k < O; k++)
        a[k] /= sum;
}
