/*
 * data.h - declarations shared by the data-set files in src/data/ (the
 * type in dataset.c, the readers in csv.c and idx.c, the spec dispatch in
 * load.c). Nothing here is public API.
 *
 * A data set is one allocation: this struct, then the scaling (shift, mul),
 * the targets and the inputs; what delimited text adds (class names, the
 * schema) is allocated apart and freed with it. x holds rows * inputs values, bytes (IDX
 * images) or floats as `bytes` says; t holds rows * T floats; classes > 0
 * only when T == 1 and every target is an integer in [0, classes).
 */
#ifndef BP_DATA_H
#define BP_DATA_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

#define BP__DATA_DESCRIBE 512  /* bytes kept for bp_dataset_describe */
#define BP__DATA_MAX_INPUTS (1 << 24)
#define BP__DATA_MAX_CLASS 65535 /* largest target read as a class label */

struct bp_dataset {
    size_t rows;
    int inputs;        /* I */
    int shape[3];      /* C, H, W of a sample: {1, H, W} for images, else
                          {I, 0, 0}; the nonzero sides multiply to I */
    int T;             /* target columns */
    int classes;       /* > 0: targets are class indices; 0: numbers */
    int bytes;         /* 1: x holds uint8 values; 0: floats */
    void *x;           /* (rows, inputs) uint8_t or float */
    float *t;          /* (rows, T) */
    float *shift;      /* (inputs) */
    float *mul;        /* (inputs) */
    char describe[BP__DATA_DESCRIBE];
    char reason[96];   /* why the task is what it is; "" when not guessed */
    char label[128];   /* "'price'", "column 2"; "" when not read from a file */
    char **class_names;/* (classes) NULL-able, each allocated */
    char *schema;      /* JSON text or NULL */
    int no_targets;    /* 1: t holds zeros, no label was read */
    int t_scaled;      /* 1: t = (value - t_mean) / t_scale */
    double t_mean, t_scale;
};

/* ---- dataset.c */
/* A data set of the given shape in one allocation, values uninitialised,
 * classes 0, scaling identity (bytes == 0) or shift 0, mul 1/255 (bytes),
 * sample shape {inputs, 0, 0} (a reader of images sets its own).
 * `what` names the source in error messages. */
bp_dataset *bp__dataset_new(size_t rows, int inputs, int T, int bytes,
                            const char *what, bp_error *err);
/* Write the description: "NAME (R rows, I inputs[, DETAIL], C classes)",
 * or "numeric target(s)" in place of the classes. detail may be NULL. */
void bp__dataset_name(bp_dataset *ds, const char *name, const char *detail);
/* Classes of a single target column t (n values): the largest + 1 when all
 * are integers in [0, BP__DATA_MAX_CLASS], otherwise 0 (also for n == 0). */
int bp__dataset_classes_of(const float *t, size_t n);

/* ---- csv_read.c: delimited text split into records of cells. */
typedef struct bp__cell {
    const char *s;   /* content: quotes removed, "" undone, blanks trimmed
                        around unquoted cells; not NUL-terminated */
    size_t n;
    int quoted;
} bp__cell;

typedef struct bp__csv {
    const char *path;
    char *buf;               /* the file, NUL-terminated (owned) */
    const char *text, *end;  /* after any byte-order mark */
    char sep;
    /* the record cursor */
    const char *p;
    size_t line;             /* physical line of p, from 1 */
    bp__cell *cells;         /* (cap) the current record */
    int n, cap;
    size_t rec_line;         /* line the current record starts on */
    char *scratch;           /* unescaped quoted cells of the record */
    size_t scratch_cap;
} bp__csv;

/* Read path whole, refuse UTF-16 and NUL bytes, skip a UTF-8 BOM, and
 * find the separator (sep 0) or check the given one gives > 1 columns;
 * one_col: a file of one column is accepted (data without a label). */
int bp__csv_open(bp__csv *f, const char *path, char sep, int one_col, bp_error *err);
void bp__csv_close(bp__csv *f);
/* Back to the first record. */
void bp__csv_rewind(bp__csv *f);
/* The next record into f->cells / f->n, skipping blank lines: 1, or 0 at
 * the end, or a negative code (a quote never closed). */
int bp__csv_next(bp__csv *f, bp_error *err);
/* Cell kinds: missing (the documented set), a number (decimal syntax,
 * inf/nan words aside; with a separator other than ',' the decimal point
 * may be a comma) or text. */
enum { BP__CELL_MISSING, BP__CELL_NUMBER, BP__CELL_TEXT };
int bp__cell_kind(const bp__cell *c, char sep);
/* The value of a BP__CELL_NUMBER cell of a file separated by sep. */
double bp__cell_number(const bp__cell *c, char sep);
/* 1 and *v when the cell is a whole number of at most 15 digits (the fast
 * path of both); 0 otherwise. */
int bp__cell_int(const bp__cell *c, double *v);
/* A printable copy of at most 40 characters for messages (\xHH for bytes
 * outside printable ASCII, "..." when shortened). */
#define BP__SHOW 40
void bp__show(const char *s, size_t n, char out[BP__SHOW + 4]);

/* ---- csv.c and schema.c: a file read through a plan of columns. */
typedef struct bp__col {
    char *name;        /* header name (allocated); NULL without a header */
    int pos;           /* position in the training file */
    int src;           /* position in the file being read; -1: absent */
    int text;          /* 1: categories (one-hot input or class names) */
    char **vocab;      /* (nvocab) sorted by bytes, each allocated */
    int nvocab;
    int has_fill;      /* a missing cell takes fill (number) or fill_cat */
    double fill;
    int fill_cat;
    int offset;        /* first input it fills */
} bp__col;

typedef struct bp__plan {
    bp__col *cols;     /* (ncols) the inputs' columns, in input order */
    int ncols;
    bp__col label;     /* label.src -1: none in the file */
    int has_label;     /* the training had one (always) */
    int header;        /* the training file had a header */
    int file_cols;     /* columns of the training file */
    int inputs;
    bp_task task;      /* CLASSIFY or REGRESS once decided */
    char reason[96];
    int classes;
    char **class_names;/* (classes) */
    int t_scaled;
    double t_mean, t_scale;
    bp_missing missing;
} bp__plan;

void bp__plan_free(bp__plan *p);
/* schema.c: the plan as JSON (allocated), and back. */
char *bp__schema_write(const bp__plan *p);
int bp__schema_read(const char *json, bp__plan *p, bp_error *err);
/* Whether [s, s + n) is valid UTF-8 (shortest forms, no surrogates). */
int bp__utf8_valid(const char *s, size_t n);

/* csv_load.c: delimited text, label a name or index (NULL: o->label);
 * legacy_labels: bp_dataset_load's rule for numeric labels. */
bp_dataset *bp__csv_load(const char *path, const char *label, const bp_data_opts *o,
                         int legacy_labels, bp_error *err);
/* A schema load; label (may be NULL), the spec's :label=COL, places the
 * label of a plan by position (a model without saved column names). */
bp_dataset *bp__csv_load_schema(const char *path, const char *schema, const char *label,
                                int needs_label, const bp_data_opts *o, bp_error *err);

/* ---- idx.c: images (magic 0x803) and labels (0x801), gzipped or plain.
 * name (may be NULL: the images path) starts the description. */
bp_dataset *bp__idx_load(const char *images, const char *labels,
                         const char *name, bp_error *err);

/* ---- load.c: Fashion-MNIST's "train" or "test" part, looked for in
 * env_dir (may be NULL), then env_dir/fashion-mnist, then system_dir. */
bp_dataset *bp__fashion_load(const char *part, const char *env_dir,
                             const char *system_dir, bp_error *err);

/* ---- csv.c: the passes over delimited text, shared by the training load
 * and the schema load (csv_load.c). */
/* What the survey learns of one column. */
typedef struct bp__colstat {
    size_t missing, numbers, texts;   /* below the first record */
    size_t missing_line, text_line;   /* the first of each */
    char text[BP__SHOW + 4];          /* the first text cell, shown */
    int first_kind;                   /* the first record's cell */
    int recurs;                       /* that cell's text recurs below */
    char *first;                      /* that cell (allocated) */
    size_t first_n;
} bp__colstat;

typedef struct bp__reader {
    bp__csv f;
    const bp_data_opts *o;
    bp__colstat *st;      /* (cols) */
    int cols;
    size_t records;   /* every record, the first included */
    size_t first_line;
    int header;
    int schema_mode;  /* the plan comes from a schema */
    int needs_label;
    int legacy_labels; /* numeric labels as bp_dataset_load reads them */
    bp__plan plan;
} bp__reader;

void bp__r_notice(const bp_data_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
char *bp__r_dup_n(const char *s, size_t n);
int bp__r_oom(const bp__reader *r, bp_error *err);
void bp__r_reader_free(bp__reader *r);
/* "column 3 ('petal_width')", or "column 3" without a header. */
void bp__r_column_name(const bp__reader *r, int c, char *out, size_t size);
/* Count records and each column's kinds of cells; the first record apart. */
int bp__r_survey(bp__reader *r, bp_error *err);
int bp__r_detect_header(const bp__reader *r);
/* Without a header, count the first record as data. */
void bp__r_merge_first(bp__reader *r);
void bp__r_list_columns(const bp__reader *r, char *out, size_t size);
/* The column named or numbered by [s, s + n); what: "label", "feature". */
int bp__r_find_column(const bp__reader *r, const char *s, size_t n, const char *what, int *out,
                      bp_error *err);
/* Set use[c] = mark for each column of a comma-separated list; order (may
 * be NULL) receives the new ones in the order given. */
int bp__r_mark_list(const bp__reader *r, const char *list, const char *what, char *use,
                    char mark, int *order, int *n_order, bp_error *err);
int bp__r_check_missing(const bp__reader *r, bp_error *err);
/* Training: the sorted vocabulary (and most frequent value) of each text
 * column of the plan. */
int bp__r_collect_categories(bp__reader *r, bp_error *err);
/* Index of [s, s + n) in a sorted vocabulary, or -1. */
int bp__r_vocab_find(char *const *v, int nv, const char *s, size_t n);
/* Fill ds from the kept records; values: a numeric class label's values. */
int bp__r_fill(bp__reader *r, bp_dataset *ds, const float *values, size_t *dropped,
               bp_error *err);
void bp__r_fill_means(bp__reader *r, bp_dataset *ds);

#endif /* BP_DATA_H */
