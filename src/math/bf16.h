/*
 * bf16.h - bfloat16 values as the bf16 passes hold them (uint16_t, the
 * top half of a float's bits) and the one rounding they use: to nearest,
 * ties to even, NaN kept a quiet NaN.
 */
#ifndef BP_MATH_BF16_H
#define BP_MATH_BF16_H

#include <stdint.h>
#include <string.h>

static inline uint16_t bp__bf16_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : r);
}

static inline float bp__bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* y (n) = x (n) rounded to bf16. */
void bp__to_bf16(const float *x, uint16_t *y, size_t n);
/* x rounded to bf16 and back: what a bf16 product sees of x. */
float bp__bf16_round(float x);

#endif /* BP_MATH_BF16_H */
