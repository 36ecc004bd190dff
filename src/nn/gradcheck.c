/*
 * gradcheck.c - backpropagation's gradients against central finite
 * differences of the double-precision reference loss, layer by layer.
 *
 * The reference pass runs in double, so the numeric slopes carry about
 * 1e-10 relative error and a 1% error in any single analytic entry stands
 * far above the noise of the float backward pass. Both passes run in the
 * network's mode (batch normalization's batch statistics in training mode);
 * the running statistics the analytic pass moves are put back.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define DEFAULT_EPS 1e-6

int bp_gradcheck(bp_net *net, bp_loss loss, int B, const float *x,
                 const float *t, int T, const float *analytic, double eps,
                 bp_gradcheck_layer *report, double *max_rel_error)
{
    double *p = NULL, *numeric = NULL;
    float *grad = NULL, *state = NULL;
    int rc = 0;
    double worst_all = 0.0;

    if (!net || !x || !report || B <= 0)
        return BP_EINVAL;
    if ((rc = bp__net_check_targets(net, loss, B, t, T)) != 0)
        return rc;
    if (!(eps > 0.0 && isfinite(eps)))
        eps = DEFAULT_EPS;
    size_t P = bp_net_param_count(net), S = bp_net_state_count(net);
    p = bp__calloc(P, sizeof *p);
    numeric = bp__calloc(P, sizeof *numeric);
    if (!p || !numeric) {
        rc = BP_ENOMEM;
        goto done;
    }
    if (!analytic) {
        grad = bp__calloc(P, sizeof *grad);
        state = bp__malloc((S ? S : 1) * sizeof *state);
        if (!grad || !state) {
            rc = BP_ENOMEM;
            goto done;
        }
        memcpy(state, bp_net_state(net), S * sizeof *state);
        rc = bp_net_gradient(net, loss, B, x, t, T, NULL);
        memcpy(bp_net_state(net), state, S * sizeof *state);
        if (rc != 0)
            goto done;
        memcpy(grad, bp_net_grads(net), P * sizeof *grad);
        analytic = grad;
    }
    const float *params = bp_net_params(net);
    for (size_t j = 0; j < P; j++)
        p[j] = params[j];
    /* Below this size a slope is indistinguishable from rounding noise: the
     * float backward pass and the differences of the loss both carry noise
     * in proportion to the loss itself. */
    double loss0;
    if ((rc = bp__reference_loss(net, p, loss, B, x, t, T, &loss0)) != 0)
        goto done;
    const double noise = 1e-6 * (1.0 + fabs(loss0));

    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp__layer *L = bp__net_layer(net, l);
        size_t start = L->w_off;
        size_t count = bp__layer_params(L);
        double m = 0.0;
        for (size_t j = start; j < start + count; j++) {
            double orig = p[j], h = eps * (fabs(orig) > 1.0 ? fabs(orig) : 1.0);
            double lp, lm;
            p[j] = orig + h;
            rc = bp__reference_loss(net, p, loss, B, x, t, T, &lp);
            p[j] = orig - h;
            if (rc == 0)
                rc = bp__reference_loss(net, p, loss, B, x, t, T, &lm);
            p[j] = orig;
            if (rc != 0)
                goto done;
            numeric[j] = (lp - lm) / (2.0 * h);
            m = fabs(numeric[j]) > m ? fabs(numeric[j]) : m;
        }
        bp_gradcheck_layer *r = &report[l];
        memset(r, 0, sizeof *r);
        for (size_t j = start; j < start + count; j++) {
            double a = analytic[j], n = numeric[j];
            double den = fabs(a) > fabs(n) ? fabs(a) : fabs(n);
            den = den > 1e-4 * m ? den : 1e-4 * m;
            den = den > noise ? den : noise;
            double e = fabs(a - n) / den;
            if (!(e <= r->max_rel_error)) { /* also catches NaN */
                r->max_rel_error = isnan(e) ? INFINITY : e;
                r->worst = j - start;
                r->analytic = a;
                r->numeric = n;
            }
        }
        worst_all = r->max_rel_error > worst_all ? r->max_rel_error : worst_all;
    }
    if (max_rel_error)
        *max_rel_error = worst_all;
done:
    bp__free(p);
    bp__free(numeric);
    bp__free(grad);
    bp__free(state);
    return rc;
}
