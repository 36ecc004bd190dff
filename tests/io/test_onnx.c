/*
 * test_onnx.c - the exports: ONNX files read back bit for bit (weights,
 * scaling, metadata, the graph's description), their bytes checked against
 * the wire format worked out by hand, cut and altered files refused with a
 * message naming the node or tensor, every allocation failure handled; and
 * the C source export's contents; a regression's target scaling as the
 * graph's tail and the C code's last step. (onnx's own checker and an independent
 * evaluator run in tests/ref/test_onnx_export.sh; the C export is compiled
 * and run in tests/cli/test_export.sh.)
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <unistd.h>
#include <sys/stat.h>

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_onnx");
}

/* The first occurrence of pat (m bytes) in b (n bytes), or NULL. */
static unsigned char *find(unsigned char *b, size_t n, const void *pat, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(b + i, pat, m) == 0)
            return b + i;
    return NULL;
}

/* bp_onnx_load without the graph's description. */
static bp_net *onnx_load(const char *path, bp_meta **meta, bp_error *err)
{
    return bp_onnx_load(path, meta, NULL, err);
}

/* The network of most tests: every activation, a layer without bias. */
static const char *const SPEC = "5,7:tanh,3:leaky_relu=0.2:nobias,4:relu,2:sigmoid,3:softmax";

static bp_net *random_net(const char *spec, uint64_t seed)
{
    bp_net *net = tu_net(spec);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    tu_fill_normal(&rng, bp_net_params(net), bp_net_param_count(net), 1.0);
    return net;
}

static void expect_refused(const char *path, int code, const char *piece1, const char *piece2)
{
    bp_error err;
    bp_meta *meta = (bp_meta *)&err; /* must be set to NULL */
    memset(&err, 0, sizeof err);
    bp_net *net = bp_onnx_load(path, &meta, NULL, &err);
    if (net)
        fail_msg("%s loaded, expected an error containing '%s'", path, piece1);
    assert_null(meta);
    tu_expect_error(&err, path, code, piece1, piece2);
}

static void test_roundtrip_bits(void **state)
{
    (void)state;
    bp_net *net = random_net(SPEC, 7);
    const float shift[5] = {0.0f, -1.5f, 1e-7f, 100.25f, 0.0f};
    const float mul[5] = {1.0f, 0.5f, 3.0e5f, 1.0f / 3.0f, 1.0f};
    bp_meta *meta = bp_meta_create();
    assert_non_null(meta);
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "cce"));
    TU_ASSERT_OK(bp_meta_set(meta, "note", "quote \" newline \n \xc3\xa9"));
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 5, shift, mul));
    bp_error err;
    const char *path = tu_path("model.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));

    bp_meta *back = NULL;
    bp_onnx_info info;
    bp_net *loaded = bp_onnx_load(path, &back, &info, &err);
    if (!loaded)
        fail_msg("load: %s", err.message);
    char s1[256], s2[256];
    bp_net_spec(net, s1, sizeof s1);
    bp_net_spec(loaded, s2, sizeof s2);
    assert_string_equal(s2, s1);
    assert_int_equal(bp_net_param_count(loaded), bp_net_param_count(net));
    assert_memory_equal(bp_net_params(loaded), bp_net_params(net),
                        bp_net_param_count(net) * sizeof(float));
    float s[5], m[5];
    assert_int_equal(bp_meta_get_scaling(back, 5, s, m, &err), 0);
    assert_memory_equal(s, shift, sizeof s);
    assert_memory_equal(m, mul, sizeof m);
    assert_string_equal(bp_meta_get(back, "net"), SPEC);
    assert_string_equal(bp_meta_get(back, "loss"), "cce");
    assert_string_equal(bp_meta_get(back, "note"), "quote \" newline \n \xc3\xa9");

    assert_int_equal(info.ir_version, 7);
    assert_int_equal(info.opset, 13);
    assert_string_equal(info.producer, "backprop " BP_VERSION_STRING);
    assert_string_equal(info.graph, "backprop");
    assert_string_equal(info.input, "input");
    assert_string_equal(info.output, "output");
    assert_string_equal(info.batch, "batch");
    assert_string_equal(info.ops, "Sub Mul Gemm Tanh Gemm LeakyRelu Gemm Relu Gemm Sigmoid "
                                  "Gemm Softmax");
    assert_int_equal(info.nodes, 12);
    assert_int_equal(info.initializers, 2 + 5 * 2 - 1); /* shift, mul, weights, 4 biases */

    /* Same predictions, bit for bit. */
    float x[3 * 5];
    const float *y1, *y2;
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    tu_fill_normal(&rng, x, 15, 1.0);
    TU_ASSERT_OK(bp_net_forward(net, 3, x, &y1));
    TU_ASSERT_OK(bp_net_forward(loaded, 3, x, &y2));
    assert_memory_equal(y1, y2, 3 * 3 * sizeof(float));

    /* Exporting what was read gives the same bytes. */
    const char *path2 = tu_path("again.onnx");
    TU_ASSERT_OK(bp_onnx_save(path2, loaded, back, &err));
    size_t n1, n2;
    unsigned char *b1 = tu_read_file(path, &n1), *b2 = tu_read_file(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    bp_meta_free(meta);
    bp_meta_free(back);
    bp_net_free(loaded);
    bp_net_free(net);
}

/* The bytes of a one-weight network, worked out by hand from onnx.proto:
 * each field is a key byte (number << 3 | wire type) and a value. */
static void test_wire_format(void **state)
{
    (void)state;
    bp_net *net = tu_net("1,1:identity:nobias");
    bp_net_weight(net, 0)[0] = 2.0f;
    bp_error err;
    const char *path = tu_path("one.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    /* ModelProto.ir_version (1, varint) = 7 comes first. */
    assert_true(n > 2 && b[0] == 0x08 && b[1] == 0x07);
    /* opset_import (8, bytes) {domain (1) "", version (2) 13}. */
    static const unsigned char opset[] = {0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d};
    assert_non_null(find(b, n, opset, sizeof opset));
    /* The weight tensor: dims (1) 1, dims 1, data_type (2) 1 (FLOAT), name
     * (8) "layers.0.weight", raw_data (9) 2.0f little-endian. */
    static const unsigned char weight[] = {0x08, 0x01, 0x08, 0x01, 0x10, 0x01, 0x42, 0x0f,
                                           'l',  'a',  'y',  'e',  'r',  's',  '.',  '0',
                                           '.',  'w',  'e',  'i',  'g',  'h',  't',  0x4a,
                                           0x04, 0x00, 0x00, 0x00, 0x40};
    assert_non_null(find(b, n, weight, sizeof weight));
    /* Gemm's attribute (5) {name (1) "transB", i (3) 1, type (20) INT = 2};
     * field 20's key needs two varint bytes: 0xa0 0x01. */
    static const unsigned char transb[] = {0x2a, 0x0d, 0x0a, 0x06, 't', 'r', 'a', 'n',
                                           's',  'B',  0x18, 0x01, 0xa0, 0x01, 0x02};
    assert_non_null(find(b, n, transb, sizeof transb));
    /* The input's shape {dim {dim_param (2) "batch"}, dim {dim_value (1) 1}}. */
    static const unsigned char shape[] = {0x12, 0x0d, 0x0a, 0x07, 0x12, 0x05, 'b', 'a', 't',
                                          'c',  'h',  0x0a, 0x02, 0x08, 0x01};
    assert_non_null(find(b, n, shape, sizeof shape));
    /* No scaling in the metadata: no Sub, no Mul. */
    assert_null(find(b, n, "Sub", 3));
    assert_null(find(b, n, "scaling", 7));
    free(b);
    bp_net_free(net);
}

/* A file cut anywhere is refused, or (cut after its last graph byte, where
 * protocol buffers have no way to tell) reads back the same network. */
static void test_truncated(void **state)
{
    (void)state;
    bp_net *net = random_net("3,4:relu,2:sigmoid", 11);
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "bce"));
    const char *path = tu_path("full.onnx"), *cut = tu_path("cut.onnx");
    bp_error err;
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));
    size_t n, loaded_any = 0;
    unsigned char *bytes = tu_read_file(path, &n);
    for (size_t len = 0; len < n; len++) {
        tu_write_file(cut, bytes, len);
        bp_net *back = bp_onnx_load(cut, NULL, NULL, &err);
        if (back) {
            assert_int_equal(bp_net_param_count(back), bp_net_param_count(net));
            assert_memory_equal(bp_net_params(back), bp_net_params(net),
                                bp_net_param_count(net) * sizeof(float));
            loaded_any++;
            bp_net_free(back);
            continue;
        }
        if (err.code != BP_EFORMAT)
            fail_msg("cut to %zu of %zu bytes: code %d: %s", len, n, err.code, err.message);
        assert_non_null(strstr(err.message, cut));
    }
    /* Only cuts inside the trailing metadata can load. */
    assert_true(loaded_any > 0 && loaded_any < 80);
    free(bytes);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* Every single byte changed in turn: refused with a message naming the file,
 * or read (a change in a value or a name) into a network of the same spec;
 * never a crash (the suite also runs under the sanitizers). */
static void test_corrupted(void **state)
{
    (void)state;
    bp_net *net = random_net("3,4:leaky_relu,2:softmax", 13);
    const float shift[3] = {1, 2, 3}, mul[3] = {0.5f, 0.25f, 2};
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 3, shift, mul));
    const char *path = tu_path("whole.onnx"), *bad = tu_path("flipped.onnx");
    bp_error err;
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));
    size_t n, refused = 0;
    unsigned char *bytes = tu_read_file(path, &n);
    for (size_t i = 0; i < n; i++) {
        const unsigned char flips[] = {0xff, 0x01, 0x80};
        for (size_t f = 0; f < sizeof flips; f++) {
            bytes[i] ^= flips[f];
            tu_write_file(bad, bytes, n);
            bytes[i] ^= flips[f];
            bp_meta *back = NULL;
            bp_net *got = bp_onnx_load(bad, &back, NULL, &err);
            if (!got) {
                assert_null(back);
                assert_non_null(strstr(err.message, bad));
                assert_true(err.code == BP_EFORMAT || err.code == BP_ENONFINITE ||
                            err.code == BP_ESPEC || err.code == BP_EINVAL);
                refused++;
                continue;
            }
            assert_int_equal(bp_net_inputs(got), 3);
            bp_meta_free(back);
            bp_net_free(got);
        }
    }
    assert_true(refused > n); /* most changes break the structure */
    free(bytes);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* Replace the first occurrence of `from` in the saved file by `to` (same
 * length) and write the result to path `as`. */
static void altered(const char *src, const char *as, const void *from, const void *to, size_t m)
{
    size_t n;
    unsigned char *b = tu_read_file(src, &n), *at = find(b, n, from, m);
    if (!at)
        fail_msg("pattern not found in %s", src);
    memcpy(at, to, m);
    tu_write_file(as, b, n);
    free(b);
}

static void test_refused(void **state)
{
    (void)state;
    bp_net *net = random_net("5,7:relu,3:softmax", 5);
    bp_net_weight(net, 1)[4] = 1234.5f;
    const char *path = tu_path("good.onnx"), *bad = tu_path("bad.onnx");
    bp_error err;
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));

    /* An op that is not in the chain. */
    altered(path, bad, "Relu", "Selu", 4);
    expect_refused(bad, BP_EFORMAT, "node 1 (Selu 'layers.0.relu')",
                   "expected Gemm, Conv, MaxPool, AveragePool, BatchNormalization, Flatten or "
                   "an activation");
    /* Weights of the wrong shape: dims 7, 5 becomes 7, 4. */
    static const unsigned char dims[] = {0x08, 0x07, 0x08, 0x05, 0x10, 0x01};
    static const unsigned char dims4[] = {0x08, 0x07, 0x08, 0x04, 0x10, 0x01};
    altered(path, bad, dims, dims4, sizeof dims);
    expect_refused(bad, BP_EFORMAT, "tensor 'layers.0.weight': shape [7, 4]", "expected [7, 5]");
    /* Another data type (DOUBLE = 11). */
    static const unsigned char dbl[] = {0x08, 0x07, 0x08, 0x05, 0x10, 0x0b};
    altered(path, bad, dims, dbl, sizeof dims);
    expect_refused(bad, BP_EFORMAT, "data_type 11, expected 1", NULL);
    /* A non-finite weight: 1234.5f is 0x449a5000. */
    static const unsigned char v[] = {0x00, 0x50, 0x9a, 0x44}, nan[] = {0x00, 0x00, 0xc0, 0x7f};
    altered(path, bad, v, nan, 4);
    expect_refused(bad, BP_ENONFINITE, "tensor 'layers.1.weight': value 4 is not finite", NULL);
    /* A broken chain: the Relu writes another value than the next Gemm reads. */
    altered(path, bad, "layers.0.a", "layers.0.b", 10);
    expect_refused(bad, BP_EFORMAT, "node 2 (Gemm 'layers.1.gemm')",
                   "its input is 'layers.0.a', expected 'layers.0.b'");
    /* Gemm attributes other than the ones written. */
    altered(path, bad, "transB", "transA", 6);
    expect_refused(bad, BP_EFORMAT, "expected transA 0, transB 1", NULL);
    /* An opset older than 13. */
    static const unsigned char op13[] = {0x10, 0x0d}, op11[] = {0x10, 0x0b};
    altered(path, bad, op13, op11, 2);
    expect_refused(bad, BP_EFORMAT, "opset 11, expected 13 or later", NULL);

    /* Not ONNX at all, an empty file, a missing file. */
    tu_write_file(bad, "{\"net\": \"2,1\"}", 14);
    expect_refused(bad, BP_EFORMAT, NULL, NULL);
    tu_write_file(bad, "", 0);
    expect_refused(bad, BP_EFORMAT, "no graph", NULL);
    /* A length that runs past the end. */
    static const unsigned char past[] = {0x08, 0x07, 0x3a, 0x7f, 0x00};
    tu_write_file(bad, past, sizeof past);
    expect_refused(bad, BP_EFORMAT, "byte 2: field 7: its length runs past the end", NULL);
    /* The deprecated group wire type. */
    static const unsigned char group[] = {0x0b, 0x0c};
    tu_write_file(bad, group, sizeof group);
    expect_refused(bad, BP_EFORMAT, "wire type 3", NULL);
    expect_refused(tu_path("missing.onnx"), BP_EIO, "cannot open", NULL);
    bp_net_free(net);
}

/* Every allocation of a save and of a load may fail: an error, nothing
 * leaked, and a failed save leaves the previous file alone. */
static void test_alloc_failures(void **state)
{
    (void)state;
    bp_net *net = random_net("3,4:tanh,2:softmax", 9);
    const float shift[3] = {1, 2, 3}, mul[3] = {0.5f, 0.25f, 2};
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "cce"));
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 3, shift, mul));
    const char *path = tu_path("alloc.onnx");
    bp_error err;
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));
    size_t n0;
    unsigned char *before = tu_read_file(path, &n0);
    tu_counter c;
    tu_read_each_alloc_failing(onnx_load, path);
    for (long k = 1;; k++) {
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        int rc = bp_onnx_save(path, net, meta, &err);
        assert_int_equal(c.live, 0);
        bp_set_allocator(NULL);
        if (rc == 0)
            break;
        assert_int_equal(rc, BP_ENOMEM);
        size_t n;
        unsigned char *now = tu_read_file(path, &n);
        assert_int_equal(n, n0);
        assert_memory_equal(now, before, n);
        free(now);
        assert_true(k < 1000);
    }
    free(before);
    bp_meta_free(meta);
    bp_net_free(net);
}

static void test_export_c_source(void **state)
{
    (void)state;
    bp_net *net = tu_net("2,2:leaky_relu=0.25,1:sigmoid:nobias");
    float *w = bp_net_weight(net, 0), *b = bp_net_bias(net, 0);
    w[0] = -0.0f;
    w[1] = 3.0f;
    w[2] = 1e-5f;
    w[3] = 0.1f;
    b[0] = -2.5f;
    b[1] = 1e20f;
    bp_net_weight(net, 1)[0] = 0.5f;
    bp_net_weight(net, 1)[1] = -1.0f;
    const float shift[2] = {0.0f, 0.0f}, mul[2] = {2.0f, 0.5f};
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 2, shift, mul));
    const char *path = tu_path("net.c");
    bp_error err;
    TU_ASSERT_OK(bp_export_c(path, net, meta, "tiny", &err));
    size_t n;
    char *src = (char *)tu_read_file(path, &n);
    /* Every float reads back exactly, as a valid C literal. */
    assert_non_null(strstr(src, "static const float tiny_w0[4] = { /* (2, 2) layer 0 weights */\n"
                                "    -0.0f, 3.0f, 9.99999975e-06f, 0.100000001f\n};"));
    assert_non_null(strstr(src, "static const float tiny_b0[2] = { /* (2) layer 0 bias */\n"
                                "    -2.5f, 1.00000002e+20f\n};"));
    assert_non_null(strstr(src, "static const float tiny_w1[2]"));
    assert_null(strstr(src, "tiny_b1"));
    /* Only the multiplication of the scaling: its shift is zero. */
    assert_non_null(strstr(src, "s[j] = x[j] * tiny_mul[j];"));
    assert_null(strstr(src, "tiny_shift"));
    assert_non_null(strstr(src, "    tiny_leaky_relu(2, 0.25f, h[0]);\n"));
    assert_non_null(strstr(src, "    tiny_sigmoid(1, y);\n"));
    /* Only what is used: no softmax, tanh or relu helper. */
    assert_null(strstr(src, "tiny_softmax"));
    assert_null(strstr(src, "tanhf"));
    assert_null(strstr(src, "tiny_relu("));
    assert_non_null(strstr(src, "\nvoid tiny(const float *x, float *y);\n"));
    free(src);

    /* A bad name is refused and nothing is written. */
    const char *other = tu_path("other.c");
    assert_int_equal(bp_export_c(other, net, meta, "int", &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "'int'"));
    assert_int_equal(bp_export_c(other, net, meta, "a-b", &err), BP_EINVAL);
    assert_int_equal(access(other, F_OK), -1);
    /* A non-finite parameter is refused by both exports. */
    w[2] = INFINITY;
    assert_int_equal(bp_export_c(other, net, meta, NULL, &err), BP_ENONFINITE);
    assert_non_null(strstr(err.message, "parameter 2 is not finite"));
    assert_int_equal(bp_onnx_save(tu_path("other.onnx"), net, meta, &err), BP_ENONFINITE);
    assert_int_equal(access(other, F_OK), -1);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* A regression's data schema with a standardized target. */
static void set_schema(bp_meta *meta, const char *target)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"format\": \"backprop-data\", \"version\": 1, \"header\": true, \"columns\": 3, "
             "\"missing\": \"error\", \"inputs\": [{\"name\": \"size\", \"position\": 0, "
             "\"kind\": \"number\"}, {\"name\": \"rooms\", \"position\": 1, \"kind\": "
             "\"number\"}], \"label\": {\"name\": \"price\", \"position\": 2, \"kind\": "
             "\"number\"}, \"task\": \"regress\", \"reason\": \"numbers\"%s}",
             target);
    TU_ASSERT_OK(bp_meta_set(meta, "schema", buf));
}

static void test_target_scaling(void **state)
{
    (void)state;
    bp_net *net = random_net("2,3:relu,1:identity", 9), *back;
    bp_meta *meta = bp_meta_create(), *got = NULL;
    bp_onnx_info info;
    bp_error err;
    double mean = -1.0, scale = -1.0;
    const char *path = tu_path("price.onnx"), *bad = tu_path("price_bad.onnx");
    /* None without a schema, or with one whose target is not standardized. */
    assert_int_equal(bp_meta_get_target_scaling(meta, &mean, &scale, &err), 1);
    set_schema(meta, "");
    assert_int_equal(bp_meta_get_target_scaling(meta, &mean, &scale, &err), 1);
    assert_true(mean == -1.0 && scale == -1.0);
    set_schema(meta, ", \"target\": {\"mean\": 1, \"scale\": 0}");
    assert_int_equal(bp_meta_get_target_scaling(meta, &mean, &scale, &err), BP_EFORMAT);
    assert_non_null(strstr(err.message, "the target's mean or scale is not valid"));
    assert_int_equal(bp_onnx_save(path, net, meta, &err), BP_EFORMAT);
    set_schema(meta, ", \"target\": {\"mean\": 123456.789, \"scale\": 2500.25}");
    TU_ASSERT_OK(bp_meta_get_target_scaling(meta, &mean, &scale, &err));
    assert_true(mean == 123456.789 && scale == 2500.25);

    /* ONNX: the tail, and read back the bare network with the schema. */
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));
    back = bp_onnx_load(path, &got, &info, &err);
    assert_non_null(back);
    assert_string_equal(info.ops, "Gemm Relu Gemm Mul Add");
    assert_int_equal(info.initializers, 6);
    assert_int_equal(bp_net_outputs(back), 1);
    assert_memory_equal(bp_net_params(back), bp_net_params(net),
                        bp_net_param_count(net) * sizeof(float));
    mean = scale = 0.0;
    TU_ASSERT_OK(bp_meta_get_target_scaling(got, &mean, &scale, &err));
    assert_true(mean == 123456.789 && scale == 2500.25);
    bp_meta_free(got);
    bp_net_free(back);
    /* A mean other than the schema's is refused, naming both. */
    const float was = (float)123456.789, now = 123457.0f;
    altered(path, bad, &was, &now, sizeof was);
    expect_refused(bad, BP_EFORMAT, "the graph's target scale 2500.25 and mean 123457",
                   "differ from its schema's, 2500.25 and 123456.789");

    /* C: predict's arithmetic, the constants exact. */
    const char *c = tu_path("price.c");
    TU_ASSERT_OK(bp_export_c(c, net, meta, NULL, &err));
    size_t n;
    char *src = (char *)tu_read_file(c, &n), *at;
    at = strstr(src, "        y[o] = (float)((double)y[o] * 2500.25 + ");
    assert_non_null(at);
    assert_true(strtod(strstr(at, " + ") + 3, NULL) == 123456.789);
    assert_non_null(strstr(src, "in the target's units (y * scale + mean)"));
    free(src);
    bp_meta_free(meta);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bits),
        cmocka_unit_test(test_wire_format),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_export_c_source),
        cmocka_unit_test(test_target_scaling),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
