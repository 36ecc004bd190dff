/*
 * fill.c - writing a large new buffer front to back (a data set inflated
 * into place) while a second thread takes the buffer's first-touch page
 * faults ahead of the writer.
 *
 * The first write to each fresh page traps into the kernel, and on a
 * virtual machine often into its host; for a data set that can cost as
 * much as inflating it. The buffer is cut into chunks. Each chunk is
 * either zeroed by the second thread before the writer reaches it or
 * claimed by the writer untouched, and its state says which: the two
 * threads never write one chunk at once, and no zeroing follows the
 * writer. With one thread the writer runs alone.
 */
#include "internal.h"

#include <stdatomic.h>
#include <string.h>

#define CHUNK ((size_t)1 << 20)
#define WORTH ((size_t)4 << 20) /* below this, the writer alone */

enum { FREE, TOUCHING, TOUCHED, CLAIMED };

typedef struct fill_job {
    unsigned char *buf;
    size_t len, chunks;
    atomic_uchar *state; /* (chunks) */
    atomic_int stop;     /* the writer has finished or failed */
    bp__fill_fn fn;
    void *ctx;
    size_t got;
    int rc;
} fill_job;

static size_t chunk_len(const fill_job *j, size_t k)
{
    const size_t at = k * CHUNK;
    return j->len - at < CHUNK ? j->len - at : CHUNK;
}

static void writer(fill_job *j)
{
    for (size_t k = 0; k < j->chunks; k++) {
        unsigned char free_ = FREE;
        if (!atomic_compare_exchange_strong(&j->state[k], &free_, CLAIMED))
            while (atomic_load(&j->state[k]) == TOUCHING) /* at most one chunk's zeroing */
                ;
        const size_t want = chunk_len(j, k);
        size_t got = 0;
        j->rc = j->fn(j->ctx, j->buf + k * CHUNK, want, &got);
        j->got += got;
        if (j->rc != 0 || got < want)
            break;
    }
    atomic_store(&j->stop, 1);
}

/* Zeroes the chunks the writer has not reached, from the second on. */
static void toucher(fill_job *j)
{
    for (size_t k = 1; k < j->chunks && !atomic_load(&j->stop); k++) {
        unsigned char free_ = FREE;
        if (!atomic_compare_exchange_strong(&j->state[k], &free_, TOUCHING))
            continue;
        memset(j->buf + k * CHUNK, 0, chunk_len(j, k));
        atomic_store(&j->state[k], TOUCHED);
    }
}

static void fill_block(void *ctx, int b, int n)
{
    (void)n;
    if (b == 0)
        writer(ctx);
    else
        toucher(ctx);
}

int bp__fill(void *buf, size_t len, bp__fill_fn fn, void *ctx, size_t *got)
{
    fill_job j = {.buf = buf, .len = len, .chunks = (len + CHUNK - 1) / CHUNK, .fn = fn,
                  .ctx = ctx};
    atomic_init(&j.stop, 0);
    if (len >= WORTH && bp_threads() > 1)
        j.state = bp__calloc(j.chunks, sizeof *j.state);
    if (!j.state) { /* small, one thread, or no memory for the states: in one call */
        *got = 0;
        return fn(ctx, buf, len, got);
    }
    for (size_t k = 0; k < j.chunks; k++)
        atomic_init(&j.state[k], FREE);
    bp__for_blocks(2, 2, fill_block, &j);
    bp__free(j.state);
    *got = j.got;
    return j.rc;
}
