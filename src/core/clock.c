/*
 * clock.c - the library's one clock, for the times training reports: a
 * monotonic clock where POSIX offers one (a change of the wall clock while
 * training then does not show in an epoch's seconds), else C11's UTC time.
 * This file is the only one in src/core that needs POSIX.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <time.h>

double bp__seconds(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    if (timespec_get(&ts, TIME_UTC) == 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
