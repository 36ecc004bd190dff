/*
 * csv_read.c - splits delimited text into records of cells (RFC 4180).
 *
 * The file is read whole into one buffer, which is never written after
 * that, so the readers in csv.c can walk it as often as they need (count,
 * collect categories, fill). A quoted cell may hold the separator, line
 * breaks and doubled quotes; only a cell with doubled quotes is copied (to
 * the record's scratch buffer, undone), every other cell points into the
 * file. The cursor counts physical lines, so a record knows the line it
 * starts on and a quote never closed is reported at the line it opened.
 * Also here: the separator's detection and the kinds of cells (missing,
 * number, text).
 */
#define _POSIX_C_SOURCE 200809L /* fstat, for the buffer's first size */

#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_CHUNK ((size_t)1 << 16)  /* first buffer size; doubles as needed */
#define SEP_RECORDS 20                /* records looked at to find the separator */

void bp__show(const char *s, size_t n, char out[BP__SHOW + 4])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int printable = ch >= 0x20 && ch < 0x7f;
        if (k + (printable ? 1 : 4) > BP__SHOW) {
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

/* Read the whole file into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *out_len, bp_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = READ_CHUNK, len = 0;
    int rc = 0;

    struct stat st;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f)
        return bp__error_set(err, BP_EIO, "cannot open %s: %s", path, strerror(errno));
    /* A regular file is read in one go, without copies as the buffer grows;
     * 2 bytes over its size, so that the read ends short, at its end. */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (unsigned long long)st.st_size < SIZE_MAX / 4)
        cap = (size_t)st.st_size + 2;
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

void bp__csv_rewind(bp__csv *f)
{
    f->p = f->text;
    f->line = 1;
}

/* Room for `need` cells in the record. */
static int grow_cells(bp__csv *f, bp_error *err)
{
    int cap = f->cap ? f->cap * 2 : 64;
    bp__cell *cells;
    if (f->cap >= BP__DATA_MAX_INPUTS)
        return bp__error_set(err, BP_EFORMAT, "%s:%zu: more than %d columns", f->path,
                             f->rec_line, BP__DATA_MAX_INPUTS);
    cells = bp__malloc((size_t)cap * sizeof *cells);
    if (!cells)
        return bp__error_set(err, BP_ENOMEM, "%s: out of memory for %d columns", f->path, cap);
    if (f->n > 0)
        memcpy(cells, f->cells, (size_t)f->n * sizeof *cells);
    bp__free(f->cells);
    f->cells = cells;
    f->cap = cap;
    return 0;
}

static int is_blank(char c, char sep)
{
    return c == ' ' || (c == '\t' && sep != '\t') || c == '\r' || c == '\v' || c == '\f';
}

/* A quoted cell from the opening quote at *pp: its content, with doubled
 * quotes undone into the scratch buffer (as an offset, fixed up once the
 * record is whole, since the buffer may move). */
static int quoted_cell(bp__csv *f, const char **pp, bp__cell *c, size_t *scratch_off,
                       size_t *used, bp_error *err)
{
    const char *p = *pp + 1, *start = p, *end = f->end;
    size_t open_line = f->line;
    int doubled = 0;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *nl = p;
        if (!q)
            return bp__error_set(err, BP_EFORMAT,
                                 "%s:%zu: a quoted cell opened on this line is never closed "
                                 "(no closing '\"' before the end of the file)",
                                 f->path, open_line);
        while ((nl = memchr(nl, '\n', (size_t)(q - nl))) != NULL) {
            f->line++;
            nl++;
        }
        if (q + 1 < end && q[1] == '"') {
            doubled = 1;
            p = q + 2;
            continue;
        }
        p = q;
        break;
    }
    c->quoted = 1;
    c->n = (size_t)(p - start);
    c->s = start;
    *scratch_off = SIZE_MAX;
    if (doubled) {
        size_t need = *used + c->n, k = *used;
        if (need > f->scratch_cap) {
            size_t cap = need * 2 + 64;
            char *s = bp__malloc(cap);
            if (!s)
                return bp__error_set(err, BP_ENOMEM, "%s:%zu: out of memory for a quoted cell",
                                     f->path, open_line);
            if (*used > 0)
                memcpy(s, f->scratch, *used);
            bp__free(f->scratch);
            f->scratch = s;
            f->scratch_cap = cap;
        }
        for (const char *q = start; q < p; q++) {
            f->scratch[k++] = *q;
            if (*q == '"')
                q++;
        }
        *scratch_off = *used;
        c->n = k - *used;
        *used = k;
    }
    *pp = p + 1;
    return 0;
}

int bp__csv_next(bp__csv *f, bp_error *err)
{
    const char *p, *end = f->end;
    size_t offs_used = 0;
    int rc;
    char sep = f->sep;

    for (;;) {
        p = f->p;
        if (p >= end)
            return 0;
        f->n = 0;
        f->rec_line = f->line;
        offs_used = 0;
        for (;;) {
            bp__cell c;
            size_t off = SIZE_MAX;
            while (p < end && is_blank(*p, sep) && *p != '\r')
                p++;
            if (p < end && *p == '"') {
                rc = quoted_cell(f, &p, &c, &off, &offs_used, err);
                if (rc != 0)
                    return rc;
                while (p < end && is_blank(*p, sep))
                    p++;
                if (p < end && *p != sep && *p != '\n') {
                    char found[BP__SHOW + 4];
                    const char *e = p;
                    while (e < end && *e != sep && *e != '\n')
                        e++;
                    bp__show(p, (size_t)(e - p), found);
                    return bp__error_set(err, BP_EFORMAT,
                                         "%s:%zu: column %d: expected a separator or the line's "
                                         "end after a closing quote, found '%s'",
                                         f->path, f->line, f->n, found);
                }
            } else {
                const char *s = p;
                while (p < end && *p != sep && *p != '\n')
                    p++;
                c.s = s;
                c.n = (size_t)(p - s);
                while (c.n > 0 && is_blank(c.s[c.n - 1], sep))
                    c.n--;
                c.quoted = 0;
            }
            if (f->n == f->cap && (rc = grow_cells(f, err)) != 0)
                return rc;
            /* an undone cell's offset waits in s until the record is whole */
            if (off != SIZE_MAX)
                c.s = (const char *)(uintptr_t)(off + 1);
            c.quoted |= off != SIZE_MAX ? 2 : 0;
            f->cells[f->n++] = c;
            if (p < end && *p == sep) {
                p++;
                continue;
            }
            if (p < end) { /* '\n' */
                p++;
                f->line++;
            }
            break;
        }
        f->p = p;
        for (int k = 0; offs_used > 0 && k < f->n; k++)
            if (f->cells[k].quoted & 2) {
                f->cells[k].s = f->scratch + ((uintptr_t)f->cells[k].s - 1);
                f->cells[k].quoted = 1;
            }
        /* a blank line: one unquoted empty cell */
        if (f->n == 1 && !f->cells[0].quoted && f->cells[0].n == 0)
            continue;
        return 1;
    }
}

/* Columns of each of the first records with separator sep into *cols, or
 * 0 when they differ (or a record cannot be read); *first those of the
 * first record. Fails only for want of memory. */
static int columns_with(bp__csv *f, char sep, int *cols, int *first, bp_error *err)
{
    int same = 1, rc = 0;
    bp_error local;
    f->sep = sep;
    bp__csv_rewind(f);
    *first = *cols = 0;
    for (int r = 0; r < SEP_RECORDS; r++) {
        rc = bp__csv_next(f, &local);
        if (rc <= 0) {
            if (rc == BP_ENOMEM)
                return bp__error_set(err, rc, "%s", local.message);
            if (rc < 0)
                same = 0;
            break;
        }
        if (r == 0)
            *cols = *first = f->n;
        else if (f->n != *cols)
            same = 0;
    }
    bp__csv_rewind(f);
    if (!same)
        *cols = 0;
    return 0;
}

/* The separator as messages name it: "','", "tab", "'X'". */
static void sep_name(char sep, char out[8])
{
    if (sep == '\t')
        snprintf(out, 8, "tab");
    else if ((unsigned char)sep >= 0x20 && (unsigned char)sep < 0x7F)
        snprintf(out, 8, "'%c'", sep);
    else
        snprintf(out, 8, "\\x%02X", (unsigned)(unsigned char)sep);
}

/* Choose the separator: the one giving the same column count (> 1) over
 * the first records, the most columns winning, ties in the order below;
 * when none is consistent, the one whose first record has the most
 * columns, so that the full read names the ragged line. With one_col, a
 * file of one column everywhere is read as such (by ','). */
static int detect_sep(bp__csv *f, int one_col, bp_error *err)
{
    static const char seps[4] = {',', ';', '\t', '|'};
    int best = -1, best_cols = 1, loose = -1, loose_cols = 1;
    for (int i = 0; i < 4; i++) {
        int first, cols, rc = columns_with(f, seps[i], &cols, &first, err);
        if (rc != 0)
            return rc;
        if (cols > best_cols) {
            best = i;
            best_cols = cols;
        }
        if (first > loose_cols) {
            loose = i;
            loose_cols = first;
        }
    }
    if (best < 0)
        best = loose;
    if (best < 0 && one_col)
        best = 0;
    if (best < 0)
        return bp__error_set(err, BP_EFORMAT,
                             "%s: found one column with each separator tried (',', ';', tab, "
                             "'|'); inputs and a label need two columns (name its "
                             "separator with --sep)", f->path);
    f->sep = seps[best];
    bp__csv_rewind(f);
    return 0;
}

int bp__csv_open(bp__csv *f, const char *path, char sep, int one_col, bp_error *err)
{
    size_t len = 0;
    int rc, first, cols;
    const char *nul;

    memset(f, 0, sizeof *f);
    f->path = path;
    if ((rc = read_file(path, &f->buf, &len, err)) != 0)
        return rc;
    f->text = f->buf;
    f->end = f->buf + len;
    if (len >= 2 && ((unsigned char)f->buf[0] == 0xFF && (unsigned char)f->buf[1] == 0xFE))
        return bp__error_set(err, BP_EFORMAT, "%s: the file is UTF-16 text; save it as UTF-8",
                             path);
    if (len >= 2 && ((unsigned char)f->buf[0] == 0xFE && (unsigned char)f->buf[1] == 0xFF))
        return bp__error_set(err, BP_EFORMAT, "%s: the file is UTF-16 text; save it as UTF-8",
                             path);
    if ((nul = memchr(f->buf, '\0', len)) != NULL) {
        size_t line = 1;
        for (const char *q = f->buf; q < nul; q++)
            line += *q == '\n';
        return bp__error_set(err, BP_EFORMAT,
                             "%s:%zu: a NUL byte (a UTF-16 or binary file?); save it as UTF-8 "
                             "text", path, line);
    }
    if (len >= 3 && memcmp(f->buf, "\xEF\xBB\xBF", 3) == 0)
        f->text += 3;
    bp__csv_rewind(f);
    {
        const char *q = f->text;
        while (q < f->end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
            q++;
        if (q == f->end)
            return bp__error_set(err, BP_EFORMAT, "%s: no data rows (the file is empty)", path);
    }
    if (sep == 0)
        return detect_sep(f, one_col, err);
    if (sep == '"' || sep == '\n' || sep == '\r')
        return bp__error_set(err, BP_EINVAL, "%s: the separator cannot be a quote or a line "
                             "break", path);
    if ((rc = columns_with(f, sep, &cols, &first, err)) != 0)
        return rc;
    f->sep = sep;
    if (first < 2 && !one_col) {
        char name[8];
        sep_name(sep, name);
        return bp__error_set(err, BP_EFORMAT,
                             "%s:%zu: found 1 column with the separator %s; inputs and a label "
                             "need two columns", path, (size_t)1, name);
    }
    return 0;
}

void bp__csv_close(bp__csv *f)
{
    bp__free(f->buf);
    bp__free(f->cells);
    bp__free(f->scratch);
    memset(f, 0, sizeof *f);
}

static int word_is(const bp__cell *c, const char *w)
{
    size_t n = strlen(w);
    return c->n == n && memcmp(c->s, w, n) == 0;
}

/* Whether [s, s + n) is a decimal number: [+-] digits [. digits] [e [+-]
 * digits], or inf/infinity (refused later as not finite); point is the
 * decimal point ('.' or, in files not separated by commas, also ','). */
static int is_number(const char *s, size_t n, int comma)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i == n)
        return digits > 0; /* the common case: a whole number */
    if (s[i] == '.' || (comma && s[i] == ',')) {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        static const char inf[] = "infinity";
        size_t k = 0;
        if (n - i != 3 && n - i != 8)
            return 0;
        for (; i + k < n; k++) {
            char ch = s[i + k];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (ch != inf[k])
                return 0;
        }
        return 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            e++;
        }
        if (e == 0)
            return 0;
    }
    return i == n;
}

int bp__cell_kind(const bp__cell *c, char sep)
{
    static const char *const missing[] = {"NA", "N/A", "NaN", "nan", "null", "NULL", "None",
                                          "?"};
    if (c->n == 0)
        return BP__CELL_MISSING;
    if (is_number(c->s, c->n, sep != ','))
        return BP__CELL_NUMBER;
    if (c->n <= 4)
        for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
            if (word_is(c, missing[i]))
                return BP__CELL_MISSING;
    return BP__CELL_TEXT;
}

int bp__cell_int(const bp__cell *c, double *v)
{
    /* Whole numbers of up to 15 digits are exact in a double: read here,
     * which is most cells of a typical file, and several times faster. */
    const char *s = c->s;
    size_t n = c->n, i = 0;
    double x = 0.0;
    int neg = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (n - i < 1 || n - i > 15)
        return 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        x = x * 10.0 + (double)d;
    }
    *v = neg ? -x : x;
    return 1;
}

double bp__cell_number(const bp__cell *c, char sep)
{
    char buf[64];
    const char *comma;
    double v;
    if (bp__cell_int(c, &v))
        return v;
    /* A decimal comma (1,5 in a ';' file, as spreadsheets in many locales
     * write it) becomes a point for strtod. */
    if (sep != ',' && (comma = memchr(c->s, ',', c->n)) != NULL) {
        if (c->n >= sizeof buf)
            return NAN;
        memcpy(buf, c->s, c->n);
        buf[c->n] = '\0';
        buf[comma - c->s] = '.';
        return strtod(buf, NULL);
    }
    /* The cell is followed by a byte that cannot continue a number (a
     * separator, a quote, a blank, a line end or the final NUL), so strtod
     * stops at its end. */
    return strtod(c->s, NULL);
}
