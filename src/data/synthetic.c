/*
 * synthetic.c - small generated data sets for lessons and tests: the
 * "vertical" clusters of the random-search lesson and the classic spiral.
 * Both fill x (classes * points, 2) and labels (classes * points) class by
 * class, from the caller's generator.
 */
#include "internal.h"

#include <math.h>

void bp_data_vertical(bp_rng *rng, int points, int classes, float *x, float *labels)
{
    size_t r = 0;
    for (int k = 0; k < classes; k++)
        for (int p = 0; p < points; p++, r++) {
            x[2 * r] = (float)((double)k / classes + 0.1 * bp_rng_normal(rng));
            x[2 * r + 1] = (float)(0.5 + 0.1 * bp_rng_normal(rng));
            labels[r] = (float)k;
        }
}

void bp_data_spiral(bp_rng *rng, int points, int classes, float *x, float *labels)
{
    size_t r = 0;
    for (int k = 0; k < classes; k++)
        for (int p = 0; p < points; p++, r++) {
            double frac = points > 1 ? (double)p / (points - 1) : 0.0;
            /* Each arm sweeps 4 radians of "time", turned 2.5x into angle. */
            double angle = (4.0 * k + 4.0 * frac + 0.2 * bp_rng_normal(rng)) * 2.5;
            x[2 * r] = (float)(frac * sin(angle));
            x[2 * r + 1] = (float)(frac * cos(angle));
            labels[r] = (float)k;
        }
}
