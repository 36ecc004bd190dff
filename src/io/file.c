/*
 * file.c - whole-file reads and atomic writes (see file.h). POSIX is used
 * for what C11 lacks: mkstemp, fsync, and syncing the directory after the
 * rename so the new name itself is durable.
 */
#define _POSIX_C_SOURCE 200809L

#include "io/file.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bp__read_file(const char *path, size_t max, char **data, size_t *len, bp_error *err)
{
    struct stat st;
    FILE *f = NULL;
    char *buf = NULL;
    int rc = 0;
    *data = NULL;
    *len = 0;
    if (!(f = fopen(path, "rb")))
        return bp__error_set(err, BP_EIO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0) {
        rc = bp__error_set(err, BP_EIO, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = bp__error_set(err, BP_EIO, "cannot read %s: it is a directory", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (unsigned long long)st.st_size > max) {
        rc = bp__error_set(err, BP_EFORMAT, "%s: size %lld bytes is not a regular file of at most %zu bytes",
                           path, (long long)st.st_size, max);
        goto done;
    }
    size_t size = (size_t)st.st_size;
    if (!(buf = bp__malloc(size + 1))) {
        rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s (%zu bytes)", path, size);
        goto done;
    }
    if (fread(buf, 1, size, f) != size) {
        rc = bp__error_set(err, BP_EIO, "cannot read %s: %s", path,
                           ferror(f) ? strerror(errno) : "file shrank while reading");
        goto done;
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    buf = NULL;
done:
    bp__free(buf);
    fclose(f);
    return rc;
}

int bp__atomic_open(bp__atomic *a, const char *path, bp_error *err)
{
    static const char suffix[] = ".tmp.XXXXXX";
    size_t n = strlen(path);
    int fd;
    memset(a, 0, sizeof *a);
    a->path = path;
    if (!(a->tmp = bp__malloc(n + sizeof suffix)))
        return bp__error_set(err, BP_ENOMEM, "out of memory writing %s", path);
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, suffix, sizeof suffix);
    if ((fd = mkstemp(a->tmp)) < 0) {
        int e = errno;
        bp__free(a->tmp);
        a->tmp = NULL;
        return bp__error_set(err, BP_EIO, "cannot write %s: %s", path, strerror(e));
    }
    /* mkstemp creates 0600; give the file the usual permissions. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    if (!(a->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        bp__atomic_abort(a);
        return bp__error_set(err, BP_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

void bp__atomic_abort(bp__atomic *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp) {
        remove(a->tmp);
        bp__free(a->tmp);
    }
    a->f = NULL;
    a->tmp = NULL;
}

/* Sync the directory holding path, so the rename survives a crash. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int bp__atomic_commit(bp__atomic *a, bp_error *err)
{
    int rc = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0)
        rc = bp__error_set(err, BP_EIO, "cannot write %s: %s", a->path, strerror(errno));
    if (fclose(a->f) != 0 && rc == 0)
        rc = bp__error_set(err, BP_EIO, "cannot write %s: %s", a->path, strerror(errno));
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) != 0)
        rc = bp__error_set(err, BP_EIO, "cannot write %s: %s", a->path, strerror(errno));
    if (rc != 0) {
        bp__atomic_abort(a);
        return rc;
    }
    sync_dir(a->path);
    bp__free(a->tmp);
    a->tmp = NULL;
    return 0;
}
