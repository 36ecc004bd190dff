/*
 * csv.c - reads delimited text into a data set, its preprocessing kept as
 * a plan (bp__plan) that becomes the schema.
 *
 * Passes over the records (csv_read.c splits them): a survey counts the
 * records and, per column, the missing, number and text cells (the first
 * record apart, until the header is decided); a second pass, only when a
 * text column is used, collects the categories; the last fills the data
 * set. Training (bp__csv_load) builds the plan from the survey; a schema
 * load (bp__csv_load_schema) takes it from the schema and matches the
 * file's columns to it. Both fill through the same code, so a model's data
 * are read by the rules it was trained with.
 */
#include "data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CATEGORIES 1000  /* distinct values of a one-hot input column */
#define LIST 240             /* bytes of a column list in messages */

void bp__r_notice(const bp_data_opts *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (!o || !o->notice)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->notice(o->notice_ctx, line);
}

void bp_data_opts_defaults(bp_data_opts *o)
{
    memset(o, 0, sizeof *o);
    o->header = -1;
    o->task = BP_TASK_AUTO;
    o->missing = BP_MISSING_ERROR;
    o->standardize = 1;
    o->standardize_target = 1;
}

char *bp__r_dup_n(const char *s, size_t n)
{
    char *d = bp__malloc(n + 1);
    if (d) {
        if (n > 0)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void free_list(char **v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        bp__free(v[i]);
    bp__free(v);
}

static void col_free(bp__col *c)
{
    bp__free(c->name);
    free_list(c->vocab, c->nvocab);
    memset(c, 0, sizeof *c);
}

void bp__plan_free(bp__plan *p)
{
    for (int k = 0; k < p->ncols; k++)
        col_free(&p->cols[k]);
    bp__free(p->cols);
    col_free(&p->label);
    free_list(p->class_names, p->classes);
    memset(p, 0, sizeof *p);
}

void bp__r_reader_free(bp__reader *r)
{
    if (r->st)
        for (int c = 0; c < r->cols; c++)
            bp__free(r->st[c].first);
    bp__free(r->st);
    bp__csv_close(&r->f);
    bp__plan_free(&r->plan);
}

/* "column 3 ('petal_width')", or "column 3" without a header. */
void bp__r_column_name(const bp__reader *r, int c, char *out, size_t size)
{
    if (r->header) {
        char name[BP__SHOW + 4];
        bp__show(r->st[c].first, r->st[c].first_n, name);
        snprintf(out, size, "column %d ('%s')", c, name);
    } else {
        snprintf(out, size, "column %d", c);
    }
}

int bp__r_oom(const bp__reader *r, bp_error *err)
{
    return bp__error_set(err, BP_ENOMEM, "%s: out of memory", r->f.path);
}

/* ---- the survey */

static int cell_equals(const bp__cell *c, const char *s, size_t n)
{
    return c->n == n && memcmp(c->s, s, n) == 0;
}

static void count_cell(bp__colstat *s, const bp__cell *c, int kind, size_t line)
{
    if (kind == BP__CELL_MISSING) {
        if (s->missing++ == 0)
            s->missing_line = line;
    } else if (kind == BP__CELL_NUMBER) {
        s->numbers++;
    } else {
        if (s->texts++ == 0) {
            s->text_line = line;
            bp__show(c->s, c->n, s->text);
        }
        if (s->first_kind == BP__CELL_TEXT && !s->recurs && cell_equals(c, s->first, s->first_n))
            s->recurs = 1;
    }
}

int bp__r_survey(bp__reader *r, bp_error *err)
{
    bp__csv *f = &r->f;
    int rc = bp__csv_next(f, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return bp__error_set(err, BP_EFORMAT, "%s: no data rows (the file is empty)", f->path);
    r->cols = f->n;
    r->first_line = f->rec_line;
    if (r->cols < 2 && (!r->schema_mode || r->needs_label))
        return bp__error_set(err, BP_EFORMAT,
                             "%s:%zu: expected at least 2 columns (inputs and a label), found 1",
                             f->path, f->rec_line);
    r->st = bp__calloc((size_t)r->cols, sizeof *r->st);
    if (!r->st)
        return bp__r_oom(r, err);
    for (int c = 0; c < r->cols; c++) {
        bp__colstat *s = &r->st[c];
        s->first_kind = bp__cell_kind(&f->cells[c], f->sep);
        s->first = bp__r_dup_n(f->cells[c].s, f->cells[c].n);
        s->first_n = f->cells[c].n;
        if (!s->first)
            return bp__r_oom(r, err);
    }
    r->records = 1;
    while ((rc = bp__csv_next(f, err)) > 0) {
        if (f->n != r->cols)
            return bp__error_set(err, BP_EFORMAT,
                                 "%s:%zu: expected %d columns (as in line %zu), found %d",
                                 f->path, f->rec_line, r->cols, r->first_line, f->n);
        for (int c = 0; c < r->cols; c++)
            count_cell(&r->st[c], &f->cells[c], bp__cell_kind(&f->cells[c], f->sep),
                       f->rec_line);
        r->records++;
    }
    return rc;
}

/* The header rule (see bp_dataset_load_opts in backprop.h). */
int bp__r_detect_header(const bp__reader *r)
{
    int any_numbers = 0;
    if (r->records < 2) {
        /* one record of names only is a header without data */
        for (int c = 0; c < r->cols; c++)
            if (r->st[c].first_kind != BP__CELL_TEXT)
                return 0;
        return 1;
    }
    for (int c = 0; c < r->cols; c++) {
        const bp__colstat *s = &r->st[c];
        if (s->numbers > 0 && s->texts == 0 && s->first_kind == BP__CELL_TEXT)
            return 1;
        any_numbers |= s->numbers > 0;
    }
    if (any_numbers)
        return 0;
    for (int c = 0; c < r->cols; c++) {
        const bp__colstat *s = &r->st[c];
        if (s->first_kind == BP__CELL_MISSING && c == 0 && s->first_n == 0)
            continue;
        if (s->first_kind != BP__CELL_TEXT || s->recurs)
            return 0;
    }
    return 1;
}

/* Without a header, the first record is data: count it in. */
void bp__r_merge_first(bp__reader *r)
{
    for (int c = 0; c < r->cols; c++) {
        bp__colstat *s = &r->st[c];
        bp__cell cell;
        size_t m = s->missing, t = s->texts;
        cell.s = s->first;
        cell.n = s->first_n;
        cell.quoted = 0;
        s->first_kind = -1; /* no recurrence test against itself */
        count_cell(s, &cell, bp__cell_kind(&cell, r->f.sep), r->first_line);
        /* the first record comes first */
        if (s->missing > m)
            s->missing_line = r->first_line;
        if (s->texts > t) {
            s->text_line = r->first_line;
            bp__show(cell.s, cell.n, s->text);
        }
    }
}

/* ---- columns by name or number */

/* "'a', 'b', 'c'" (or "0 to 4" without a header), as much as fits. */
void bp__r_list_columns(const bp__reader *r, char *out, size_t size)
{
    size_t k = 0;
    out[0] = '\0';
    if (!r->header) {
        snprintf(out, size, "0 to %d", r->cols - 1);
        return;
    }
    for (int c = 0; c < r->cols && k + 8 < size; c++) {
        char name[BP__SHOW + 4];
        int n;
        bp__show(r->st[c].first, r->st[c].first_n, name);
        n = snprintf(out + k, size - k, "%s'%s'", c ? ", " : "", name);
        if (n < 0 || (size_t)n >= size - k) {
            snprintf(out + k, size - k, ", ...");
            break;
        }
        k += (size_t)n;
    }
}

/* Column named (or numbered) by [s, s + n); *out its position. */
int bp__r_find_column(const bp__reader *r, const char *s, size_t n, const char *what, int *out,
                       bp_error *err)
{
    char names[LIST], shown[BP__SHOW + 4];
    if (r->header)
        for (int c = 0; c < r->cols; c++)
            if (r->st[c].first_n == n && memcmp(r->st[c].first, s, n) == 0) {
                *out = c;
                return 0;
            }
    if (n > 0 && n < 10 && s[0] >= '0' && s[0] <= '9') {
        long v = 0;
        size_t i = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            v = v * 10 + (s[i] - '0');
        if (i == n) {
            if (v >= r->cols)
                return bp__error_set(err, BP_EINVAL,
                                     "%s: %s column %ld is out of range (the file has %d "
                                     "columns, 0 to %d)", r->f.path, what, v, r->cols,
                                     r->cols - 1);
            *out = (int)v;
            return 0;
        }
    }
    bp__show(s, n, shown);
    if (!r->header)
        return bp__error_set(err, BP_EINVAL,
                             "%s: no header row, so the %s column must be an index from 0 to "
                             "%d, not '%s'", r->f.path, what, r->cols - 1, shown);
    bp__r_list_columns(r, names, sizeof names);
    return bp__error_set(err, BP_EINVAL, "%s: no column named '%s' (columns: %s)", r->f.path,
                         shown, names);
}

/* Mark the columns of a comma-separated list in use[] with mark; order[]
 * (may be NULL) receives them in the order given. */
int bp__r_mark_list(const bp__reader *r, const char *list, const char *what, char *use, char mark,
                     int *order, int *n_order, bp_error *err)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int c, rc;
        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0) {
            if ((rc = bp__r_find_column(r, p, n, what, &c, err)) != 0)
                return rc;
            if (order && use[c] != mark)
                order[(*n_order)++] = c;
            use[c] = mark;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* ---- categories */

typedef struct entry {
    const char *s;    /* into the file or a copy */
    size_t n;
    size_t count;
    char *copy;
} entry;

typedef struct catset {
    entry *e;
    size_t n, cap;    /* entries */
    size_t *slot;     /* (mask + 1) entry index + 1, 0 empty */
    size_t mask;
} catset;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void catset_free(catset *c)
{
    for (size_t i = 0; i < c->n; i++)
        bp__free(c->e[i].copy);
    bp__free(c->e);
    bp__free(c->slot);
    memset(c, 0, sizeof *c);
}

static int catset_grow(catset *c)
{
    size_t cap = c->cap ? c->cap * 2 : 16, mask = cap * 2 - 1;
    entry *e = bp__malloc(cap * sizeof *e);
    size_t *slot = bp__calloc(mask + 1, sizeof *slot);
    if (!e || !slot) {
        bp__free(e);
        bp__free(slot);
        return BP_ENOMEM;
    }
    if (c->n > 0)
        memcpy(e, c->e, c->n * sizeof *e);
    for (size_t i = 0; i < c->n; i++) {
        size_t h = (size_t)hash_bytes(e[i].s, e[i].n) & mask;
        while (slot[h])
            h = (h + 1) & mask;
        slot[h] = i + 1;
    }
    bp__free(c->e);
    bp__free(c->slot);
    c->e = e;
    c->slot = slot;
    c->cap = cap;
    c->mask = mask;
    return 0;
}

/* Count one value; a new one is copied (the cell may be in scratch). */
static int catset_add(catset *c, const char *s, size_t n)
{
    size_t h;
    if (c->n == c->cap && catset_grow(c) != 0)
        return BP_ENOMEM;
    h = (size_t)hash_bytes(s, n) & c->mask;
    while (c->slot[h]) {
        entry *e = &c->e[c->slot[h] - 1];
        if (e->n == n && memcmp(e->s, s, n) == 0) {
            e->count++;
            return 0;
        }
        h = (h + 1) & c->mask;
    }
    entry *e = &c->e[c->n];
    e->copy = bp__r_dup_n(s, n);
    if (!e->copy)
        return BP_ENOMEM;
    e->s = e->copy;
    e->n = n;
    e->count = 1;
    c->slot[h] = ++c->n;
    return 0;
}

static int compare_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int d = memcmp(a, b, an < bn ? an : bn);
    if (d != 0)
        return d;
    return an < bn ? -1 : an > bn;
}

static int compare_strings(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return compare_bytes(x, strlen(x), y, strlen(y));
}

/* Index of [s, s + n) in a sorted vocabulary, or -1. */
int bp__r_vocab_find(char *const *v, int nv, const char *s, size_t n)
{
    int lo = 0, hi = nv - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int d = compare_bytes(v[mid], strlen(v[mid]), s, n);
        if (d == 0)
            return mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* The set's values as a sorted vocabulary; *fill_cat the most frequent
 * (ties: the first in sorted order). The copies move to the vocabulary. */
static int catset_vocab(catset *c, char ***vocab, int *nv, int *fill_cat)
{
    char **v = bp__calloc(c->n ? c->n : 1, sizeof *v);
    size_t best = 0;
    if (!v)
        return BP_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        v[i] = c->e[i].copy;
        c->e[i].copy = NULL;
    }
    qsort(v, c->n, sizeof *v, compare_strings);
    *vocab = v;
    *nv = (int)c->n;
    *fill_cat = 0;
    /* in sorted order, so the first of equal counts wins */
    for (size_t i = 0; i < c->n; i++) {
        size_t count = 0;
        size_t h = (size_t)hash_bytes(v[i], strlen(v[i])) & c->mask;
        while (c->slot[h]) {
            entry *e = &c->e[c->slot[h] - 1];
            if (e->n == strlen(v[i]) && memcmp(e->s, v[i], e->n) == 0) {
                count = e->count;
                break;
            }
            h = (h + 1) & c->mask;
        }
        if (count > best) {
            best = count;
            *fill_cat = (int)i;
        }
    }
    return 0;
}


/* ---- missing cells */

/* Whether a missing cell of plan column k (-1: the label) leaves its row
 * out, is filled, or refuses the file. */
enum { ON_MISSING_ERROR, ON_MISSING_DROP, ON_MISSING_FILL };

static int on_missing(const bp__reader *r, const bp__col *c, int is_label)
{
    bp_missing m = r->o->missing;
    if (is_label)
        return m == BP_MISSING_DROP ? ON_MISSING_DROP : ON_MISSING_ERROR;
    if (r->schema_mode && c->has_fill)
        return ON_MISSING_FILL;
    if (m == BP_MISSING_DROP)
        return ON_MISSING_DROP;
    if (m == BP_MISSING_MEAN && !r->schema_mode)
        return ON_MISSING_FILL;
    return ON_MISSING_ERROR;
}

/* Refuse missing cells that nothing fills, with each column's count. */
int bp__r_check_missing(const bp__reader *r, bp_error *err)
{
    char list[LIST * 2], col[BP__SHOW + 32];
    size_t total = 0, k = 0;
    int n = r->plan.ncols + (r->plan.label.src >= 0 ? 1 : 0);
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        int is_label = i == r->plan.ncols;
        const bp__col *c = is_label ? &r->plan.label : &r->plan.cols[i];
        const bp__colstat *s = &r->st[c->src];
        int w;
        if (s->missing == 0 || on_missing(r, c, is_label) != ON_MISSING_ERROR)
            continue;
        if (is_label && r->o->missing == BP_MISSING_MEAN) {
            bp__r_column_name(r, c->src, col, sizeof col);
            return bp__error_set(err, BP_EFORMAT,
                                 "%s:%zu: %s: the label is missing in %zu row%s; labels are "
                                 "not filled (use --missing drop to leave those rows out)",
                                 r->f.path, s->missing_line, col, s->missing,
                                 s->missing == 1 ? "" : "s");
        }
        total += s->missing;
        bp__r_column_name(r, c->src, col, sizeof col);
        w = snprintf(list + k, sizeof list - k, "%s%s: %zu (first on line %zu)", k ? "; " : "",
                     col, s->missing, s->missing_line);
        if (w > 0 && (size_t)w < sizeof list - k)
            k += (size_t)w;
    }
    if (total == 0)
        return 0;
    if (r->schema_mode && r->o->missing == BP_MISSING_MEAN)
        return bp__error_set(err, BP_EFORMAT,
                             "%s: %zu missing value%s (%s); the model saved no fill for them "
                             "(it was trained without --missing mean); use --missing drop",
                             r->f.path, total, total == 1 ? "" : "s", list);
    /* the advice first: a long list of columns is what the message's size cuts */
    return bp__error_set(err, BP_EFORMAT,
                         "%s: %zu missing value%s; use --missing drop to leave those rows out "
                         "or --missing mean to fill them: %s", r->f.path, total,
                         total == 1 ? "" : "s", list);
}

/* Whether the current record is left out for a missing cell. */
static int row_dropped(const bp__reader *r)
{
    int n = r->plan.ncols + (r->plan.label.src >= 0 ? 1 : 0);
    for (int i = 0; i < n; i++) {
        int is_label = i == r->plan.ncols;
        const bp__col *c = is_label ? &r->plan.label : &r->plan.cols[i];
        if (bp__cell_kind(&r->f.cells[c->src], r->f.sep) == BP__CELL_MISSING &&
            on_missing(r, c, is_label) == ON_MISSING_DROP)
            return 1;
    }
    return 0;
}

/* ---- the categories of the text columns (training) */

int bp__r_collect_categories(bp__reader *r, bp_error *err)
{
    bp__plan *p = &r->plan;
    int n = p->ncols + 1, rc = 0, any = 0;
    catset *sets = bp__calloc((size_t)n, sizeof *sets);
    if (!sets)
        return bp__r_oom(r, err);
    for (int i = 0; i < n; i++)
        any |= i < p->ncols ? p->cols[i].text : p->label.text;
    if (!any)
        goto done;
    bp__csv_rewind(&r->f);
    for (size_t rec = 0; (rc = bp__csv_next(&r->f, err)) > 0; rec++) {
        if ((rec == 0 && r->header) || row_dropped(r))
            continue;
        for (int i = 0; i < n; i++) {
            const bp__col *c = i < p->ncols ? &p->cols[i] : &p->label;
            const bp__cell *cell = &r->f.cells[c->src];
            if (!c->text || bp__cell_kind(cell, r->f.sep) == BP__CELL_MISSING)
                continue;
            if (catset_add(&sets[i], cell->s, cell->n) != 0) {
                rc = bp__r_oom(r, err);
                goto done;
            }
            if (i < p->ncols && sets[i].n > MAX_CATEGORIES) {
                char col[BP__SHOW + 32];
                bp__r_column_name(r, c->src, col, sizeof col);
                rc = bp__error_set(err, BP_EFORMAT,
                                   "%s:%zu: %s: more than %d distinct text values (an "
                                   "identifier or free text?); leave the column out with --drop "
                                   "or give it as numbers", r->f.path, r->f.rec_line, col,
                                   MAX_CATEGORIES);
                goto done;
            }
        }
    }
    if (rc < 0)
        goto done;
    for (int i = 0; i < n; i++) {
        bp__col *c = i < p->ncols ? &p->cols[i] : &p->label;
        if (!c->text)
            continue;
        if (catset_vocab(&sets[i], &c->vocab, &c->nvocab, &c->fill_cat) != 0) {
            rc = bp__r_oom(r, err);
            goto done;
        }
        if (i < p->ncols && r->o->missing == BP_MISSING_MEAN && r->st[c->src].missing > 0)
            c->has_fill = 1;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        catset_free(&sets[i]);
    bp__free(sets);
    return rc;
}

/* ---- the fill */

/* Number of a cell of a numeric column into *out, or the error. */
static int number_cell(const bp__reader *r, int src, const bp__cell *cell, int kind, float *out,
                       bp_error *err)
{
    char col[BP__SHOW + 32], found[BP__SHOW + 4];
    const char *expected;
    double v = 0.0;
    if (kind == BP__CELL_TEXT) {
        expected = "a number";
    } else {
        v = bp__cell_number(cell, r->f.sep);
        if (!isfinite(v))
            expected = "a finite number";
        else if (fabs(v) > FLT_MAX)
            expected = "a number within float range";
        else {
            *out = (float)v;
            return 0;
        }
    }
    bp__r_column_name(r, src, col, sizeof col);
    bp__show(cell->s, cell->n, found);
    return bp__error_set(err, BP_EFORMAT, "%s:%zu: %s: expected %s, found '%s'", r->f.path,
                         r->f.rec_line, col, expected, found);
}

/* A category or label the training data did not have; known lists what it
 * had (n names, as many as fit). The same words serve --test and a model. */
static int unseen(const bp__reader *r, int src, const bp__cell *cell, const char *what,
                  char *const *known, int n, bp_error *err)
{
    char col[BP__SHOW + 32], found[BP__SHOW + 4], list[200];
    size_t k = 0;
    bp__r_column_name(r, src, col, sizeof col);
    bp__show(cell->s, cell->n, found);
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        char name[BP__SHOW + 4];
        int w;
        bp__show(known[i], strlen(known[i]), name);
        w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", name);
        if (w < 0 || (size_t)w >= sizeof list - k - 5) {
            snprintf(list + k, sizeof list - k, "%s...", i ? ", " : "");
            break;
        }
        k += (size_t)w;
    }
    return bp__error_set(err, BP_EFORMAT, "%s:%zu: '%s' in %s was not among its %s in the "
                         "training data (%s)", r->f.path, r->f.rec_line, found, col, what, list);
}

/* Index of a numeric label among sorted class values, or -1. */
static int class_of_value(const float *values, int n, float v)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (values[mid] == v)
            return mid;
        if (values[mid] < v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Every kept record into ds (rows set to those kept). values: the class
 * values of a numeric classification label (schema mode), else NULL. */
int bp__r_fill(bp__reader *r, bp_dataset *ds, const float *values, size_t *dropped, bp_error *err)
{
    const bp__plan *p = &r->plan;
    float *x = ds->x, *t = ds->t;
    size_t row = 0;
    int rc, read_label = p->label.src >= 0;

    *dropped = 0;
    bp__csv_rewind(&r->f);
    for (size_t rec = 0; (rc = bp__csv_next(&r->f, err)) > 0; rec++) {
        float *xr = x + row * (size_t)p->inputs;
        int drop = 0;
        if (rec == 0 && r->header)
            continue;
        if (r->f.n != r->cols)
            return bp__error_set(err, BP_EFORMAT,
                                 "%s:%zu: expected %d columns (as in line %zu), found %d",
                                 r->f.path, r->f.rec_line, r->cols, r->first_line, r->f.n);
        for (int k = 0; k < p->ncols && !drop; k++) {
            const bp__col *c = &p->cols[k];
            const bp__cell *cell = &r->f.cells[c->src];
            double v;
            int kind;
            if (!c->text && bp__cell_int(cell, &v)) {
                xr[c->offset] = (float)v;
                continue;
            }
            kind = bp__cell_kind(cell, r->f.sep);
            if (kind == BP__CELL_MISSING) {
                if (on_missing(r, c, 0) == ON_MISSING_DROP) {
                    drop = 1;
                } else if (c->text) {
                    memset(xr + c->offset, 0, (size_t)c->nvocab * sizeof *xr);
                    xr[c->offset + c->fill_cat] = 1.0f;
                } else {
                    xr[c->offset] = c->has_fill ? (float)c->fill : NAN;
                }
            } else if (c->text) {
                int cat = bp__r_vocab_find(c->vocab, c->nvocab, cell->s, cell->n);
                if (cat < 0)
                    return unseen(r, c->src, cell, "values", c->vocab, c->nvocab, err);
                memset(xr + c->offset, 0, (size_t)c->nvocab * sizeof *xr);
                xr[c->offset + cat] = 1.0f;
            } else if ((rc = number_cell(r, c->src, cell, kind, xr + c->offset, err)) != 0) {
                return rc;
            }
        }
        if (read_label && !drop) {
            const bp__col *c = &p->label;
            const bp__cell *cell = &r->f.cells[c->src];
            int kind = bp__cell_kind(cell, r->f.sep);
            if (kind == BP__CELL_MISSING) {
                drop = 1; /* refused before the fill unless rows are dropped */
            } else if (c->text) {
                int v = bp__r_vocab_find(c->vocab, c->nvocab, cell->s, cell->n);
                if (v < 0)
                    return unseen(r, c->src, cell, "labels", c->vocab, c->nvocab, err);
                t[row] = (float)v;
            } else if ((rc = number_cell(r, c->src, cell, kind, &t[row], err)) != 0) {
                return rc;
            } else if (values) {
                int v = class_of_value(values, p->classes, t[row]);
                if (v < 0)
                    return unseen(r, c->src, cell, "labels", p->class_names, p->classes,
                                  err);
                t[row] = (float)v;
            } else if (r->schema_mode && p->t_scaled) {
                t[row] = (float)(((double)t[row] - p->t_mean) / p->t_scale);
            }
        } else if (!read_label) {
            t[row] = 0.0f;
        }
        if (drop) {
            (*dropped)++;
            continue;
        }
        row++;
    }
    if (rc < 0)
        return rc;
    ds->rows = row;
    return 0;
}

/* Training: the mean of each numeric input with missing cells fills them. */
void bp__r_fill_means(bp__reader *r, bp_dataset *ds)
{
    bp__plan *p = &r->plan;
    float *x = ds->x;
    for (int k = 0; k < p->ncols; k++) {
        bp__col *c = &p->cols[k];
        double sum = 0.0;
        size_t n = 0;
        if (c->text || r->st[c->src].missing == 0 || r->o->missing != BP_MISSING_MEAN)
            continue;
        for (size_t i = 0; i < ds->rows; i++) {
            float v = x[i * (size_t)p->inputs + (size_t)c->offset];
            if (v == v) {
                sum += v;
                n++;
            }
        }
        c->fill = n > 0 ? (double)(float)(sum / (double)n) : 0.0;
        c->has_fill = 1;
        for (size_t i = 0; i < ds->rows; i++) {
            float *v = &x[i * (size_t)p->inputs + (size_t)c->offset];
            if (*v != *v)
                *v = (float)c->fill;
        }
    }
}
