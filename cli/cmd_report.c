/*
 * cmd_report.c - `backprop report`: the training report (report.c) after
 * the fact, from the CSV log of a run (`backprop train --log`), the model it
 * saved and the data to measure the confusion matrix on. The log's curves
 * are drawn as logged; what the log lacks (per-layer norms over training)
 * is measured on the saved weights instead and labelled so.
 */
#include "cli.h"
#include "data.h"
#include "paths.h"
#include "model.h"
#include "progress.h"
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const CMD = "report";

#define MAX_LINE 65536
#define MAX_COLS 512

static const cli_help HELP = {
    "report", "backprop report --log LOG --model MODEL --data SPEC [OPTIONS]",
    "Write the training report of a finished run as one self-contained HTML page\n"
    "(inline SVG, nothing fetched): loss and accuracy curves and the learning rate\n"
    "from the log, the confusion matrix with per-class precision and recall and\n"
    "the most confidently wrong samples of the model on the data, per-layer norms,\n"
    "a table of the layers with their shapes and parameter counts, the filters of\n"
    "the first convolution layer as pictures, and the settings saved with the model.",
    "Per-layer norms over training are drawn when the log has the columns\n"
    "weight_norm_L and grad_norm_L (L = 0, 1, ...); otherwise the norms of the\n"
    "saved weights, and of the gradient over all of the data at those weights.",
    "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop report --log metrics.csv --model model.safetensors --data fashion-mnist:test\n"
    "  backprop report --log spiral.csv --model spiral.safetensors --data spiral:100:3 \\\n"
    "      --out spiral.html --json\n"};

/* ---- the log ------------------------------------------------------------- */

/* Where each figure is in the log: a column index or -1. */
typedef struct log_columns {
    int epoch, loss, accuracy, val_loss, val_accuracy, test_loss, test_accuracy, lr;
    int weight[64], grad[64]; /* per-layer norm columns */
} log_columns;

typedef struct run_log {
    cli_epoch *epochs;
    size_t n, cap;
    cli_norms norms;
    int has_norms;
} run_log;

/* Split line (modified) at commas into cells; returns the count or -1 when
 * there are too many. */
static int split(char *line, char **cells)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line;; n++) {
        if (n == MAX_COLS)
            return -1;
        cells[n] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            return n + 1;
        *comma = '\0';
        p = comma + 1;
    }
}

static int find_col(char **cells, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cells[i], name) == 0)
            return i;
    return -1;
}

/* A cell as a number: 0, 1 when empty (the figure does not apply), or -1
 * (printed) when it is not a number. */
static int cell_value(const char *path, long line, char **cells, int n, int col,
                      const char *name, double *out)
{
    char *end;
    if (col < 0 || col >= n || cells[col][0] == '\0')
        return 1;
    errno = 0;
    *out = strtod(cells[col], &end);
    if (end == cells[col] || *end != '\0') {
        cli_error("%s:%ld: column '%s': expected a number, found '%s'", path, line, name,
                  cells[col]);
        return -1;
    }
    return 0;
}

/* One data row of the log into an epoch; 0 or CLI_RUNTIME (printed). */
static int read_row(const char *path, long line, char **cells, int n, const log_columns *c,
                    cli_epoch *e)
{
    struct {
        int col;
        const char *name;
        double *v;
        unsigned flag;
    } figs[] = {{c->accuracy, "accuracy", &e->accuracy, CLI_HAS_ACC},
                {c->val_loss, "val_loss", &e->val_loss, CLI_HAS_VAL},
                {c->val_accuracy, "val_accuracy", &e->val_accuracy, CLI_HAS_VAL_ACC},
                {c->test_loss, "test_loss", &e->test_loss, CLI_HAS_TEST},
                {c->test_accuracy, "test_accuracy", &e->test_accuracy, CLI_HAS_TEST_ACC},
                {c->lr, "lr", &e->lr, 0}};
    double epoch;
    int r;
    memset(e, 0, sizeof *e);
    e->lr = NAN;
    if ((r = cell_value(path, line, cells, n, c->epoch, "epoch", &epoch)) != 0 ||
        (r = cell_value(path, line, cells, n, c->loss, "loss", &e->loss)) != 0) {
        if (r > 0)
            cli_error("%s:%ld: expected an epoch number and a loss, found an empty cell", path,
                      line);
        return CLI_RUNTIME;
    }
    if (!(epoch >= 1.0 && epoch <= 1e9 && epoch == floor(epoch))) {
        cli_error("%s:%ld: column 'epoch': expected a whole number >= 1, found '%s'", path, line,
                  cells[c->epoch]);
        return CLI_RUNTIME;
    }
    e->epoch = (int)epoch;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        if ((r = cell_value(path, line, cells, n, figs[i].col, figs[i].name, figs[i].v)) < 0)
            return CLI_RUNTIME;
        if (r == 0)
            e->has |= figs[i].flag;
    }
    return CLI_OK;
}

/* The per-layer norm columns of one row, recorded in lg->norms. */
static int read_norms(const char *path, long line, char **cells, int n, const log_columns *c,
                      int L, double epoch, run_log *lg)
{
    cli_norms *nm = &lg->norms;
    double w[64], g[64];
    char name[32];
    for (int l = 0; l < L; l++) {
        snprintf(name, sizeof name, "weight_norm_%d", l);
        if (cell_value(path, line, cells, n, c->weight[l], name, &w[l]) < 0)
            return CLI_RUNTIME;
        snprintf(name, sizeof name, "grad_norm_%d", l);
        g[l] = NAN;
        if (cell_value(path, line, cells, n, c->grad[l], name, &g[l]) < 0)
            return CLI_RUNTIME;
    }
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? 2 * nm->cap : 32;
        double *e = realloc(nm->epoch, cap * sizeof *e);
        double *pw = e ? realloc(nm->weight, cap * (size_t)L * sizeof *pw) : NULL;
        double *pg = pw ? realloc(nm->grad, cap * (size_t)L * sizeof *pg) : NULL;
        if (e)
            nm->epoch = e;
        if (pw)
            nm->weight = pw;
        if (!pg) {
            cli_error("out of memory");
            return CLI_RUNTIME;
        }
        nm->grad = pg;
        nm->cap = cap;
    }
    nm->layers = L;
    nm->epoch[nm->n] = epoch;
    memcpy(nm->weight + nm->n * (size_t)L, w, (size_t)L * sizeof *w);
    memcpy(nm->grad + nm->n * (size_t)L, g, (size_t)L * sizeof *g);
    nm->n++;
    return CLI_OK;
}

/* Read the log; L is the model's layer count (for the norm columns). */
static int read_log(const char *path, int L, run_log *lg)
{
    FILE *f = fopen(path, "r");
    char *line = malloc(MAX_LINE), **cells = malloc(MAX_COLS * sizeof *cells);
    log_columns c;
    long no = 0;
    int rc = CLI_RUNTIME, n, width = 0, header = 0;
    memset(&c, 0xff, sizeof c); /* every column -1: absent */
    if (!f) {
        cli_error("%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (!line || !cells) {
        cli_error("out of memory");
        goto done;
    }
    while (fgets(line, MAX_LINE, f)) {
        no++;
        if (!strchr(line, '\n') && !feof(f)) {
            cli_error("%s:%ld: line longer than %d bytes", path, no, MAX_LINE - 1);
            goto done;
        }
        if ((n = split(line, cells)) < 0) {
            cli_error("%s:%ld: more than %d columns", path, no, MAX_COLS);
            goto done;
        }
        if (n == 1 && cells[0][0] == '\0')
            continue; /* blank line */
        if (!header) {
            c.epoch = find_col(cells, n, "epoch");
            c.loss = find_col(cells, n, "loss");
            if (c.epoch < 0 || c.loss < 0) {
                cli_error("%s:%ld: expected a header with the columns 'epoch' and 'loss' (as "
                          "backprop train --log writes), found '%s'", path, no, cells[0]);
                goto done;
            }
            c.accuracy = find_col(cells, n, "accuracy");
            c.val_loss = find_col(cells, n, "val_loss");
            c.val_accuracy = find_col(cells, n, "val_accuracy");
            c.test_loss = find_col(cells, n, "test_loss");
            c.test_accuracy = find_col(cells, n, "test_accuracy");
            c.lr = find_col(cells, n, "lr");
            lg->has_norms = L <= 64;
            for (int l = 0; l < L && l < 64; l++) {
                char name[32];
                snprintf(name, sizeof name, "weight_norm_%d", l);
                c.weight[l] = find_col(cells, n, name);
                snprintf(name, sizeof name, "grad_norm_%d", l);
                c.grad[l] = find_col(cells, n, name);
                lg->has_norms &= c.weight[l] >= 0;
            }
            width = n;
            header = 1;
            continue;
        }
        if (n != width) {
            cli_error("%s:%ld: expected %d cells as in the header, found %d", path, no, width, n);
            goto done;
        }
        if (lg->n == lg->cap) {
            size_t cap = lg->cap ? 2 * lg->cap : 64;
            cli_epoch *e = realloc(lg->epochs, cap * sizeof *e);
            if (!e) {
                cli_error("out of memory");
                goto done;
            }
            lg->epochs = e;
            lg->cap = cap;
        }
        if (read_row(path, no, cells, n, &c, &lg->epochs[lg->n]) != 0 ||
            (lg->has_norms &&
             read_norms(path, no, cells, n, &c, L, lg->epochs[lg->n].epoch, lg) != 0))
            goto done;
        lg->n++;
    }
    if (ferror(f)) {
        cli_error("%s: read error", path);
        goto done;
    }
    if (lg->n == 0) {
        cli_error("%s: expected a header and at least one epoch, found %s", path,
                  no == 0 ? "an empty file" : "no epochs");
        goto done;
    }
    rc = CLI_OK;
done:
    if (f)
        fclose(f);
    free(cells);
    free(line);
    return rc;
}

/* ---- the command --------------------------------------------------------- */

int cmd_report(int argc, char **argv)
{
    const char *log_path = NULL, *model_path = NULL, *data_spec = NULL, *name = NULL;
    const char *out = NULL, *spec = NULL;
    char free_out[32];
    uint64_t seed = 1;
    int json = 0, rc;
    cli_model m = {NULL, NULL};
    cli_data d = {.cmd = CMD};
    bp_dataset *ds = NULL;
    run_log lg;
    double *grad = NULL;
    bp_loss loss;

    memset(&lg, 0, sizeof lg);
    const cli_opt opts[] = {
        {"log", CLI_OPT_STRING, "LOG", &log_path,
         .help = "the run's CSV log, as backprop train --log writes it (required)"},
        {"model", CLI_OPT_STRING, "MODEL", &model_path, .help = "the model the run saved (required)"},
        CLI_MODEL_NET_OPTION(&spec),
        {"data", CLI_OPT_STRING, "SPEC", &data_spec,
         .help = "the data to measure the model on (required), e.g. fashion-mnist:test; the "
                 "model's input scaling is applied"},
        CLI_DATA_READ_OPTIONS(&d),
        {"name", CLI_OPT_STRING, "NAME", &name, .help = "what to call those data on the page",
         .def = "the spec"},
        {"seed", CLI_OPT_SEED, "N", &seed, .help = "seed of synthetic data sets", .def = "1"},
        {"out", CLI_OPT_STRING, "FILE", &out, .help = "where to write the page",
         .def = "report.html, or report-2.html, ... when it exists"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "print {\"path\": ..., \"bytes\": ..., \"epochs\": ..., \"network\": ...} "
                 "(the network's layers with their shapes, as info --json gives them) instead "
                 "of the line naming the page",
         .def = "off"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!log_path)
        return cli_usage(CMD, "--log is required");
    /* unnamed, the page never replaces a file */
    if (!out && cli_paths_free_name("report", ".html", free_out, sizeof free_out) == 0)
        out = free_out;
    if (!out) {
        cli_error("--out: no free name report-N.html in this folder; give --out");
        return CLI_RUNTIME;
    }
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!data_spec)
        return cli_usage(CMD, "--data is required");
    if (strcmp(out, log_path) == 0 || strcmp(out, model_path) == 0)
        return cli_usage(CMD, "--out names the same file as --log or --model");

    {
        const cli_file outs[] = {{"--out", out, 0, NULL}};
        const cli_file ins[] = {{"--log", log_path, 0, NULL}, {"--model", model_path, 0, NULL},
                                {"--data", data_spec, 1, NULL}};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, 3)) != 0)
            return rc;
    }
    if ((rc = cli_check_writable("--out", out)) != 0 ||
        (rc = cli_model_load_spec(model_path, spec, &m)) != 0 ||
        (rc = cli_model_loss(&m, NULL, &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (read_log(log_path, bp_net_layers(m.net), &lg) != 0 ||
        !(ds = cli_data_load_model(&m, data_spec, 1, &d, seed)))
        goto done;

    cli_report r = {.origin = "Curves from the training log; the confusion matrix and the "
                              "mistakes measured now with the saved model.",
                    .net = m.net, .loss = loss, .meta = m.meta};
    r.epochs = lg.epochs;
    r.n_epochs = lg.n;
    r.eval = ds;
    r.eval_name = name ? name : data_spec;
    if (!lg.has_norms) {
        /* Not in the log: measure at the saved weights, labelled as such. */
        cli_norms_free(&lg.norms);
        if (!(grad = malloc((size_t)bp_net_layers(m.net) * sizeof *grad))) {
            cli_error("out of memory");
            goto done;
        }
        if (cli_norms_measure_grad(m.net, loss, ds, grad) != 0 ||
            cli_norms_add(&lg.norms, lg.epochs[lg.n - 1].epoch, m.net, grad) != 0)
            goto done;
        r.norms_note = "The log holds no per-layer norms over training: shown are the norms "
                       "of the saved weights and of the mean gradient over all of the data at "
                       "those weights, at the last epoch.";
    }
    r.norms = &lg.norms;
    if (cli_report_write(out, &r) != 0)
        goto done;
    if (json) {
        struct stat st;
        printf("{\"path\": ");
        cli_json_string(stdout, out);
        printf(", \"bytes\": %lld, \"epochs\": %zu, ",
               stat(out, &st) == 0 ? (long long)st.st_size : -1LL, lg.n);
        cli_json_net(stdout, m.net);
        printf("}\n");
    } else {
        printf("report written to %s\n", out);
    }
    rc = CLI_OK;
done:
    free(grad);
    cli_norms_free(&lg.norms);
    free(lg.epochs);
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
