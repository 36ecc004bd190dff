/*
 * data.h - declarations shared by the data-set files in src/data/ (the
 * type in dataset.c, the readers in csv.c and idx.c, the spec dispatch in
 * load.c). Nothing here is public API.
 *
 * A data set is one allocation: this struct, then the scaling (shift, mul),
 * the targets and the inputs. x holds rows * inputs values, bytes (IDX
 * images) or floats as `bytes` says; t holds rows * T floats; classes > 0
 * only when T == 1 and every target is an integer in [0, classes).
 */
#ifndef BP_DATA_H
#define BP_DATA_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

#define BP__DATA_DESCRIBE 512  /* bytes kept for bp_dataset_describe */
#define BP__DATA_MAX_INPUTS (1 << 24)
#define BP__DATA_MAX_CLASS 65535 /* largest target read as a class label */

struct bp_dataset {
    size_t rows;
    int inputs;        /* I */
    int T;             /* target columns */
    int classes;       /* > 0: targets are class indices; 0: numbers */
    int bytes;         /* 1: x holds uint8 values; 0: floats */
    void *x;           /* (rows, inputs) uint8_t or float */
    float *t;          /* (rows, T) */
    float *shift;      /* (inputs) */
    float *mul;        /* (inputs) */
    char describe[BP__DATA_DESCRIBE];
};

/* ---- dataset.c */
/* A data set of the given shape in one allocation, values uninitialised,
 * classes 0, scaling identity (bytes == 0) or shift 0, mul 1/255 (bytes).
 * `what` names the source in error messages. */
bp_dataset *bp__dataset_new(size_t rows, int inputs, int T, int bytes,
                            const char *what, bp_error *err);
/* Write the description: "NAME (R rows, I inputs[, DETAIL], C classes)",
 * or "numeric target(s)" in place of the classes. detail may be NULL. */
void bp__dataset_name(bp_dataset *ds, const char *name, const char *detail);
/* Classes of a single target column t (n values): the largest + 1 when all
 * are integers in [0, BP__DATA_MAX_CLASS], otherwise 0 (also for n == 0). */
int bp__dataset_classes_of(const float *t, size_t n);

/* ---- csv.c: label is a column name or 0-based index; NULL: the last. */
bp_dataset *bp__csv_load(const char *path, const char *label, bp_error *err);

/* ---- idx.c: images (magic 0x803) and labels (0x801), gzipped or plain.
 * name (may be NULL: the images path) starts the description. */
bp_dataset *bp__idx_load(const char *images, const char *labels,
                         const char *name, bp_error *err);

/* ---- load.c: Fashion-MNIST's "train" or "test" part, looked for in
 * env_dir (may be NULL), then env_dir/fashion-mnist, then system_dir. */
bp_dataset *bp__fashion_load(const char *part, const char *env_dir,
                             const char *system_dir, bp_error *err);

#endif /* BP_DATA_H */
