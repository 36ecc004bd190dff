/*
 * schedule.c - learning-rate schedules: the rate of optimizer step 0, 1,
 * 2, ... as a closed form of the step (constant, step decay, exponential
 * decay, cosine annealing), after an optional linear warm-up.
 *
 * Invariants: bp_schedule_lr is a pure function of the schedule and the
 * step (no state, so a resumed run gets the same rates); on a schedule that
 * passed bp_schedule_check it returns a finite rate in [0, base] (in
 * [min_lr, base] for COSINE; 0 only where gamma^k underflows).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const schedule_names[] = {
    "constant", "step", "exp", "cosine",
};

const char *bp_schedule_name(bp_schedule_kind kind)
{
    if ((int)kind < 0 || (size_t)kind >= sizeof schedule_names / sizeof schedule_names[0])
        return NULL;
    return schedule_names[kind];
}

int bp_schedule_parse(const char *name, bp_schedule_kind *out)
{
    if (!name || !out)
        return BP_EINVAL;
    for (size_t i = 0; i < sizeof schedule_names / sizeof schedule_names[0]; i++)
        if (strcmp(name, schedule_names[i]) == 0) {
            *out = (bp_schedule_kind)i;
            return 0;
        }
    if (strcmp(name, "exponential") == 0) {
        *out = BP_SCHED_EXPONENTIAL;
        return 0;
    }
    return BP_EINVAL;
}

int bp_schedule_check(const bp_schedule *s, bp_error *err)
{
    if (!s)
        return bp__error_set(err, BP_EINVAL, "schedule: no schedule given");
    if (!bp_schedule_name(s->kind))
        return bp__error_set(err, BP_EINVAL, "schedule: unknown kind %d", (int)s->kind);
    if (!(isfinite(s->base) && s->base > 0.0))
        return bp__error_set(err, BP_EINVAL, "schedule: base must be a finite number > 0, got %g",
                             s->base);
    if ((s->kind == BP_SCHED_STEP || s->kind == BP_SCHED_EXPONENTIAL) &&
        !(s->gamma > 0.0 && s->gamma <= 1.0))
        return bp__error_set(err, BP_EINVAL, "schedule: gamma must be in (0, 1], got %g", s->gamma);
    if (s->kind == BP_SCHED_STEP && s->step_size < 1)
        return bp__error_set(err, BP_EINVAL, "schedule: step_size must be >= 1, got %ld",
                             s->step_size);
    if (s->kind == BP_SCHED_COSINE) {
        if (s->total < 1)
            return bp__error_set(err, BP_EINVAL, "schedule: total must be >= 1, got %ld", s->total);
        if (!(s->min_lr >= 0.0 && s->min_lr <= s->base))
            return bp__error_set(err, BP_EINVAL,
                                 "schedule: min_lr must be in [0, base] = [0, %g], got %g", s->base,
                                 s->min_lr);
    }
    if (s->warmup < 0)
        return bp__error_set(err, BP_EINVAL, "schedule: warmup must be >= 0, got %ld", s->warmup);
    return 0;
}

double bp_schedule_lr(const bp_schedule *s, long step)
{
    if (!s)
        return NAN;
    if (step < 0)
        step = 0;
    if (s->warmup > 0) {
        if (step < s->warmup)
            return s->base * (double)(step + 1) / (double)s->warmup;
        step -= s->warmup;
    }
    switch (s->kind) {
    case BP_SCHED_CONSTANT:
        return s->base;
    case BP_SCHED_STEP: {
        long size = s->step_size > 1 ? s->step_size : 1;
        return s->base * pow(s->gamma, (double)(step / size));
    }
    case BP_SCHED_EXPONENTIAL:
        return s->base * pow(s->gamma, (double)step);
    case BP_SCHED_COSINE: {
        const double pi = 3.14159265358979323846;
        if (step >= s->total)
            return s->min_lr;
        return s->min_lr +
               (s->base - s->min_lr) * (1.0 + cos(pi * (double)step / (double)s->total)) / 2.0;
    }
    default:
        return NAN;
    }
}
