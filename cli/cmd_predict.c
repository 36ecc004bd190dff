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

#include <getopt.h>
#include <stdlib.h>

static const char *const CMD = "predict";

#define PREDICT_BATCH 256

static void help(void)
{
    printf("Usage: backprop predict --model MODEL --data SPEC [OPTIONS]\n"
           "\n"
           "Run every row of a data set forward through a model and print its outputs,\n"
           "one CSV row per sample, in the order of the data. The model's input\n"
           "scaling (saved by backprop train) is applied first; the data's targets are\n"
           "not used.\n"
           "\n"
           "Options:\n"
           "  --model MODEL  the model file, safetensors or JSON (required)\n"
           "  --data SPEC    the data (required): fashion-mnist[:train], fashion-mnist:test,\n"
           "                 idx:IMAGES,LABELS, spiral:N:K, vertical:N:K, xor, or\n"
           "                 PATH.csv[:label=COL]\n"
           "  --out FILE     write the rows to FILE, whole or not at all (default: stdout)\n"
           "  --seed N       seed of synthetic data sets (default: 1)\n"
           "  -h, --help     show this help\n"
           "\n"
           "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.\n");
}

/* Forward every row of ds and write the outputs to f. */
static int predict(bp_net *net, const bp_dataset *ds, FILE *f)
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
    for (size_t first = 0; first < n; first += PREDICT_BATCH) {
        int B = n - first < PREDICT_BATCH ? (int)(n - first) : PREDICT_BATCH;
        if ((lib = bp_dataset_gather(ds, NULL, first, B, x, NULL)) != 0 ||
            (lib = bp_net_forward(net, B, x, &y)) != 0) {
            cli_lib_error("predicting", lib, net);
            goto done;
        }
        for (int b = 0; b < B; b++) {
            const float *row = y + (size_t)b * (size_t)O;
            for (int o = 0; o < O; o++)
                fprintf(f, o ? ",%.9g" : "%.9g", (double)row[o]);
            fputc('\n', f);
        }
    }
    rc = CLI_OK;
done:
    free(x);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},   {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *data_spec = NULL, *out = NULL;
    uint64_t seed = 1;
    int rc;
    cli_model m = {NULL, NULL};
    bp_dataset *ds = NULL;
    cli_outfile of = {NULL, NULL, NULL};

    const cli_opt opts[] = {
        {'m', CLI_OPT_STRING, "--model", &model_path, 0, 0},
        {'d', CLI_OPT_STRING, "--data", &data_spec, 0, 0},
        {'o', CLI_OPT_STRING, "--out", &out, 0, 0},
        {'s', CLI_OPT_SEED, "--seed", &seed, 0, 0},
        {0, CLI_OPT_FLAG, NULL, NULL, 0, 0}};
    if ((rc = cli_options(CMD, argc, argv, longopts, opts, help, NULL, NULL)) != 0)
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
        rc = predict(m.net, ds, stdout);
        if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
            cli_error("writing the predictions failed");
            rc = CLI_RUNTIME;
        }
        goto done;
    }
    if (cli_outfile_open(&of, out) != 0)
        goto done;
    if ((rc = predict(m.net, ds, of.f)) != CLI_OK)
        cli_outfile_abort(&of);
    else
        rc = cli_outfile_commit(&of);
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
