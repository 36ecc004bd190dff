/*
 * cmd_eval.c - `backprop eval`: the loss and metrics of a saved model over
 * every row of a data set (bp_metrics_evaluate, printed by metrics.c), with
 * the model's input scaling applied to the data first.
 */
#include "cli.h"
#include "metrics.h"
#include "model.h"
#include "progress.h"

#include <getopt.h>
#include <stdlib.h>

static const char *const CMD = "eval";

static void help(void)
{
    printf("Usage: backprop eval --model MODEL --data SPEC [OPTIONS]\n"
           "\n"
           "Measure a model over every row of a data set: its loss and, for a\n"
           "classification loss (cce, bce), the accuracy, each class's precision,\n"
           "recall, F1 and support, their macro averages and the confusion matrix\n"
           "(rows: true class; the table and matrix up to 20 classes, all in --json);\n"
           "for any other loss MAE, RMSE and R^2. The model's input scaling (saved by\n"
           "backprop train) is applied to the data. A non-finite output or loss is\n"
           "an error (exit 1).\n"
           "\n"
           "Options:\n"
           "  --model MODEL  the model file, safetensors or JSON (required)\n"
           "  --data SPEC    the data (required): fashion-mnist[:train], fashion-mnist:test,\n"
           "                 idx:IMAGES,LABELS, spiral:N:K, vertical:N:K, xor, or\n"
           "                 PATH.csv[:label=COL]\n"
           "  --loss NAME    mse, mae, bce or cce (default: the loss saved with the model,\n"
           "                 else cce after softmax, bce after sigmoid, else mse)\n"
           "  --seed N       seed of synthetic data sets (default: 1, the draw backprop\n"
           "                 train trains on with its default seed)\n"
           "  --json         print one JSON object: loss, n, task (\"classification\" or\n"
           "                 \"regression\"), then mae, rmse, r2, or accuracy,\n"
           "                 macro_precision, macro_recall, macro_f1, classes (each\n"
           "                 {class, name, precision, recall, f1, support}) and\n"
           "                 confusion (rows: true class) (default: off)\n"
           "  -h, --help     show this help\n"
           "\n"
           "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.\n");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'd'},
        {"loss", required_argument, NULL, 'L'},  {"seed", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *data_spec = NULL, *loss_name = NULL;
    uint64_t seed = 1;
    int json = 0, rc = CLI_USAGE;
    cli_model m = {NULL, NULL};
    bp_dataset *ds = NULL;
    bp_loss loss;

    const cli_opt opts[] = {
        {'m', CLI_OPT_STRING, "--model", &model_path, 0, 0},
        {'d', CLI_OPT_STRING, "--data", &data_spec, 0, 0},
        {'L', CLI_OPT_LOSS, "--loss", &loss_name, 0, 0},
        {'s', CLI_OPT_SEED, "--seed", &seed, 0, 0},
        {'j', CLI_OPT_FLAG, "--json", &json, 0, 0},
        {0, CLI_OPT_FLAG, NULL, NULL, 0, 0}};
    if ((rc = cli_options(CMD, argc, argv, longopts, opts, help, NULL, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!data_spec)
        return cli_usage(CMD, "--data is required");

    if ((rc = cli_model_load(model_path, &m)) != 0 ||
        (rc = cli_model_loss(&m, loss_name, &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(ds = cli_data_load(data_spec, seed)) || cli_model_scale(&m, ds) != 0)
        goto done;
    rc = cli_metrics_run(stdout, m.net, ds, loss, json);
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
