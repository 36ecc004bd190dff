/*
 * test_rng.c - the seeded generator (xoshiro256** seeded by SplitMix64)
 * against a reference written here from the published algorithms, its
 * distributions, and the error strings.
 */
#include "testutil.h"

/* ---- Reference generator, from the algorithm descriptions. */

typedef struct ref_rng {
    uint64_t s[4];
} ref_rng;

static uint64_t ref_rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

static uint64_t ref_splitmix64(uint64_t *state)
{
    uint64_t z;
    *state += UINT64_C(0x9e3779b97f4a7c15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void ref_seed(ref_rng *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = ref_splitmix64(&sm);
}

static uint64_t ref_next(ref_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = ref_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

static void test_known_answer(void **state)
{
    static const uint64_t seeds[] = {0, 1, 42, UINT64_C(0xdeadbeefcafebabe),
                                     UINT64_MAX};
    (void)state;
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        bp_rng rng;
        ref_rng ref;
        bp_rng_seed(&rng, seeds[k]);
        ref_seed(&ref, seeds[k]);
        for (int i = 0; i < 1000; i++) {
            uint64_t got = bp_rng_next(&rng), want = ref_next(&ref);
            if (got != want)
                fail_msg("seed %llu draw %d: got %016llx, expected %016llx",
                         (unsigned long long)seeds[k], i,
                         (unsigned long long)got, (unsigned long long)want);
        }
    }
}

/* Seed 0's first state word is the first SplitMix64 output for 0, a value
 * published with the algorithm. */
static void test_splitmix_first_output(void **state)
{
    uint64_t sm = 0;
    (void)state;
    assert_true(ref_splitmix64(&sm) == UINT64_C(0xe220a8397b1dcdaf));
}

static void test_same_seed_same_sequence(void **state)
{
    bp_rng a, b, c;
    (void)state;
    bp_rng_seed(&a, 12345);
    bp_rng_seed(&b, 12345);
    bp_rng_seed(&c, 12346);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = bp_rng_next(&a), y = bp_rng_next(&b), z = bp_rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    /* Two streams from different seeds agree on a draw with chance 2^-64. */
    assert_int_equal(differ, 100);

    /* The same holds for the derived draws, spare normal included. */
    bp_rng_seed(&a, 7);
    bp_rng_seed(&b, 7);
    for (int i = 0; i < 101; i++) {
        double x = bp_rng_normal(&a), y = bp_rng_normal(&b);
        assert_true(x == y);
    }
    /* A saved copy of the struct replays the stream. */
    bp_rng saved = a;
    double first[10];
    for (int i = 0; i < 10; i++)
        first[i] = bp_rng_normal(&a) + bp_rng_uniform(&a);
    for (int i = 0; i < 10; i++)
        assert_true(bp_rng_normal(&saved) + bp_rng_uniform(&saved) == first[i]);
}

static void test_uniform(void **state)
{
    bp_rng rng;
    const int n = 100000;
    double sum = 0.0, lo = 1.0, hi = 0.0;
    (void)state;
    bp_rng_seed(&rng, 2024);
    for (int i = 0; i < n; i++) {
        double u = bp_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        /* 53 random bits: u * 2^53 is an integer. */
        double scaled = u * 9007199254740992.0;
        assert_true(scaled == floor(scaled));
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    /* Mean of n uniforms: sd sqrt(1/12/n) = 0.00091; 5 sd bounds. */
    TU_ASSERT_CLOSE(sum / n, 0.5, 0.0, 0.0046);
    assert_true(lo < 0.001 && hi > 0.999);
}

static void test_normal(void **state)
{
    bp_rng rng;
    const int n = 100000;
    double sum = 0.0, sq = 0.0, m4 = 0.0;
    int beyond3 = 0;
    (void)state;
    bp_rng_seed(&rng, 99);
    for (int i = 0; i < n; i++) {
        double v = bp_rng_normal(&rng);
        assert_true(isfinite(v));
        sum += v;
        sq += v * v;
        m4 += v * v * v * v;
        beyond3 += fabs(v) > 3.0;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    /* sd of the mean 1/sqrt(n) = 0.0032, of the variance sqrt(2/n) =
     * 0.0045: 5 sd bounds. */
    TU_ASSERT_CLOSE(mean, 0.0, 0.0, 0.016);
    TU_ASSERT_CLOSE(var, 1.0, 0.0, 0.023);
    /* Fourth moment 3 (sd sqrt(96/n) = 0.031), so it really is normal. */
    TU_ASSERT_CLOSE(m4 / n, 3.0, 0.0, 0.16);
    /* P(|v| > 3) = 0.0027: expected 270, sd 16.4. */
    assert_true(beyond3 > 188 && beyond3 < 352);
}

static void test_below(void **state)
{
    bp_rng rng;
    (void)state;
    bp_rng_seed(&rng, 5);
    for (int i = 0; i < 100; i++)
        assert_true(bp_rng_below(&rng, 1) == 0);
    for (uint64_t n = 2; n <= 9; n++) {
        long counts[9] = {0};
        const long draws = 9000;
        for (long i = 0; i < draws; i++) {
            uint64_t v = bp_rng_below(&rng, n);
            assert_true(v < n);
            counts[v]++;
        }
        double expect = (double)draws / (double)n;
        double sd = sqrt(expect * (1.0 - 1.0 / (double)n));
        for (uint64_t v = 0; v < n; v++) {
            if (!(fabs((double)counts[v] - expect) < 5.0 * sd))
                fail_msg("below(%llu): value %llu drawn %ld times, expected %.0f",
                         (unsigned long long)n, (unsigned long long)v, counts[v],
                         expect);
        }
    }
    /* Huge bounds: in range, and both halves of the range reached. */
    const uint64_t big = (UINT64_C(1) << 63) + 12345;
    int upper = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = bp_rng_below(&rng, big);
        assert_true(v < big);
        upper += v >= big / 2;
    }
    assert_true(upper > 400 && upper < 600);
}

static void test_strerror(void **state)
{
    struct {
        int code;
        const char *text;
    } codes[] = {
#define ENTRY(name, code, text) {name, text},
        BP_ERRORS(ENTRY)
#undef ENTRY
    };
    const size_t n = sizeof codes / sizeof codes[0];
    (void)state;
    assert_true(n == 9);
    for (size_t i = 0; i < n; i++) {
        const char *s = bp_strerror(codes[i].code);
        assert_non_null(s);
        assert_true(codes[i].code < 0);
        assert_true(strlen(s) > 0);
        assert_string_equal(s, codes[i].text);
        for (size_t j = 0; j < i; j++) {
            assert_true(codes[i].code != codes[j].code);
            assert_true(strcmp(s, bp_strerror(codes[j].code)) != 0);
        }
    }
    const int unknown[] = {-10, -1000, 1, 12345};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = bp_strerror(unknown[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (size_t j = 0; j < n; j++)
            assert_true(strcmp(s, codes[j].text) != 0);
    }
    assert_non_null(bp_strerror(BP_OK));
    assert_string_equal(bp_version(), BP_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix_first_output),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_below),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
