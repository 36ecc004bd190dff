/*
 * options.c - a subcommand's options from one table: getopt_long's list is
 * made from it, each value is read as its kind says, its --help is printed
 * from it (aligned, with the defaults) and a misspelled option or command
 * is answered with the nearest name.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define HELP_WIDTH 79 /* columns of --help's lines */
#define LABEL_MAX 20  /* longest "--name ARG" that keeps its help on its line */
#define KEY_BASE 256  /* getopt_long's value of table entry i is KEY_BASE + i */

/* ---- did you mean ------------------------------------------------------- */

/* Edits (insert, delete, substitute, swap two neighbours) from a to b. */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 99;
    int d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *cli_nearest(const char *given, const char *const *names, int n)
{
    const char *best = NULL;
    size_t len = strlen(given);
    int best_d = len <= 4 ? 1 : len <= 8 ? 2 : 3; /* edits a typo may take */
    for (int i = 0; i < n; i++) {
        int d = distance(given, names[i]);
        if (d <= best_d && (!best || d < best_d)) {
            best = names[i];
            best_d = d;
        }
    }
    if (best)
        return best;
    /* A name with words added to it: --lr-rate for --lr. */
    for (int i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        if (k >= 2 && strncmp(given, names[i], k) == 0 && given[k] == '-' &&
            (!best || k > strlen(best)))
            best = names[i];
    }
    return best;
}

/* ---- parsing ------------------------------------------------------------ */

static int takes_value(const cli_opt *o)
{
    return o->kind != CLI_OPT_FLAG && o->kind != CLI_OPT_HEADING;
}

static int table_size(const cli_opt *opts)
{
    int n = 0;
    while (opts[n].kind != CLI_OPT_END)
        n++;
    return n;
}

/* What getopt_long rejected: a missing value, a value given to a flag, an
 * ambiguous abbreviation or an unknown name (with the nearest known one). */
static int bad_option(const cli_help *h, const cli_opt *opts, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    const char *names[128];
    char name[64], list[512];
    int n = 0, matches = 0;
    if (strncmp(arg, "--", 2) != 0) {
        snprintf(name, sizeof name, "-%c", optopt > 0 && optopt < KEY_BASE ? optopt : '?');
        return cli_usage(h->name, "unknown option '%s'", name);
    }
    size_t len = strcspn(arg, "=");
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, arg, len);
    name[len] = '\0';
    if (c == ':')
        return cli_usage(h->name, "option '%s' needs a value", name);
    names[n++] = "help";
    for (int i = 0; opts[i].kind != CLI_OPT_END && n < 128; i++)
        if (opts[i].kind != CLI_OPT_HEADING)
            names[n++] = opts[i].name;
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(name + 2, names[i]) == 0)
            return cli_usage(h->name, "option '%s' takes no value", name);
        if (strncmp(name + 2, names[i], len - 2) == 0) {
            size_t at = strlen(list);
            snprintf(list + at, sizeof list - at, "%s--%s", matches ? ", " : "", names[i]);
            matches++;
        }
    }
    if (matches > 1)
        return cli_usage(h->name, "option '%s' is ambiguous: %s", name, list);
    const char *near = cli_nearest(name + 2, names, n);
    if (near)
        return cli_usage(h->name, "unknown option '%s'; did you mean '--%s'?", name, near);
    return cli_usage(h->name, "unknown option '%s'", name);
}

/* "one, two or three" from a NULL-ended list. */
static void join_names(char *buf, size_t size, const char *const *names)
{
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t at = strlen(buf);
        snprintf(buf + at, size - at, "%s%s", i == 0 ? "" : names[i + 1] ? ", " : " or ",
                 names[i]);
    }
}

/* Option o's value arg into o->out, as its kind says. */
static int read_value(const cli_opt *o, const char *arg, void *ctx)
{
    char opt[80], list[256];
    bp_loss loss;
    snprintf(opt, sizeof opt, "--%s", o->name);
    switch (o->kind) {
    case CLI_OPT_STRING:
        if (o->out)
            *(const char **)o->out = arg;
        break;
    case CLI_OPT_FLAG:
        if (o->out)
            *(int *)o->out = 1;
        break;
    case CLI_OPT_INT:
        if (cli_parse_int(opt, arg, o->min, o->max, o->out))
            return CLI_USAGE;
        break;
    case CLI_OPT_POSITIVE:
        if (cli_parse_positive(opt, arg, o->out))
            return CLI_USAGE;
        break;
    case CLI_OPT_NONNEG:
        if (cli_parse_nonneg(opt, arg, o->out))
            return CLI_USAGE;
        break;
    case CLI_OPT_FRACTION:
        if (cli_parse_nonneg(opt, arg, o->out))
            return CLI_USAGE;
        if (!(*(double *)o->out < 1.0)) {
            cli_error("%s: expected a number in [0, 1), got '%s'", opt, arg);
            return CLI_USAGE;
        }
        break;
    case CLI_OPT_DOUBLE:
        if (cli_parse_double(opt, arg, o->out))
            return CLI_USAGE;
        break;
    case CLI_OPT_SEED:
        if (cli_parse_seed(opt, arg, o->out))
            return CLI_USAGE;
        break;
    case CLI_OPT_LIST: {
        double *v;
        int n;
        if (cli_parse_list(opt, arg, &v, &n))
            return CLI_USAGE;
        free(v);
        if (o->out)
            *(const char **)o->out = arg;
        break;
    }
    case CLI_OPT_LOSS:
        if (cli_parse_loss(opt, arg, NULL, &loss))
            return CLI_USAGE;
        if (o->out)
            *(const char **)o->out = arg;
        break;
    case CLI_OPT_CHOICE: {
        int i;
        for (i = 0; o->choices[i] && strcmp(o->choices[i], arg) != 0; i++)
            ;
        if (!o->choices[i]) {
            join_names(list, sizeof list, o->choices);
            cli_error("%s: expected %s, found '%s'", opt, list, arg);
            return CLI_USAGE;
        }
        *(int *)o->out = i;
        break;
    }
    case CLI_OPT_END:
    case CLI_OPT_HEADING:
        break;
    }
    if (o->given)
        *o->given = 1;
    return o->fn ? o->fn(arg, ctx) : 0;
}

int cli_parse(const cli_help *h, const cli_opt *opts, int argc, char **argv, void *ctx)
{
    int n = table_size(opts), k = 0, c, rc;
    struct option *longopts = malloc((size_t)(n + 2) * sizeof *longopts);
    if (!longopts) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        if (opts[i].kind == CLI_OPT_HEADING)
            continue;
        longopts[k].name = opts[i].name;
        longopts[k].has_arg = takes_value(&opts[i]) ? required_argument : no_argument;
        longopts[k].flag = NULL;
        longopts[k].val = KEY_BASE + i;
        k++;
    }
    longopts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[k] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            cli_print_help(h, opts);
            rc = -1;
        } else if (c >= KEY_BASE && c < KEY_BASE + n) {
            rc = read_value(&opts[c - KEY_BASE], optarg, ctx);
        } else {
            rc = bad_option(h, opts, c, argv);
        }
    }
    free(longopts);
    if (rc == 0 && optind < argc)
        rc = cli_usage(h->name, "unexpected argument '%s'", argv[optind]);
    return rc;
}

/* ---- help --------------------------------------------------------------- */

/* Print text from column `at`, wrapped to HELP_WIDTH with following lines
 * indented to `indent`; '\n' starts a new line and '\a' is a space that
 * does not break. Ends the line. */
static void wrap(const char *text, int at, int indent)
{
    int col = at, words = 0;
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            printf("\n%*s", indent, "");
            col = indent;
            words = 0;
            p++;
            continue;
        }
        if (*p == ' ') {
            p++;
            continue;
        }
        size_t w = strcspn(p, " \n");
        if (words && col + 1 + (int)w > HELP_WIDTH) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (words) {
            putchar(' ');
            col++;
        }
        words++;
        for (size_t i = 0; i < w; i++)
            putchar(p[i] == '\a' ? ' ' : p[i]);
        col += (int)w;
        p += w;
    }
    putchar('\n');
}

static int label(char *buf, size_t size, const cli_opt *o)
{
    return snprintf(buf, size, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void cli_print_help(const cli_help *h, const cli_opt *opts)
{
    char buf[96], text[1024];
    int width = 10; /* "-h, --help" */
    for (int i = 0; opts[i].kind != CLI_OPT_END; i++) {
        int w = opts[i].kind == CLI_OPT_HEADING ? 0 : label(buf, sizeof buf, &opts[i]);
        if (w > width && w <= LABEL_MAX)
            width = w;
    }
    int col = 2 + width + 2;
    printf("Usage: %s\n\n%s\n", h->usage, h->about);
    if (opts[0].kind != CLI_OPT_HEADING)
        printf("\nOptions:\n");
    for (int i = 0; opts[i].kind != CLI_OPT_END; i++) {
        const cli_opt *o = &opts[i];
        if (o->kind == CLI_OPT_HEADING) {
            printf("\n%s:\n", o->name);
            continue;
        }
        int w = label(buf, sizeof buf, o);
        printf("  %s", buf);
        if (w > col - 3) {
            printf("\n%*s", col, "");
        } else {
            printf("%*s", col - 2 - w, "");
        }
        /* A short default stays on one line. */
        size_t at = (size_t)snprintf(text, sizeof text, "%s", o->help ? o->help : "");
        if (o->def && at + 1 < sizeof text) {
            char *def = text + at + 1;
            snprintf(text + at, sizeof text - at, " (default: %s)", o->def);
            if (strlen(o->def) < 48)
                for (; *def; def++)
                    if (*def == ' ')
                        *def = '\a';
        }
        wrap(text, col, col);
    }
    printf("  %-*s  show this help\n", width, "-h, --help");
    if (h->notes)
        printf("\n%s\n", h->notes);
    if (h->status)
        printf("\n%s\n", h->status);
    if (h->examples)
        printf("\nExamples:\n%s", h->examples);
}
