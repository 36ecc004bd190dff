/*
 * fuzz_data_spec.c - data specs (bp_dataset_load's dispatch): the input is
 * the spec string. The harness runs in a scratch directory holding a small
 * CSV file and small IDX files, and points BACKPROP_DATA at a directory of
 * four-image Fashion-MNIST look-alikes, so the fuzzer reaches every form
 * without loading the real 60,000 images. Synthetic sets with more than
 * 9999 points per class or classes are skipped (they are correct but slow;
 * the size limits themselves are tested in tests/data).
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* IDX headers and data: 4 images of 2x2 bytes, 4 labels. */
static const unsigned char idx_images[] = {
    0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2,
    0, 64, 128, 255, 1, 2, 3, 4, 9, 8, 7, 6, 255, 0, 255, 0};
static const unsigned char idx_labels[] = {0, 0, 8, 1, 0, 0, 0, 4, 0, 1, 2, 1};
static const char small_csv[] = "a,b,label\n0,1,0\n1,0,1\n0.5,-2,1\n";

static int put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return -1;
    ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static char dir[512];
static const char *fashion[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Remove the scratch folder at exit. */
static void clean_up(void)
{
    static const char *local[] = {"data.csv", "images.idx", "labels.idx"};
    char path[700];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fashion[i]);
        remove(path);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, local[i]);
        remove(path);
    }
    if (chdir("/") == 0)
        rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    char path[700];

    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    snprintf(dir, sizeof dir, "%s/bp-fuzz-spec-%ld", tmp && tmp[0] ? tmp : "/tmp",
             (long)getpid());
    if (mkdir(dir, 0700) != 0 || chdir(dir) != 0)
        return 0;
    atexit(clean_up);
    put("data.csv", small_csv, sizeof small_csv - 1);
    put("images.idx", idx_images, sizeof idx_images);
    put("labels.idx", idx_labels, sizeof idx_labels);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fashion[i]);
        if (i % 2 == 0)
            put(path, idx_images, sizeof idx_images);
        else
            put(path, idx_labels, sizeof idx_labels);
    }
    setenv("BACKPROP_DATA", dir, 1);
    return 0;
}

/* Whether the spec asks for a large synthetic set (a run of 5+ digits). */
static int large_synthetic(const char *s)
{
    int run = 0;
    if (strncmp(s, "spiral:", 7) != 0 && strncmp(s, "vertical:", 9) != 0)
        return 0;
    for (; *s; s++) {
        run = *s >= '0' && *s <= '9' ? run + 1 : 0;
        if (run > 4)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = fuzz_text(data, size);
    bp_error err;
    bp_dataset *ds;

    if (!spec)
        return 0;
    if (!large_synthetic(spec)) {
        ds = bp_dataset_load(spec, 7, &err);
        if (!ds && err.message[0] == '\0')
            fuzz_fail("an error without a message");
        bp_dataset_free(ds);
    }
    free(spec);
    return 0;
}
