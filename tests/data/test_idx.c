/*
 * test_idx.c - the IDX reader and the Fashion-MNIST lookup: small image and
 * label files written here, plain and gzipped, read back and checked value
 * by value after gather; truncated, oversized, corrupt and mismatched files
 * refused with the file and the field in the message; the real Fashion-MNIST
 * when Debian's dataset-fashion-mnist is installed; BACKPROP_DATA; forced
 * allocation failures (zlib's included, through the library's hooks).
 */
#define _POSIX_C_SOURCE 200809L
#include "datatest.h"

#include "data/data.h"

#include <zlib.h>

#define N_IMG 5
#define ROWS 2
#define COLS 3
#define PIX (ROWS * COLS)

static const unsigned char PIXELS[N_IMG * PIX] = {
    0,   51,  255, 1,   2,   3,
    255, 254, 128, 127, 51,  0,
    10,  20,  30,  40,  50,  60,
    200, 100, 0,   0,   100, 200,
    7,   7,   7,   7,   7,   7,
};
static const unsigned char LABELS[N_IMG] = {0, 1, 2, 1, 0};

/* A header: 00 00 type ndims, then the dimensions big-endian. */
static size_t header(unsigned char *h, unsigned type, unsigned ndims, const uint32_t *dims)
{
    h[0] = 0;
    h[1] = 0;
    h[2] = (unsigned char)type;
    h[3] = (unsigned char)ndims;
    for (unsigned d = 0; d < ndims; d++) {
        h[4 + 4 * d] = (unsigned char)(dims[d] >> 24);
        h[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
        h[6 + 4 * d] = (unsigned char)(dims[d] >> 8);
        h[7 + 4 * d] = (unsigned char)dims[d];
    }
    return 4 + 4 * (size_t)ndims;
}

/* Write header + data to `name`, gzipped with zlib when gz; mode "ab"
 * appends another gzip member. Returns the path. */
static const char *write_file(const char *name, int gz, const char *mode,
                              const unsigned char *h, size_t hn, const unsigned char *data,
                              size_t n)
{
    const char *path = dt_path_slot(2, name);
    if (gz) {
        gzFile g = gzopen(path, mode);
        if (!g)
            fail_msg("gzopen %s failed", path);
        if ((hn && gzwrite(g, h, (unsigned)hn) != (int)hn) ||
            (n && gzwrite(g, data, (unsigned)n) != (int)n))
            fail_msg("gzwrite %s failed", path);
        if (gzclose(g) != Z_OK)
            fail_msg("gzclose %s failed", path);
    } else {
        unsigned char *all = tu_xmalloc(hn + n);
        memcpy(all, h, hn);
        if (n)
            memcpy(all + hn, data, n);
        dt_write_bytes(name, all, hn + n);
        free(all);
    }
    return path;
}

/* Image file with `count` in its header and `n_img` images of data. */
static void write_images(const char *name, int gz, uint32_t count, size_t n_bytes)
{
    unsigned char h[16];
    uint32_t dims[3] = {count, ROWS, COLS};
    size_t hn = header(h, 0x08, 3, dims);
    write_file(name, gz, "wb", h, hn, PIXELS, n_bytes);
}

static void write_labels(const char *name, int gz, uint32_t count, size_t n)
{
    unsigned char h[8];
    uint32_t dims[1] = {count};
    size_t hn = header(h, 0x08, 1, dims);
    write_file(name, gz, "wb", h, hn, LABELS, n);
}

/* "idx:IMAGES,LABELS" for two scratch files. */
static const char *idx_spec(const char *images, const char *labels)
{
    static char buf[2 * DT_PATH + 16];
    char img[DT_PATH + DT_DIR];
    dt_fmt(img, sizeof img, "%s", dt_path(images));
    dt_fmt(buf, sizeof buf, "idx:%s,%s", img, dt_path(labels));
    return buf;
}

/* The five images and labels, as the gathered data must hold them. */
static void check_small(const bp_dataset *ds)
{
    float *x, *t, shift[PIX], mul[PIX];
    assert_int_equal(bp_dataset_rows(ds), N_IMG);
    assert_int_equal(bp_dataset_inputs(ds), PIX);
    assert_int_equal(bp_dataset_target_cols(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), 3);
    TU_ASSERT_OK(bp_dataset_get_scaling(ds, shift, mul));
    for (int j = 0; j < PIX; j++) {
        TU_ASSERT_EXACT(shift[j], 0.0f);
        TU_ASSERT_EXACT(mul[j], 1.0f / 255.0f);
    }
    dt_gather_all(ds, &x, &t);
    for (int i = 0; i < N_IMG * PIX; i++) {
        /* The documented scaling, computed the same way, and within 1 ulp
         * of the exact quotient. */
        TU_ASSERT_EXACT(x[i], ((float)PIXELS[i] - 0.0f) * (1.0f / 255.0f));
        TU_ASSERT_ULP(x[i], (float)PIXELS[i] / 255.0f, 1);
    }
    TU_ASSERT_EXACT(x[0], 0.0f);
    TU_ASSERT_EXACT(x[2], 1.0f);
    TU_ASSERT_EXACT(x[6], 1.0f);
    TU_ASSERT_ULP(x[1], 51.0f / 255.0f, 1);
    TU_ASSERT_ULP(x[1], 0.2f, 1);
    for (int i = 0; i < N_IMG; i++)
        TU_ASSERT_EXACT(t[i], (float)LABELS[i]);
    free(x);
    free(t);
}

/* Gathering byte data allocates nothing. */
static void test_gather_allocates_nothing(void **state)
{
    static const size_t rows[3] = {4, 0, 2};
    float x[N_IMG * PIX], t[N_IMG];
    tu_counter c;
    bp_dataset *ds;
    (void)state;
    write_images("img", 1, N_IMG, sizeof PIXELS);
    write_labels("lab", 1, N_IMG, N_IMG);
    ds = dt_load(idx_spec("img", "lab"), 0);
    tu_counter_install(&c);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, N_IMG, x, t));
    TU_ASSERT_OK(bp_dataset_gather(ds, rows, 0, 3, x, t));
    bp_set_allocator(NULL);
    assert_int_equal(c.requests, 0);
    assert_int_equal(c.frees, 0);
    for (int b = 0; b < 3; b++) {
        TU_ASSERT_EXACT(t[b], (float)LABELS[rows[b]]);
        for (int j = 0; j < PIX; j++)
            TU_ASSERT_EXACT(x[b * PIX + j], (float)PIXELS[rows[b] * PIX + j] * (1.0f / 255.0f));
    }
    bp_dataset_free(ds);
}

static void test_plain_and_gzip(void **state)
{
    (void)state;
    for (int gi = 0; gi < 2; gi++)
        for (int gl = 0; gl < 2; gl++) {
            char want[DT_PATH + DT_DIR + 64];
            bp_dataset *ds;
            write_images("img", gi, N_IMG, sizeof PIXELS);
            write_labels("lab", gl, N_IMG, sizeof LABELS);
            ds = dt_load(idx_spec("img", "lab"), 0);
            check_small(ds);
            dt_fmt(want, sizeof want, "%s (5 rows, 6 inputs, 3 classes)", dt_path("img"));
            assert_string_equal(bp_dataset_describe(ds), want);
            bp_dataset_free(ds);
        }
}

/* Header in one gzip member, data in a second one (as `cat a.gz b.gz`). */
static void test_gzip_members(void **state)
{
    unsigned char h[16];
    uint32_t dims[3] = {N_IMG, ROWS, COLS};
    size_t hn = header(h, 0x08, 3, dims);
    bp_dataset *ds;
    (void)state;
    write_file("img.gz", 1, "wb", h, hn, NULL, 0);
    write_file("img.gz", 1, "ab", NULL, 0, PIXELS, sizeof PIXELS);
    write_labels("lab.gz", 1, N_IMG, sizeof LABELS);
    ds = dt_load(idx_spec("img.gz", "lab.gz"), 0);
    check_small(ds);
    bp_dataset_free(ds);
}

static const char *load_fails(const char *images, const char *labels, int code)
{
    return dt_load_fails(idx_spec(images, labels), code);
}

static void test_truncated_and_trailing(void **state)
{
    const char *msg;
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        /* Three and a half images of five. */
        write_images("img", gz, N_IMG, 3 * PIX + 3);
        write_labels("lab", gz, N_IMG, N_IMG);
        msg = load_fails("img", "lab", BP_EFORMAT);
        dt_assert_contains(msg, dt_path("img"), ": header says 5 images of 2x3, file ends after 3 of them", NULL);
        /* Four labels of five. */
        write_images("img", gz, N_IMG, sizeof PIXELS);
        write_labels("lab", gz, N_IMG, N_IMG - 1);
        msg = load_fails("img", "lab", BP_EFORMAT);
        dt_assert_contains(msg, dt_path("lab"), ": header says 5 labels, file ends after 4 of them", NULL);
        /* More data than the header promises. */
        write_images("img", gz, N_IMG - 1, sizeof PIXELS);
        write_labels("lab", gz, N_IMG - 1, N_IMG - 1);
        msg = load_fails("img", "lab", BP_EFORMAT);
        dt_assert_contains(msg, dt_path("img"), "header says 4 images of 2x3, but the file holds more data", NULL);
        write_images("img", gz, N_IMG, sizeof PIXELS);
        write_labels("lab", gz, N_IMG - 1, N_IMG);
        msg = load_fails("img", "lab", BP_EFORMAT);
        dt_assert_contains(msg, "has 4 labels but", "has 5 images", NULL);
    }
    /* A header cut short, and an empty file. */
    dt_write_bytes("short", "\0\0\x08\x03\0\0", 6);
    write_labels("lab", 0, N_IMG, N_IMG);
    msg = load_fails("short", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("short"), "file ends inside the IDX header", NULL);
    dt_write_bytes("empty", "", 0);
    msg = load_fails("empty", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("empty"), "file ends inside the IDX header (0 of 4", NULL);
}

static void test_bad_headers(void **state)
{
    unsigned char h[16];
    uint32_t dims[3] = {N_IMG, ROWS, COLS};
    const char *msg;
    (void)state;
    write_labels("lab", 0, N_IMG, N_IMG);

    /* Not IDX at all. */
    dt_write_bytes("zip", "PK\x03\x04 and more", 14);
    msg = load_fails("zip", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("zip"), "not an IDX file (starts with 50 4b 03 04",
                       "expected an image file (magic 0x00000803)", NULL);
    /* Labels given as images, and images as labels. */
    msg = load_fails("lab", "lab", BP_EFORMAT);
    dt_assert_contains(msg, "magic 0x00000801 is a label file; expected an image file", NULL);
    write_images("img", 0, N_IMG, sizeof PIXELS);
    msg = load_fails("img", "img", BP_EFORMAT);
    dt_assert_contains(msg, "magic 0x00000803 is an image file; expected a label file", NULL);
    /* A type byte other than unsigned byte. */
    write_file("float", 0, "wb", h, header(h, 0x0D, 3, dims), PIXELS, sizeof PIXELS);
    msg = load_fails("float", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("float"), "type byte 0x0d (float) is not supported",
                       "expected 0x08 (unsigned byte)", NULL);
    /* Two dimensions. */
    write_file("two", 0, "wb", h, header(h, 0x08, 2, dims), PIXELS, sizeof PIXELS);
    msg = load_fails("two", "lab", BP_EFORMAT);
    dt_assert_contains(msg, "magic 0x00000802 is not an image or label file", NULL);
    /* A zero dimension. */
    dims[2] = 0;
    write_file("zero", 0, "wb", h, header(h, 0x08, 3, dims), NULL, 0);
    msg = load_fails("zero", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("zero"), "the image width is 0", NULL);
    /* Sizes whose product overflows, and sizes over the cap. */
    dims[0] = dims[1] = dims[2] = 0xFFFFFFFFu;
    write_file("huge", 0, "wb", h, header(h, 0x08, 3, dims), NULL, 0);
    msg = load_fails("huge", "lab", BP_EOVERFLOW);
    dt_assert_contains(msg, dt_path("huge"), "header says 4294967295 images of 4294967295x4294967295",
                       "too large", NULL);
    dims[0] = 1u << 20;
    dims[1] = dims[2] = 2048;
    write_file("huge", 0, "wb", h, header(h, 0x08, 3, dims), NULL, 0);
    msg = load_fails("huge", "lab", BP_EOVERFLOW);
    dt_assert_contains(msg, "too large", NULL);
    /* Missing files. */
    msg = load_fails("nothing", "lab", BP_EIO);
    dt_assert_contains(msg, "cannot open ", "nothing: No such file or directory", NULL);
    msg = load_fails("img", "nothing", BP_EIO);
    dt_assert_contains(msg, "nothing: No such file or directory", NULL);
    /* IDX files whose names end in .csv are still IDX files. */
    write_images("img.csv", 0, N_IMG, sizeof PIXELS);
    write_labels("lab.csv", 0, N_IMG, N_IMG);
    {
        bp_dataset *ds = dt_load(idx_spec("img.csv", "lab.csv"), 0);
        check_small(ds);
        bp_dataset_free(ds);
    }
    /* The spec needs both files. */
    msg = dt_load_fails("idx:only-one", BP_EINVAL);
    dt_assert_contains(msg, "'idx:only-one': expected idx:IMAGES,LABELS", NULL);
    msg = dt_load_fails("idx:a.csv,", BP_EINVAL);
    dt_assert_contains(msg, "expected idx:IMAGES,LABELS", NULL);
}

/* Read a scratch file whole. */
static unsigned char *slurp(const char *name, size_t *n)
{
    FILE *f = fopen(dt_path(name), "rb");
    unsigned char *buf = tu_xmalloc(1 << 16);
    if (!f)
        fail_msg("cannot open %s", dt_path(name));
    *n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_corrupt_gzip(void **state)
{
    unsigned char *gz;
    size_t n;
    const char *msg;
    (void)state;
    write_labels("lab", 1, N_IMG, N_IMG);
    write_images("img", 1, N_IMG, sizeof PIXELS);
    gz = slurp("img", &n);
    /* The CRC-32 in the gzip trailer (bytes n-8 .. n-5). */
    gz[n - 8] ^= 0x55;
    dt_write_bytes("bad-crc", gz, n);
    msg = load_fails("bad-crc", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("bad-crc"), ": corrupt gzip data (incorrect data check)", NULL);
    gz[n - 8] ^= 0x55;
    /* Garbage after the gzip stream. */
    memcpy(gz + n, "garbage!", 8);
    dt_write_bytes("tail", gz, n + 8);
    msg = load_fails("tail", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("tail"), "unexpected data after the end of the gzip stream", NULL);
    /* Cut in the middle of the compressed data. */
    dt_write_bytes("cut", gz, n / 2);
    msg = load_fails("cut", "lab", BP_EFORMAT);
    dt_assert_contains(msg, dt_path("cut"), ": gzip data ends early: the file is truncated", NULL);
    /* Every pixel there, but the trailer (CRC-32 and length) cut off: the
     * data was never checked, so it is refused too. */
    for (size_t cut = 1; cut <= 8; cut += 7) {
        dt_write_bytes("no-trailer", gz, n - cut);
        msg = load_fails("no-trailer", "lab", BP_EFORMAT);
        dt_assert_contains(msg, dt_path("no-trailer"), ": gzip data ends early", NULL);
    }
    free(gz);
}

static void test_standardize_bytes(void **state)
{
    float *x, *t;
    bp_dataset *ds;
    (void)state;
    write_images("img", 1, N_IMG, sizeof PIXELS);
    write_labels("lab", 1, N_IMG, N_IMG);
    ds = dt_load(idx_spec("img", "lab"), 0);
    TU_ASSERT_OK(bp_dataset_standardize(ds));
    dt_gather_all(ds, &x, &t);
    for (int j = 0; j < PIX; j++) {
        double m = 0.0, v = 0.0;
        for (int r = 0; r < N_IMG; r++)
            m += x[r * PIX + j];
        m /= N_IMG;
        for (int r = 0; r < N_IMG; r++)
            v += (x[r * PIX + j] - m) * (x[r * PIX + j] - m);
        TU_ASSERT_CLOSE(m, 0.0, 0.0, 1e-6);
        TU_ASSERT_CLOSE(sqrt(v / N_IMG), 1.0, 1e-5, 0.0);
    }
    free(x);
    free(t);
    bp_dataset_free(ds);
}

static void check_fashion(const char *spec, size_t rows, const unsigned char *first_labels,
                          long first_sum, long per_class)
{
    enum { CHUNK = 1000 };
    long hist[10] = {0};
    double sum = 0.0;
    float *x = tu_xmalloc((size_t)CHUNK * 784 * sizeof *x), t[CHUNK];
    bp_dataset *ds = dt_load(spec, 0);
    char want[128];
    dt_fmt(want, sizeof want, "fashion-mnist %s (%zu rows, 784 inputs, 10 classes)",
           strcmp(spec, "fashion-mnist:test") == 0 ? "test" : "train", rows);
    assert_string_equal(bp_dataset_describe(ds), want);
    assert_int_equal(bp_dataset_rows(ds), rows);
    assert_int_equal(bp_dataset_inputs(ds), 784);
    assert_int_equal(bp_dataset_target_cols(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), 10);
    for (size_t first = 0; first < rows; first += CHUNK) {
        TU_ASSERT_OK(bp_dataset_gather(ds, NULL, first, CHUNK, x, t));
        for (int r = 0; r < CHUNK; r++) {
            int k = (int)t[r];
            assert_true(k >= 0 && k < 10 && t[r] == (float)k);
            hist[k]++;
        }
        if (first == 0) {
            for (int r = 0; r < 10; r++)
                TU_ASSERT_EXACT(t[r], (float)first_labels[r]);
            for (int j = 0; j < 784; j++) {
                assert_true(x[j] >= 0.0f && x[j] <= 1.0f);
                sum += x[j] * 255.0;
            }
            /* The pixel sum of the first image (byte order, offsets). */
            TU_ASSERT_CLOSE(sum, (double)first_sum, 1e-6, 0.0);
        }
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(hist[k], per_class);
    free(x);
    bp_dataset_free(ds);
}

static void test_fashion_mnist(void **state)
{
    static const unsigned char train_first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    static const unsigned char test_first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    FILE *f = fopen("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", "rb");
    bp_dataset *ds;
    (void)state;
    if (!f) {
        print_message("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist "
                      "(apt-get install dataset-fashion-mnist); skipping\n");
        skip();
    }
    fclose(f);
    assert_int_equal(unsetenv("BACKPROP_DATA"), 0);
    check_fashion("fashion-mnist", 60000, train_first, 76247, 6000);
    check_fashion("fashion-mnist:test", 10000, test_first, 33456, 1000);
    ds = dt_load("fashion-mnist:train", 0);
    assert_string_equal(bp_dataset_describe(ds),
                        "fashion-mnist train (60000 rows, 784 inputs, 10 classes)");
    bp_dataset_free(ds);
}

static void test_backprop_data(void **state)
{
    char dir[DT_PATH + DT_DIR], nested[DT_PATH + DT_DIR];
    bp_dataset *ds;
    bp_error err;
    const char *msg;
    (void)state;
    /* Gzipped train files and plain test files in one directory. */
    dt_fmt(dir, sizeof dir, "%s", dt_path("fm"));
    assert_int_equal(dt_mkdir(dir), 0);
    write_images("fm/train-images-idx3-ubyte.gz", 1, N_IMG, sizeof PIXELS);
    write_labels("fm/train-labels-idx1-ubyte.gz", 1, N_IMG, N_IMG);
    write_images("fm/t10k-images-idx3-ubyte", 0, N_IMG - 1, (N_IMG - 1) * PIX);
    write_labels("fm/t10k-labels-idx1-ubyte", 0, N_IMG - 1, N_IMG - 1);
    assert_int_equal(setenv("BACKPROP_DATA", dir, 1), 0);
    ds = dt_load("fashion-mnist", 0);
    check_small(ds);
    assert_string_equal(bp_dataset_describe(ds), "fashion-mnist train (5 rows, 6 inputs, 3 classes)");
    bp_dataset_free(ds);
    ds = dt_load("fashion-mnist:test", 0);
    assert_string_equal(bp_dataset_describe(ds), "fashion-mnist test (4 rows, 6 inputs, 3 classes)");
    bp_dataset_free(ds);

    /* $BACKPROP_DATA/fashion-mnist/ is looked in too. */
    dt_fmt(nested, sizeof nested, "%s", dt_path("outer"));
    assert_int_equal(dt_mkdir(nested), 0);
    assert_int_equal(dt_mkdir(dt_path("outer/fashion-mnist")), 0);
    write_images("outer/fashion-mnist/train-images-idx3-ubyte", 0, N_IMG, sizeof PIXELS);
    write_labels("outer/fashion-mnist/train-labels-idx1-ubyte", 1, N_IMG, N_IMG);
    assert_int_equal(setenv("BACKPROP_DATA", nested, 1), 0);
    ds = dt_load("fashion-mnist:train", 0);
    check_small(ds);
    bp_dataset_free(ds);

    /* Found nowhere: the message says where it looked and what to do. */
    memset(&err, 0, sizeof err);
    ds = bp__fashion_load("train", nested, dir, &err);
    assert_non_null(ds); /* nested/fashion-mnist has the train files */
    bp_dataset_free(ds);
    ds = bp__fashion_load("test", nested, nested, &err);
    assert_null(ds);
    assert_int_equal(err.code, BP_EIO);
    msg = err.message;
    dt_assert_contains(msg, "t10k-images-idx3-ubyte.gz not found in $BACKPROP_DATA=", nested,
                       "apt-get install dataset-fashion-mnist", "set BACKPROP_DATA to", NULL);
    ds = bp__fashion_load("test", NULL, nested, &err);
    assert_null(ds);
    dt_assert_contains(err.message, "not found in ", nested, "apt-get install dataset-fashion-mnist",
                       NULL);
    /* Images without labels: the labels are named. */
    write_images("outer/fashion-mnist/t10k-images-idx3-ubyte.gz", 1, N_IMG, sizeof PIXELS);
    ds = bp__fashion_load("test", nested, nested, &err);
    assert_null(ds);
    dt_assert_contains(err.message, "t10k-labels-idx1-ubyte.gz not found", NULL);
    assert_int_equal(unsetenv("BACKPROP_DATA"), 0);
}

/* Fail the k-th allocation (zlib's own included) until the load succeeds. */
static void test_allocation_failures(void **state)
{
    tu_counter c;
    long k;
    (void)state;
    write_images("img", 1, N_IMG, sizeof PIXELS);
    write_labels("lab", 1, N_IMG, N_IMG);
    for (k = 1; k < 100; k++) {
        bp_error err;
        bp_dataset *ds;
        memset(&err, 0, sizeof err);
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        ds = bp_dataset_load(idx_spec("img", "lab"), 0, &err);
        if (ds) {
            bp_dataset_free(ds);
            bp_set_allocator(NULL);
            assert_int_equal(c.failures, 0);
            assert_int_equal(c.live, 0);
            break;
        }
        bp_set_allocator(NULL);
        if (err.code != BP_ENOMEM)
            fail_msg("allocation %ld failed: got %d (%s)", k, err.code, err.message);
        assert_int_equal(c.live, 0);
    }
    /* Two input buffers, two inflate states and windows, the data set. */
    if (k < 6)
        fail_msg("the load made only %ld allocations", k - 1);
    assert_true(k < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_gzip),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_corrupt_gzip),
        cmocka_unit_test(test_standardize_bytes),
        cmocka_unit_test(test_gather_allocates_nothing),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_backprop_data),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
