/*
 * fuzz_idx.c - the IDX reader on plain or gzipped files (the input decides:
 * a part that starts with the gzip magic is read as gzip). See idx_split.h
 * for how the input becomes two files.
 */
#include "fuzz.h"
#include "idx_split.h"

#include "backprop.h"

#include <stdio.h>

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
    size_t n_img, n_lab;
    const char *a, *b;
    char spec[1200];
    bp_error err;
    bp_dataset *ds;

    idx_split(data, size, &img, &n_img, &lab, &n_lab);
    a = fuzz_scratch(0, "-images", img, n_img);
    b = fuzz_scratch(1, "-labels", lab, n_lab);
    if (a && b) {
        snprintf(spec, sizeof spec, "idx:%s,%s", a, b);
        ds = bp_dataset_load(spec, 1, &err);
        if (ds) {
            float x[4], t[1];
            if (bp_dataset_rows(ds) > 0 && bp_dataset_inputs(ds) <= 4 &&
                bp_dataset_gather(ds, NULL, bp_dataset_rows(ds) - 1, 1, x, t) != 0)
                fuzz_fail("gather of the last row failed");
        } else if (err.message[0] == '\0') {
            fuzz_fail("an error without a message");
        }
        bp_dataset_free(ds);
    }
    if (a)
        remove(a);
    if (b)
        remove(b);
    return 0;
}
