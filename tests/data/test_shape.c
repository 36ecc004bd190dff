/*
 * test_shape.c - the shape of a sample (bp_dataset_shape): an IDX image
 * file of H x W gives {1, H, W}, plain or gzipped; every other source (CSV,
 * with one-hot inputs too, a schema load, synthetic sets, arrays) gives a
 * flat {inputs, 0, 0}; rescaling a set keeps its shape; the real
 * Fashion-MNIST reads 1x28x28 when Debian's dataset-fashion-mnist is there.
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

#include <zlib.h>

/* A non-square image, so that a swap of height and width shows. */
#define N_IMG 2
#define H 3
#define W 5

/* The shape of ds must be {c, h, w}, and its nonzero sides must multiply
 * to the input count. */
static void check_shape(const bp_dataset *ds, int c, int h, int w)
{
    int sc = -1, sh = -1, sw = -1;
    bp_dataset_shape(ds, &sc, &sh, &sw);
    if (sc != c || sh != h || sw != w)
        fail_msg("shape {%d, %d, %d}, expected {%d, %d, %d}", sc, sh, sw, c, h, w);
    assert_int_equal(bp_dataset_inputs(ds), sc * (sh ? sh : 1) * (sw ? sw : 1));
}

/* An IDX file: 00 00 08 ndims, the dimensions big-endian, then data;
 * gzipped through zlib when gz. */
static void write_idx(const char *name, int gz, unsigned ndims, const uint32_t *dims,
                      const unsigned char *data, size_t n)
{
    unsigned char buf[16 + N_IMG * H * W];
    size_t hn = 4 + 4 * (size_t)ndims;
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (unsigned char)ndims;
    for (unsigned d = 0; d < ndims; d++)
        for (int b = 0; b < 4; b++)
            buf[4 + 4 * d + (unsigned)b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    memcpy(buf + hn, data, n);
    if (gz) {
        const char *path = dt_path_slot(2, name);
        gzFile g = gzopen(path, "wb");
        if (!g)
            fail_msg("gzopen %s failed", path);
        if (gzwrite(g, buf, (unsigned)(hn + n)) != (int)(hn + n))
            fail_msg("gzwrite %s failed", path);
        if (gzclose(g) != Z_OK)
            fail_msg("gzclose %s failed", path);
    } else {
        dt_write_bytes(name, buf, hn + n);
    }
}

/* N_IMG images of H x W and their labels, as img/lab in the scratch dir. */
static void write_images(int gz)
{
    unsigned char pixels[N_IMG * H * W], labels[N_IMG] = {0, 1};
    uint32_t dims[3] = {N_IMG, H, W}, count[1] = {N_IMG};
    for (int i = 0; i < N_IMG * H * W; i++)
        pixels[i] = (unsigned char)(i * 7);
    write_idx("img", gz, 3, dims, pixels, sizeof pixels);
    write_idx("lab", gz, 1, count, labels, sizeof labels);
}

static const char *idx_spec(void)
{
    static char spec[2 * (DT_PATH + DT_DIR) + 8];
    char img[DT_PATH + DT_DIR];
    dt_fmt(img, sizeof img, "%s", dt_path("img"));
    dt_fmt(spec, sizeof spec, "idx:%s,%s", img, dt_path("lab"));
    return spec;
}

static void test_idx_image_shape(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        bp_dataset *ds;
        write_images(gz);
        ds = dt_load(idx_spec(), 0);
        check_shape(ds, 1, H, W);
        bp_dataset_free(ds);
    }
}

/* Rescaling changes the values, not what a sample is. */
static void test_scaling_keeps_shape(void **state)
{
    float shift[H * W], mul[H * W];
    bp_dataset *ds;
    (void)state;
    write_images(0);
    ds = dt_load(idx_spec(), 0);
    TU_ASSERT_OK(bp_dataset_standardize(ds));
    check_shape(ds, 1, H, W);
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, shift, mul));
    TU_ASSERT_OK(bp_dataset_set_scaling(ds, shift, mul));
    check_shape(ds, 1, H, W);
    bp_dataset_free(ds);
}

/* A table: two numbers and a text column of three values one-hot encoded
 * give 5 flat inputs; read back through the schema, the same. */
static void test_csv_is_flat(void **state)
{
    static const char CSV[] = "a,b,colour,y\n"
                              "1,2,red,0\n"
                              "3,4,green,1\n"
                              "5,6,blue,0\n"
                              "7,8,red,1\n";
    bp_dataset *ds, *again;
    bp_error err;
    (void)state;
    dt_write("t.csv", CSV);
    ds = bp_dataset_load_opts(dt_path("t.csv"), NULL, 0, &err);
    if (!ds)
        fail_msg("load failed: %s", err.message);
    check_shape(ds, 5, 0, 0);
    again = bp_dataset_load_schema(dt_path("t.csv"), bp_dataset_schema(ds), 1, NULL, 0, &err);
    if (!again)
        fail_msg("schema load failed: %s", err.message);
    check_shape(again, 5, 0, 0);
    bp_dataset_free(again);
    bp_dataset_free(ds);

    /* bp_dataset_load's plain reading of delimited text. */
    dt_write("n.csv", "1,2,3,0\n4,5,6,1\n");
    ds = dt_load(dt_path("n.csv"), 0);
    check_shape(ds, 3, 0, 0);
    bp_dataset_free(ds);
}

static void test_other_sources_are_flat(void **state)
{
    static const float x[3 * 4] = {0}, t[3] = {0, 1, 0};
    bp_dataset *ds;
    bp_error err;
    int c = -1, h = -1, w = -1;
    (void)state;
    ds = dt_load("spiral:10:3", 1);
    check_shape(ds, 2, 0, 0);
    bp_dataset_free(ds);
    ds = dt_load("xor", 0);
    check_shape(ds, 2, 0, 0);
    bp_dataset_free(ds);
    ds = bp_dataset_from_arrays(3, 4, 1, x, t, 2, &err);
    if (!ds)
        fail_msg("from_arrays failed: %s", err.message);
    check_shape(ds, 4, 0, 0);
    bp_dataset_free(ds);
    /* No data set: all zero; NULL outputs are skipped. */
    bp_dataset_shape(NULL, &c, &h, &w);
    assert_int_equal(c, 0);
    assert_int_equal(h, 0);
    assert_int_equal(w, 0);
    ds = dt_load("xor", 0);
    bp_dataset_shape(ds, NULL, &h, NULL);
    assert_int_equal(h, 0);
    bp_dataset_free(ds);
}

static void test_fashion_mnist_shape(void **state)
{
    bp_dataset *ds;
    FILE *f = fopen("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "rb");
    (void)state;
    if (!f) {
        print_message("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist; "
                      "skipping\n");
        skip();
    }
    fclose(f);
    assert_int_equal(unsetenv("BACKPROP_DATA"), 0); /* the system's files */
    ds = dt_load("fashion-mnist:test", 0);
    check_shape(ds, 1, 28, 28);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_image_shape),
        cmocka_unit_test(test_scaling_keeps_shape),
        cmocka_unit_test(test_csv_is_flat),
        cmocka_unit_test(test_other_sources_are_flat),
        cmocka_unit_test(test_fashion_mnist_shape),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
