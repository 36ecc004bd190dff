/*
 * test_fill.c - bp__fill: a buffer written front to back in consecutive
 * parts keeps every byte the writer wrote, on one thread and on two (where
 * the second zeroes the chunks ahead of the writer), and an error or a
 * short part stops it with the bytes written so far.
 */
#include "testutil.h"

#include "internal.h"

enum { MB = 1 << 20, PAGE = 4096 };

/* The writer: each byte of page p of the buffer is pattern(p), never zero. */
typedef struct writer {
    unsigned char *buf;
    size_t at;       /* bytes written so far */
    int calls;
    int fail_at;     /* the call that fails (BP_EIO), or -1 */
    size_t end;      /* the data ends here */
    int misplaced;   /* a call's dst was not buf + at */
} writer;

static unsigned char pattern(size_t i)
{
    return (unsigned char)(((i * 2654435761u) >> 13) | 1u);
}

static int write_part(void *ctx, unsigned char *dst, size_t n, size_t *got)
{
    writer *w = ctx;
    if (dst != w->buf + w->at)
        w->misplaced = 1;
    if (w->calls++ == w->fail_at) {
        *got = 0;
        return BP_EIO;
    }
    const size_t k = w->end - w->at < n ? w->end - w->at : n;
    /* a page at a time, as fast as the other thread's zeroing */
    for (size_t i = 0; i < k;) {
        const size_t page = (w->at + i) / PAGE, run = (page + 1) * PAGE - (w->at + i);
        const size_t len = run < k - i ? run : k - i;
        memset(dst + i, pattern(page), len);
        i += len;
    }
    w->at += k;
    *got = k;
    return 0;
}

/* Fills len bytes (set to 0x55 first, as old data) on `threads` threads;
 * returns the rc and checks what was written. */
static int fill_once(size_t len, int threads, int fail_at, size_t end, size_t *got, int *calls)
{
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, 0x55, len);
    writer w = {.buf = buf, .fail_at = fail_at, .end = end};
    bp_set_threads(threads);
    const int rc = bp__fill(buf, len, write_part, &w, got);
    bp_set_threads(0);
    assert_false(w.misplaced);
    assert_int_equal(*got, w.at);
    for (size_t i = 0; i < w.at; i++)
        if (buf[i] != pattern(i / PAGE))
            fail_msg("byte %zu of %zu is %u, expected %u (threads %d)", i, len, buf[i],
                     pattern(i / PAGE), threads);
    *calls = w.calls;
    free(buf);
    return rc;
}

static void test_every_byte_kept(void **state)
{
    (void)state;
    const size_t lens[] = {10 * MB + 12345, 4 * MB, 7 * MB - 1};
    for (int rep = 0; rep < 50; rep++)
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
            for (int threads = 1; threads <= 2; threads++) {
                size_t got;
                int calls;
                assert_int_equal(fill_once(lens[l], threads, -1, lens[l], &got, &calls), 0);
                assert_int_equal(got, lens[l]);
                /* on two threads one call a chunk of 1 MiB, the last one
                 * partial; on one, one call */
                assert_int_equal(calls, threads == 1 ? 1 : (int)((lens[l] + MB - 1) / MB));
            }
}

static void test_small_in_one_call(void **state)
{
    (void)state;
    size_t got;
    int calls;
    assert_int_equal(fill_once(3 * MB, 2, -1, 3 * MB, &got, &calls), 0);
    assert_int_equal(got, 3 * MB);
    assert_int_equal(calls, 1);
}

static void test_error_stops(void **state)
{
    (void)state;
    size_t got;
    int calls;
    assert_int_equal(fill_once(9 * MB, 2, 3, 9 * MB, &got, &calls), BP_EIO);
    assert_int_equal(got, 3 * MB);
    assert_int_equal(calls, 4);
    assert_int_equal(fill_once(9 * MB, 1, 0, 9 * MB, &got, &calls), BP_EIO);
    assert_int_equal(got, 0);
    assert_int_equal(calls, 1);
}

static void test_short_data_stops(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        size_t got;
        int calls;
        assert_int_equal(fill_once(9 * MB, threads, -1, 5 * MB / 2, &got, &calls), 0);
        assert_int_equal(got, 5 * MB / 2);
        assert_int_equal(calls, threads == 1 ? 1 : 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_kept),
        cmocka_unit_test(test_small_in_one_call),
        cmocka_unit_test(test_error_stops),
        cmocka_unit_test(test_short_data_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
