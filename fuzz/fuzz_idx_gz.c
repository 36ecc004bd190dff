/*
 * fuzz_idx_gz.c - the IDX reader's gzip path on well-formed gzip streams of
 * arbitrary content: both parts of the input (see idx_split.h) are
 * gzip-compressed before they are written, so the fuzzer explores the IDX
 * headers and data behind the decompressor rather than gzip's checksums.
 */
#include "fuzz.h"
#include "idx_split.h"

#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

/* Compress [p, p + n) as one gzip member into a new buffer. */
static unsigned char *gzip_bytes(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = n + n / 100 + 128;
    unsigned char *out = malloc(cap);

    if (!out || deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        free(out);
        return NULL;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *img, *lab;
    size_t n_img, n_lab, gz_img = 0, gz_lab = 0;
    unsigned char *zi, *zl;
    const char *a = NULL, *b = NULL;
    char spec[1200];
    bp_error err;
    bp_dataset *ds;

    idx_split(data, size, &img, &n_img, &lab, &n_lab);
    zi = gzip_bytes(img, n_img, &gz_img);
    zl = gzip_bytes(lab, n_lab, &gz_lab);
    if (zi && zl) {
        a = fuzz_scratch(0, "-images.gz", zi, gz_img);
        b = fuzz_scratch(1, "-labels.gz", zl, gz_lab);
    }
    if (a && b) {
        snprintf(spec, sizeof spec, "idx:%s,%s", a, b);
        ds = bp_dataset_load(spec, 1, &err);
        if (!ds && err.message[0] == '\0')
            fuzz_fail("an error without a message");
        bp_dataset_free(ds);
    }
    if (a)
        remove(a);
    if (b)
        remove(b);
    free(zi);
    free(zl);
    return 0;
}
