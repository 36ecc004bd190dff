/*
 * cmd_predict.c - `backprop predict`: a saved model's predictions for every
 * row of a data set, as CSV with a header line or as JSON. The data are
 * read by the preprocessing the model saved (cli_data_load_model), so a
 * file of the features alone works; a classifier's rows give the class
 * name and one probability per class, a regression's the value in the
 * target's original units. Rows go through the network in batches.
 */
#include "cli.h"
#include "data.h"
#include "paths.h"
#include "model.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

static const char *const CMD = "predict";

#define PREDICT_BATCH 256

static const cli_help HELP = {
    "predict", "backprop predict --model MODEL --data SPEC [OPTIONS]",
    "Run every row of a data set forward through a model and print its\n"
    "predictions as CSV with a header line, one row per sample in the order of\n"
    "the data: 'row' (numbered from 1), 'prediction' and, for a classifier\n"
    "(loss cce or bce), one probability column per class, 'p_NAME'. A\n"
    "classifier's prediction is the class name (its number when the model has\n"
    "no names); a regression's is the value in the target's original units\n"
    "(one column per output, 'prediction_K', for several). Delimited text is\n"
    "read by the preprocessing the model saved: columns matched by header name\n"
    "in any order (extra columns left out with a notice) or by position\n"
    "without a header; a label column, if present, is not used (a file of\n"
    "one column serves a model of one input). A model without a saved\n"
    "preprocessing (one trained on images, the JSON form) reads its inputs as\n"
    "the first columns, leaving out a header's unnamed first column (a row\n"
    "index, as pandas writes one); :label=COL in the spec names a label column\n"
    "to leave out wherever it is. A row of C*H*W values feeds a CxHxW network.\n"
    "The model's input scaling is applied.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop predict --model examples/lesson.json --data examples/lesson-data.csv\n"
    "  backprop predict --model spiral.safetensors --data spiral:100:3 --out predictions.csv\n"
    "  backprop predict --model examples/lesson.json --data examples/lesson-data.csv --json\n"};

/* What a row of output holds. */
typedef struct layout {
    int O;        /* network outputs */
    int C;        /* classes; 0 for a regression */
    int scaled;   /* a regression target's mean and scale apply */
    double mean, scale;
    int cols;     /* columns after 'row' */
    char **names; /* their names */
} layout;

static void layout_free(layout *l)
{
    for (int c = 0; l->names && c < l->cols; c++)
        free(l->names[c]);
    free(l->names);
}

static char *dup_name(const char *prefix, const char *s, int k)
{
    char num[24];
    if (!s) {
        snprintf(num, sizeof num, "%d", k);
        s = num;
    }
    size_t n = strlen(prefix) + strlen(s) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s", prefix, s);
    return out;
}

static int layout_make(layout *l, const bp_net *net, bp_loss loss, const bp_dataset *ds)
{
    memset(l, 0, sizeof *l);
    l->O = bp_net_outputs(net);
    l->C = loss == BP_LOSS_CCE || loss == BP_LOSS_BCE ? bp_metrics_classes(net, loss) : 0;
    l->scaled = l->C == 0 && bp_dataset_target_scaling(ds, &l->mean, &l->scale) == 0;
    l->cols = l->C > 0 ? 1 + l->C : l->O;
    if (!(l->names = calloc((size_t)l->cols, sizeof *l->names)))
        goto oom;
    for (int c = 0; c < l->cols; c++) {
        if (l->C > 0)
            l->names[c] = c == 0 ? dup_name("prediction", "", 0)
                                 : dup_name("p_", bp_dataset_class_name(ds, c - 1), c - 1);
        else
            l->names[c] = l->O == 1 ? dup_name("prediction", "", 0)
                                    : dup_name("prediction_", NULL, c);
        if (!l->names[c])
            goto oom;
    }
    return CLI_OK;
oom:
    cli_error("out of memory");
    return CLI_RUNTIME;
}

/* A CSV cell, quoted as RFC 4180 says when it holds a comma, a quote or a
 * line break. */
static void csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void header(FILE *f, const layout *l, int json)
{
    fputs(json ? "{\"columns\": [\"row\"" : "row", f);
    for (int c = 0; c < l->cols; c++) {
        fputs(json ? ", " : ",", f);
        if (json)
            cli_json_string(f, l->names[c]);
        else
            csv_cell(f, l->names[c]);
    }
    fputs(json ? "], \"rows\": [" : "\n", f);
}

/* One row: its number, the prediction and a classifier's probabilities
 * (p: C values; NULL for a regression, whose outputs are y). */
static void row(FILE *f, const layout *l, const bp_dataset *ds, size_t r, const float *y,
                const float *p, int json)
{
    char buf[40];
    const char *sep = json ? ", " : ",";
    if (json)
        fprintf(f, "%s[%zu", r ? ",\n  " : "\n  ", r + 1);
    else
        fprintf(f, "%zu", r + 1);
    if (l->C > 0) {
        int best = 0;
        for (int k = 1; k < l->C; k++)
            if (p[k] > p[best])
                best = k;
        if (l->C == 2 && l->O == 1) /* one output: class 1 from 0.5 on, as eval counts it */
            best = p[1] >= 0.5f;
        const char *name = bp_dataset_class_name(ds, best);
        fputs(sep, f);
        if (name && json)
            cli_json_string(f, name);
        else if (name)
            csv_cell(f, name);
        else
            fprintf(f, "%d", best);
        for (int k = 0; k < l->C; k++) {
            fputs(sep, f);
            if (json)
                cli_json_float(f, p[k]);
            else
                fputs(cli_fnum(buf, p[k]), f);
        }
    } else {
        for (int o = 0; o < l->O; o++) {
            float v = l->scaled ? (float)(y[o] * l->scale + l->mean) : y[o];
            fputs(sep, f);
            if (json)
                cli_json_float(f, v);
            else
                fputs(cli_fnum(buf, v), f);
        }
    }
    fputs(json ? "]" : "\n", f);
}

/* Forward every row of ds and write the predictions to f. */
static int predict(bp_net *net, bp_loss loss, const bp_dataset *ds, int json, FILE *f)
{
    int I = bp_net_inputs(net), O = bp_net_outputs(net), lib;
    size_t n = bp_dataset_rows(ds);
    layout l;
    float *x = malloc((size_t)PREDICT_BATCH * (size_t)I * sizeof *x); /* (B, I) */
    float *p = malloc((size_t)PREDICT_BATCH * (size_t)O * sizeof *p); /* (B, O) */
    const float *y;                                                    /* (B, O) */
    int rc = CLI_RUNTIME;
    if (!x || !p) {
        cli_error("out of memory");
        goto done;
    }
    if (layout_make(&l, net, loss, ds) != CLI_OK)
        goto done;
    header(f, &l, json);
    for (size_t first = 0; first < n; first += PREDICT_BATCH) {
        int B = n - first < PREDICT_BATCH ? (int)(n - first) : PREDICT_BATCH;
        if ((lib = bp_dataset_gather(ds, NULL, first, B, x, NULL)) != 0 ||
            (lib = bp_net_forward(net, B, x, &y)) != 0 ||
            (l.C > 0 && (lib = bp_net_probabilities(net, loss, B, y, p)) != 0)) {
            cli_lib_error("predicting", lib, net);
            goto unlayout;
        }
        for (int b = 0; b < B; b++) {
            const float *yb = y + (size_t)b * (size_t)O;
            float two[2], *pb = p + (size_t)b * (size_t)O;
            if (l.C == 2 && O == 1) { /* one output: the probability of class 1 */
                two[0] = 1.0f - pb[0];
                two[1] = pb[0];
                pb = two;
            }
            row(f, &l, ds, first + (size_t)b, yb, l.C > 0 ? pb : NULL, json);
        }
    }
    if (json) {
        fputs(n ? "\n], " : "], ", f);
        cli_json_net(f, net);
        fputs("}\n", f);
    }
    rc = CLI_OK;
unlayout:
    layout_free(&l);
done:
    free(x);
    free(p);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data_spec = NULL, *out = NULL, *spec = NULL;
    const char *loss_name = NULL;
    uint64_t seed = 1;
    int json = 0, rc;
    cli_model m = {NULL, NULL};
    cli_data d = {.cmd = CMD};
    bp_dataset *ds = NULL;
    bp_loss loss;
    cli_outfile of = {NULL, NULL, NULL};

    const cli_opt opts[] = {
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "the model file, safetensors or JSON (required)"},
        CLI_MODEL_NET_OPTION(&spec),
        {"data", CLI_OPT_STRING, "SPEC", &data_spec, .help = "the data (required): " CLI_DATA_SPECS},
        CLI_DATA_READ_OPTIONS(&d),
        {"loss", CLI_OPT_LOSS, "NAME", &loss_name,
         .help = "the loss the model was trained with: cce or bce make it a classifier",
         .def = "the loss saved with the model, else cce after softmax, bce after sigmoid, "
                "else mse"},
        {"out", CLI_OPT_STRING, "FILE", &out, .help = "write the rows to FILE, whole or not at all",
         .def = "stdout"},
        {"seed", CLI_OPT_SEED, "N", &seed, .help = "seed of synthetic data sets", .def = "1"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "write {\"columns\": [\"row\", \"prediction\", ...], \"rows\": [[1, ...], "
                 "...], \"network\": {...}}, the CSV's header and rows and the network's "
                 "layers with their shapes (as info --json gives them), instead of CSV",
         .def = "off"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!data_spec)
        return cli_usage(CMD, "--data is required");

    {
        const cli_file outs[] = {{"--out", out, 0, NULL}};
        const cli_file ins[] = {{"--model", model_path, 0, NULL}, {"--data", data_spec, 1, NULL}};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, 2)) != 0)
            return rc;
    }
    if ((rc = cli_model_load_spec(model_path, spec, &m)) != 0 ||
        (rc = cli_model_loss(&m, loss_name, &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(ds = cli_data_load_model(&m, data_spec, 0, &d, seed)))
        goto done;
    if (!out) {
        rc = predict(m.net, loss, ds, json, stdout);
        if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
            cli_error("writing the predictions failed");
            rc = CLI_RUNTIME;
        }
        goto done;
    }
    if (cli_outfile_open(&of, out) != 0)
        goto done;
    if ((rc = predict(m.net, loss, ds, json, of.f)) != CLI_OK)
        cli_outfile_abort(&of);
    else
        rc = cli_outfile_commit(&of);
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
