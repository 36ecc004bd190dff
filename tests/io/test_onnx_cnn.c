/*
 * test_onnx_cnn.c - ONNX files of convolutional networks: conv (padding,
 * stride, with and without bias) and both pools read back bit for bit with
 * the same spec, input shape and scaling; the nodes each layer becomes,
 * Flatten where an image turns flat; attribute bytes worked out by hand and
 * packed ones read as well; altered files refused with a message naming the
 * node; a softmax over an image only as the last layer; batch norm with
 * its running statistics, standalone activations and dropout; every byte changed
 * in turn and every allocation failing in turn handled. (onnx's checker and
 * ONNX Runtime run the files in tests/ref/test_onnx_cnn.sh.)
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <unistd.h>

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_onnx_cnn");
}

/* Padding, stride, both pools, no bias, two input channels. */
static const char *const CNN = "2x9x9,conv:4:3:relu:pad=1:stride=2:nobias,maxpool:2:stride=1,"
                               "conv:3:3:tanh:same,avgpool:2,5:leaky_relu=0.2,3:softmax";

static bp_net *random_net(const char *spec, uint64_t seed)
{
    bp_net *net = tu_net(spec);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    tu_fill_normal(&rng, bp_net_params(net), bp_net_param_count(net), 1.0);
    return net;
}

static unsigned char *find(unsigned char *b, size_t n, const void *pat, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(b + i, pat, m) == 0)
            return b + i;
    return NULL;
}

/* Save net (with meta), read it back: the same spec, input shape,
 * parameters and outputs, the graph's ops as given; returns the loaded
 * network and its metadata in *back. */
static bp_net *roundtrip(bp_net *net, const bp_meta *meta, const char *ops, bp_meta **back)
{
    bp_error err;
    bp_onnx_info info;
    const char *path = tu_path("cnn.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, meta, &err));
    bp_net *got = bp_onnx_load(path, back, &info, &err);
    if (!got)
        fail_msg("load: %s", err.message);
    char s1[512], s2[512];
    bp_net_spec(net, s1, sizeof s1);
    bp_net_spec(got, s2, sizeof s2);
    assert_string_equal(s2, s1);
    bp_shape a = bp_net_input_shape(net), b = bp_net_input_shape(got);
    assert_true(a.c == b.c && a.h == b.h && a.w == b.w);
    assert_int_equal(bp_net_param_count(got), bp_net_param_count(net));
    assert_memory_equal(bp_net_params(got), bp_net_params(net),
                        bp_net_param_count(net) * sizeof(float));
    assert_string_equal(info.ops, ops);

    enum { B = 3 };
    int I = bp_net_inputs(net), O = bp_net_outputs(net);
    float *x = malloc((size_t)B * (size_t)I * sizeof *x);
    const float *y1, *y2;
    bp_rng rng;
    assert_non_null(x);
    bp_rng_seed(&rng, 17);
    tu_fill_normal(&rng, x, (size_t)B * (size_t)I, 1.0);
    TU_ASSERT_OK(bp_net_forward(net, B, x, &y1));
    float *keep = malloc((size_t)B * (size_t)O * sizeof *keep);
    assert_non_null(keep);
    memcpy(keep, y1, (size_t)B * (size_t)O * sizeof *keep);
    TU_ASSERT_OK(bp_net_forward(got, B, x, &y2));
    assert_memory_equal(keep, y2, (size_t)B * (size_t)O * sizeof *keep);
    free(keep);
    free(x);
    return got;
}

static void test_roundtrip(void **state)
{
    (void)state;
    bp_net *net = random_net(CNN, 5);
    const int I = bp_net_inputs(net);
    float *shift = malloc(2 * (size_t)I * sizeof *shift), *mul = shift + I;
    assert_non_null(shift);
    for (int j = 0; j < I; j++) {
        shift[j] = 0.01f * (float)j;
        mul[j] = 1.0f + 0.5f * (float)(j % 7);
    }
    bp_meta *meta = bp_meta_create(), *back = NULL;
    assert_non_null(meta);
    TU_ASSERT_OK(bp_meta_set_scaling(meta, I, shift, mul));
    bp_net *got = roundtrip(net, meta,
                            "Sub Mul Conv Relu MaxPool Conv Tanh AveragePool Flatten Gemm "
                            "LeakyRelu Gemm Softmax",
                            &back);
    float s[162], m[162];
    bp_error err;
    assert_int_equal(I, 162);
    assert_int_equal(bp_meta_get_scaling(back, I, s, m, &err), 0);
    assert_memory_equal(s, shift, sizeof s);
    assert_memory_equal(m, mul, sizeof m);

    /* Exporting what was read gives the same bytes. */
    const char *again = tu_path("again.onnx");
    TU_ASSERT_OK(bp_onnx_save(again, got, back, &err));
    size_t n1, n2;
    unsigned char *b1 = tu_read_file(tu_path("cnn.onnx"), &n1), *b2 = tu_read_file(again, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    bp_meta_free(back);
    bp_net_free(got);
    bp_meta_free(meta);
    free(shift);
    bp_net_free(net);
}

/* Batch norm after a conv (over C x H x W) and after a dense layer (over
 * features), its running statistics away from their start: the same
 * spec, parameters, running mean and variance and outputs; momentum and
 * eps read back as written. */
static void test_batchnorm(void **state)
{
    (void)state;
    bp_net *net = random_net("2x9x9,conv:4:3:same,batchnorm,relu,maxpool:2,8,"
                             "batchnorm:momentum=0.3:eps=0.001,tanh,3:softmax",
                             9);
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    for (int l = 0; l < bp_net_layers(net); l++) {
        size_t n;
        float *st = bp_net_layer_state(net, l, &n);
        for (size_t c = 0; st && c < (n - 1) / 2; c++) {
            st[c] = (float)bp_rng_normal(&rng);                        /* running_mean */
            st[(n - 1) / 2 + c] = 0.5f + (float)bp_rng_uniform(&rng); /* running_var */
        }
    }
    bp_net *got = roundtrip(net, NULL,
                            "Conv BatchNormalization Relu MaxPool Flatten Gemm "
                            "BatchNormalization Tanh Gemm Softmax",
                            NULL);
    for (int l = 0; l < bp_net_layers(net); l++) {
        size_t n1, n2;
        const float *a = bp_net_layer_state(net, l, &n1), *b = bp_net_layer_state(got, l, &n2);
        assert_int_equal(n1, n2);
        if (n1) /* the running statistics; num_batches_tracked has no place in ONNX */
            assert_memory_equal(a, b, (n1 - 1) * sizeof *a);
    }
    bp_layer_desc d = bp_net_layer(got, 5);
    assert_int_equal(d.kind, BP_LAYER_BATCHNORM);
    assert_true(d.momentum == 0.3 && d.eps == 0.001);
    bp_net_free(got);
    bp_net_free(net);
}

/* Standalone activations read back standing alone (conv,relu stays
 * conv,relu); dropout writes no node, so the network read back has none. */
static void test_alone(void **state)
{
    (void)state;
    bp_net *net = random_net("2x5x5,conv:3:3,relu,dropout:0.5,4,sigmoid,dropout:0.1,2,softmax", 4);
    bp_error err;
    const char *path = tu_path("alone.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));
    bp_onnx_info info;
    bp_net *got = bp_onnx_load(path, NULL, &info, &err);
    if (!got)
        fail_msg("load: %s", err.message);
    char spec[256];
    bp_net_spec(got, spec, sizeof spec);
    assert_string_equal(spec, "2x5x5,conv:3:3,relu,4:identity,sigmoid,2:identity,softmax");
    assert_string_equal(info.ops, "Conv Relu Flatten Gemm Sigmoid Gemm Softmax");
    float x[2 * 50];
    const float *y;
    float want[4];
    bp_rng rng;
    bp_rng_seed(&rng, 8);
    tu_fill_normal(&rng, x, 2 * 50, 1.0);
    TU_ASSERT_OK(bp_net_forward(net, 2, x, &y));
    memcpy(want, y, sizeof want);
    TU_ASSERT_OK(bp_net_forward(got, 2, x, &y));
    assert_memory_equal(want, y, sizeof want);
    bp_net_free(got);
    bp_net_free(net);
}

/* The shapes at the edges: an image read by a dense layer straight away,
 * a network whose last layer is an image (a Flatten ends the graph), a
 * softmax over a whole image as the last layer. */
static void test_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *ops;
    } cases[] = {
        {"1x4x4,3:relu,2:softmax", "Flatten Gemm Relu Gemm Softmax"},
        {"1x6x6,conv:2:3:pad=1,avgpool:2", "Conv AveragePool Flatten"},
        {"3x5x5,conv:2:3:sigmoid:stride=2:nobias,maxpool:2", "Conv Sigmoid MaxPool Flatten"},
        {"1x5x5,conv:2:3:softmax", "Conv Flatten Softmax"},
        {"1x5x5,avgpool:3:stride=2,conv:2:2", "AveragePool Conv Flatten"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bp_net *net = random_net(cases[c].spec, 3 + c), *got;
        bp_meta *back = NULL;
        got = roundtrip(net, NULL, cases[c].ops, &back);
        bp_meta_free(back);
        bp_net_free(got);
        bp_net_free(net);
    }
    /* A softmax over an image that another layer reads is not written. */
    bp_net *net = random_net("1x5x5,conv:2:3:softmax,maxpool:3", 1);
    bp_error err;
    const char *path = tu_path("no.onnx");
    assert_int_equal(bp_onnx_save(path, net, NULL, &err), BP_EINVAL);
    assert_non_null(strstr(err.message, "cannot write layer 1: a softmax over its 2x3x3 output"));
    assert_int_equal(access(path, F_OK), -1);
    bp_net_free(net);
}

/* Replace the first occurrence of `from` in src by `to` (same length) into
 * the file `as`. */
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

static void expect_refused(const char *path, const char *piece1, const char *piece2)
{
    bp_error err;
    bp_meta *meta = NULL;
    bp_net *net = bp_onnx_load(path, &meta, NULL, &err);
    if (net)
        fail_msg("%s loaded, expected an error containing '%s'", path, piece1);
    assert_null(meta);
    tu_expect_error(&err, path, BP_EFORMAT, piece1, piece2);
}

static void test_attributes(void **state)
{
    (void)state;
    bp_net *net = random_net("2x6x6,conv:3:3:relu:pad=1:stride=2,maxpool:2,4", 9);
    bp_error err;
    const char *path = tu_path("attrs.onnx"), *bad = tu_path("bad.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    /* Conv's kernel_shape: attribute (5) {name (1) "kernel_shape", ints (8)
     * 3, ints 3 (one varint each, unpacked as onnx.proto's proto2 has it),
     * type (20) INTS = 7}. */
    static const unsigned char kernel[] = {0x2a, 0x15, 0x0a, 0x0c, 'k',  'e',  'r',  'n',
                                           'e',  'l',  '_',  's',  'h',  'a',  'p',  'e',
                                           0x40, 0x03, 0x40, 0x03, 0xa0, 0x01, 0x07};
    assert_non_null(find(b, n, kernel, sizeof kernel));
    /* pads 1 on each of the four sides, and group 1. */
    static const unsigned char pads[] = {0x0a, 0x04, 'p',  'a',  'd',  's',  0x40, 0x01, 0x40,
                                         0x01, 0x40, 0x01, 0x40, 0x01, 0xa0, 0x01, 0x07};
    static const unsigned char group[] = {0x0a, 0x05, 'g', 'r', 'o', 'u', 'p', 0x18, 0x01};
    assert_non_null(find(b, n, pads, sizeof pads));
    assert_non_null(find(b, n, group, sizeof group));
    /* The input is [batch, 2, 6, 6]. */
    static const unsigned char input[] = {0x0a, 0x07, 0x12, 0x05, 'b',  'a',  't',  'c',
                                          'h',  0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08,
                                          0x06, 0x0a, 0x02, 0x08, 0x06};
    assert_non_null(find(b, n, input, sizeof input));
    free(b);

    /* The same ints packed (ints (8) as one length-delimited field) read the same. */
    static const unsigned char packed[] = {'p', 'e', 0x42, 0x02, 0x03, 0x03};
    altered(path, bad, kernel + 14, packed, sizeof packed);
    bp_net *got = bp_onnx_load(bad, NULL, NULL, &err);
    if (!got)
        fail_msg("packed kernel_shape: %s", err.message);
    assert_memory_equal(bp_net_params(got), bp_net_params(net),
                        bp_net_param_count(net) * sizeof(float));
    bp_net_free(got);

    /* Padding that differs between sides. */
    unsigned char uneven[sizeof pads];
    memcpy(uneven, pads, sizeof pads);
    uneven[13] = 0x00;
    altered(path, bad, pads, uneven, sizeof pads);
    expect_refused(bad, "node 0 (Conv 'layers.0.conv')",
                   "pads: expected the same value on every side, found 1 and 0");
    /* Grouped convolution. */
    static const unsigned char group2[] = {0x0a, 0x05, 'g', 'r', 'o', 'u', 'p', 0x18, 0x02};
    altered(path, bad, group, group2, sizeof group);
    expect_refused(bad, "node 0 (Conv 'layers.0.conv')", "group 1");
    /* An attribute the reader does not take. */
    altered(path, bad, "strides", "stridez", 7);
    expect_refused(bad, "node 0 (Conv 'layers.0.conv'): unexpected attribute 'stridez'", NULL);
    /* No Flatten before the dense layer. */
    altered(path, bad, "Flatten", "Flattex", 7);
    expect_refused(bad, "node 3 (Flattex 'layers.2.flatten')",
                   "expected Gemm, Conv, MaxPool, AveragePool, BatchNormalization, Flatten or "
                   "an activation");
    /* A pool whose strides differ between the axes: MaxPool's [2, 2]
     * (one varint each after the name) becomes [2, 1]. */
    {
        size_t m;
        unsigned char *c = tu_read_file(path, &m), *at = find(c, m, "MaxPool", 7);
        assert_non_null(at);
        at = find(at, m - (size_t)(at - c), "strides", 7);
        assert_non_null(at);
        assert_true(at[7] == 0x40 && at[8] == 0x02 && at[9] == 0x40 && at[10] == 0x02);
        at[10] = 0x01;
        tu_write_file(bad, c, m);
        free(c);
        expect_refused(bad, "node 2 (MaxPool 'layers.1.maxpool')",
                       "strides: expected the same value on every side, found 2 and 1");
    }
    /* The weights of another number of channels: dims 3, 2 becomes 3, 1. */
    static const unsigned char dims[] = {0x08, 0x03, 0x08, 0x02, 0x08, 0x03, 0x08, 0x03};
    static const unsigned char dims1[] = {0x08, 0x03, 0x08, 0x01, 0x08, 0x03, 0x08, 0x03};
    altered(path, bad, dims, dims1, sizeof dims);
    expect_refused(bad, "tensor 'layers.0.weight': shape [3, 1, 3, 3]", "expected [3, 2, 3, 3]");
    bp_net_free(net);
}

/* Every single byte changed in turn: refused with a message naming the
 * file, or read into a network of the same parameters; never a crash. */
static void test_corrupted(void **state)
{
    (void)state;
    bp_net *net = random_net("1x4x4,conv:2:3:relu:pad=1:stride=2,avgpool:2,2:softmax", 13);
    const char *path = tu_path("whole.onnx"), *bad = tu_path("flipped.onnx");
    bp_error err;
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));
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
            /* an input of another size can still fit the same weights */
            assert_int_equal(bp_net_param_count(got), bp_net_param_count(net));
            bp_meta_free(back);
            bp_net_free(got);
        }
    }
    assert_true(refused > n);
    free(bytes);
    bp_net_free(net);
}

static bp_net *onnx_read(const char *path, bp_meta **meta, bp_error *err)
{
    return bp_onnx_load(path, meta, NULL, err);
}

/* Every allocation of a save and of a load may fail: an error, nothing
 * leaked, and a failed save leaves the previous file alone. */
static void test_alloc_failures(void **state)
{
    (void)state;
    bp_net *net = random_net("1x4x4,conv:2:3:relu:same,maxpool:2,2:softmax", 21);
    bp_error err;
    const char *path = tu_path("alloc.onnx");
    TU_ASSERT_OK(bp_onnx_save(path, net, NULL, &err));
    tu_read_each_alloc_failing(onnx_read, path);
    size_t n0;
    unsigned char *before = tu_read_file(path, &n0);
    tu_counter c;
    for (long k = 1;; k++) {
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        int rc = bp_onnx_save(path, net, NULL, &err);
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
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_alone),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
