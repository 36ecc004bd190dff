/*
 * load.c - bp_dataset_load: turns a data spec into a data set.
 *
 *   fashion-mnist[:train|:test]   IDX files looked for in $BACKPROP_DATA,
 *                                 $BACKPROP_DATA/fashion-mnist, then the
 *                                 directory of Debian's dataset-fashion-mnist
 *   PATH.csv[:label=COL]          csv.c
 *   idx:IMAGES,LABELS             idx.c
 *   spiral:N:K, vertical:N:K      synthetic.c, from a generator seeded here
 *   xor                           the four points of XOR
 *
 * The named forms are matched first (so "idx:a.csv,b.csv" is IDX); a spec
 * that matches none of the forms gets an error listing them all.
 */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define PATH_CAP 4096
#define MAX_SYNTH_ROWS (1 << 24)
#define SPEC_FORMS "fashion-mnist[:train|:test], PATH.csv[:label=COL], idx:IMAGES,LABELS, " \
                   "spiral:N:K, vertical:N:K or xor"

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

/* Whether [s, s + n) ends in ".csv", in any case. */
static int ends_csv(const char *s, size_t n)
{
    static const char ext[] = ".csv";
    if (n < 4)
        return 0;
    for (size_t i = 0; i < 4; i++) {
        char c = s[n - 4 + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != ext[i])
            return 0;
    }
    return 1;
}

/* PATH.csv[:label=COL]; NULL with *matched 0 when the spec is not one. */
static bp_dataset *csv_spec(const char *spec, int *matched, bp_error *err)
{
    const char *tag = NULL, *p = spec;
    char path[PATH_CAP];
    size_t n;

    while ((p = strstr(p, ":label=")) != NULL)
        tag = p++;
    *matched = 1;
    if (tag && ends_csv(spec, (size_t)(tag - spec))) {
        n = (size_t)(tag - spec);
        if (n >= sizeof path) {
            bp__error_set(err, BP_EINVAL, "data spec: the path is longer than %d bytes",
                          PATH_CAP - 1);
            return NULL;
        }
        memcpy(path, spec, n);
        path[n] = '\0';
        return bp__csv_load(path, tag + strlen(":label="), err);
    }
    if (ends_csv(spec, strlen(spec)))
        return bp__csv_load(spec, NULL, err);
    *matched = 0;
    return NULL;
}

bp_dataset *bp_dataset_load(const char *spec, uint64_t seed, bp_error *err)
{
    const char *comma;
    bp_dataset *ds;
    int matched;

    if (!spec || !spec[0]) {
        bp__error_set(err, BP_EINVAL, "no data set given; expected %s", SPEC_FORMS);
        return NULL;
    }
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
    ds = csv_spec(spec, &matched, err);
    if (matched)
        return ds;
    bp__error_set(err, BP_EINVAL, "unknown data set '%s'; expected %s", spec, SPEC_FORMS);
    return NULL;
}
