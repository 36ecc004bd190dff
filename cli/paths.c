/*
 * paths.c - outputs against inputs (see paths.h). Files are compared by
 * stat's device and inode, so "./d.csv", "d.csv" and a hard link are all
 * the same file; a data spec is split into the files it reads.
 */
#define _XOPEN_SOURCE 700

#include "paths.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether a and b exist and are the same file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && a[0] && b[0] && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The folder of path, resolved (malloc'd), or NULL. */
static char *folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = malloc(strlen(path) + 2), *real;
    if (!dir)
        return NULL;
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    real = realpath(dir, NULL);
    free(dir);
    return real;
}

/* The file of spec (a data spec when is_spec) that is the same file as out,
 * copied into buf; 0 when none is. A spec is read generously: the whole
 * text, then without a ":label=" tail, without a "NAME:" head, and each
 * comma-separated part, so every file it can name is tried. */
static int spec_hit(const char *spec, int is_spec, const char *out, char *buf, size_t size)
{
    char *s, *tag, *colon, *part, *next;
    int hit = 0;
    if (same_file(spec, out)) {
        snprintf(buf, size, "%s", spec);
        return 1;
    }
    if (!is_spec || !(s = malloc(strlen(spec) + 1)))
        return 0;
    strcpy(s, spec);
    if ((tag = strstr(s, ":label=")) != NULL)
        *tag = '\0';
    part = s;
    if (!same_file(part, out) && (colon = strchr(s, ':')) != NULL)
        part = colon + 1;
    if (same_file(part, out)) { /* a name with commas in it */
        snprintf(buf, size, "%s", part);
        free(s);
        return 1;
    }
    for (; part && !hit; part = next) {
        if ((next = strchr(part, ',')) != NULL)
            *next++ = '\0';
        if (same_file(part, out)) {
            snprintf(buf, size, "%s", part);
            hit = 1;
        }
    }
    free(s);
    return hit;
}

/* Whether two outputs are one file: the same file when both exist, else the
 * same name in the same folder (the folder resolved by realpath). */
static int same_output(const char *a, const char *b)
{
    char *da, *db;
    const char *ba, *bb;
    int same = 0;
    if (strcmp(a, b) == 0 || same_file(a, b))
        return 1;
    ba = strrchr(a, '/') ? strrchr(a, '/') + 1 : a;
    bb = strrchr(b, '/') ? strrchr(b, '/') + 1 : b;
    if (strcmp(ba, bb) != 0)
        return 0;
    da = folder(a);
    db = folder(b);
    same = da && db && strcmp(da, db) == 0;
    free(da);
    free(db);
    return same;
}

int cli_paths_check(const char *cmd, const cli_file *outs, int n_out, const cli_file *ins,
                    int n_in)
{
    char file[4096];
    for (int o = 0; o < n_out; o++) {
        const cli_file *out = &outs[o];
        if (!out->path)
            continue;
        for (int i = 0; i < n_in; i++) {
            const cli_file *in = &ins[i];
            if (!in->path || (out->except && strcmp(out->except, in->opt) == 0))
                continue;
            if (spec_hit(in->path, in->spec, out->path, file, sizeof file))
                return cli_usage(cmd, "%s and %s name the same file '%s': the input would be "
                                 "overwritten; write the output elsewhere", out->opt, in->opt,
                                 file);
        }
        for (int p = 0; p < o; p++) {
            if (outs[p].path && same_output(outs[p].path, out->path))
                return cli_usage(cmd, "%s and %s name the same file '%s'", outs[p].opt, out->opt,
                                 out->path);
        }
    }
    return 0;
}

int cli_paths_free_name(const char *base, const char *ext, char *buf, size_t size)
{
    struct stat st;
    for (long k = 1; k < 100000; k++) {
        int n = k == 1 ? snprintf(buf, size, "%s%s", base, ext)
                       : snprintf(buf, size, "%s-%ld%s", base, k, ext);
        if (n < 0 || (size_t)n >= size)
            return -1;
        if (lstat(buf, &st) != 0)
            return 0;
    }
    return -1;
}
