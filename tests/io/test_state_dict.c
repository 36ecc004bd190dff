/*
 * test_state_dict.c - safetensors files as PyTorch writes them: a plain
 * nn.Sequential state dict (no "net" in the metadata) read with a spec
 * given, its tensors matched to the dense layers by module index; the
 * errors for a missing spec, a missing or extra tensor, a disagreeing spec;
 * and F64, F16 and BF16 tensors converted to float32, from bytes built here.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_state_dict");
}

/* A tensor for st_write: name, dtype, shape (d1 0: one dimension), bytes. */
typedef struct tensor {
    const char *name, *dtype;
    int d0, d1;
    const void *data;
    size_t size;
} tensor;

/* Write a safetensors file: header with the tensors in order (their data
 * packed in that order), metadata JSON text md (NULL: none). */
static void st_write(const char *path, const tensor *t, int n, const char *md)
{
    char hdr[4096];
    size_t len = 0, off = 0;
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "{");
    if (md)
        len += (size_t)snprintf(hdr + len, sizeof hdr - len, "\"__metadata__\":%s%s", md,
                                n ? "," : "");
    for (int i = 0; i < n; i++) {
        char shape[64];
        if (t[i].d1)
            snprintf(shape, sizeof shape, "[%d,%d]", t[i].d0, t[i].d1);
        else
            snprintf(shape, sizeof shape, "[%d]", t[i].d0);
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                                i ? "," : "", t[i].name, t[i].dtype, shape, off, off + t[i].size);
        off += t[i].size;
    }
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    unsigned char *file = tu_xmalloc(8 + len + off);
    for (int i = 0; i < 8; i++)
        file[i] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(file + 8, hdr, len);
    off = 8 + len;
    for (int i = 0; i < n; i++) {
        memcpy(file + off, t[i].data, t[i].size);
        off += t[i].size;
    }
    tu_write_file(path, file, off);
    free(file);
}

/* Little-endian bytes of floats (this test runs on little-endian hosts and
 * says so when it does not). */
static const float W0[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, B0[3] = {0.1f, -0.2f, 0.3f};
static const float W2[3] = {1.0f, -2.0f, 0.125f}, B2[1] = {-0.5f};

static void expect_layers(bp_net *net)
{
    for (int i = 0; i < 6; i++)
        TU_ASSERT_EXACT(bp_net_weight(net, 0)[i], W0[i]);
    for (int i = 0; i < 3; i++) {
        TU_ASSERT_EXACT(bp_net_bias(net, 0)[i], B0[i]);
        TU_ASSERT_EXACT(bp_net_weight(net, 1)[i], W2[i]);
    }
    TU_ASSERT_EXACT(bp_net_bias(net, 1)[0], B2[0]);
}

static int little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void test_sequential(void **state)
{
    (void)state;
    if (!little_endian())
        skip();
    const char *prefixes[] = {"", "net.", "model.layers."};
    for (int p = 0; p < 3; p++) {
        char n0[64], n1[64], n2[64], n3[64];
        snprintf(n0, sizeof n0, "%s0.weight", prefixes[p]);
        snprintf(n1, sizeof n1, "%s0.bias", prefixes[p]);
        snprintf(n2, sizeof n2, "%s2.weight", prefixes[p]);
        snprintf(n3, sizeof n3, "%s2.bias", prefixes[p]);
        /* the file's order need not be the module order */
        tensor t[4] = {{n2, "F32", 1, 3, W2, 12}, {n0, "F32", 3, 2, W0, 24},
                       {n3, "F32", 1, 0, B2, 4}, {n1, "F32", 3, 0, B0, 12}};
        const char *path = tu_path("seq.safetensors");
        st_write(path, t, 4, p == 1 ? "{\"format\":\"pt\"}" : NULL);
        bp_error err;
        bp_meta *meta = NULL;
        bp_net *net = bp_model_load_spec(path, "2,3:relu,1:identity", &meta, &err);
        if (!net)
            fail_msg("%s", err.message);
        expect_layers(net);
        assert_string_equal(bp_meta_get(meta, "net"), "2,3:relu,1:identity");
        if (p == 1)
            assert_string_equal(bp_meta_get(meta, "format"), "pt");
        bp_meta_free(meta);
        bp_net_free(net);

        /* without a spec: the error says what to give, with an example */
        assert_null(bp_model_load(path, NULL, &err));
        char want[300];
        snprintf(want, sizeof want,
                 "%s has no network spec (a plain PyTorch state dict?); give it with --net SPEC, "
                 "e.g. --net 2,3:relu,1:identity",
                 path);
        assert_string_equal(err.message, want);
        assert_int_equal(err.code, BP_EFORMAT);
    }
}

static void test_state_dict_errors(void **state)
{
    (void)state;
    if (!little_endian())
        skip();
    const char *path = tu_path("bad.safetensors");
    bp_error err;
    /* a missing bias, for a layer that has one */
    tensor t[5] = {{"0.weight", "F32", 3, 2, W0, 24}, {"0.bias", "F32", 3, 0, B0, 12},
                   {"2.weight", "F32", 1, 3, W2, 12}, {"2.bias", "F32", 1, 0, B2, 4},
                   {"4.weight", "F32", 1, 1, B2, 4}};
    st_write(path, t, 3, NULL);
    assert_null(bp_model_load_spec(path, "2,3:relu,1:identity", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "tensor '2.bias' is missing", "has a bias");
    /* ... which is fine when the spec says nobias */
    bp_net *net = bp_model_load_spec(path, "2,3:relu,1:identity:nobias", NULL, &err);
    assert_non_null(net);
    bp_net_free(net);
    /* and the example spec says nobias too */
    assert_null(bp_model_load(path, NULL, &err));
    assert_non_null(strstr(err.message, "e.g. --net 2,3:relu,1:identity:nobias"));
    /* an extra tensor */
    st_write(path, t, 5, NULL);
    assert_null(bp_model_load_spec(path, "2,3:relu,1:identity", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "extra tensor '4.weight'", "2 layers with weights");
    /* fewer modules than layers */
    st_write(path, t, 2, NULL);
    assert_null(bp_model_load_spec(path, "2,3:relu,1:identity", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "has 2 layers with weights", "tensors for 1 modules");
    /* a bias for a layer without one */
    st_write(path, t, 4, NULL);
    assert_null(bp_model_load_spec(path, "2,3:relu,1:identity:nobias", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "tensor '2.bias' present", "no bias");
    /* a shape against the spec */
    assert_null(bp_model_load_spec(path, "3,2:relu,1:identity", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "'0.weight'", "not [2, 3]");
    /* two prefixes */
    tensor mixed[2] = {{"a.0.weight", "F32", 3, 2, W0, 24}, {"b.1.weight", "F32", 1, 3, W2, 12}};
    st_write(path, mixed, 2, NULL);
    assert_null(bp_model_load_spec(path, "2,3:relu:nobias,1:nobias", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "unexpected tensor 'b.1.weight'", NULL);
    /* a bad spec given */
    st_write(path, t, 4, NULL);
    assert_null(bp_model_load_spec(path, "2,3:rleu,1", NULL, &err));
    assert_int_equal(err.code, BP_EINVAL);
    assert_non_null(strstr(err.message, path));
}

/* A file with its own spec: a spec given must agree. */
static void test_spec_agreement(void **state)
{
    (void)state;
    bp_net *net = tu_net("2,3:relu,1:identity");
    const char *path = tu_path("own.safetensors");
    bp_error err;
    TU_ASSERT_OK(bp_model_save(path, net, NULL, &err));
    bp_net *back = bp_model_load_spec(path, "2,3:relu,1", NULL, &err); /* same network */
    assert_non_null(back);
    bp_net_free(back);
    assert_null(bp_model_load_spec(path, "2,3:tanh,1:identity", NULL, &err));
    assert_int_equal(err.code, BP_EINVAL);
    assert_non_null(strstr(err.message, "2,3:tanh,1:identity"));
    assert_non_null(strstr(err.message, "2,3:relu,1:identity"));
    assert_non_null(strstr(err.message, path));
    /* the JSON form too */
    const char *json = tu_path("own.json");
    const char text[] = "{\"net\": \"1,1:identity:nobias\", \"weights\": [[[2]]]}";
    tu_write_file(json, text, sizeof text - 1);
    back = bp_model_load_spec(json, "1,1:nobias", NULL, &err);
    assert_non_null(back);
    bp_net_free(back);
    assert_null(bp_model_load_spec(json, "1,1:sigmoid:nobias", NULL, &err));
    assert_non_null(strstr(err.message, "disagrees"));
    bp_net_free(net);
}

/* F64, F16 and BF16, converted on load; values that cannot be float32
 * refused, naming the tensor. */
static void test_dtypes(void **state)
{
    (void)state;
    const char *path = tu_path("dtypes.safetensors");
    bp_error err;
    /* F64: exactly representable values, then one rounded */
    double w64[2] = {0.375, -1.0 / 3.0};
    unsigned char b64[16];
    for (int i = 0; i < 2; i++) {
        uint64_t u;
        memcpy(&u, &w64[i], 8);
        for (int k = 0; k < 8; k++)
            b64[i * 8 + k] = (unsigned char)(u >> (8 * k));
    }
    /* F16 bits: 1.0, -2.0, 2^-24 (the smallest subnormal), 65504 (largest) */
    const uint16_t h[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
    /* BF16 bits: 1.0, -3.0, 0x3EAB (0.333984375) */
    const uint16_t bf[3] = {0x3F80, 0xC040, 0x3EAB};
    unsigned char b16[8], bb[6];
    for (int i = 0; i < 4; i++) {
        b16[2 * i] = (unsigned char)(h[i] & 0xff);
        b16[2 * i + 1] = (unsigned char)(h[i] >> 8);
    }
    for (int i = 0; i < 3; i++) {
        bb[2 * i] = (unsigned char)(bf[i] & 0xff);
        bb[2 * i + 1] = (unsigned char)(bf[i] >> 8);
    }
    /* three layers without bias: 0 [2, 1] in F64, 1 [2, 2] in F16, 2 [3, 2] in
     * BF16 (the three BF16 values twice) */
    tensor t[3] = {{"0.weight", "F64", 2, 1, b64, 16},
                   {"1.weight", "F16", 2, 2, b16, 8},
                   {"2.weight", "BF16", 3, 2, NULL, 0}};
    unsigned char bf6[12];
    memcpy(bf6, bb, 6);
    memcpy(bf6 + 6, bb, 6);
    t[2].data = bf6;
    t[2].size = 12;
    st_write(path, t, 3, NULL);
    bp_net *net = bp_model_load_spec(path, "1,2:nobias,2:nobias,3:nobias", NULL, &err);
    if (!net)
        fail_msg("%s", err.message);
    TU_ASSERT_EXACT(bp_net_weight(net, 0)[0], 0.375f);
    TU_ASSERT_EXACT(bp_net_weight(net, 0)[1], (float)(-1.0 / 3.0));
    TU_ASSERT_EXACT(bp_net_weight(net, 1)[0], 1.0f);
    TU_ASSERT_EXACT(bp_net_weight(net, 1)[1], -2.0f);
    TU_ASSERT_EXACT(bp_net_weight(net, 1)[2], ldexpf(1.0f, -24));
    TU_ASSERT_EXACT(bp_net_weight(net, 1)[3], 65504.0f);
    TU_ASSERT_EXACT(bp_net_weight(net, 2)[0], 1.0f);
    TU_ASSERT_EXACT(bp_net_weight(net, 2)[1], -3.0f);
    TU_ASSERT_EXACT(bp_net_weight(net, 2)[2], 0.333984375f);
    TU_ASSERT_EXACT(bp_net_weight(net, 2)[5], 0.333984375f);
    bp_net_free(net);

    /* F64 outside float range, F64 NaN, F16 infinity, BF16 NaN */
    struct {
        const char *dtype;
        int esize;
        uint64_t bits;
        const char *why;
    } bad[] = {
        {"F64", 8, 0x7E37E43C8800759CULL, "value 1 is outside float range"}, /* 1e300 */
        {"F64", 8, 0x7FF8000000000000ULL, "value 1 is not finite"},
        {"F16", 2, 0x7C00, "value 1 is not finite"},
        {"BF16", 2, 0x7FC0, "value 1 is not finite"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        unsigned char d[16] = {0};
        const size_t es = bad[c].esize == 8 ? 8 : 2;
        for (size_t k = 0; k < es; k++)
            d[es + k] = (unsigned char)(bad[c].bits >> (8 * k));
        tensor one = {"net.0.weight", bad[c].dtype, 2, 1, d, (size_t)(2 * bad[c].esize)};
        st_write(path, &one, 1, NULL);
        assert_null(bp_model_load_spec(path, "1,2:nobias", NULL, &err));
        tu_expect_error(&err, path, BP_EFORMAT, "tensor 'net.0.weight'", bad[c].why);
    }
    /* an unknown dtype names the ones read */
    tensor i8 = {"0.weight", "I8", 2, 1, "ab", 2};
    st_write(path, &i8, 1, NULL);
    assert_null(bp_model_load_spec(path, "1,2:nobias", NULL, &err));
    tu_expect_error(&err, path, BP_EFORMAT, "dtype is \"I8\"", "\"BF16\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_state_dict_errors),
        cmocka_unit_test(test_spec_agreement),
        cmocka_unit_test(test_dtypes),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
