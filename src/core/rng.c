/*
 * rng.c - the library's seeded generator: xoshiro256** (Blackman and Vigna,
 * 2018) with its state filled by SplitMix64 from a 64-bit seed. All state is
 * in the caller's bp_rng; the same seed gives the same bits everywhere.
 */
#include "internal.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void bp_rng_seed(bp_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    rng->spare = 0.0;
    rng->has_spare = 0;
}

uint64_t bp_rng_next(bp_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bp_rng_uniform(bp_rng *rng)
{
    return (double)(bp_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-and-reject method: unbiased and division-free in the
 * common case. */
uint64_t bp_rng_below(bp_rng *rng, uint64_t n)
{
    uint64_t x, lo, hi, threshold;
    if (n <= 1)
        return 0;
    threshold = (0 - n) % n;
    for (;;) {
        x = bp_rng_next(rng);
        /* 64x64 -> 128 bit product, split in halves to stay in C11. */
        uint64_t a_lo = x & 0xffffffffu, a_hi = x >> 32;
        uint64_t b_lo = n & 0xffffffffu, b_hi = n >> 32;
        uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
        uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
        lo = (p0 & 0xffffffffu) | (mid << 32);
        hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
        if (lo >= threshold)
            return hi;
    }
}

double bp_rng_normal(bp_rng *rng)
{
    double u, v, s, f;
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    do {
        u = 2.0 * bp_rng_uniform(rng) - 1.0;
        v = 2.0 * bp_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    f = sqrt(-2.0 * log(s) / s);
    rng->spare = v * f;
    rng->has_spare = 1;
    return u * f;
}
