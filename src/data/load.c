/*
 * load.c - bp_dataset_load: turns a data spec into a data set.
 *
 *   fashion-mnist[:train|:test]   IDX files looked for in $BACKPROP_DATA,
 *                                 $BACKPROP_DATA/fashion-mnist, then the
 *                                 directory of Debian's dataset-fashion-mnist
 *   PATH[:label=COL]              delimited text (csv_load.c) when PATH ends
 *                                 in .csv, .tsv, .txt or has no extension
 *   csv:PATH[:label=COL]          delimited text whatever the name
 *   idx:IMAGES,LABELS             idx.c
 *   spiral:N:K, vertical:N:K      synthetic.c, from a generator seeded here
 *   xor                           the four points of XOR
 *
 * The named forms are matched first (so "idx:a.csv,b.csv" is IDX); a spec
 * that matches none of the forms, or a name without extension that is no
 * file, gets an error listing them all.
 */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define PATH_CAP 4096
#define MAX_SYNTH_ROWS (1 << 24)
#define SPEC_FORMS "fashion-mnist[:train|:test], PATH.csv|.tsv|.txt[:label=COL], " \
                   "csv:PATH[:label=COL], idx:IMAGES,LABELS, spiral:N:K, vertical:N:K or xor"

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    return fclose(f) == 0;
}

/* out = DIR/NAME[.gz], whichever exists; 0 when neither does. */
static int find_file(const char *dir, const char *name, char *out)
{
    int n = snprintf(out, PATH_CAP, "%s/%s.gz", dir, name);
    if (n < 0 || n >= PATH_CAP)
        return 0;
    if (file_exists(out))
        return 1;
    out[n - 3] = '\0';
    return file_exists(out);
}

bp_dataset *bp__fashion_load(const char *part, const char *env_dir, const char *system_dir,
                             bp_error *err)
{
    char images[PATH_CAP], labels[PATH_CAP], sub[PATH_CAP], where[640];
    char image_name[64], label_name[64], name[64];
    const char *dirs[3];
    int n_dirs = 0, n, any_images = 0;
    const char *prefix = strcmp(part, "test") == 0 ? "t10k" : "train";

    snprintf(image_name, sizeof image_name, "%s-images-idx3-ubyte", prefix);
    snprintf(label_name, sizeof label_name, "%s-labels-idx1-ubyte", prefix);
    snprintf(name, sizeof name, "fashion-mnist %s", part);
    if (env_dir && env_dir[0]) {
        dirs[n_dirs++] = env_dir;
        n = snprintf(sub, sizeof sub, "%s/fashion-mnist", env_dir);
        if (n > 0 && n < (int)sizeof sub)
            dirs[n_dirs++] = sub;
    }
    dirs[n_dirs++] = system_dir;
    for (int d = 0; d < n_dirs; d++) {
        int has_images = find_file(dirs[d], image_name, images);
        if (has_images && find_file(dirs[d], label_name, labels))
            return bp__idx_load(images, labels, name, err);
        any_images |= has_images;
    }

    if (env_dir && env_dir[0])
        snprintf(where, sizeof where, "$BACKPROP_DATA=%s (and its fashion-mnist/) or %s",
                 env_dir, system_dir);
    else
        snprintf(where, sizeof where, "%s", system_dir);
    bp__error_set(err, BP_EIO,
                  "fashion-mnist: %s.gz not found in %s; run 'apt-get install "
                  "dataset-fashion-mnist' or set BACKPROP_DATA to its directory",
                  any_images ? label_name : image_name, where);
    return NULL;
}

/* A decimal count without sign or blanks from [s, e); -1 when it is not one. */
static long parse_count(const char *s, const char *e)
{
    long v = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > MAX_SYNTH_ROWS)
            return MAX_SYNTH_ROWS + 1L;
    }
    return v;
}

/* spiral:N:K or vertical:N:K; args points at N. */
static bp_dataset *synthetic(const char *spec, const char *args, int spiral, uint64_t seed,
                             bp_error *err)
{
    const char *colon = strchr(args, ':');
    long points, classes;
    bp_dataset *ds;
    bp_rng rng;

    if (!colon) {
        bp__error_set(err, BP_EINVAL, "data spec '%s': expected %s:N:K (N points per class, "
                      "K classes)", spec, spiral ? "spiral" : "vertical");
        return NULL;
    }
    points = parse_count(args, colon);
    classes = parse_count(colon + 1, colon + strlen(colon));
    if (points < 1) {
        bp__error_set(err, BP_EINVAL, "data spec '%s': N (points per class) must be a whole "
                      "number of at least 1, got '%.*s'", spec, (int)(colon - args), args);
        return NULL;
    }
    if (classes < 2 || classes > BP__DATA_MAX_CLASS + 1) {
        bp__error_set(err, BP_EINVAL, "data spec '%s': K (classes) must be a whole number "
                      "from 2 to %d, got '%s'", spec, BP__DATA_MAX_CLASS + 1, colon + 1);
        return NULL;
    }
    if (points > MAX_SYNTH_ROWS / classes) {
        bp__error_set(err, BP_EINVAL, "data spec '%s': N * K must be at most %d rows", spec,
                      MAX_SYNTH_ROWS);
        return NULL;
    }
    ds = bp__dataset_new((size_t)points * (size_t)classes, 2, 1, 0, spec, err);
    if (!ds)
        return NULL;
    bp_rng_seed(&rng, seed);
    if (spiral)
        bp_data_spiral(&rng, (int)points, (int)classes, ds->x, ds->t);
    else
        bp_data_vertical(&rng, (int)points, (int)classes, ds->x, ds->t);
    ds->classes = (int)classes;
    bp__dataset_name(ds, spec, NULL);
    return ds;
}

static bp_dataset *xor_set(bp_error *err)
{
    static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};   /* (4, 2) */
    static const float t[4] = {0, 1, 1, 0};               /* (4, 1) */
    bp_dataset *ds = bp__dataset_new(4, 2, 1, 0, "xor", err);
    if (!ds)
        return NULL;
    memcpy(ds->x, x, sizeof x);
    memcpy(ds->t, t, sizeof t);
    ds->classes = 2;
    bp__dataset_name(ds, "xor", NULL);
    return ds;
}

/* Whether the path [s, s + n) names delimited text: its file name ends in
 * .csv, .tsv or .txt (any case) or has no extension. *bare: no extension. */
static int text_name(const char *s, size_t n, int *bare)
{
    static const char *const exts[] = {"csv", "tsv", "txt"};
    size_t base = n, dot = n;
    while (base > 0 && s[base - 1] != '/')
        base--;
    for (size_t i = base; i < n; i++)
        if (s[i] == '.')
            dot = i;
    *bare = dot == n || dot == base;
    if (*bare)
        return n > base;
    if (n - dot - 1 != 3)
        return 0;
    for (size_t e = 0; e < 3; e++) {
        size_t i = 0;
        for (; i < 3; i++) {
            char c = s[dot + 1 + i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != exts[e][i])
                break;
        }
        if (i == 3)
            return 1;
    }
    return 0;
}

/* Delimited-text specs: [csv:]PATH[:label=COL]. *matched 0 when the spec
 * is not one; path and label (NULL when not given) are filled. */
static int text_spec(const char *spec, char *path, const char **label, int *matched,
                     bp_error *err)
{
    const char *tag = NULL, *p = spec, *start = spec;
    size_t n;
    int forced = strncmp(spec, "csv:", 4) == 0, bare = 0;

    if (forced)
        start = spec + 4;
    p = start;
    while ((p = strstr(p, ":label=")) != NULL)
        tag = p++;
    n = tag ? (size_t)(tag - start) : strlen(start);
    *label = tag ? tag + strlen(":label=") : NULL;
    *matched = forced || text_name(start, n, &bare);
    if (!*matched)
        return 0;
    if (n == 0)
        return bp__error_set(err, BP_EINVAL, "data spec '%s': no path given", spec);
    if (n >= PATH_CAP)
        return bp__error_set(err, BP_EINVAL, "data spec: the path is longer than %d bytes",
                             PATH_CAP - 1);
    memcpy(path, start, n);
    path[n] = '\0';
    if (bare && !forced && !file_exists(path)) {
        /* most likely a mistyped name of a data set, not a file */
        *matched = 0;
        return 0;
    }
    return 0;
}

/* The named forms; *matched 0 when the spec is none of them. */
static bp_dataset *named(const char *spec, uint64_t seed, int *matched, bp_error *err)
{
    const char *comma;
    *matched = 1;
    if (strcmp(spec, "xor") == 0)
        return xor_set(err);
    if (strcmp(spec, "fashion-mnist") == 0 || strcmp(spec, "fashion-mnist:train") == 0)
        return bp__fashion_load("train", getenv("BACKPROP_DATA"), FASHION_DIR, err);
    if (strcmp(spec, "fashion-mnist:test") == 0)
        return bp__fashion_load("test", getenv("BACKPROP_DATA"), FASHION_DIR, err);
    if (strncmp(spec, "spiral:", 7) == 0)
        return synthetic(spec, spec + 7, 1, seed, err);
    if (strncmp(spec, "vertical:", 9) == 0)
        return synthetic(spec, spec + 9, 0, seed, err);
    if (strncmp(spec, "idx:", 4) == 0) {
        char images[PATH_CAP];
        size_t n;
        comma = strchr(spec + 4, ',');
        if (!comma || comma == spec + 4 || comma[1] == '\0') {
            bp__error_set(err, BP_EINVAL,
                          "data spec '%s': expected idx:IMAGES,LABELS (two files)", spec);
            return NULL;
        }
        n = (size_t)(comma - (spec + 4));
        if (n >= sizeof images) {
            bp__error_set(err, BP_EINVAL, "data spec: the path is longer than %d bytes",
                          PATH_CAP - 1);
            return NULL;
        }
        memcpy(images, spec + 4, n);
        images[n] = '\0';
        return bp__idx_load(images, comma + 1, NULL, err);
    }
    *matched = 0;
    return NULL;
}

/* Load a spec; schema non-NULL reads delimited text by it. */
static bp_dataset *load(const char *spec, const char *schema, int needs_label,
                        const bp_data_opts *o, int legacy, uint64_t seed, bp_error *err)
{
    char path[PATH_CAP];
    const char *label;
    bp_data_opts defaults;
    bp_dataset *ds;
    int matched;

    if (!o) {
        bp_data_opts_defaults(&defaults);
        o = &defaults;
    }
    if (!spec || !spec[0]) {
        bp__error_set(err, BP_EINVAL, "no data set given; expected %s", SPEC_FORMS);
        return NULL;
    }
    ds = named(spec, seed, &matched, err);
    if (matched)
        return ds;
    if (text_spec(spec, path, &label, &matched, err) != 0)
        return NULL;
    if (matched) {
        if (schema)
            return bp__csv_load_schema(path, schema, label, needs_label, o, err);
        return bp__csv_load(path, label, o, legacy, err);
    }
    bp__error_set(err, BP_EINVAL, "unknown data set '%s'; expected %s", spec, SPEC_FORMS);
    return NULL;
}

bp_dataset *bp_dataset_load_opts(const char *spec, const bp_data_opts *o, uint64_t seed,
                                 bp_error *err)
{
    return load(spec, NULL, 0, o, 0, seed, err);
}

bp_dataset *bp_dataset_load(const char *spec, uint64_t seed, bp_error *err)
{
    bp_data_opts o;
    bp_data_opts_defaults(&o);
    o.standardize = 0;
    o.standardize_target = 0;
    return load(spec, NULL, 0, &o, 1, seed, err);
}

bp_dataset *bp_dataset_load_schema(const char *spec, const char *schema, int needs_label,
                                   const bp_data_opts *o, uint64_t seed, bp_error *err)
{
    return load(spec, schema, needs_label, o, 0, seed, err);
}
