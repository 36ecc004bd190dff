/*
 * replay.c - runs a fuzz harness over files without libFuzzer: every file
 * named on the command line, and every file inside a directory named there,
 * goes through LLVMFuzzerTestOneInput once. Used by the test suite to replay
 * the committed corpora under the ordinary compiler and the sanitizers.
 * Exits 1 when a file cannot be read or a directory holds no files.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_PATH 4096

/* Run one file; returns 0, or 1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 1;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap ? cap * 2 : 4096);
            if (!bigger)
                goto done;
            buf = bigger;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        goto done;
    }
    LLVMFuzzerTestOneInput(buf, len);
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

/* Run every regular file of a directory, in no particular order. */
static int replay_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[REPLAY_PATH];
    struct stat st;
    int rc = 0;

    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc |= replay_file(path);
        (*count)++;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    struct stat st;
    int rc = 0, count = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc |= replay_dir(argv[i], &count);
        } else {
            rc |= replay_file(argv[i]);
            count++;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no input files\n");
        return 1;
    }
    printf("replay: %d inputs, %s\n", count, rc ? "some unreadable" : "all ran");
    return rc;
}
