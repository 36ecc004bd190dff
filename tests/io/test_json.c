/*
 * test_json.c - the strict JSON reader under the model formats: UTF-8 in
 * strings is validated byte by byte (each invalid form refused with the
 * byte, line and column named), valid multi-byte text and \u escapes come
 * out as the same UTF-8, duplicate keys are refused by name, and an object
 * of many thousands of keys is checked for duplicates in n log n time.
 */
#include "testutil.h"

#include "io/json.h"
#include "internal.h"

#include <time.h>

/* Parse text; on failure the message is left in msg and NULL returned. */
static bp__json *parse(const char *text, size_t len, char *msg, int *code)
{
    msg[0] = '\0';
    *code = 0;
    return bp__json_parse(text, len, msg, 256, code);
}

static void expect_error(const char *text, size_t len, const char *message)
{
    char msg[256];
    int code;
    bp__json *j = parse(text, len, msg, &code);
    if (j) {
        bp__json_free(j);
        fail_msg("parsed, expected the error '%s'", message);
    }
    assert_int_equal(code, BP_EFORMAT);
    if (!strstr(msg, message))
        fail_msg("message '%s' lacks '%s'", msg, message);
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    /* a lone continuation byte, a truncated 2-byte form, an overlong '/',
     * a UTF-16 surrogate written in UTF-8, a code point past U+10FFFF, a
     * byte never used in UTF-8, a sequence cut by the closing quote */
    expect_error("[\"a\x80\"]", 5, "line 1, column 4: byte 0x80 in a string is not valid UTF-8");
    expect_error("[\"\xc3\"]", 4, "line 1, column 3: byte 0xc3 in a string is not valid UTF-8");
    expect_error("[\"\xc0\xaf\"]", 5, "byte 0xc0 in a string is not valid UTF-8");
    expect_error("[\"\xed\xa0\x80\"]", 6, "byte 0xed in a string is not valid UTF-8");
    expect_error("[\"\xf4\x90\x80\x80\"]", 7, "byte 0xf4 in a string is not valid UTF-8");
    expect_error("{\"k\":\n \"\xff\"}", 11, "line 2, column 3: byte 0xff in a string is not valid UTF-8");
    expect_error("{\"\xe2\x82\"}", 6, "byte 0xe2 in a string is not valid UTF-8");
}

static void test_utf8_valid(void **state)
{
    /* e-acute, the euro sign, U+10FFFF and U+1F600 in raw UTF-8, then the
     * same four as \u escapes: both must give the same bytes */
    static const char raw[] = "[\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\","
                              "\"\\u00e9\\u20ac\\udbff\\udfff\\ud83d\\ude00\"]";
    static const char expected[] = "\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80";
    char msg[256];
    int code;
    bp__json *j;
    (void)state;
    j = parse(raw, sizeof raw - 1, msg, &code);
    if (!j)
        fail_msg("valid UTF-8 refused: %s", msg);
    assert_int_equal(j->type, BP__JSON_ARRAY);
    assert_int_equal(j->n, 2);
    assert_string_equal(j->items[0].string, expected);
    assert_string_equal(j->items[1].string, expected);
    bp__json_free(j);
}

static void test_duplicate_key_named(void **state)
{
    (void)state;
    expect_error("{\"a\": 1, \"b\": 2, \"a\": 3}", 24, "duplicate key \"a\" in this object");
    expect_error("{\"x\": {\"w\": [], \"w\": {}}}", 26, "duplicate key \"w\"");
}

/* {"k0": 0, "k1": 1, ...}: n keys, the last one renamed to dup when dup
 * is not negative. Returns a new buffer. */
static char *many_keys(int n, int dup, size_t *len)
{
    size_t cap = (size_t)n * 24 + 16, k = 0;
    char *s = tu_xmalloc(cap);
    s[k++] = '{';
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s\"k%d\": %d", i ? ", " : "",
                              i == n - 1 && dup >= 0 ? dup : i, i);
    s[k++] = '}';
    s[k] = '\0';
    *len = k;
    return s;
}

static void test_many_keys(void **state)
{
    enum { N = 200000 };
    char msg[256];
    int code;
    size_t len;
    char *text;
    bp__json *j;
    clock_t start = clock();
    (void)state;
    text = many_keys(N, -1, &len);
    j = parse(text, len, msg, &code);
    if (!j)
        fail_msg("%d distinct keys refused: %s", N, msg);
    assert_int_equal(j->n, N);
    assert_string_equal(j->keys[N - 1], "k199999");
    TU_ASSERT_EXACT(j->items[12345].number, 12345.0);
    bp__json_free(j);
    free(text);
    text = many_keys(N, 77, &len);
    expect_error(text, len, "duplicate key \"k77\" in this object");
    free(text);
    /* quadratic checking would take minutes here; sorting takes well under
     * a second even in a sanitizer build */
    if ((double)(clock() - start) / CLOCKS_PER_SEC > 20.0)
        fail_msg("checking %d keys took %.1f s", N, (double)(clock() - start) / CLOCKS_PER_SEC);
}

/* Every allocation failing in turn gives BP_ENOMEM and leaks nothing. */
static void test_allocation_failures(void **state)
{
    static const char text[] = "{\"a\": [1, 2, {\"b\": \"\xc3\xa9\"}], \"c\": \"d\", \"e\": null}";
    tu_counter c;
    char msg[256];
    int code;
    long total;
    bp__json *j;
    (void)state;
    tu_counter_install(&c);
    j = parse(text, sizeof text - 1, msg, &code);
    assert_non_null(j);
    bp__json_free(j);
    total = c.requests;
    assert_true(total > 3);
    for (long k = 1; k <= total; k++) {
        tu_counter_fail_in(&c, k);
        j = parse(text, sizeof text - 1, msg, &code);
        assert_null(j);
        assert_int_equal(code, BP_ENOMEM);
        assert_int_equal(c.live, 0);
    }
    bp_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_duplicate_key_named),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
