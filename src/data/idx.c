/*
 * idx.c - reads MNIST-family IDX files, gzipped or plain, into a byte data
 * set: an image file (magic 0x00000803: count, rows, columns) and a label
 * file (0x00000801: count), both of unsigned bytes (type byte 0x08). A
 * sample's shape is one channel of rows x columns: {1, H, W}.
 *
 * A file is gzipped when it starts with the gzip magic (1f 8b); it is then
 * inflated with zlib, through the library's allocation hooks, straight into
 * the final buffer in large steps, so loading does no per-byte work besides
 * turning labels into float targets; a second thread takes the buffer's
 * page faults ahead of the inflating (core/fill.c). Both headers are read
 * and checked before anything is allocated for the data. Every error names
 * the file and the field; a file must hold exactly what its header
 * promises, no less and no more.
 */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define IN_CHUNK ((size_t)1 << 18)       /* compressed bytes read at a time */
#define OUT_STEP ((size_t)1 << 30)       /* at most this much per inflate call */
#define MAX_BYTES ((uint64_t)1 << 31)    /* largest image data accepted */

/* One open IDX file, gzipped or plain. */
typedef struct idx_file {
    const char *path;
    FILE *f;
    int gz;                 /* 1: gzip-compressed */
    int z_live;             /* inflateInit2 succeeded */
    int z_end;              /* the current gzip member has ended */
    int raw_eof;            /* the file has been read to its end */
    z_stream z;
    unsigned char *in;      /* (IN_CHUNK) compressed bytes */
    unsigned char head[2];  /* plain files: the two bytes read to sniff */
    size_t n_head;
    uint32_t dims[3];       /* from the header */
} idx_file;

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    size_t total;
    (void)opaque;
    if (bp__mul_size(items, size, &total) != 0)
        return Z_NULL;
    return bp__malloc(total);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    bp__free(p);
}

static int z_error(idx_file *s, int zrc, bp_error *err)
{
    if (zrc == Z_MEM_ERROR)
        return bp__error_set(err, BP_ENOMEM, "out of memory decompressing %s", s->path);
    return bp__error_set(err, BP_EFORMAT, "%s: corrupt gzip data (%s)", s->path,
                         s->z.msg ? s->z.msg : "unknown zlib error");
}

static int idx_open(idx_file *s, const char *path, bp_error *err)
{
    unsigned char magic[2];
    size_t n;
    int zrc;

    memset(s, 0, sizeof *s);
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f)
        return bp__error_set(err, BP_EIO, "cannot open %s: %s", path, strerror(errno));
    n = fread(magic, 1, sizeof magic, s->f);
    if (n < sizeof magic && ferror(s->f))
        return bp__error_set(err, BP_EIO, "cannot read %s: %s", path, strerror(errno));
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        s->gz = 1;
        s->in = bp__malloc(IN_CHUNK);
        if (!s->in)
            return bp__error_set(err, BP_ENOMEM, "out of memory opening %s", path);
        memcpy(s->in, magic, 2);
        s->z.zalloc = z_alloc;
        s->z.zfree = z_free;
        s->z.opaque = Z_NULL;
        s->z.next_in = s->in;
        s->z.avail_in = 2;
        zrc = inflateInit2(&s->z, 16 + MAX_WBITS); /* gzip wrapper only */
        if (zrc != Z_OK)
            return z_error(s, zrc, err);
        s->z_live = 1;
    } else {
        memcpy(s->head, magic, n);
        s->n_head = n;
    }
    return 0;
}

static void idx_close(idx_file *s)
{
    if (s->z_live)
        inflateEnd(&s->z);
    bp__free(s->in);
    if (s->f)
        (void)fclose(s->f); /* read-only: nothing is lost if this fails */
    s->z_live = 0;
    s->in = NULL;
    s->f = NULL;
}

/* Read up to n bytes into dst; *got < n means the data ended. */
static int idx_read(idx_file *s, void *dst, size_t n, size_t *got, bp_error *err)
{
    unsigned char *out = dst;
    size_t done = 0;
    int zrc;

    *got = 0;
    if (!s->gz) {
        done = n < s->n_head ? n : s->n_head;
        memcpy(out, s->head, done);
        memmove(s->head, s->head + done, s->n_head - done);
        s->n_head -= done;
        if (done < n)
            done += fread(out + done, 1, n - done, s->f);
        *got = done;
        if (done < n && ferror(s->f))
            return bp__error_set(err, BP_EIO, "cannot read %s: %s", s->path, strerror(errno));
        return 0;
    }
    while (done < n) {
        size_t step = n - done < OUT_STEP ? n - done : OUT_STEP;
        int fresh = 0;
        if (s->z.avail_in == 0 && !s->raw_eof) {
            size_t r = fread(s->in, 1, IN_CHUNK, s->f);
            if (r < IN_CHUNK) {
                if (ferror(s->f)) {
                    *got = done;
                    return bp__error_set(err, BP_EIO, "cannot read %s: %s", s->path,
                                         strerror(errno));
                }
                s->raw_eof = 1;
            }
            s->z.next_in = s->in;
            s->z.avail_in = (uInt)r;
        }
        if (s->z.avail_in == 0 && s->raw_eof) {
            /* end of the file: fine after a whole gzip member (what the IDX
             * header promised is checked by the caller), truncated inside one,
             * where the member's length and CRC-32 were never checked */
            *got = done;
            if (!s->z_end)
                return bp__error_set(err, BP_EFORMAT, "%s: gzip data ends early: the file is "
                                     "truncated", s->path);
            break;
        }
        if (s->z_end) {
            /* More bytes after a gzip member: the next member. */
            zrc = inflateReset(&s->z);
            if (zrc != Z_OK)
                return z_error(s, zrc, err);
            s->z_end = 0;
            fresh = 1;
        }
        s->z.next_out = out + done;
        s->z.avail_out = (uInt)step;
        zrc = inflate(&s->z, Z_NO_FLUSH);
        done += step - s->z.avail_out;
        if (zrc == Z_STREAM_END) {
            s->z_end = 1;
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            *got = done;
            if (fresh && zrc == Z_DATA_ERROR)
                return bp__error_set(err, BP_EFORMAT,
                                     "%s: unexpected data after the end of the gzip stream",
                                     s->path);
            return z_error(s, zrc, err);
        }
    }
    *got = done;
    return 0;
}

/* idx_read as bp__fill calls it, for the image data. */
typedef struct read_job {
    idx_file *s;
    bp_error *err;
} read_job;

static int read_part(void *ctx, unsigned char *dst, size_t n, size_t *got)
{
    read_job *j = ctx;
    return idx_read(j->s, dst, n, got, j->err);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

/* Read and check the header of an IDX file of `ndims` dimensions. */
static int read_header(idx_file *s, unsigned ndims, bp_error *err)
{
    unsigned char h[4 + 4 * 3];
    size_t got;
    int rc;
    const char *want = ndims == 3 ? "an image file (magic 0x00000803)"
                                  : "a label file (magic 0x00000801)";

    if ((rc = idx_read(s, h, 4, &got, err)) != 0)
        return rc;
    if (got < 4)
        return bp__error_set(err, BP_EFORMAT, "%s: file ends inside the IDX header (%zu of 4 magic bytes)",
                             s->path, got);
    if (h[0] != 0 || h[1] != 0)
        return bp__error_set(err, BP_EFORMAT,
                             "%s: not an IDX file (starts with %02x %02x %02x %02x; expected %s)",
                             s->path, h[0], h[1], h[2], h[3], want);
    if (h[2] != 0x08)
        return bp__error_set(err, BP_EFORMAT,
                             "%s: IDX type byte 0x%02x (%s) is not supported; expected 0x08 (unsigned byte)",
                             s->path, h[2], type_name(h[2]));
    if (h[3] != ndims)
        return bp__error_set(err, BP_EFORMAT, "%s: magic 0x%08lx is %s; expected %s", s->path,
                             (unsigned long)be32(h),
                             h[3] == 1 ? "a label file" : h[3] == 3 ? "an image file"
                                                                     : "not an image or label file",
                             want);
    if ((rc = idx_read(s, h + 4, 4 * ndims, &got, err)) != 0)
        return rc;
    if (got < 4 * ndims)
        return bp__error_set(err, BP_EFORMAT, "%s: file ends inside the IDX header (%zu of %u dimension bytes)",
                             s->path, got, 4 * ndims);
    for (unsigned d = 0; d < ndims; d++) {
        s->dims[d] = be32(h + 4 + 4 * d);
        if (s->dims[d] == 0)
            return bp__error_set(err, BP_EFORMAT, "%s: header says %s is 0", s->path,
                                 d == 0 ? (ndims == 3 ? "the image count" : "the label count")
                                        : d == 1 ? "the image height" : "the image width");
    }
    return 0;
}

/* After all the promised data, the file must end. */
static int expect_end(idx_file *s, const char *promise, bp_error *err)
{
    unsigned char extra;
    size_t got;
    int rc = idx_read(s, &extra, 1, &got, err);
    if (rc != 0)
        return rc;
    if (got != 0)
        return bp__error_set(err, BP_EFORMAT, "%s: header says %s, but the file holds more data",
                             s->path, promise);
    return 0;
}

bp_dataset *bp__idx_load(const char *images, const char *labels, const char *name,
                         bp_error *err)
{
    idx_file im, lb;
    bp_dataset *ds = NULL;
    unsigned char buf[4096];
    char promise[128];
    uint64_t count, inputs;
    size_t got, total, done;
    unsigned top = 0;
    int ok = 0;

    memset(&im, 0, sizeof im);
    memset(&lb, 0, sizeof lb);
    if (idx_open(&im, images, err) != 0 || read_header(&im, 3, err) != 0 ||
        idx_open(&lb, labels, err) != 0 || read_header(&lb, 1, err) != 0)
        goto done;
    count = im.dims[0];
    inputs = (uint64_t)im.dims[1] * im.dims[2];   /* < 2^64: two 32-bit factors */
    if (inputs == 0 || inputs > (uint64_t)BP__DATA_MAX_INPUTS || count > MAX_BYTES / inputs) {
        bp__error_set(err, BP_EOVERFLOW,
                      "%s: header says %lu images of %lux%lu, too large (at most %lu bytes)",
                      images, (unsigned long)count, (unsigned long)im.dims[1],
                      (unsigned long)im.dims[2], (unsigned long)MAX_BYTES);
        goto done;
    }
    if (lb.dims[0] != count) {
        bp__error_set(err, BP_EFORMAT, "%s has %lu labels but %s has %lu images", labels,
                      (unsigned long)lb.dims[0], images, (unsigned long)count);
        goto done;
    }
    ds = bp__dataset_new((size_t)count, (int)inputs, 1, 1, images, err);
    if (!ds)
        goto done;
    ds->shape[0] = 1;                 /* one channel of H x W */
    ds->shape[1] = (int)im.dims[1];   /* both <= inputs <= BP__DATA_MAX_INPUTS */
    ds->shape[2] = (int)im.dims[2];

    /* The images, straight into place. */
    snprintf(promise, sizeof promise, "%lu images of %lux%lu", (unsigned long)count,
             (unsigned long)im.dims[1], (unsigned long)im.dims[2]);
    total = (size_t)(count * inputs);
    read_job rj = {&im, err};
    if (bp__fill(ds->x, total, read_part, &rj, &got) != 0)
        goto done;
    if (got < total) {
        bp__error_set(err, BP_EFORMAT, "%s: header says %s, file ends after %zu of them",
                      images, promise, got / (size_t)inputs);
        goto done;
    }
    if (expect_end(&im, promise, err) != 0)
        goto done;

    /* The labels, through a small buffer into float targets. */
    snprintf(promise, sizeof promise, "%lu labels", (unsigned long)count);
    for (done = 0; done < (size_t)count; done += got) {
        size_t want = (size_t)count - done < sizeof buf ? (size_t)count - done : sizeof buf;
        if (idx_read(&lb, buf, want, &got, err) != 0)
            goto done;
        for (size_t i = 0; i < got; i++) {
            ds->t[done + i] = (float)buf[i];
            top = buf[i] > top ? buf[i] : top;
        }
        if (got < want) {
            bp__error_set(err, BP_EFORMAT, "%s: header says %s, file ends after %zu of them",
                          labels, promise, done + got);
            goto done;
        }
    }
    if (expect_end(&lb, promise, err) != 0)
        goto done;

    ds->classes = (int)top + 1;
    bp__dataset_name(ds, name ? name : images, NULL);
    ok = 1;
done:
    idx_close(&im);
    idx_close(&lb);
    if (!ok) {
        bp_dataset_free(ds);
        ds = NULL;
    }
    return ds;
}
