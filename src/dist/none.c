/*
 * none.c - data-parallel training in a build without MPI: the bp_dist
 * functions exist, so programs link the same way, and creating one says
 * what is missing. bp_shard itself (dist/shard.c) needs no MPI.
 */
#include "internal.h"

#include <string.h>

int bp_dist_available(void)
{
    return 0;
}

bp_dist *bp_dist_create(const bp_net *net, int parts, bp_error *err)
{
    (void)net;
    (void)parts;
    bp__error_set(err, BP_EINVAL, "this build of libbackprop has no MPI support "
                  "(rebuild with MPI installed: apt-get install libopenmpi-dev)");
    return NULL;
}

void bp_dist_free(bp_dist *dist)
{
    (void)dist;
}

int bp_dist_rank(const bp_dist *dist)
{
    (void)dist;
    return 0;
}

int bp_dist_size(const bp_dist *dist)
{
    (void)dist;
    return 1;
}

long bp_dist_stats(const bp_dist *dist, double *seconds)
{
    (void)dist;
    if (seconds)
        *seconds = 0.0;
    return 0;
}

long bp_dist_stats_allsum(const bp_dist *dist, double *seconds)
{
    (void)dist;
    if (seconds)
        *seconds = 0.0;
    return 0;
}

bp_shard bp_dist_shard(bp_dist *dist)
{
    bp_shard s;
    (void)dist;
    memset(&s, 0, sizeof s);
    return s;
}
