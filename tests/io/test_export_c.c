/*
 * test_export_c.c - the C export of a network with convolution and pooling
 * layers: the arrays in the weights' own shapes, one function per kind used
 * and one call per layer with its geometry, the scratch rows sized by the
 * widest layer, the input scaling as one constant when every input shares
 * it; and every allocation failure handled. (The file is compiled and run
 * against `backprop predict` in tests/cli/test_export_cnn.sh.)
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <unistd.h>

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_export_c");
}

/* 1x4x4 -> conv 2 (3x3, pad 1, stride 2, no bias): (4 + 2 - 3) / 2 + 1 = 2,
 * so 2x2x2 -> maxpool 2 -> 2x1x1 -> dense 3, 2 inputs. */
#define CNN "1x4x4,conv:2:3:relu:pad=1:stride=2:nobias,maxpool:2,3:softmax"

static bp_net *cnn(void)
{
    bp_net *net = tu_net(CNN);
    float *w = bp_net_weight(net, 0);
    for (int k = 0; k < 18; k++)
        w[k] = (float)(k - 9) * 0.25f; /* -2.25 ... 2 */
    return net;
}

static void test_cnn_source(void **state)
{
    (void)state;
    bp_net *net = cnn();
    const float shift[16] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f,
                             0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    float mul[16];
    for (int j = 0; j < 16; j++)
        mul[j] = 2.0f;
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 16, shift, mul));
    const char *path = tu_path("cnn.c");
    bp_error err;
    TU_ASSERT_OK(bp_export_c(path, net, meta, "cnn", &err));
    size_t n;
    char *src = (char *)tu_read_file(path, &n);

    /* The conv weights in PyTorch's [OUT, C, K, K], no bias array. */
    assert_non_null(strstr(src, "static const float cnn_w0[18] = { /* (2, 1, 3, 3) layer 0 "
                                "weights */\n    -2.25f, -2.0f, -1.75f, -1.5f, -1.25f, -1.0f,\n"));
    assert_null(strstr(src, "cnn_b0"));
    assert_null(strstr(src, "cnn_w1"));
    assert_non_null(strstr(src, "static const float cnn_w2[6] = { /* (3, 2) layer 2 weights */"));
    assert_non_null(strstr(src, "static const float cnn_b2[3] = { /* (3) layer 2 bias */"));
    /* A scaling every input shares: two constants, not arrays. */
    assert_non_null(strstr(src, "static const float cnn_shift = 0.5f;"));
    assert_non_null(strstr(src, "static const float cnn_mul = 2.0f;"));
    assert_non_null(strstr(src, "        s[j] = (x[j] - cnn_shift) * cnn_mul;\n"));
    /* One function per kind used, one call per layer with its geometry. */
    assert_non_null(strstr(src, "\nstatic void cnn_conv(int channels, int height, int width, "
                                "int ksize, int stride,\n    int pad, int filters, int out_h, "
                                "int out_w, const float *w, const float *b,\n"));
    assert_non_null(strstr(src, "\nstatic void cnn_maxpool("));
    assert_non_null(strstr(src, "\nstatic void cnn_dense("));
    assert_null(strstr(src, "cnn_avgpool"));
    assert_non_null(strstr(src, "    cnn_conv(1, 4, 4, 3, 2, 1, 2, 2, 2, cnn_w0, 0, s, h[0]); "
                                "/* layer 0 */\n    cnn_relu(8, h[0]);\n"
                                "    cnn_maxpool(2, 2, 2, 2, 2, 1, 1, h[0], h[1]); /* layer 1 */\n"
                                "    cnn_dense(3, 2, cnn_w2, cnn_b2, h[1], y); /* layer 2 */\n"
                                "    cnn_softmax(3, y);\n}\n"));
    /* Two scratch rows of the widest value the layers pass on (8), on the
     * stack unless the compiler is told otherwise. */
    assert_non_null(strstr(src, "#ifndef cnn_SCRATCH\n#define cnn_SCRATCH\n#endif\n"));
    assert_non_null(strstr(src, "    cnn_SCRATCH float h[2][8];"));
    assert_non_null(strstr(src, "    cnn_SCRATCH float s[16];"));
    assert_non_null(strstr(src, " *   network: " CNN "\n"));
    assert_non_null(strstr(src, "x: the 16 raw inputs of one sample (1x4x4: channel by channel"));
    free(src);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* One layer alone writes straight into y: no scratch, no macro. */
static void test_no_scratch(void **state)
{
    (void)state;
    bp_net *net = tu_net("2x3x3,avgpool:3");
    bp_meta *meta = bp_meta_create();
    const char *path = tu_path("pool.c");
    bp_error err;
    TU_ASSERT_OK(bp_export_c(path, net, meta, NULL, &err));
    size_t n;
    char *src = (char *)tu_read_file(path, &n);
    assert_non_null(strstr(src, "\n    predict_avgpool(2, 3, 3, 3, 3, 1, 1, x, y); /* layer 0 */\n}\n"));
    assert_null(strstr(src, "SCRATCH"));
    assert_null(strstr(src, "static const float"));
    free(src);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* Each allocation failing in turn: BP_ENOMEM, nothing left allocated, the
 * file written before unchanged; then the export succeeds. */
static void test_alloc_failures(void **state)
{
    (void)state;
    bp_net *net = cnn();
    const float shift[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    float mul[16];
    for (int j = 0; j < 16; j++)
        mul[j] = 0.5f;
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set_scaling(meta, 16, shift, mul));
    const char *path = tu_path("alloc.c");
    bp_error err;
    TU_ASSERT_OK(bp_export_c(path, net, meta, NULL, &err));
    size_t n0;
    char *before = tu_read_file(path, &n0);
    assert_non_null(strstr(before, "static const float predict_shift[16]"));
    tu_counter c;
    long k;
    for (k = 1;; k++) {
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        int rc = bp_export_c(path, net, meta, NULL, &err);
        assert_int_equal(c.live, 0);
        bp_set_allocator(NULL);
        if (rc == 0)
            break;
        assert_int_equal(rc, BP_ENOMEM);
        size_t n;
        char *now = tu_read_file(path, &n);
        assert_int_equal(n, n0);
        assert_memory_equal(now, before, n);
        free(now);
        assert_true(k < 1000);
    }
    assert_true(k > 2); /* the layers, the scaling, the metadata's parse */
    free(before);
    bp_meta_free(meta);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_source),
        cmocka_unit_test(test_no_scratch),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
