/*
 * test_bf16_round.c - the batch conversion to bf16 (bp__to_bf16) gives
 * bp__bf16_of's bits for every kind of value: normal numbers, ties both
 * ways, values that round up to infinity, zeros, infinities, NaNs and
 * denormals (which the CPU's own instruction would flush to zero), alone
 * or among others, at any length and alignment. Skips where bf16 cannot
 * run (the conversion is built for the CPUs that run it).
 */
#include "testutil.h"

#include "math/bf16.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* n values of x against bp__bf16_of, converted from x + off into y + off */
static void check(const float *x, size_t n, size_t off)
{
    uint16_t y[300];
    assert_true(n + off <= 300);
    memset(y, 0xAB, sizeof y);
    bp__to_bf16(x + off, y + off, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[off + i], sizeof u);
        if (y[off + i] != bp__bf16_of(x[off + i]))
            fail_msg("value %zu of %zu (bits 0x%08x): got 0x%04x, want 0x%04x", i, n, u,
                     y[off + i], bp__bf16_of(x[off + i]));
    }
    for (size_t i = 0; i < off; i++) /* nothing before the range written */
        assert_int_equal(y[i], 0xABAB);
    if (n + off < 300)
        assert_int_equal(y[n + off], 0xABAB);
}

static void test_matches_scalar(void **state)
{
    (void)state;
    bp_error err;
    if (bp_bf16_check(&err) != 0) {
        print_message("bf16 unavailable here (%s): skipped\n", err.message);
        skip();
    }
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, /* zeros, infinities */
        0x7fc00000u, 0x7f800001u, 0xffbfffffu,              /* NaNs, quiet and signalling */
        0x00000001u, 0x807fffffu, 0x00008000u, 0x00018000u, /* denormals, ties among them */
        0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x3f808001u, /* ties to even, either side */
        0x7f7fffffu, 0xff7f8000u,                           /* round up to infinity */
        0x00800000u, 0x3f800000u,                           /* the smallest normal, one */
    };
    enum { NS = sizeof special / sizeof special[0] };
    float x[300];
    bp_rng r;
    bp_rng_seed(&r, 41);
    for (int i = 0; i < 300; i++) /* every exponent, random bits */
        x[i] = from_bits((uint32_t)(bp_rng_uniform(&r) * 4294967296.0));
    for (size_t n = 0; n <= 100; n++)
        check(x, n, n % 7);
    /* each special value alone in a block of normal numbers, and all of them together */
    for (int s = 0; s < NS; s++) {
        float v[300];
        for (int i = 0; i < 300; i++)
            v[i] = (float)(bp_rng_uniform(&r) - 0.5);
        for (int pos = 0; pos < 70; pos += 13) {
            v[pos] = from_bits(special[s]);
            check(v, 96, 0);
            check(v, 70, 0);
        }
    }
    for (int i = 0; i < 300; i++)
        x[i] = from_bits(special[i % NS]);
    check(x, 300, 0);
    check(x, 250, 33);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
