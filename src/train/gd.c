/*
 * gd.c - plain gradient descent on the flat parameter block: every
 * parameter moves against its slope, p <- p - lr * dL/dp.
 */
#include "internal.h"

#include <math.h>

int bp_gd_step(bp_net *net, double lr)
{
    if (!net)
        return BP_EINVAL;
    if (!(isfinite(lr) && lr >= 0.0)) {
        bp__net_set_message(net, "gd: the learning rate must be a finite number >= 0, got %g", lr);
        return BP_EINVAL;
    }
    float *p = bp_net_params(net);
    const float *g = bp_net_grads(net);
    const float r = (float)lr;
    size_t n = bp_net_param_count(net);
    for (size_t i = 0; i < n; i++)
        p[i] -= r * g[i];
    return 0;
}
