/*
 * csv_load.c - delimited text into a data set: for training, the plan of
 * columns chosen and typed from the survey (csv.c), the label read as
 * classes or a regression target, the inputs and target standardized; for
 * a trained model, the plan read from its schema and the file's columns
 * matched to it. Either way the plan is saved in the data set as its
 * schema.
 */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLASS_INTS 20   /* integer labels with more values: a regression */
#define LIST 240

static int float_order(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The shortest decimal text that reads back as v; a whole number below
 * 1e9 in full (a label 100000 named "100000", not "1e+05"). */
static void float_text(float v, char *out, size_t size)
{
    if (v == floorf(v) && fabsf(v) < 1e9f) {
        snprintf(out, size, "%.0f", (double)v);
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, size, "%.*g", prec, (double)v);
        if ((float)strtod(out, NULL) == v)
            return;
    }
}

static int is_index_name(const bp__colstat *s)
{
    return s->first_n == 0 || (s->first_n == 10 && memcmp(s->first, "Unnamed: 0", 10) == 0);
}

/* A column without a name whose every cell is missing. */
static int is_empty_column(const bp__reader *r, int c)
{
    const bp__colstat *s = &r->st[c];
    return (!r->header || s->first_n == 0) && s->numbers == 0 && s->texts == 0;
}

/* Training: label, inputs and their kinds from the options and the survey. */
static int choose_columns(bp__reader *r, const char *label, bp_error *err)
{
    const bp_data_opts *o = r->o;
    bp__plan *p = &r->plan;
    char *use = NULL, col[BP__SHOW + 32];
    int *order = NULL, n_order = 0, lab = r->cols - 1, rc = 0;

    if (!label)
        label = o->label;
    /* the last column that is not an empty one (spreadsheets write some) */
    while (lab > 0 && is_empty_column(r, lab))
        lab--;
    if (label && (rc = bp__r_find_column(r, label, strlen(label), "label", &lab, err)) != 0)
        return rc;
    use = bp__calloc((size_t)r->cols, 1);
    order = bp__calloc((size_t)r->cols, sizeof *order);
    if (!use || !order) {
        rc = bp__r_oom(r, err);
        goto done;
    }
    if (o->features) {
        if ((rc = bp__r_mark_list(r, o->features, "feature", use, 1, order, &n_order,
                                  err)) != 0)
            goto done;
    } else {
        for (int c = 0; c < r->cols; c++)
            use[c] = 1;
        if (r->header && r->cols >= 3 && lab != 0 && is_index_name(&r->st[0]) &&
            !is_empty_column(r, 0)) {
            use[0] = 0;
            bp__r_notice(o, "%s: column 0 has no name (a row index, as R and pandas write "
                         "one); left out", r->f.path);
        }
        for (int c = 0; c < r->cols; c++)
            if (c != lab && is_empty_column(r, c)) {
                use[c] = 0;
                bp__r_notice(o, "%s: column %d has no name and no values; left out",
                             r->f.path, c);
            }
    }
    if (o->drop && (rc = bp__r_mark_list(r, o->drop, "dropped", use, 0, NULL, NULL, err)) != 0)
        goto done;
    if (use[lab] && o->features) {
        bp__r_column_name(r, lab, col, sizeof col);
        rc = bp__error_set(err, BP_EINVAL, "%s: %s is the label; it cannot also be a feature",
                           r->f.path, col);
        goto done;
    }
    use[lab] = 0;
    if (!o->features)
        for (int c = 0; c < r->cols; c++)
            if (use[c])
                order[n_order++] = c;
    /* columns dropped after being listed */
    {
        int k = 0;
        for (int i = 0; i < n_order; i++)
            if (use[order[i]])
                order[k++] = order[i];
        n_order = k;
    }
    if (n_order == 0) {
        rc = bp__error_set(err, BP_EINVAL, "%s: no input columns left (only the label)",
                           r->f.path);
        goto done;
    }
    p->cols = bp__calloc((size_t)n_order, sizeof *p->cols);
    if (!p->cols) {
        rc = bp__r_oom(r, err);
        goto done;
    }
    p->ncols = n_order;
    for (int i = 0; i <= n_order; i++) {
        bp__col *c = i < n_order ? &p->cols[i] : &p->label;
        int src = i < n_order ? order[i] : lab;
        const bp__colstat *s = &r->st[src];
        c->pos = c->src = src;
        if (r->header && !(c->name = bp__r_dup_n(s->first, s->first_n))) {
            rc = bp__r_oom(r, err);
            goto done;
        }
        if (s->texts > 0 && s->numbers >= s->texts) {
            bp__r_column_name(r, src, col, sizeof col);
            rc = bp__error_set(err, BP_EFORMAT, "%s:%zu: %s: expected a number, found '%s' "
                               "(%zu cell%s of the column %s numbers)", r->f.path,
                               s->text_line, col, s->text, s->numbers,
                               s->numbers == 1 ? "" : "s", s->numbers == 1 ? "is a" : "are");
            goto done;
        }
        c->text = s->texts > 0;
    }
    p->label.src = lab;
done:
    bp__free(use);
    bp__free(order);
    return rc;
}

/* Names and categories go into the schema, JSON: they must be UTF-8. */
static int check_utf8(bp__reader *r, bp_error *err)
{
    const bp__plan *p = &r->plan;
    char col[BP__SHOW + 32], shown[BP__SHOW + 4];
    for (int k = 0; k <= p->ncols; k++) {
        const bp__col *c = k < p->ncols ? &p->cols[k] : &p->label;
        const char *bad = NULL;
        if (c->name && !bp__utf8_valid(c->name, strlen(c->name)))
            bad = c->name;
        for (int v = 0; v < c->nvocab && !bad; v++)
            if (!bp__utf8_valid(c->vocab[v], strlen(c->vocab[v])))
                bad = c->vocab[v];
        if (bad) {
            bp__r_column_name(r, c->src, col, sizeof col);
            bp__show(bad, strlen(bad), shown);
            return bp__error_set(err, BP_EFORMAT, "%s: %s: '%s' is not UTF-8 text; save the "
                                 "file as UTF-8", r->f.path, col, shown);
        }
    }
    return 0;
}

/* Input offsets: a number takes one input, a text column one per value. */
static int layout(bp__reader *r, bp_error *err)
{
    bp__plan *p = &r->plan;
    long inputs = 0;
    for (int k = 0; k < p->ncols; k++) {
        p->cols[k].offset = (int)inputs;
        inputs += p->cols[k].text ? p->cols[k].nvocab : 1;
        if (inputs > BP__DATA_MAX_INPUTS)
            return bp__error_set(err, BP_EFORMAT, "%s: more than %d inputs", r->f.path,
                                 BP__DATA_MAX_INPUTS);
    }
    if (inputs == 0)
        return bp__error_set(err, BP_EFORMAT, "%s: the input columns hold no values",
                             r->f.path);
    p->inputs = (int)inputs;
    return 0;
}

/* Classes or regression for the label read into t (training). */
static int decide_label(bp__reader *r, bp_dataset *ds, bp_error *err)
{
    bp__plan *p = &r->plan;
    bp_task task = r->o->task;
    char col[BP__SHOW + 32];
    float *u = NULL;
    size_t n = ds->rows, distinct = 0;
    int ints = 1;

    bp__r_column_name(r, p->label.src, col, sizeof col);
    if (p->label.text) {
        if (task == BP_TASK_REGRESS)
            return bp__error_set(err, BP_EINVAL, "%s: %s holds text ('%s'); a regression "
                                 "needs numbers", r->f.path, col, r->st[p->label.src].text);
        p->task = BP_TASK_CLASSIFY;
        p->classes = p->label.nvocab;
        p->class_names = p->label.vocab;
        p->label.vocab = NULL;
        p->label.nvocab = 0;
        if (task == BP_TASK_AUTO)
            snprintf(p->reason, sizeof p->reason, "%d distinct text labels", p->classes);
        else
            snprintf(p->reason, sizeof p->reason, "classification asked for (%d text labels)",
                     p->classes);
        return 0;
    }
    if (r->legacy_labels && task == BP_TASK_AUTO) {
        /* bp_dataset_load's rule: integers in [0, 65535] are their own class
         * numbers, kept as they are */
        int k = bp__dataset_classes_of(ds->t, n);
        if (k == 0) {
            p->task = BP_TASK_REGRESS;
            snprintf(p->reason, sizeof p->reason, "not all integers from 0 to %d",
                     BP__DATA_MAX_CLASS);
            return 0;
        }
        p->task = BP_TASK_CLASSIFY;
        snprintf(p->reason, sizeof p->reason, "integers from 0 to %d, used as class numbers",
                 k - 1);
        p->class_names = bp__calloc((size_t)k, sizeof *p->class_names);
        if (!p->class_names)
            return bp__r_oom(r, err);
        p->classes = k;
        for (int c = 0; c < k; c++) {
            char text[16];
            snprintf(text, sizeof text, "%d", c);
            if (!(p->class_names[c] = bp__r_dup_n(text, strlen(text))))
                return bp__r_oom(r, err);
        }
        return 0;
    }
    u = bp__malloc((n ? n : 1) * sizeof *u);
    if (!u)
        return bp__r_oom(r, err);
    memcpy(u, ds->t, n * sizeof *u);
    qsort(u, n, sizeof *u, float_order);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || u[i] != u[distinct - 1])
            u[distinct++] = u[i];
        if (u[i] != floorf(u[i]))
            ints = 0;
    }
    if (task == BP_TASK_AUTO) {
        task = ints && distinct <= MAX_CLASS_INTS ? BP_TASK_CLASSIFY : BP_TASK_REGRESS;
        if (!ints)
            snprintf(p->reason, sizeof p->reason, "non-integer values");
        else
            snprintf(p->reason, sizeof p->reason, "%zu distinct integer value%s (%s %d)",
                     distinct, distinct == 1 ? "" : "s",
                     distinct <= MAX_CLASS_INTS ? "at most" : "more than", MAX_CLASS_INTS);
    } else {
        snprintf(p->reason, sizeof p->reason, "%s asked for (%zu distinct values)",
                 task == BP_TASK_CLASSIFY ? "classification" : "regression", distinct);
    }
    p->task = task;
    if (task == BP_TASK_CLASSIFY) {
        if (distinct > (size_t)BP__DATA_MAX_CLASS + 1) {
            bp__free(u);
            return bp__error_set(err, BP_EINVAL, "%s: %s has %zu distinct values; at most %d "
                                 "classes", r->f.path, col, distinct, BP__DATA_MAX_CLASS + 1);
        }
        p->class_names = bp__calloc(distinct ? distinct : 1, sizeof *p->class_names);
        if (!p->class_names) {
            bp__free(u);
            return bp__r_oom(r, err);
        }
        p->classes = (int)distinct;
        for (size_t k = 0; k < distinct; k++) {
            char text[32];
            float_text(u[k], text, sizeof text);
            if (!(p->class_names[k] = bp__r_dup_n(text, strlen(text)))) {
                bp__free(u);
                return bp__r_oom(r, err);
            }
        }
        for (size_t i = 0; i < n; i++) {
            size_t lo = 0, hi = distinct - 1;
            while (u[(lo + hi) / 2] != ds->t[i]) {
                if (u[(lo + hi) / 2] < ds->t[i])
                    lo = (lo + hi) / 2 + 1;
                else
                    hi = (lo + hi) / 2 - 1;
            }
            ds->t[i] = (float)((lo + hi) / 2);
        }
    } else if (r->o->standardize_target && n > 0) {
        double sum = 0.0, sq = 0.0, sd;
        for (size_t i = 0; i < n; i++)
            sum += ds->t[i];
        p->t_mean = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            sq += ((double)ds->t[i] - p->t_mean) * ((double)ds->t[i] - p->t_mean);
        sd = sqrt(sq / (double)n);
        p->t_scale = distinct > 1 && sd > 0.0 && isfinite(1.0 / sd) ? sd : 1.0;
        p->t_scaled = 1;
        for (size_t i = 0; i < n; i++)
            ds->t[i] = (float)(((double)ds->t[i] - p->t_mean) / p->t_scale);
    }
    bp__free(u);
    return 0;
}

/* Numeric inputs to mean 0, sd 1 (population; a constant column keeps mul
 * 1); one-hot inputs keep the identity. */
static void standardize(const bp__plan *p, bp_dataset *ds)
{
    const float *x = ds->x;
    size_t I = (size_t)ds->inputs;
    if (ds->rows == 0)
        return;
    for (int k = 0; k < p->ncols; k++) {
        size_t j = (size_t)p->cols[k].offset;
        double sum = 0.0, sq = 0.0, sd;
        int varies = 0;
        if (p->cols[k].text)
            continue;
        for (size_t i = 0; i < ds->rows; i++) {
            sum += x[i * I + j];
            varies |= x[i * I + j] != x[j];
        }
        sum /= (double)ds->rows;
        for (size_t i = 0; i < ds->rows; i++)
            sq += (x[i * I + j] - sum) * (x[i * I + j] - sum);
        sd = sqrt(sq / (double)ds->rows);
        ds->shift[j] = (float)sum;
        ds->mul[j] = varies && sd > 0.0 && isfinite((float)(1.0 / sd)) ? (float)(1.0 / sd) : 1.0f;
    }
}

/* Class names, reason, target scaling, schema and description into ds. */
static int finish(bp__reader *r, bp_dataset *ds, const char *schema, bp_error *err)
{
    bp__plan *p = &r->plan;
    char detail[BP__SHOW + 32], name[BP__SHOW + 4];
    ds->classes = p->task == BP_TASK_CLASSIFY ? p->classes : 0;
    if (ds->classes > 0) {
        ds->class_names = bp__calloc((size_t)ds->classes, sizeof *ds->class_names);
        if (!ds->class_names)
            return bp__r_oom(r, err);
        for (int k = 0; k < ds->classes; k++)
            if (!(ds->class_names[k] = bp__r_dup_n(p->class_names[k],
                                                   strlen(p->class_names[k]))))
                return bp__r_oom(r, err);
    }
    snprintf(ds->reason, sizeof ds->reason, "%s", p->reason);
    ds->t_scaled = p->t_scaled;
    ds->t_mean = p->t_mean;
    ds->t_scale = p->t_scale;
    ds->no_targets = p->label.src < 0;
    ds->schema = schema ? bp__r_dup_n(schema, strlen(schema)) : bp__schema_write(p);
    if (!ds->schema)
        return bp__r_oom(r, err);
    if (p->label.name) {
        bp__show(p->label.name, strlen(p->label.name), name);
        snprintf(detail, sizeof detail, "label column '%s'", name);
        snprintf(ds->label, sizeof ds->label, "'%s'", p->label.name);
    } else {
        snprintf(detail, sizeof detail, "label column %d", p->label.pos);
        snprintf(ds->label, sizeof ds->label, "column %d", p->label.pos);
    }
    bp__dataset_name(ds, r->f.path, ds->no_targets ? "no labels" : detail);
    return 0;
}

static int read_header(bp__reader *r, int header, bp_error *err)
{
    r->header = header;
    if (!header)
        bp__r_merge_first(r);
    else if (r->records == 1)
        return bp__error_set(err, BP_EFORMAT, "%s: no data rows (only the header line)",
                             r->f.path);
    return 0;
}

/* Allocate and fill ds from the plan; rows kept and dropped. */
static bp_dataset *load_rows(bp__reader *r, const float *values, bp_error *err)
{
    size_t dropped = 0;
    bp_dataset *ds = bp__dataset_new(r->records - (r->header ? 1 : 0), r->plan.inputs, 1, 0,
                                     r->f.path, err);
    if (!ds)
        return NULL;
    if (bp__r_fill(r, ds, values, &dropped, err) != 0)
        goto fail;
    if (ds->rows == 0) {
        bp__error_set(err, BP_EFORMAT, "%s: no data rows left (%zu left out for missing "
                      "values)", r->f.path, dropped);
        goto fail;
    }
    if (dropped > 0)
        bp__r_notice(r->o, "%s: %zu row%s with missing values left out", r->f.path, dropped,
                     dropped == 1 ? "" : "s");
    return ds;
fail:
    bp_dataset_free(ds);
    return NULL;
}

bp_dataset *bp__csv_load(const char *path, const char *label, const bp_data_opts *o,
                         int legacy_labels, bp_error *err)
{
    bp__reader r;
    bp_dataset *ds = NULL;

    memset(&r, 0, sizeof r);
    r.o = o;
    r.legacy_labels = legacy_labels;
    if (label && label[0] == '\0') {
        bp__error_set(err, BP_EINVAL, "%s: empty label column (use :label=NAME or :label=INDEX)",
                      path);
        return NULL;
    }
    if (bp__csv_open(&r.f, path, o->sep, 0, err) != 0 || bp__r_survey(&r, err) != 0 ||
        read_header(&r, o->header >= 0 ? o->header : bp__r_detect_header(&r), err) != 0 ||
        choose_columns(&r, label, err) != 0 || bp__r_check_missing(&r, err) != 0 ||
        bp__r_collect_categories(&r, err) != 0 || check_utf8(&r, err) != 0 ||
        layout(&r, err) != 0)
        goto fail;
    r.plan.header = r.header;
    r.plan.file_cols = r.cols;
    r.plan.has_label = 1;
    r.plan.missing = o->missing;
    if (!(ds = load_rows(&r, NULL, err)))
        goto fail;
    bp__r_fill_means(&r, ds);
    if (decide_label(&r, ds, err) != 0)
        goto fail;
    if (o->standardize)
        standardize(&r.plan, ds);
    if (finish(&r, ds, NULL, err) != 0)
        goto fail;
    bp__r_reader_free(&r);
    return ds;
fail:
    bp_dataset_free(ds);
    bp__r_reader_free(&r);
    return NULL;
}

/* Whether the first record names a column of the plan. */
static int names_a_column(const bp__reader *r)
{
    const bp__plan *p = &r->plan;
    for (int c = 0; c < r->cols; c++)
        for (int k = 0; k <= p->ncols; k++) {
            const char *name = k < p->ncols ? p->cols[k].name : p->label.name;
            if (name && r->st[c].first_n == strlen(name) &&
                memcmp(r->st[c].first, name, r->st[c].first_n) == 0)
                return 1;
        }
    return 0;
}

/* Whether a first record that names no column of the plan is a header of
 * other names: by the header rule, or all text where the model reads a
 * number somewhere (a data row would hold one). */
static int other_header(const bp__reader *r)
{
    const bp__plan *p = &r->plan;
    int numeric = 0;
    if (bp__r_detect_header(r))
        return 1;
    for (int k = 0; k < p->ncols; k++)
        numeric |= !p->cols[k].text;
    for (int c = 0; c < r->cols; c++)
        if (r->st[c].first_kind != BP__CELL_TEXT)
            return 0;
    return numeric;
}

/* The inputs of the plan absent from the file's header (src -1), named
 * all at once with the header's names. */
static int missing_inputs(const bp__reader *r, bp_error *err)
{
    const bp__plan *p = &r->plan;
    char names[LIST], found[LIST];
    size_t k = 0;
    int n = 0;
    names[0] = '\0';
    for (int i = 0; i < p->ncols; i++) {
        char col[BP__SHOW + 4];
        int w;
        if (p->cols[i].src >= 0)
            continue;
        bp__show(p->cols[i].name, strlen(p->cols[i].name), col);
        w = snprintf(names + k, sizeof names - k, "%s'%s'", n ? ", " : "", col);
        if (w > 0 && (size_t)w < sizeof names - k)
            k += (size_t)w;
        n++;
    }
    if (n == 0)
        return 0;
    bp__r_list_columns(r, found, sizeof found);
    return bp__error_set(err, BP_EFORMAT, "%s: the model's column%s %s %s not in the header "
                         "(found %s)", r->f.path, n > 1 ? "s" : "", names, n > 1 ? "are" : "is",
                         found);
}

static int position_order(const void *a, const void *b)
{
    const bp__col *x = *(const bp__col *const *)a, *y = *(const bp__col *const *)b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Whether a header cell reads "label" (any case). */
static int is_label_name(const bp__colstat *s)
{
    static const char name[] = "label";
    if (s->first_n != sizeof name - 1)
        return 0;
    for (size_t i = 0; i < s->first_n; i++)
        if ((s->first[i] | 0x20) != name[i])
            return 0;
    return 1;
}

/* A plan by position whose every column is an input or the label (a model
 * without saved column names), read from a file with a header that leads
 * with a row index (as pandas and R write one), or with label (the spec's
 * :label=COL) naming the label column: the inputs are the other columns in
 * order. 1 when it applies and matched, 0 when it does not apply. */
static int match_by_position(bp__reader *r, const char *label, bp_error *err)
{
    bp__plan *p = &r->plan;
    int lab = -1, first, n = 0, rc;
    if (p->header || p->file_cols != p->ncols + 1)
        return 0;
    if (label && (rc = bp__r_find_column(r, label, strlen(label), "label", &lab, err)) != 0)
        return rc;
    /* a header that names a label column before the last one would feed it
     * in as an input: say how to name it instead */
    for (int c = 0; !label && r->header && c < r->cols - 1; c++)
        if (is_label_name(&r->st[c]))
            return bp__error_set(err, BP_EFORMAT, "%s: column %d is named '%.*s', but the "
                                 "model saved no column names and reads its inputs from the "
                                 "first columns, a label last; give the data as %s:label=%.*s",
                                 r->f.path, c, (int)r->st[c].first_n, r->st[c].first,
                                 r->f.path, (int)r->st[c].first_n, r->st[c].first);
    /* the row index by training's rule (choose_columns) */
    first = r->header && r->cols >= 3 && lab != 0 && is_index_name(&r->st[0]) &&
            !is_empty_column(r, 0);
    if (lab < 0 && !first)
        return 0;
    for (int c = first; c < r->cols; c++)
        n += c != lab;
    if (n != p->ncols && n != p->ncols + (lab < 0))
        return bp__error_set(err, BP_EFORMAT, "%s: %d column%s besides %s; the model takes %d "
                             "inputs%s", r->f.path, n, n == 1 ? "" : "s",
                             lab < 0    ? "the row index in column 0"
                             : first    ? "the label and the row index in column 0"
                                        : "the label",
                             p->ncols, lab < 0 ? ", and a label may follow them" : "");
    if (first)
        bp__r_notice(r->o, "%s: column 0 has no name (a row index, as R and pandas write "
                     "one); left out", r->f.path);
    /* the k-th input by training position reads the k-th column left */
    for (int i = 0; i < p->ncols; i++) {
        int k = p->cols[i].pos - (p->cols[i].pos > p->label.pos);
        n = first + k;
        n += lab >= 0 && n >= lab;
        p->cols[i].src = n;
    }
    n = first + p->ncols;
    p->label.src = lab >= 0 ? lab : n < r->cols ? n : -1;
    return 1;
}

/* A schema load: the file's columns for the plan's. */
static int match_columns(bp__reader *r, const char *label, int needs_label, bp_error *err)
{
    bp__plan *p = &r->plan;
    char names[LIST], col[BP__SHOW + 32];
    int rc;
    if ((rc = match_by_position(r, label, err)) < 0)
        return rc;
    if (rc == 1) {
        /* matched */
    } else if (r->header && p->header) {
        char *used = bp__calloc((size_t)r->cols, 1);
        size_t k = 0;
        if (!used)
            return bp__r_oom(r, err);
        for (int i = 0; i <= p->ncols; i++) {
            bp__col *c = i < p->ncols ? &p->cols[i] : &p->label;
            c->src = -1;
            /* the training position first, for repeated or empty names */
            for (int q = -1; q < r->cols && c->src < 0; q++) {
                int s = q < 0 ? c->pos : q;
                if (s < r->cols && !used[s] && r->st[s].first_n == strlen(c->name) &&
                    memcmp(r->st[s].first, c->name, r->st[s].first_n) == 0)
                    c->src = s;
            }
            if (c->src >= 0)
                used[c->src] = 1;
        }
        if (missing_inputs(r, err) != 0) {
            bp__free(used);
            return BP_EFORMAT;
        }
        names[0] = '\0';
        for (int s = 0; s < r->cols; s++) {
            char name[BP__SHOW + 4];
            int w;
            if (used[s])
                continue;
            bp__show(r->st[s].first, r->st[s].first_n, name);
            if (r->st[s].first_n == 0) /* a row index, as R and pandas write one */
                w = snprintf(names + k, sizeof names - k, "%scolumn %d (no name)",
                             k ? ", " : "", s);
            else
                w = snprintf(names + k, sizeof names - k, "%s'%s'", k ? ", " : "", name);
            if (w > 0 && (size_t)w < sizeof names - k)
                k += (size_t)w;
        }
        bp__free(used);
        if (k > 0)
            bp__r_notice(r->o, "%s: columns the model does not use, left out: %s", r->f.path,
                         names);
    } else if (r->cols == p->file_cols) {
        for (int i = 0; i < p->ncols; i++)
            p->cols[i].src = p->cols[i].pos;
        p->label.src = p->label.pos;
    } else if (r->cols == p->ncols) {
        bp__col **by = bp__calloc((size_t)p->ncols, sizeof *by);
        if (!by)
            return bp__r_oom(r, err);
        for (int i = 0; i < p->ncols; i++)
            by[i] = &p->cols[i];
        qsort(by, (size_t)p->ncols, sizeof *by, position_order);
        for (int i = 0; i < p->ncols; i++)
            by[i]->src = i;
        bp__free(by);
        p->label.src = -1;
    } else {
        return bp__error_set(err, BP_EFORMAT, "%s: %d column%s%s; the model was trained on %d "
                             "columns (%d without the label)%s", r->f.path, r->cols,
                             r->cols == 1 ? "" : "s", r->header ? "" : " and no header",
                             p->file_cols, p->ncols,
                             r->header && !p->header ? " and saved no column names" : "");
    }
    if (!needs_label)
        p->label.src = -1;
    else if (p->label.src < 0) {
        if (p->label.name)
            bp__show(p->label.name, strlen(p->label.name), col);
        else
            snprintf(col, sizeof col, "%d", p->label.pos);
        return bp__error_set(err, BP_EFORMAT, "%s: no label column '%s' (the targets are "
                             "needed)", r->f.path, col);
    }
    return 0;
}

bp_dataset *bp__csv_load_schema(const char *path, const char *schema, const char *label,
                                int needs_label, const bp_data_opts *o, bp_error *err)
{
    bp__reader r;
    bp_dataset *ds = NULL;
    float *values = NULL;
    int header;

    memset(&r, 0, sizeof r);
    r.o = o;
    r.schema_mode = 1;
    r.needs_label = needs_label;
    if (bp__schema_read(schema, &r.plan, err) != 0 ||
        bp__csv_open(&r.f, path, o->sep, !needs_label, err) != 0 ||
        bp__r_survey(&r, err) != 0)
        goto fail;
    header = o->header >= 0 ? o->header
                            : r.plan.header ? names_a_column(&r) || other_header(&r)
                                            : bp__r_detect_header(&r);
    if (read_header(&r, header, err) != 0 || match_columns(&r, label, needs_label, err) != 0 ||
        bp__r_check_missing(&r, err) != 0)
        goto fail;
    if (r.plan.label.src >= 0 && !r.plan.label.text && r.plan.task == BP_TASK_CLASSIFY) {
        values = bp__malloc((size_t)(r.plan.classes ? r.plan.classes : 1) * sizeof *values);
        if (!values) {
            bp__r_oom(&r, err);
            goto fail;
        }
        for (int k = 0; k < r.plan.classes; k++)
            values[k] = (float)strtod(r.plan.class_names[k], NULL);
    }
    if (r.plan.label.src >= 0 && r.plan.label.text) {
        /* the label's vocabulary is its class names */
        r.plan.label.vocab = r.plan.class_names;
        r.plan.label.nvocab = r.plan.classes;
    }
    ds = load_rows(&r, values, err);
    if (r.plan.label.vocab == r.plan.class_names) {
        r.plan.label.vocab = NULL;
        r.plan.label.nvocab = 0;
    }
    if (!ds || finish(&r, ds, schema, err) != 0)
        goto fail;
    bp__free(values);
    bp__r_reader_free(&r);
    return ds;
fail:
    bp__free(values);
    bp_dataset_free(ds);
    bp__r_reader_free(&r);
    return NULL;
}
