/*
 * alloc.c - the replaceable allocation hooks and overflow-checked sizes.
 * Every allocation in the library goes through bp__malloc / bp__free, so
 * tests can count allocations or make any single one fail.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

static bp_allocator hooks = {default_malloc, default_realloc, default_free, NULL};

void bp_set_allocator(const bp_allocator *allocator)
{
    if (allocator && allocator->malloc_fn && allocator->free_fn) {
        hooks = *allocator;
    } else {
        hooks.malloc_fn = default_malloc;
        hooks.realloc_fn = default_realloc;
        hooks.free_fn = default_free;
        hooks.ctx = NULL;
    }
}

void *bp__malloc(size_t size)
{
    return hooks.malloc_fn(size ? size : 1, hooks.ctx);
}

void *bp__calloc(size_t n, size_t size)
{
    size_t total;
    void *p;
    if (bp__mul_size(n, size, &total) != 0)
        return NULL;
    p = bp__malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *bp__malloc_line(size_t size, void **raw)
{
    *raw = size <= SIZE_MAX - 64 ? bp__malloc(size + 64) : NULL;
    if (!*raw)
        return NULL;
    return (unsigned char *)*raw + (64 - (uintptr_t)*raw % 64) % 64;
}

void bp__free(void *ptr)
{
    if (ptr)
        hooks.free_fn(ptr, hooks.ctx);
}

int bp__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return BP_EOVERFLOW;
    *out = a * b;
    return 0;
}
