/*
 * csv.c - reads a comma-separated file of numbers into a float data set.
 *
 * The file is read whole into memory and scanned twice: once to count the
 * data rows, take the column count from the first line and detect a header
 * (a first line with a cell that is not a number), once to parse every cell
 * straight into the data set. Cells are numbers (strtod syntax) with
 * optional blanks around them; quoting is not supported. Blank lines are
 * skipped; CRLF line endings and a UTF-8 byte-order mark are accepted. One
 * column is the target (the last unless :label=COL names another), the
 * others are the inputs, in file order.
 *
 * Every error names the file; content errors also name the line (from 1),
 * the column (from 0, as :label=COL counts them, with its header name) and
 * the expected and the found value.
 */
#include "data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK ((size_t)1 << 16)   /* first buffer size; doubles as needed */
#define SHOW 40                         /* characters of a bad cell in a message */

/* A span of the file: [s, s + n). */
typedef struct span {
    const char *s;
    size_t n;
} span;

/* What the first scan learns, used by the second. */
typedef struct csv_file {
    const char *path;
    const char *text, *end;   /* the file's text (NUL at end) */
    span header;              /* the header line; s is NULL when there is none */
    size_t first_line;        /* line number of the first non-blank line */
    size_t lines;             /* non-blank lines */
    int cols;                 /* columns in every line */
    int label;                /* the target column */
} csv_file;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static span trim(span c)
{
    while (c.n > 0 && is_blank(c.s[0])) {
        c.s++;
        c.n--;
    }
    while (c.n > 0 && is_blank(c.s[c.n - 1]))
        c.n--;
    return c;
}

/* The line starting at p (without its '\n'); *next is where the next begins. */
static span next_line(const char *p, const char *end, const char **next)
{
    const char *q = memchr(p, '\n', (size_t)(end - p));
    span line;
    line.s = p;
    line.n = (size_t)((q ? q : end) - p);
    *next = q ? q + 1 : end;
    return line;
}

static int line_is_blank(span line)
{
    return trim(line).n == 0;
}

/* Cells in a line: its commas plus one. */
static size_t count_cells(span line)
{
    size_t n = 1;
    const char *p = line.s, *end = line.s + line.n;
    while ((p = memchr(p, ',', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Cell c of a line, trimmed (empty when the line has fewer cells). */
static span cell_at(span line, int c)
{
    const char *p = line.s, *end = line.s + line.n;
    span cell;
    cell.s = end;
    cell.n = 0;
    for (int k = 0;; k++) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        if (k == c) {
            cell.s = p;
            cell.n = (size_t)((q ? q : end) - p);
            break;
        }
        if (!q)
            break;
        p = q + 1;
    }
    return trim(cell);
}

/* A printable copy of a cell for messages, shortened to SHOW characters
 * and "...": bytes outside printable ASCII (control characters, non-UTF-8
 * or multi-byte text) are written as \xHH, so the message shows what the
 * file holds. */
static void show(span cell, char out[SHOW + 4])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < cell.n; i++) {
        unsigned char ch = (unsigned char)cell.s[i];
        int printable = ch >= 0x20 && ch < 0x7f;
        if (k + (printable ? 1 : 4) > SHOW) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        if (printable) {
            out[k++] = (char)ch;
        } else {
            out[k++] = '\\';
            out[k++] = 'x';
            out[k++] = hex[ch >> 4];
            out[k++] = hex[ch & 15];
        }
    }
    out[k] = '\0';
}

/* "column 3 ('petal_width')", or "column 3" without a header. */
static void column_name(const csv_file *f, int c, char *out, size_t size)
{
    if (f->header.s) {
        char name[SHOW + 4];
        show(cell_at(f->header, c), name);
        snprintf(out, size, "column %d ('%s')", c, name);
    } else {
        snprintf(out, size, "column %d", c);
    }
}

/* Whether a trimmed cell is one number; *v receives it. strtod stops at the
 * comma, blank or line end after the cell, none of which continue a number,
 * so it never reads past the cell's end. */
static int parse_number(span cell, double *v)
{
    char *endp;
    if (cell.n == 0)
        return 0;
    *v = strtod(cell.s, &endp);
    return endp == cell.s + cell.n;
}

/* Read the whole file into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *out_len, bp_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = READ_CHUNK, len = 0;
    int rc = 0;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f)
        return bp__error_set(err, BP_EIO, "cannot open %s: %s", path, strerror(errno));
    buf = bp__malloc(cap);
    if (!buf) {
        rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    for (;;) {
        char *bigger;
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1) {
            if (ferror(f))
                rc = bp__error_set(err, BP_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (cap > SIZE_MAX / 2) {
            rc = bp__error_set(err, BP_EOVERFLOW, "%s is too large to read", path);
            break;
        }
        bigger = bp__malloc(cap * 2);
        if (!bigger) {
            rc = bp__error_set(err, BP_ENOMEM, "out of memory reading %s (%zu bytes so far)",
                               path, len);
            break;
        }
        memcpy(bigger, buf, len);
        bp__free(buf);
        buf = bigger;
        cap *= 2;
    }
done:
    if (fclose(f) != 0 && rc == 0)
        rc = bp__error_set(err, BP_EIO, "cannot read %s: %s", path, strerror(errno));
    if (rc != 0 || !buf) {
        bp__free(buf);
        return rc != 0 ? rc : BP_ENOMEM;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* First scan: lines, columns, header. */
static int scan(csv_file *f, bp_error *err)
{
    const char *p = f->text, *next;
    span first = {NULL, 0};
    size_t lineno = 0, cols;
    double v;

    f->lines = 0;
    for (; p < f->end; p = next) {
        span line = next_line(p, f->end, &next);
        lineno++;
        if (line_is_blank(line))
            continue;
        if (f->lines++ == 0) {
            first = line;
            f->first_line = lineno;
        }
    }
    if (f->lines == 0)
        return bp__error_set(err, BP_EFORMAT, "%s: no data rows (the file is empty)", f->path);
    cols = count_cells(first);
    if (cols < 2)
        return bp__error_set(err, BP_EFORMAT,
                             "%s:%zu: expected at least 2 columns (inputs and a label), found 1",
                             f->path, f->first_line);
    if (cols > (size_t)BP__DATA_MAX_INPUTS)
        return bp__error_set(err, BP_EFORMAT, "%s:%zu: %zu columns; at most %d are supported",
                             f->path, f->first_line, cols, BP__DATA_MAX_INPUTS);
    f->cols = (int)cols;
    /* A first line with a cell that is neither empty nor a number is the
     * header (an empty cell alone is a missing value, not a name). */
    f->header.s = NULL;
    for (int c = 0; c < f->cols; c++) {
        span cell = cell_at(first, c);
        if (cell.n > 0 && cell.s[0] == '"') {
            char found[SHOW + 4];
            show(cell, found);
            return bp__error_set(err, BP_EFORMAT,
                                 "%s:%zu: column %d: found a quoted cell '%s'; quotes are not supported",
                                 f->path, f->first_line, c, found);
        }
        if (cell.n > 0 && !parse_number(cell, &v))
            f->header = first;
    }
    if (f->header.s && f->lines == 1)
        return bp__error_set(err, BP_EFORMAT, "%s: no data rows (only the header line)", f->path);
    return 0;
}

/* Resolve :label=COL (NULL: the last column). */
static int find_label(csv_file *f, const char *label, bp_error *err)
{
    char names[200];
    size_t k = 0;
    char *endp;
    long index;

    if (!label) {
        f->label = f->cols - 1;
        return 0;
    }
    if (f->header.s)
        for (int c = 0; c < f->cols; c++) {
            span name = cell_at(f->header, c);
            if (name.n == strlen(label) && memcmp(name.s, label, name.n) == 0) {
                f->label = c;
                return 0;
            }
        }
    if (label[0] >= '0' && label[0] <= '9') {
        errno = 0;
        index = strtol(label, &endp, 10);
        if (*endp == '\0' && errno == 0) {
            if (index >= f->cols)
                return bp__error_set(err, BP_EINVAL,
                                     "%s: label column %ld is out of range (the file has %d columns, 0 to %d)",
                                     f->path, index, f->cols, f->cols - 1);
            f->label = (int)index;
            return 0;
        }
    }
    if (!f->header.s)
        return bp__error_set(err, BP_EINVAL,
                             "%s: no header row, so the label column must be an index from 0 to %d, not '%s'",
                             f->path, f->cols - 1, label);
    /* List the header names, as many as fit. */
    names[0] = '\0';
    for (int c = 0; c < f->cols && k + 8 < sizeof names; c++) {
        char name[SHOW + 4];
        int n;
        show(cell_at(f->header, c), name);
        n = snprintf(names + k, sizeof names - k, "%s'%s'", c ? ", " : "", name);
        if (n < 0 || (size_t)n >= sizeof names - k) {
            snprintf(names + k, sizeof names - k, ", ...");
            break;
        }
        k += (size_t)n;
    }
    return bp__error_set(err, BP_EINVAL, "%s: no column named '%s' (columns: %s)", f->path,
                         label, names);
}

/* Parse one cell into *out, or fill err. */
static int parse_cell(const csv_file *f, size_t lineno, int c, span cell, float *out,
                      bp_error *err)
{
    char col[SHOW + 32], found[SHOW + 4];
    const char *expected = NULL, *hint = "";
    double v = 0.0;

    if (cell.n > 0 && cell.s[0] == '"') {
        expected = "an unquoted number (quotes are not supported)";
    } else if (!parse_number(cell, &v)) {
        expected = "a number";
        if (c == f->label)
            hint = " (the label column must hold numbers)";
    } else if (!isfinite(v)) {
        expected = "a finite number";
    } else if (fabs(v) > FLT_MAX) {
        expected = "a number within float range";
    }
    if (!expected) {
        *out = (float)v;
        return 0;
    }
    column_name(f, c, col, sizeof col);
    if (cell.n == 0)
        return bp__error_set(err, BP_EFORMAT, "%s:%zu: %s: expected %s, found an empty cell",
                             f->path, lineno, col, expected);
    show(cell, found);
    return bp__error_set(err, BP_EFORMAT, "%s:%zu: %s: expected %s, found '%s'%s", f->path,
                         lineno, col, expected, found, hint);
}

/* Second scan: every data cell into ds. */
static int fill(const csv_file *f, bp_dataset *ds, bp_error *err)
{
    const char *p = f->text, *next;
    float *x = ds->x, *t = ds->t;
    size_t lineno = 0, r = 0;
    int skip_header = f->header.s != NULL;

    for (; p < f->end; p = next) {
        span line = next_line(p, f->end, &next);
        const char *q, *end;
        size_t found;
        lineno++;
        if (line_is_blank(line))
            continue;
        if (skip_header) {
            skip_header = 0;
            continue;
        }
        found = count_cells(line);
        if (found != (size_t)f->cols)
            return bp__error_set(err, BP_EFORMAT, "%s:%zu: expected %d columns (as in line %zu), found %zu",
                                 f->path, lineno, f->cols, f->first_line, found);
        q = line.s;
        end = line.s + line.n;
        for (int c = 0; c < f->cols; c++) {
            const char *comma = memchr(q, ',', (size_t)(end - q));
            span cell;
            int rc;
            cell.s = q;
            cell.n = (size_t)((comma ? comma : end) - q);
            cell = trim(cell);
            rc = parse_cell(f, lineno, c, cell, c == f->label ? &t[r] : x, err);
            if (rc != 0)
                return rc;
            if (c != f->label)
                x++;
            q = comma ? comma + 1 : end;
        }
        r++;
    }
    return 0;
}

bp_dataset *bp__csv_load(const char *path, const char *label, bp_error *err)
{
    csv_file f;
    char *text = NULL, detail[SHOW + 32];
    size_t len = 0;
    bp_dataset *ds = NULL;

    memset(&f, 0, sizeof f);
    f.path = path;
    if (label && label[0] == '\0') {
        bp__error_set(err, BP_EINVAL, "%s: empty label column (use :label=NAME or :label=INDEX)",
                      path);
        goto fail;
    }
    if (read_file(path, &text, &len, err) != 0)
        goto fail;
    f.text = text;
    f.end = text + len;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        f.text += 3; /* UTF-8 byte-order mark */
    if (scan(&f, err) != 0 || find_label(&f, label, err) != 0)
        goto fail;
    ds = bp__dataset_new(f.lines - (f.header.s ? 1 : 0), f.cols - 1, 1, 0, path, err);
    if (!ds || fill(&f, ds, err) != 0)
        goto fail;
    ds->classes = bp__dataset_classes_of(ds->t, ds->rows);
    if (f.header.s) {
        char name[SHOW + 4];
        show(cell_at(f.header, f.label), name);
        snprintf(detail, sizeof detail, "label column '%s'", name);
    } else {
        snprintf(detail, sizeof detail, "label column %d", f.label);
    }
    bp__dataset_name(ds, path, detail);
    bp__free(text);
    return ds;
fail:
    bp_dataset_free(ds);
    bp__free(text);
    return NULL;
}
