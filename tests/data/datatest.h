/*
 * datatest.h - helpers shared by the data-set tests (static inline only):
 * a scratch directory that the tests write their input files into and that
 * is emptied and removed afterwards, writing files, and assertions on the
 * outcome of bp_dataset_load.
 */
#ifndef BP_DATATEST_H
#define BP_DATATEST_H

#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define DT_DIR 512    /* the scratch directory's path */
#define DT_PATH 1024  /* a path inside it */

/* snprintf that fails the test when the text does not fit; returns the
 * length written. */
static inline size_t dt_fmt(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline size_t dt_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        fail_msg("test text longer than %zu bytes: %s", size, buf);
    return (size_t)n;
}

/* The scratch directory of the running test group. */
static char dt_dir[DT_DIR];

/* Create a fresh scratch directory under $TMPDIR (or /tmp). */
static inline int dt_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    (void)state;
    dt_fmt(dt_dir, sizeof dt_dir, "%s/bp_data_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dt_dir)) {
        print_error("cannot create a scratch directory under %s\n", tmp ? tmp : "/tmp");
        return -1;
    }
    return 0;
}

/* Remove a directory and the plain files and directories inside it. */
static inline void dt_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[DT_PATH + 512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        dt_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            dt_remove_tree(path);
    }
    closedir(d);
    rmdir(dir);
}

static inline int dt_teardown(void **state)
{
    (void)state;
    if (dt_dir[0])
        dt_remove_tree(dt_dir);
    dt_dir[0] = '\0';
    return 0;
}

/* The path of `name` inside the scratch directory (a static buffer per
 * slot, so two paths can be alive at once). */
static inline const char *dt_path_slot(int slot, const char *name)
{
    static char buf[4][DT_PATH + DT_DIR];
    dt_fmt(buf[slot & 3], sizeof buf[0], "%s/%s", dt_dir, name);
    return buf[slot & 3];
}
#define dt_path(name) dt_path_slot(0, name)

/* Write n bytes to the scratch file `name` (may include a subdirectory);
 * returns its path. */
static inline int dt_mkdir(const char *path)
{
    return mkdir(path, 0700);
}

static inline const char *dt_write_bytes(const char *name, const void *data, size_t n)
{
    const char *path = dt_path_slot(1, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    if (n > 0 && fwrite(data, 1, n, f) != n)
        fail_msg("cannot write %s", path);
    if (fclose(f) != 0)
        fail_msg("cannot close %s", path);
    return path;
}

static inline const char *dt_write(const char *name, const char *text)
{
    return dt_write_bytes(name, text, strlen(text));
}

/* The message must contain every one of the NULL-terminated strings. */
static inline void dt_assert_contains(const char *message, ...)
{
    va_list ap;
    const char *needle;
    va_start(ap, message);
    while ((needle = va_arg(ap, const char *)) != NULL)
        if (!strstr(message, needle)) {
            va_end(ap);
            fail_msg("message \"%s\" does not contain \"%s\"", message, needle);
        }
    va_end(ap);
}

/* A load that must succeed. */
static inline bp_dataset *dt_load(const char *spec, uint64_t seed)
{
    bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_load(spec, seed, &err);
    if (!ds)
        fail_msg("bp_dataset_load(\"%s\") failed: %d %s", spec, err.code, err.message);
    return ds;
}

/* A load that must fail with `code`; returns the message (static). */
static inline const char *dt_load_fails(const char *spec, int code)
{
    static bp_error err;
    bp_dataset *ds;
    memset(&err, 0, sizeof err);
    ds = bp_dataset_load(spec, 0, &err);
    if (ds) {
        bp_dataset_free(ds);
        fail_msg("bp_dataset_load(\"%s\") succeeded; expected %s", spec, bp_strerror(code));
    }
    if (err.code != code)
        fail_msg("bp_dataset_load(\"%s\") failed with %d (%s), expected %d (%s): %s", spec,
                 err.code, bp_strerror(err.code), code, bp_strerror(code), err.message);
    return err.message;
}

/* Gather every row of ds into freshly allocated x and t (free them). */
static inline void dt_gather_all(const bp_dataset *ds, float **x, float **t)
{
    size_t n = bp_dataset_rows(ds);
    *x = tu_xcalloc(n * (size_t)bp_dataset_inputs(ds), sizeof **x);
    *t = tu_xcalloc(n * (size_t)bp_dataset_target_cols(ds), sizeof **t);
    TU_ASSERT_OK(bp_dataset_gather(ds, NULL, 0, (int)n, *x, *t));
}

/* The notices of the loads since dt_notices_clear, one a line: set
 * bp_data_opts.notice to dt_keep_notice. */
static inline char *dt_notices(void)
{
    static char buf[2048];
    return buf;
}

static inline void dt_notices_clear(void)
{
    dt_notices()[0] = '\0';
}

static inline void dt_keep_notice(void *ctx, const char *line)
{
    char *buf = dt_notices();
    size_t n = strlen(buf);
    (void)ctx;
    snprintf(buf + n, 2048 - n, "%s\n", line);
}

#endif /* BP_DATATEST_H */
