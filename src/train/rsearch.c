/*
 * rsearch.c - the random-search baseline: perturb every weight and bias by
 * scale * N(0, 1); keep the new weights when the loss improved, otherwise
 * restore a real copy of the best weights (a copy, not a reference, so the
 * revert really restores them). The loss of kept weights never rises.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

struct bp_rsearch {
    bp_net *net;     /* borrowed */
    double scale;
    int started;     /* best_loss has been measured */
    double best_loss;
    float *best;     /* (n_params) copy of the best parameters */
};

bp_rsearch *bp_rsearch_create(bp_net *net, double scale, bp_error *err)
{
    if (!net) {
        bp__error_set(err, BP_EINVAL, "random search needs a network");
        return NULL;
    }
    if (!(isfinite(scale) && scale > 0.0)) {
        bp__error_set(err, BP_EINVAL, "random search: the scale must be a positive number, got %g",
                      scale);
        return NULL;
    }
    bp_rsearch *rs = bp__calloc(1, sizeof *rs);
    if (!rs || !(rs->best = bp__calloc(bp_net_param_count(net), sizeof(float)))) {
        bp__free(rs);
        bp__error_set(err, BP_ENOMEM, "random search: out of memory");
        return NULL;
    }
    rs->net = net;
    rs->scale = scale;
    memcpy(rs->best, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
    return rs;
}

void bp_rsearch_free(bp_rsearch *rs)
{
    if (!rs)
        return;
    bp__free(rs->best);
    bp__free(rs);
}

int bp_rsearch_step(bp_rsearch *rs, bp_rng *rng, bp_loss loss, int B,
                    const float *x, const float *t, int T, double *best_loss,
                    int *kept)
{
    int rc;
    double value;
    if (!rs || !rng)
        return BP_EINVAL;
    bp_net *net = rs->net;
    float *p = bp_net_params(net);
    size_t n = bp_net_param_count(net);
    if (kept)
        *kept = 0;
    if (!rs->started) {
        if ((rc = bp_net_evaluate(net, loss, B, x, t, T, &rs->best_loss, NULL)) != 0)
            return rc;
        memcpy(rs->best, p, n * sizeof *p);
        rs->started = 1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(p[i] + rs->scale * bp_rng_normal(rng));
    rc = bp_net_evaluate(net, loss, B, x, t, T, &value, NULL);
    if (rc == 0 && value < rs->best_loss) {
        rs->best_loss = value;
        memcpy(rs->best, p, n * sizeof *p);
        if (kept)
            *kept = 1;
    } else {
        memcpy(p, rs->best, n * sizeof *p);
    }
    if (best_loss)
        *best_loss = rs->best_loss;
    return rc;
}
