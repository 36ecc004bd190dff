/*
 * cmd_predict.c - `backprop predict`: a saved model's outputs for every row
 * of a data set, one CSV row per sample, each value printed with "%.9g" so
 * that it reads back as the same float. The model's input scaling is
 * applied to the data, and rows go through the network in batches.
 */
#include "cli.h"
#include "paths.h"
#include "model.h"
#include "progress.h"

#include <stdlib.h>

static const char *const CMD = "predict";

#define PREDICT_BATCH 256

static const cli_help HELP = {
    "predict", "backprop predict --model MODEL --data SPEC [OPTIONS]",
    "Run every row of a data set forward through a model and print its outputs,\n"
    "one CSV row per sample, in the order of the data. The model's input\n"
    "scaling (saved by backprop train) is applied first; the data's targets are\n"
    "not used.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop predict --model examples/lesson.json --data examples/lesson-data.csv\n"
    "  backprop predict --model spiral.safetensors --data spiral:100:3 --out predictions.csv\n"
    "  backprop predict --model examples/lesson.json --data examples/lesson-data.csv --json\n"};

/* Forward every row of ds and write the outputs to f: CSV rows, or with
 * json {"n": N, "outputs": O, "rows": [[...], ...]}. */
static int predict(bp_net *net, const bp_dataset *ds, int json, FILE *f)
{
    int I = bp_net_inputs(net), O = bp_net_outputs(net), lib;
    size_t n = bp_dataset_rows(ds);
    float *x = malloc((size_t)PREDICT_BATCH * (size_t)I * sizeof *x); /* (B, I) */
    const float *y;                                                    /* (B, O) */
    int rc = CLI_RUNTIME;
    if (!x) {
        cli_error("out of memory");
        return rc;
    }
    if (json)
        fprintf(f, "{\"n\": %zu, \"outputs\": %d, \"rows\": [", n, O);
    for (size_t first = 0; first < n; first += PREDICT_BATCH) {
        int B = n - first < PREDICT_BATCH ? (int)(n - first) : PREDICT_BATCH;
        if ((lib = bp_dataset_gather(ds, NULL, first, B, x, NULL)) != 0 ||
            (lib = bp_net_forward(net, B, x, &y)) != 0) {
            cli_lib_error("predicting", lib, net);
            goto done;
        }
        for (int b = 0; b < B; b++) {
            const float *row = y + (size_t)b * (size_t)O;
            if (json) {
                fputs(first + (size_t)b ? ",\n  " : "\n  ", f);
                cli_json_farray(f, row, O);
                continue;
            }
            for (int o = 0; o < O; o++)
                fprintf(f, o ? ",%.9g" : "%.9g", (double)row[o]);
            fputc('\n', f);
        }
    }
    if (json)
        fputs(n ? "\n]}\n" : "]}\n", f);
    rc = CLI_OK;
done:
    free(x);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data_spec = NULL, *out = NULL;
    uint64_t seed = 1;
    int json = 0, rc;
    cli_model m = {NULL, NULL};
    bp_dataset *ds = NULL;
    cli_outfile of = {NULL, NULL, NULL};

    const cli_opt opts[] = {
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "the model file, safetensors or JSON (required)"},
        {"data", CLI_OPT_STRING, "SPEC", &data_spec, .help = "the data (required): " CLI_DATA_SPECS},
        {"out", CLI_OPT_STRING, "FILE", &out, .help = "write the rows to FILE, whole or not at all",
         .def = "stdout"},
        {"seed", CLI_OPT_SEED, "N", &seed, .help = "seed of synthetic data sets", .def = "1"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "write {\"n\": N, \"outputs\": O, \"rows\": [[...], ...]}, one array of "
                 "outputs per sample, instead of CSV",
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
    if ((rc = cli_model_load(model_path, &m)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(ds = cli_data_load(data_spec, seed)) || cli_model_scale(&m, ds) != 0)
        goto done;
    if (!out) {
        rc = predict(m.net, ds, json, stdout);
        if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
            cli_error("writing the predictions failed");
            rc = CLI_RUNTIME;
        }
        goto done;
    }
    if (cli_outfile_open(&of, out) != 0)
        goto done;
    if ((rc = predict(m.net, ds, json, of.f)) != CLI_OK)
        cli_outfile_abort(&of);
    else
        rc = cli_outfile_commit(&of);
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
