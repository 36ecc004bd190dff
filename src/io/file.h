/*
 * file.h - whole-file reads with a size cap, and atomic writes: every file
 * the library writes goes to a temporary file in the same directory, is
 * flushed and synced, and is renamed over the target only when complete.
 */
#ifndef BP_IO_FILE_H
#define BP_IO_FILE_H

#include "backprop.h"

#include <stdio.h>

/* Read all of path (at most max bytes) into a new buffer with a NUL after
 * the data. */
int bp__read_file(const char *path, size_t max, char **data, size_t *len, bp_error *err);

typedef struct bp__atomic {
    FILE *f;        /* write here */
    char *tmp;      /* the temporary file's name */
    const char *path;
} bp__atomic;

int bp__atomic_open(bp__atomic *a, const char *path, bp_error *err);
/* Flush, sync, close and rename; on failure the temporary file is removed
 * and the previous file at path is left as it was. */
int bp__atomic_commit(bp__atomic *a, bp_error *err);
/* Give up: close and remove the temporary file. */
void bp__atomic_abort(bp__atomic *a);

#endif
