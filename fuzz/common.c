/*
 * common.c - helpers of the fuzz harnesses: a memory cap through the
 * library's allocation hooks, NUL-terminated copies and scratch files.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_ALLOC ((size_t)64 << 20)
#define FUZZ_PATH 512

static void *cap_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return size > FUZZ_MAX_ALLOC ? NULL : malloc(size);
}

static void *cap_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return size > FUZZ_MAX_ALLOC ? NULL : realloc(ptr, size);
}

static void cap_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

void fuzz_limit_memory(void)
{
    static const bp_allocator capped = {cap_malloc, cap_realloc, cap_free, NULL};
    bp_set_allocator(&capped);
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

const char *fuzz_scratch(int slot, const char *suffix, const void *data, size_t size)
{
    static char paths[4][FUZZ_PATH];
    const char *dir = getenv("TMPDIR");
    FILE *f;
    int ok;

    if (slot < 0 || slot > 3)
        return NULL;
    if (!dir || !dir[0])
        dir = "/tmp";
    snprintf(paths[slot], FUZZ_PATH, "%s/bp-fuzz-%ld-%d%s", dir, (long)getpid(), slot, suffix);
    f = fopen(paths[slot], "wb");
    if (!f)
        return NULL;
    ok = size == 0 || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return NULL;
    return paths[slot];
}

void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: property broken: %s\n", what);
    abort();
}
