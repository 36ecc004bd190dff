/*
 * fuzz_csv.c - the delimited-text reader. The input is the file's content;
 * it is read with the default label column (the last) and with column 0,
 * and every row of a data set that loads is gathered as float batches.
 * Read once more with missing cells filled and standardized, its schema
 * must read the same file back to the same shape.
 */
#include "fuzz.h"

#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ROWS 16

/* Gather the first rows of ds; the values must come back finite, as the
 * reader promises. */
static void check_rows(const bp_dataset *ds)
{
    size_t rows = bp_dataset_rows(ds);
    int I = bp_dataset_inputs(ds), T = bp_dataset_target_cols(ds);
    int B = rows < FUZZ_ROWS ? (int)rows : FUZZ_ROWS;
    float *x, *t;

    if (B == 0)
        return;
    x = malloc((size_t)B * (size_t)I * sizeof *x);     /* (B, I) */
    t = malloc((size_t)B * (size_t)T * sizeof *t);     /* (B, T) */
    if (x && t) {
        if (bp_dataset_gather(ds, NULL, 0, B, x, t) != 0)
            fuzz_fail("gather of loaded rows failed");
        for (size_t k = 0; k < (size_t)B * (size_t)I; k++)
            if (x[k] != x[k] || x[k] - x[k] != 0)
                fuzz_fail("a loaded input is not finite");
    }
    free(x);
    free(t);
}

/* Load with --missing mean and standardization, then through the schema. */
static void round_trip(const char *path)
{
    bp_data_opts o;
    bp_error err;
    bp_dataset *ds, *again;

    bp_data_opts_defaults(&o);
    o.missing = BP_MISSING_MEAN;
    ds = bp_dataset_load_opts(path, &o, 1, &err);
    if (!ds)
        return;
    check_rows(ds);
    if (!bp_dataset_schema(ds))
        fuzz_fail("delimited text without a schema");
    again = bp_dataset_load_schema(path, bp_dataset_schema(ds), 1, &o, 1, &err);
    if (!again)
        fuzz_fail("the schema does not read its own file back");
    if (bp_dataset_rows(again) != bp_dataset_rows(ds) ||
        bp_dataset_inputs(again) != bp_dataset_inputs(ds) ||
        bp_dataset_classes(again) != bp_dataset_classes(ds))
        fuzz_fail("the schema reads its own file back to another shape");
    check_rows(again);
    bp_dataset_free(again);
    bp_dataset_free(ds);
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
    char spec[600];
    const char *path = fuzz_scratch(0, ".csv", data, size);
    bp_error err;
    bp_dataset *ds;

    if (!path)
        return 0;
    ds = bp_dataset_load(path, 1, &err);
    if (ds)
        check_rows(ds);
    else if (err.message[0] == '\0')
        fuzz_fail("an error without a message");
    bp_dataset_free(ds);
    snprintf(spec, sizeof spec, "%s:label=0", path);
    ds = bp_dataset_load(spec, 1, &err);
    if (ds)
        check_rows(ds);
    bp_dataset_free(ds);
    round_trip(path);
    remove(path);
    return 0;
}
